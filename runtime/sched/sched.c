/* The scheduler's entry points: planning in four passes (kernels, streams,
 * memory, waits) and running, plainly or through a captured CUDA graph. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sched_internal.h"

ag_sched_opts ag_sched_defaults(void) {
  return (ag_sched_opts){.reuse = 1, .inplace = 1, .max_streams = 0, .cuda_graph = 1};
}

/* Every kernel node must be one the backend can run, with these shapes and
 * dtypes (ag_op_supported): found now, naming the node, not mid-run. */
static ag_status check_kernels(const ag_sched *s) {
  const ag_graph *g = s->g;
  for (int n = 0; n < g->n_nodes; n++) {
    const ag_node *node = &g->nodes[n];
    if (node->kind == AG_NODE_VIEW) continue;
    const int bwd = node->kind == AG_NODE_BACKWARD;
    if (ag_op_supported(s->be, node->op, &node->call, bwd) == AG_OK) continue;
    char why[768];
    snprintf(why, sizeof why, "%s", ag_last_error());
    return ag_set_error(AG_ERR_UNSUPPORTED, "sched: node %d (%s%s) cannot run: %s", n,
                        ag_op_get_info(node->op)->name, bwd ? " backward" : "", why);
  }
  return AG_OK;
}

static ag_status create_sync(ag_sched *s) {
  ag_backend *be = s->be;
  for (int k = 0; k < s->stats.streams; k++) AG_TRY(be->stream_create(be, &s->streams[k]));
  AG_TRY(be->event_create(be, &s->join_in, 0));
  AG_TRY(be->event_create(be, &s->fork, 0));
  AG_TRY(be->event_create(be, &s->join_out, 0));
  s->events = calloc((size_t)s->g->n_nodes + 1, sizeof *s->events);
  if (!s->events) return ag_set_error(AG_ERR_OOM, "sched: out of host memory");
  /* The last node of every side stream joins stream 0 at the end of a run. */
  for (int k = 0; k < AG_SCHED_MAX_STREAMS; k++) s->tail[k] = -1;
  for (int n = 0; n < s->g->n_nodes; n++)
    if (s->g->nodes[n].kind != AG_NODE_VIEW) s->tail[s->nodes[n].stream] = n;
  for (int k = 1; k < s->stats.streams; k++)
    if (s->tail[k] >= 0) s->nodes[s->tail[k]].event = 1;
  for (int n = 0; n < s->g->n_nodes; n++)
    if (s->nodes[n].event) AG_TRY(be->event_create(be, &s->events[n], 0));
  return AG_OK;
}

static void count_kernels(ag_sched *s) {
  s->stats.nodes = s->g->n_nodes;
  for (int n = 0; n < s->g->n_nodes; n++) s->stats.kernels += s->g->nodes[n].kind != AG_NODE_VIEW;
}

ag_status ag_sched_new(ag_graph *g, const ag_sched_opts *opts, ag_sched **out) {
  *out = NULL;
  if (g->status) return ag_set_error(g->status, "sched: the graph has an error: %s", g->error);
  if (g->planned)
    return ag_set_error(AG_ERR_INVALID, "sched: the graph already has a plan; free it first");
  ag_sched *s = calloc(1, sizeof *s);
  if (!s) return ag_set_error(AG_ERR_OOM, "sched: out of host memory");
  s->g = g;
  s->be = g->be;
  s->opts = opts ? *opts : ag_sched_defaults();
  if (s->opts.max_streams <= 0) s->opts.max_streams = g->be->kind == AG_DEVICE_CUDA ? 4 : 1;
  if (s->opts.max_streams > AG_SCHED_MAX_STREAMS) s->opts.max_streams = AG_SCHED_MAX_STREAMS;
  ag_status st = check_kernels(s);
  if (st == AG_OK) st = ag_sched_plan_streams(s);
  if (st == AG_OK) st = ag_sched_plan_memory(s);
  if (st == AG_OK) {
    ag_sched_collect_access(s);
    st = ag_sched_plan_waits(s);
  }
  if (st == AG_OK) st = ag_sched_place(s);
  if (st == AG_OK) st = create_sync(s);
  if (st != AG_OK) {
    ag_sched_free(s);
    return st;
  }
  count_kernels(s);
  g->planned = s->live = 1;
  *out = s;
  return AG_OK;
}

