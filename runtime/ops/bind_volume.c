/* Volume rendering ops bound to kernels (runtime/ops/bind.h). Everything is
 * f32 with int32 indices and ranges and a u8 bitfield (shape inference has
 * checked it), so no dtype is passed down. */
#include "bind.h"

static const ag_volume_kernels *kernels(const ag_op_call *c) { return c->be->kernels->volume; }

static const float *in_f32(const ag_op_call *c, int i) { return ag_in_data(c, i); }
static float *out_f32(const ag_op_call *c, int i) { return c->out[i] ? ag_out_data(c, i) : NULL; }

static ag_status occ_update_fwd(const ag_op_call *c) {
  const ag_occ_update_args a = ag_occ_update_args_decode(c);
  return kernels(c)->occ_update(in_f32(c, 0), ag_in_data(c, 1), in_f32(c, 2), out_f32(c, 0),
                                ag_tensor_numel(c->in[0]), c->in[1]->shape[0], a.decay, c->stream);
}

static ag_status occ_bitfield_fwd(const ag_op_call *c) {
  const ag_occ_bitfield_args a = ag_occ_bitfield_args_decode(c);
  return kernels(c)->occ_bitfield(in_f32(c, 0), ag_out_data(c, 0), ag_tensor_numel(c->in[0]),
                                  a.threshold, c->stream);
}

static ag_status ray_march_fwd(const ag_op_call *c) {
  const ag_ray_march_args a = ag_ray_march_args_decode(c);
  return kernels(c)->ray_march(in_f32(c, 0), in_f32(c, 1), ag_in_data(c, 2), c->in[0]->shape[0], &a,
                               out_f32(c, 0), out_f32(c, 1), out_f32(c, 2), out_f32(c, 3),
                               ag_out_data(c, 4), ag_out_data(c, 5), c->stream);
}

static ag_status composite_fwd(const ag_op_call *c) {
  return kernels(c)->composite(in_f32(c, 0), in_f32(c, 1), in_f32(c, 2), in_f32(c, 3),
                               ag_in_data(c, 4), in_f32(c, 5), c->in[4]->shape[0],
                               c->in[0]->shape[0], out_f32(c, 0), out_f32(c, 1), out_f32(c, 2),
                               c->stream);
}

/* in: sigma, rgb, dt, t, rays, bg | color, depth, opacity | their gradients
 * (depth's and opacity's may be NULL); out: d sigma, d rgb, -, -, -, d bg. */
static ag_status composite_bwd(const ag_op_call *c) {
  const float *gdepth = c->in[10] ? in_f32(c, 10) : NULL;
  const float *gopacity = c->in[11] ? in_f32(c, 11) : NULL;
  return kernels(c)->composite_backward(
      in_f32(c, 0), in_f32(c, 1), in_f32(c, 2), in_f32(c, 3), ag_in_data(c, 4), in_f32(c, 5),
      in_f32(c, 6), in_f32(c, 7), in_f32(c, 8), in_f32(c, 9), gdepth, gopacity, c->in[4]->shape[0],
      c->in[0]->shape[0], out_f32(c, 0), out_f32(c, 1), out_f32(c, 5), c->stream);
}

/* dt and t have gradients in principle (depth moves with t), but the ray
 * march that makes them has none, so the op gives none rather than a wrong 0. */
static ag_status composite_supports(const ag_op_call *c, int backward) {
  if (backward && (c->out[2] || c->out[3]))
    return ag_set_error(AG_ERR_UNSUPPORTED, "composite: no gradient for dt or t");
  return AG_OK;
}

const ag_op_binding ag_bind_occ_update = {.forward = occ_update_fwd};
const ag_op_binding ag_bind_occ_bitfield = {.forward = occ_bitfield_fwd};
const ag_op_binding ag_bind_ray_march = {.forward = ray_march_fwd};
const ag_op_binding ag_bind_composite = {
    .forward = composite_fwd, .backward = composite_bwd, .supports = composite_supports};
