/* Memory planning. Every value maps to a block: views to their base's block,
 * a value written in place to its input's block. Arena blocks get an offset
 * by first fit, largest first, avoiding every placed block they may be live
 * with; that is the interval-graph colouring a register allocator does, and
 * its peak is what the plan reports against giving every value its own
 * memory. */
#include <stdlib.h>
#include <string.h>

#include "sched_internal.h"

static size_t align_up(size_t n) {
  return (n + AG_SCHED_ALIGN - 1) / AG_SCHED_ALIGN * AG_SCHED_ALIGN;
}

static void add_access(ag_sched_node *sn, int block, int write) {
  for (int i = 0; i < sn->n_access; i++)
    if (sn->access[i] == block) {
      sn->writes |= (unsigned)write << i;
      return;
    }
  sn->writes |= (unsigned)write << sn->n_access;
  sn->access[sn->n_access++] = block;
}

void ag_sched_collect_access(ag_sched *s) {
  const ag_graph *g = s->g;
  for (int n = 0; n < g->n_nodes; n++) {
    const ag_node *node = &g->nodes[n];
    if (node->kind == AG_NODE_VIEW) continue;
    for (int i = 0, k = ag_node_inputs(node); i < k; i++)
      if (node->call.in[i]) add_access(&s->nodes[n], s->block_of[ag_value_id(node->call.in[i])], 0);
    for (int i = 0, k = ag_node_outputs(node); i < k; i++)
      if (node->call.out[i])
        add_access(&s->nodes[n], s->block_of[ag_value_id(node->call.out[i])], 1);
  }
}

int ag_sched_blocks_overlap(const ag_sched *s, int a, int b) {
  const ag_block *x = &s->blocks[a], *y = &s->blocks[b];
  if (a == b) return 1;
  if (x->storage != AG_STORE_ARENA || y->storage != AG_STORE_ARENA) return 0;
  return x->offset < y->offset + y->bytes && y->offset < x->offset + x->bytes;
}

/* The input whose memory output 0 may take (the op's in-place column,
 * ag_ops.h), or -1. Broadcasting binary ops qualify through input 0, which
 * has the output's shape when it is the same size; in a backward node
 * (x.., y.., gy.. -> gx..) the candidate is the output gradient. */
static int inplace_input(const ag_node *n) {
  const ag_op_info *info = ag_op_get_info(n->op);
  if (!info) return -1;
  if (n->kind == AG_NODE_FORWARD) return info->inplace != AG_INPLACE_NO ? 0 : -1;
  if (n->kind == AG_NODE_BACKWARD && info->inplace == AG_INPLACE_FWD_BWD)
    return info->n_in + info->n_out;
  return -1;
}

/* Storage of every base value: caller memory, resident, or arena. A base's
 * flags are the union of its views', so they are gathered first. */
static ag_status classify(ag_sched *s) {
  const ag_graph *g = s->g;
  unsigned *flags = calloc((size_t)g->n_values, sizeof *flags);
  if (!flags) return ag_set_error(AG_ERR_OOM, "sched: out of host memory");
  for (int v = 0; v < g->n_values; v++) flags[g->values[v]->base] |= g->values[v]->flags;
  for (int v = 0; v < g->n_values; v++) {
    const ag_value *val = g->values[v];
    if (val->base != v) {
      s->block_of[v] = s->block_of[val->base];
      continue;
    }
    ag_block *b = &s->blocks[s->n_blocks];
    s->block_of[v] = s->n_blocks++;
    unsigned f = flags[v];
    b->storage = (f & (AG_VALUE_PARAM | AG_VALUE_CONST | AG_VALUE_INPUT)) ? AG_STORE_CALLER
                 : (f & (AG_VALUE_OUTPUT | AG_VALUE_GRAD))                ? AG_STORE_RESIDENT
                                                                          : AG_STORE_ARENA;
    b->bytes = ag_tensor_nbytes(&val->t);
    b->first = b->last = val->producer;
    for (int k = 0; k < AG_SCHED_MAX_STREAMS; k++) b->last_on[k] = -1;
    if (b->storage == AG_STORE_ARENA) s->stats.no_reuse_bytes += align_up(b->bytes);
  }
  free(flags);
  return AG_OK;
}

