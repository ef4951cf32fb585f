/* Collective ops bound to kernels (runtime/ops/bind.h). They run on the
 * kernels of the communicator's handle in the backend's library handles
 * (kernels/common/ag_k_collective.h): the backend's own, or on a host-memory
 * backend the CPU's MPI kernels. */
#include "bind.h"

static ag_collective_comm *comm_of(const ag_op_call *c) { return ag_call_libs(c)->comm; }

/* The op was built for the world the backend's communicator has; without
 * one only a world of 1, where gathering is a copy. */
static ag_status all_gather_supports(const ag_op_call *c, int backward) {
  (void)backward;
  const int world = ag_all_gather_args_decode(c).world;
  const ag_collective_comm *comm = comm_of(c);
  if (!comm && world != 1)
    return ag_set_error(AG_ERR_UNSUPPORTED,
                        "world %d needs a communicator on backend %s (ag_comm_open)", world,
                        c->be->name);
  if (comm && comm->world != world)
    return ag_set_error(AG_ERR_UNSUPPORTED,
                        "built for world %d, but the communicator on backend %s has %d ranks",
                        world, c->be->name, comm->world);
  return AG_OK;
}

static ag_status copy(const ag_op_call *c, const ag_tensor *src, ag_tensor *dst) {
  return c->be->copy(c->be, ag_tensor_data(dst), ag_tensor_data(src), ag_tensor_nbytes(src),
                     AG_COPY_D2D, c->stream);
}

static ag_status all_gather_fwd(const ag_op_call *c) {
  ag_collective_comm *comm = comm_of(c);
  if (!comm) return copy(c, c->in[0], c->out[0]);
  return comm->kernels->all_gather(comm, ag_call_dtype(c), ag_in_data(c, 0), ag_out_data(c, 0),
                                   ag_tensor_numel(c->in[0]), c->stream);
}

/* in = {x, y, gy}; out = {gx}. */
static ag_status all_gather_bwd(const ag_op_call *c) {
  if (!c->out[0]) return AG_OK;
  ag_collective_comm *comm = comm_of(c);
  if (!comm) return copy(c, c->in[2], c->out[0]);
  return comm->kernels->reduce_scatter(comm, ag_call_dtype(c), AG_COLLECTIVE_SUM,
                                       ag_in_data(c, 2), ag_out_data(c, 0),
                                       ag_tensor_numel(c->out[0]), c->stream);
}

const ag_op_binding ag_bind_all_gather = {
    .forward = all_gather_fwd, .backward = all_gather_bwd, .supports = all_gather_supports};