void ag_sched_free(ag_sched *s) {
  if (!s) return;
  ag_backend *be = s->be;
  if (s->live) s->g->planned = 0;
  const unsigned caller = AG_VALUE_PARAM | AG_VALUE_CONST | AG_VALUE_INPUT;
  for (int v = 0; s->block_of && v < s->g->n_values; v++) {
    ag_value *val = s->g->values[v];
    if (!(s->g->values[val->base]->flags & caller)) val->t.buf = NULL;
  }
  if (s->cuda_graph) be->graph_destroy(be, s->cuda_graph);
  for (int n = 0; s->events && n < s->g->n_nodes; n++)
    if (s->events[n]) be->event_destroy(be, s->events[n]);
  if (s->join_in) be->event_destroy(be, s->join_in);
  if (s->fork) be->event_destroy(be, s->fork);
  if (s->join_out) be->event_destroy(be, s->join_out);
  for (int k = 0; k < AG_SCHED_MAX_STREAMS; k++)
    if (s->streams[k]) be->stream_destroy(be, s->streams[k]);
  for (int i = 0; i < s->n_resident; i++) ag_tensor_free(s->resident[i]);
  if (s->arena.data) ag_allocator_free(be->alloc, s->arena.data);
  for (int n = 0; s->nodes && n < s->g->n_nodes; n++) free(s->nodes[n].waits);
  free(s->nodes);
  free(s->hooks);
  free(s->data_clock);
  free(s->events);
  free(s->resident);
  free(s->blocks);
  free(s->block_of);
  free(s);
}

static ag_status launch_node(ag_sched *s, int n) {
  const ag_node *node = &s->g->nodes[n];
  const ag_sched_node *sn = &s->nodes[n];
  ag_backend *be = s->be;
  void *stream = s->streams[sn->stream];
  for (int i = 0; i < sn->n_waits; i++)
    AG_TRY(be->stream_wait_event(be, stream, s->events[sn->waits[i]]));
  ag_op_call call = node->call;
  call.stream = stream;
  ag_status st = node->kind == AG_NODE_BACKWARD ? ag_op_backward(be, node->op, &call)
                                                : ag_op_forward(be, node->op, &call);
  if (st != AG_OK) {
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", ag_last_error());
    return ag_set_error(st, "sched: node %d: %s", n, msg);
  }
  for (int h = sn->hooks; h; h = s->hooks[h - 1].next)
    AG_TRY(s->hooks[h - 1].fn(s->hooks[h - 1].user, stream));
  return sn->event ? be->event_record(be, s->events[n], stream) : AG_OK;
}

ag_status ag_sched_on_written(ag_sched *s, const ag_tensor *t, ag_sched_hook fn, void *user) {
  if (s->stats.runs > 0)
    return ag_set_error(AG_ERR_INVALID, "sched: hooks are added before the plan's first run");
  const int v = ag_graph_value_index(s->g, t);
  const int n = v < 0 ? -1 : ag_graph_value_producer(s->g, v);
  if (n < 0)
    return ag_set_error(AG_ERR_INVALID, "sched: a hook on %s, which no node of this graph writes",
                        v < 0 ? "a tensor outside the graph" : "a leaf value");
  ag_sched_hook_entry *grown = realloc(s->hooks, sizeof *grown * (size_t)(s->n_hooks + 1));
  if (!grown) return ag_set_error(AG_ERR_OOM, "sched: out of host memory");
  s->hooks = grown;
  /* Appended at the end of the node's chain: hooks run in the order given. */
  int *link = &s->nodes[n].hooks;
  while (*link) link = &s->hooks[*link - 1].next;
  s->hooks[s->n_hooks] = (ag_sched_hook_entry){fn, user, 0};
  *link = ++s->n_hooks;
  s->opts.cuda_graph = 0;
  return AG_OK;
}