static void touch(ag_sched *s, int b, int n) {
  ag_block *blk = &s->blocks[b];
  int *last = &blk->last_on[s->nodes[n].stream];
  if (n > *last) *last = n;
  if (n > blk->last) blk->last = n;
}

/* Output 0 of node n takes over the block of its in-place input when that
 * input dies here, fills its block exactly and no other input shares it. */
static void try_inplace(ag_sched *s, int n) {
  const ag_graph *g = s->g;
  const ag_node *node = &g->nodes[n];
  const int slot = s->opts.inplace ? inplace_input(node) : -1;
  if (slot < 0 || !node->call.out[0] || !node->call.in[slot]) return;
  const ag_tensor *x = node->call.in[slot];
  const int xv = ag_value_id(x), yv = ag_value_id(node->call.out[0]);
  const int bx = s->block_of[xv], by = s->block_of[yv];
  ag_block *xb = &s->blocks[bx], *yb = &s->blocks[by];
  if (xb->storage != AG_STORE_ARENA || yb->storage != AG_STORE_ARENA || xb->last != n ||
      xb->bytes != yb->bytes || g->values[xv]->view_offset != 0 || !ag_tensor_is_contiguous(x))
    return;
  for (int i = 0, k = ag_node_inputs(node); i < k; i++)
    if (i != slot && node->call.in[i] && node->call.in[i] != x &&
        s->block_of[ag_value_id(node->call.in[i])] == bx)
      return;
  /* Move every value of y's block (y and its views, created later) over. */
  for (int v = yv; v < g->n_values; v++)
    if (s->block_of[v] == by) s->block_of[v] = bx;
  xb->last = yb->last;
  for (int k = 0; k < AG_SCHED_MAX_STREAMS; k++)
    if (yb->last_on[k] > xb->last_on[k]) xb->last_on[k] = yb->last_on[k];
  yb->storage = AG_STORE_MERGED;
  yb->bytes = 0;
  s->nodes[n].inplace = 1;
  s->stats.inplace++;
}

/* Live ranges, with in-place merging done in node order so that each merge
 * sees the final last use of the input's block. */
static void liveness(ag_sched *s) {
  const ag_graph *g = s->g;
  for (int n = 0; n < g->n_nodes; n++) {
    const ag_node *node = &g->nodes[n];
    if (node->kind == AG_NODE_VIEW) continue;
    for (int i = 0, k = ag_node_inputs(node); i < k; i++)
      if (node->call.in[i]) touch(s, s->block_of[ag_value_id(node->call.in[i])], n);
    for (int i = 0, k = ag_node_outputs(node); i < k; i++)
      if (node->call.out[i]) touch(s, s->block_of[ag_value_id(node->call.out[i])], n);
  }
  for (int n = 0; n < g->n_nodes; n++) try_inplace(s, n);
}

/* Whether every access to block a happens before node n through data
 * dependencies alone: then n may reuse a's bytes without any wait beyond
 * those its inputs already need, even when they ran on other streams. */
static int done_before(const ag_sched *s, const ag_block *a, int n) {
  for (int k = 0; k < AG_SCHED_MAX_STREAMS; k++)
    if (a->last_on[k] > s->data_clock[n][k]) return 0;
  return 1;
}

/* Two arena blocks may share bytes when one is dead before the other is
 * first written, in node order and in the order data dependencies impose
 * across streams (so sharing never serialises parallel branches). */
static int may_share(const ag_sched *s, const ag_block *a, const ag_block *b) {
  if (!s->opts.reuse) return 0;
  if (a->last < b->first) return done_before(s, a, b->first);
  if (b->last < a->first) return done_before(s, b, a->first);
  return 0;
}

/* Sort keys: qsort has no context argument in C11, so each entry carries
 * what it is compared by. */
typedef struct block_key {
  size_t key;
  int first, block;
} block_key;

static int by_key_desc(const void *pa, const void *pb) {
  const block_key *a = pa, *b = pb;
  if (a->key != b->key) return a->key < b->key ? 1 : -1;
  return a->first - b->first;
}

static int by_key_asc(const void *pa, const void *pb) {
  const block_key *a = pa, *b = pb;
  return a->key < b->key ? -1 : a->key > b->key;
}

