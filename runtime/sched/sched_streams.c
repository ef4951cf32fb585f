/* Streams. A node continues the stream of the latest node it reads from if
 * that node is still its stream's tail; otherwise it opens a new stream, or,
 * when all are taken, the one idle longest. A chain stays on one stream and
 * a fork (CLIP's two towers) spreads over two.
 *
 * Ordering across streams uses vector clocks: clock[n][s] is the last node
 * of stream s that node n is known to run after. Node n waits for an
 * earlier node m on another stream when they touch overlapping memory, one
 * of them writing (read after write, and the write-after-read and
 * write-after-write hazards that memory reuse creates), unless its clock
 * already covers m. */
#include <stdlib.h>
#include <string.h>

#include "sched_internal.h"

/* The kernel node that writes the memory x lives in before it is read as x:
 * the producer of x, or for a view the producer of what it views. */
static int writer_of(const ag_graph *g, const ag_tensor *x) {
  const ag_value *v = g->values[ag_value_id(x)];
  while (v->producer >= 0 && g->nodes[v->producer].kind == AG_NODE_VIEW)
    v = g->values[ag_value_id(g->nodes[v->producer].call.in[0])];
  return v->producer;
}

/* Node n's data clock: its stream predecessor's, joined with those of the
 * nodes that wrote what it reads. */
static void set_data_clock(ag_sched *s, int n, int prev) {
  const ag_node *node = &s->g->nodes[n];
  int *c = s->data_clock[n];
  for (int k = 0; k < AG_SCHED_MAX_STREAMS; k++) c[k] = prev >= 0 ? s->data_clock[prev][k] : -1;
  for (int i = 0, k = ag_node_inputs(node); i < k; i++) {
    const int w = node->call.in[i] ? writer_of(s->g, node->call.in[i]) : -1;
    for (int j = 0; w >= 0 && j < AG_SCHED_MAX_STREAMS; j++)
      if (s->data_clock[w][j] > c[j]) c[j] = s->data_clock[w][j];
  }
  c[s->nodes[n].stream] = n;
}

ag_status ag_sched_plan_streams(ag_sched *s) {
  const ag_graph *g = s->g;
  int tail[AG_SCHED_MAX_STREAMS], used = 0;
  s->nodes = calloc((size_t)g->n_nodes + 1, sizeof *s->nodes);
  s->data_clock = malloc(sizeof *s->data_clock * ((size_t)g->n_nodes + 1));
  if (!s->nodes || !s->data_clock) return ag_set_error(AG_ERR_OOM, "sched: out of host memory");
  for (int k = 0; k < AG_SCHED_MAX_STREAMS; k++) tail[k] = -1;
  for (int n = 0; n < g->n_nodes; n++) {
    const ag_node *node = &g->nodes[n];
    int stream = -1, latest = -1;
    if (node->kind == AG_NODE_VIEW) continue;
    for (int i = 0, k = ag_node_inputs(node); i < k; i++) {
      int w = node->call.in[i] ? writer_of(g, node->call.in[i]) : -1;
      if (w > latest && tail[s->nodes[w].stream] == w) latest = w;
    }
    if (latest >= 0)
      stream = s->nodes[latest].stream;
    else if (used < s->opts.max_streams)
      stream = used++;
    else
      for (int k = 0; k < used; k++)
        if (stream < 0 || tail[k] < tail[stream]) stream = k;
    s->nodes[n].stream = stream;
    set_data_clock(s, n, tail[stream]);
    tail[stream] = n;
  }
  s->stats.streams = used ? used : 1;
  return AG_OK;
}

/* Whether m and n touch overlapping memory, at least one of them writing. */
static int conflict(const ag_sched *s, int m, int n) {
  const ag_sched_node *x = &s->nodes[m], *y = &s->nodes[n];
  for (int i = 0; i < x->n_access; i++)
    for (int j = 0; j < y->n_access; j++)
      if ((x->writes >> i & 1 || y->writes >> j & 1) &&
          ag_sched_blocks_overlap(s, x->access[i], y->access[j]))
        return 1;
  return 0;
}

