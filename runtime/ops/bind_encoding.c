/* Encoding ops bound to kernels (runtime/ops/bind.h). The hash grid computes
 * in its table's dtype (the positions are always f32). */
#include "bind.h"

static const ag_encoding_kernels *kernels(const ag_op_call *c) {
  return c->be->kernels->encoding;
}

static ag_status hash_grid_fwd(const ag_op_call *c) {
  const ag_hash_grid_args a = ag_hash_grid_args_decode(c);
  const ag_hash_grid_geom g = ag_hash_grid_geom_of(&a);
  return kernels(c)->hash_grid(c->in[1]->dtype, (const float *)ag_in_data(c, 0), ag_in_data(c, 1),
                               ag_out_data(c, 0), c->in[0]->shape[0], &g, c->stream);
}

/* in = {pos, table, y, gy}; out = {gpos, gtable}. Positions take no
 * gradient: a gpos asked for is written as zeros. The kernels' scratch comes
 * from the backend's caching allocator, which is not stream-aware, so on a
 * stream other than the default one the stream is drained before the block
 * is given back (as bind_matmul.c does). */
static ag_status hash_grid_bwd(const ag_op_call *c) {
  if (c->out[0])
    AG_TRY(c->be->memset(c->be, ag_out_data(c, 0), 0, ag_tensor_nbytes(c->out[0]), c->stream));
  if (!c->out[1]) return AG_OK;
  const ag_hash_grid_args a = ag_hash_grid_args_decode(c);
  const ag_hash_grid_geom g = ag_hash_grid_geom_of(&a);
  const ag_dtype dt = c->in[1]->dtype;
  const size_t bytes =
      kernels(c)->hash_grid_scratch_bytes(dt, ag_tensor_numel(c->in[1]), a.deterministic);
  void *scratch = NULL;
  if (bytes) AG_TRY(ag_allocator_alloc(c->be->alloc, bytes, &scratch));
  ag_status st = kernels(c)->hash_grid_backward(dt, (const float *)ag_in_data(c, 0),
                                                ag_in_data(c, 3), ag_out_data(c, 1), scratch,
                                                c->in[0]->shape[0], &g, a.deterministic, c->stream);
  if (scratch && c->stream) {
    const ag_status drained = c->be->synchronize(c->be, c->stream);
    if (st == AG_OK) st = drained;
  }
  if (scratch) ag_allocator_free(c->be->alloc, scratch);
  return st;
}

static ag_status sh_encode_fwd(const ag_op_call *c) {
  return kernels(c)->sh_encode(ag_call_dtype(c), ag_in_data(c, 0), ag_out_data(c, 0),
                               c->in[0]->shape[0], c->stream);
}

/* in = {dirs, y, gy}; out = {gdirs}. */
static ag_status sh_encode_bwd(const ag_op_call *c) {
  if (!c->out[0]) return AG_OK;
  return kernels(c)->sh_encode_backward(ag_call_dtype(c), ag_in_data(c, 0), ag_in_data(c, 2),
                                        ag_out_data(c, 0), c->in[0]->shape[0], c->stream);
}

const ag_op_binding ag_bind_hash_grid = {.forward = hash_grid_fwd, .backward = hash_grid_bwd};
const ag_op_binding ag_bind_sh_encode = {.forward = sh_encode_fwd, .backward = sh_encode_bwd};