/* First fit against the placed blocks it may not share bytes with. */
static void place_block(ag_sched *s, int b, const block_key *placed, int n_placed,
                        block_key *scratch) {
  int n = 0;
  for (int i = 0; i < n_placed; i++) {
    const ag_block *o = &s->blocks[placed[i].block];
    if (!may_share(s, &s->blocks[b], o)) scratch[n++] = (block_key){o->offset, 0, placed[i].block};
  }
  qsort(scratch, (size_t)n, sizeof *scratch, by_key_asc);
  size_t offset = 0, size = align_up(s->blocks[b].bytes);
  for (int i = 0; i < n; i++) {
    const ag_block *o = &s->blocks[scratch[i].block];
    if (offset + size <= o->offset) break;
    if (o->offset + align_up(o->bytes) > offset) offset = o->offset + align_up(o->bytes);
  }
  s->blocks[b].offset = offset;
  if (offset + size > s->stats.arena_bytes) s->stats.arena_bytes = offset + size;
}

ag_status ag_sched_plan_memory(ag_sched *s) {
  const int nv = s->g->n_values;
  s->block_of = calloc((size_t)nv, sizeof *s->block_of);
  s->blocks = calloc((size_t)nv, sizeof *s->blocks);
  block_key *order = malloc(sizeof *order * (size_t)nv),
            *scratch = malloc(sizeof *order * (size_t)nv);
  ag_status st = s->block_of && s->blocks && order && scratch
                     ? classify(s)
                     : ag_set_error(AG_ERR_OOM, "sched: out of host memory");
  if (st != AG_OK) {
    free(order);
    free(scratch);
    return st;
  }
  liveness(s);
  int n = 0;
  for (int b = 0; b < s->n_blocks; b++)
    if (s->blocks[b].storage == AG_STORE_ARENA)
      order[n++] = (block_key){s->blocks[b].bytes, s->blocks[b].first, b};
  qsort(order, (size_t)n, sizeof *order, by_key_desc);
  for (int i = 0; i < n; i++) place_block(s, order[i].block, order, i, scratch);
  free(order);
  free(scratch);
  return AG_OK;
}

/* Points value v at its block's memory. */
static void point_value(ag_sched *s, int v) {
  ag_value *val = s->g->values[v];
  const ag_block *b = &s->blocks[s->block_of[v]];
  if (val->flags & (AG_VALUE_PARAM | AG_VALUE_CONST | AG_VALUE_INPUT)) return;
  const ag_value *base = s->g->values[val->base];
  const size_t es = ag_dtype_size(val->t.dtype);
  if (base->flags & (AG_VALUE_PARAM | AG_VALUE_CONST | AG_VALUE_INPUT)) {
    val->t.buf = base->t.buf;
    val->t.offset = base->t.offset + val->view_offset;
    return;
  }
  val->t.buf = b->buf;
  val->t.offset = (int64_t)(b->storage == AG_STORE_ARENA ? b->offset / es : 0) + val->view_offset;
}

ag_status ag_sched_place(ag_sched *s) {
  ag_backend *be = s->be;
  s->arena = (ag_buffer){be, NULL, s->stats.arena_bytes, 1};
  if (s->arena.bytes) AG_TRY(ag_allocator_alloc(be->alloc, s->arena.bytes, &s->arena.data));
  s->resident = calloc((size_t)s->n_blocks, sizeof *s->resident);
  if (!s->resident) return ag_set_error(AG_ERR_OOM, "sched: out of host memory");
  for (int b = 0; b < s->n_blocks; b++) {
    ag_block *blk = &s->blocks[b];
    if (blk->storage == AG_STORE_ARENA) blk->buf = &s->arena;
    if (blk->storage != AG_STORE_RESIDENT) continue;
    const int64_t n = (int64_t)blk->bytes;
    ag_tensor *t = ag_tensor_new(be, AG_U8, 1, &n);
    if (!t) return AG_ERR_OOM;
    s->resident[s->n_resident++] = t;
    blk->buf = t->buf;
    s->stats.resident_bytes += blk->bytes;
  }
  for (int v = 0; v < s->g->n_values; v++) point_value(s, v);
  return AG_OK;
}