/* Every node, side streams forked from stream 0 and joined back into it. */
static ag_status launch_all(ag_sched *s) {
  ag_backend *be = s->be;
  if (s->stats.streams > 1) {
    AG_TRY(be->event_record(be, s->fork, s->streams[0]));
    for (int k = 1; k < s->stats.streams; k++)
      AG_TRY(be->stream_wait_event(be, s->streams[k], s->fork));
  }
  for (int n = 0; n < s->g->n_nodes; n++)
    if (s->g->nodes[n].kind != AG_NODE_VIEW) AG_TRY(launch_node(s, n));
  for (int k = 1; k < s->stats.streams; k++)
    if (s->tail[k] >= 0) AG_TRY(be->stream_wait_event(be, s->streams[0], s->events[s->tail[k]]));
  return AG_OK;
}

/* Ends a capture that a failed launch broke, dropping its graph. Ending an
 * invalidated capture fails too (cudaErrorStreamCaptureInvalidated) and
 * would overwrite the message; the launch's error is the cause, so it is
 * the one returned. */
static ag_status discard_capture(ag_sched *s, ag_status st) {
  char msg[1024];
  snprintf(msg, sizeof msg, "%s", ag_last_error());
  s->be->capture_end(s->be, s->streams[0], NULL);
  return ag_set_error(st, "%s", msg);
}

/* Records the launches into a CUDA graph instead of running them. A
 * failed capture is ended (and its graph dropped) before returning. */
static ag_status capture(ag_sched *s) {
  ag_backend *be = s->be;
  AG_TRY(be->capture_begin(be, s->streams[0]));
  ag_status st = launch_all(s);
  if (st != AG_OK) return discard_capture(s, st);
  void *graph = NULL;
  AG_TRY(be->capture_end(be, s->streams[0], &graph));
  s->cuda_graph = graph;
  s->stats.captured = 1;
  return AG_OK;
}

ag_status ag_sched_run(ag_sched *s) {
  ag_backend *be = s->be;
  /* Ordered after earlier work on the default stream... */
  AG_TRY(be->event_record(be, s->join_in, NULL));
  AG_TRY(be->stream_wait_event(be, s->streams[0], s->join_in));
  const int use_graph = s->opts.cuda_graph && be->capture_begin && s->stats.runs >= 1;
  if (use_graph && !s->cuda_graph) AG_TRY(capture(s));
  if (s->cuda_graph)
    AG_TRY(be->graph_launch(be, s->cuda_graph, s->streams[0]));
  else
    AG_TRY(launch_all(s));
  /* ...and before later work on it. */
  AG_TRY(be->event_record(be, s->join_out, s->streams[0]));
  AG_TRY(be->stream_wait_event(be, NULL, s->join_out));
  s->stats.runs++;
  return AG_OK;
}

ag_sched_stats ag_sched_get_stats(const ag_sched *s) { return s->stats; }

int ag_sched_node_stream(const ag_sched *s, int node) {
  return node >= 0 && node < s->g->n_nodes ? s->nodes[node].stream : -1;
}

void ag_sched_dump(const ag_sched *s, FILE *f) {
  const ag_graph *g = s->g;
  char d[64];
  fprintf(f, "plan: %d nodes, %d streams, arena %zu bytes (no reuse: %zu)\n", g->n_nodes,
          s->stats.streams, s->stats.arena_bytes, s->stats.no_reuse_bytes);
  for (int n = 0; n < g->n_nodes; n++) {
    const ag_node *node = &g->nodes[n];
    if (node->kind == AG_NODE_VIEW) continue;
    fprintf(f, "%4d  s%d  %-22s%s", n, s->nodes[n].stream, ag_op_get_info(node->op)->name,
            node->kind == AG_NODE_BACKWARD ? " (grad)" : "");
    for (int i = 0; i < s->nodes[n].n_waits; i++) fprintf(f, " wait:%d", s->nodes[n].waits[i]);
    for (int i = 0, k = ag_node_outputs(node); i < k; i++) {
      const ag_tensor *t = node->call.out[i];
      if (!t) continue;
      const ag_block *b = &s->blocks[s->block_of[ag_value_id(t)]];
      fprintf(f, " -> %s", ag_tensor_describe(t, d, sizeof d));
      if (b->storage == AG_STORE_ARENA)
        fprintf(f, " @%zu", b->offset);
      else
        fprintf(f, " (resident)");
    }
    fprintf(f, "%s\n", s->nodes[n].inplace ? " in place" : "");
  }
}