static ag_status add_wait(ag_sched_node *sn, int m) {
  int *w = realloc(sn->waits, sizeof(int) * (size_t)(sn->n_waits + 1));
  if (!w) return ag_set_error(AG_ERR_OOM, "sched: out of host memory");
  sn->waits = w;
  sn->waits[sn->n_waits++] = m;
  return AG_OK;
}

ag_status ag_sched_plan_waits(ag_sched *s) {
  const ag_graph *g = s->g;
  const int S = s->stats.streams;
  if (S == 1) return AG_OK;
  int(*clock)[AG_SCHED_MAX_STREAMS] = malloc(sizeof *clock * (size_t)g->n_nodes);
  int last_on[AG_SCHED_MAX_STREAMS];
  if (!clock) return ag_set_error(AG_ERR_OOM, "sched: out of host memory");
  for (int k = 0; k < S; k++) last_on[k] = -1;
  ag_status st = AG_OK;
  for (int n = 0; n < g->n_nodes && st == AG_OK; n++) {
    if (g->nodes[n].kind == AG_NODE_VIEW) continue;
    const int sn = s->nodes[n].stream;
    for (int k = 0; k < S; k++) clock[n][k] = last_on[sn] >= 0 ? clock[last_on[sn]][k] : -1;
    for (int m = n - 1; m >= 0 && st == AG_OK; m--) {
      if (g->nodes[m].kind == AG_NODE_VIEW) continue;
      const int sm = s->nodes[m].stream;
      if (sm == sn || m <= clock[n][sm] || !conflict(s, m, n)) continue;
      st = add_wait(&s->nodes[n], m);
      s->nodes[m].event = 1;
      s->stats.waits++;
      for (int k = 0; k < S; k++)
        if (clock[m][k] > clock[n][k]) clock[n][k] = clock[m][k];
      clock[n][sm] = m;
    }
    clock[n][sn] = n;
    last_on[sn] = n;
  }
  free(clock);
  return st;
}

/* Checks the waits themselves: clocks built only from stream order and the
 * recorded waits must cover every conflicting pair. */
ag_status ag_sched_verify(const ag_sched *s) {
  const ag_graph *g = s->g;
  int(*clock)[AG_SCHED_MAX_STREAMS] = malloc(sizeof *clock * ((size_t)g->n_nodes + 1));
  int last_on[AG_SCHED_MAX_STREAMS];
  if (!clock) return ag_set_error(AG_ERR_OOM, "sched: out of host memory");
  for (int k = 0; k < AG_SCHED_MAX_STREAMS; k++) last_on[k] = -1;
  for (int n = 0; n < g->n_nodes; n++) {
    if (g->nodes[n].kind == AG_NODE_VIEW) continue;
    const ag_sched_node *sn = &s->nodes[n];
    for (int k = 0; k < AG_SCHED_MAX_STREAMS; k++)
      clock[n][k] = last_on[sn->stream] >= 0 ? clock[last_on[sn->stream]][k] : -1;
    for (int i = 0; i < sn->n_waits; i++) {
      const int m = sn->waits[i];
      for (int k = 0; k < AG_SCHED_MAX_STREAMS; k++)
        if (clock[m][k] > clock[n][k]) clock[n][k] = clock[m][k];
    }
    clock[n][sn->stream] = n;
    last_on[sn->stream] = n;
    for (int m = 0; m < n; m++) {
      if (g->nodes[m].kind == AG_NODE_VIEW || m <= clock[n][s->nodes[m].stream] ||
          !conflict(s, m, n))
        continue;
      free(clock);
      return ag_set_error(
          AG_ERR_INVALID, "sched: nodes %d (%s) and %d (%s) share memory but are not ordered", m,
          ag_op_get_info(g->nodes[m].op)->name, n, ag_op_get_info(g->nodes[n].op)->name);
    }
  }
  free(clock);
  return AG_OK;
}
