/* ag_layers.h - building blocks the models share. Each adds a few ops to a
 * graph and takes its weights from a parameter set under "<name>.<weight>"
 * (PyTorch's names and layouts), created on first use with PyTorch's default
 * initialisation. Activations are [batch, tokens, channels] for the
 * transformer blocks and NCHW for the convolutional ones. Weights are f32
 * masters used in the dtype of the activation (ag_nn_weight), so a model
 * computes in bf16 by casting its input (ag_params_compute_dtype). */
#ifndef AG_LAYERS_H
#define AG_LAYERS_H

#include "runtime/graph/ag_params.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The f32 parameter `name` as a tensor of dtype dt: the parameter itself
 * when dt is f32, else its rounded copy (a cast in the graph, whose
 * backward carries the gradient to the f32 master). */
ag_tensor *ag_nn_weight(ag_graph *g, ag_params *p, const char *name, ag_dtype dt, int ndim,
                        const int64_t *shape, ag_init init);
/* x as dtype dt: x itself when it already is, else a cast. Models start
 * their activations with ag_nn_cast(g, x, ag_params_compute_dtype(p)) and
 * give f32 outputs. */
ag_tensor *ag_nn_cast(ag_graph *g, ag_tensor *x, ag_dtype dt);

/* y = act(x @ w^T + b): w [out, in], b [out] (none when !bias); act is an
 * AG_MATMUL_EPI_* epilogue. */
ag_tensor *ag_nn_linear(ag_graph *g, ag_params *p, const char *name, ag_tensor *x, int64_t out,
                        int act, int bias);
ag_tensor *ag_nn_layernorm(ag_graph *g, ag_params *p, const char *name, ag_tensor *x);
/* k x k convolution, padding k/2 (same size at stride 1). */
ag_tensor *ag_nn_conv2d(ag_graph *g, ag_params *p, const char *name, ag_tensor *x, int64_t cout,
                        int k, int stride);
ag_tensor *ag_nn_groupnorm(ag_graph *g, ag_params *p, const char *name, ag_tensor *x, int groups);

/* Two dense layers with a GELU between: fc1 [hidden], fc2 back to C. */
ag_tensor *ag_nn_mlp(ag_graph *g, ag_params *p, const char *name, ag_tensor *x, int64_t hidden);
/* Multi-head attention of x [B,T,C] over ctx [B,S,Cc] (ctx NULL: x itself),
 * with projections q, k, v and out. */
ag_tensor *ag_nn_attention(ag_graph *g, ag_params *p, const char *name, ag_tensor *x,
                           ag_tensor *ctx, int heads, int causal);
/* Pre-norm transformer block: x + attn(ln1(x)), then + mlp(ln2(.)), MLP 4C. */
ag_tensor *ag_nn_transformer_block(ag_graph *g, ag_params *p, const char *name, ag_tensor *x,
                                   int heads, int causal);
/* The same block attending over ctx [B,S,Cc] instead of itself, never
 * causal: x + attn(ln1(x), ctx), then + mlp(ln2(.)); same weight names. */
ag_tensor *ag_nn_cross_attention_block(ag_graph *g, ag_params *p, const char *name, ag_tensor *x,
                                       ag_tensor *ctx, int heads);
/* Keys and values seen from outside a self-attention layer, for decoding
 * one token at a time with a cache. Attention does not depend on the order
 * of its keys apart from the causal mask (positions live in the inputs), so
 * past keys go after the new ones, where a growing cache needs no shifting.
 *   in:  past_k, past_v [B,H,S,D] or NULL: keys and values of earlier tokens,
 *        attended over after this call's own;
 *        kv_len i32 [B] or NULL: keys j >= kv_len[b] are masked out (a
 *        cache's unused slots);
 *   out: keys, values [B,H,T+S,D]: everything attended over, new first. */
typedef struct ag_nn_kv {
  ag_tensor *past_k, *past_v, *kv_len;
  ag_tensor *keys, *values;
} ag_nn_kv;
/* Self-attention of x [B,T,C] with its keys and values in `kv`; the same
 * weights as ag_nn_attention. With past keys, causal needs T = 1 (a decode
 * step, whose one query sees every key). */
ag_tensor *ag_nn_attention_kv(ag_graph *g, ag_params *p, const char *name, ag_tensor *x, int heads,
                              int causal, ag_nn_kv *kv);
/* ag_nn_transformer_block with its attention's keys and values in `kv`
 * (ag_nn_attention_kv); the same weights. */
ag_tensor *ag_nn_transformer_block_kv(ag_graph *g, ag_params *p, const char *name, ag_tensor *x,
                                      int heads, int causal, ag_nn_kv *kv);
/* Residual conv block: conv(silu(gn(conv(silu(gn(x)))))) + skip, where skip
 * is x or a 1x1 conv when the channel count changes. */
ag_tensor *ag_nn_conv_block(ag_graph *g, ag_params *p, const char *name, ag_tensor *x, int64_t cout,
                            int groups);

#ifdef __cplusplus
}
#endif

#endif
