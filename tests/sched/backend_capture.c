/* The "capture" backend: CPU kernels behind an emulation of CUDA stream
 * capture (the rules are in backend_capture.h). Single-threaded like the
 * host backends it builds on: work is done when a call returns, so events
 * only carry what capture needs (which stream recorded them, and how far). */
#include "backend_capture.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/common/ag_kernels.h"
#include "runtime/core/ag_info.h"

#define CAP_MAX_MEMBERS 16

typedef enum cap_kind { CAP_KERNEL, CAP_COPY, CAP_MEMSET } cap_kind;

typedef ag_status (*cap_op_fn)(const ag_op_call *call);

/* One recorded launch; a kernel keeps its op binding and the call. */
typedef struct cap_item {
  cap_kind kind;
  cap_op_fn fn;
  ag_op_call call;
  void *dst;
  const void *src;
  size_t bytes;
  int value;
} cap_item;

/* A capture in progress, and the graph it becomes. */
typedef struct cap_list {
  cap_item *items;
  int n, cap;
} cap_list;

typedef struct cap_stream {
  int capturing;  /* belongs to the open capture */
  int64_t work;   /* items recorded on it in that capture */
  int64_t joined; /* how much of that work the origin stream has waited for */
} cap_stream;

typedef struct cap_event {
  double ms;
  int64_t capture;    /* the capture it was recorded in; 0: recorded outside one */
  cap_stream *stream; /* where it was recorded in that capture */
  int64_t work;       /* that stream's work when it was recorded */
} cap_event;

typedef struct cap_state {
  cap_stream *origin; /* the stream that began the open capture; NULL: none */
  int64_t capture;    /* the open (or last) capture's number */
  int invalid;        /* a launch into it failed */
  cap_stream *members[CAP_MAX_MEMBERS];
  int n_members;
  cap_list list;
  ag_capture_counters counters;
  int fail_armed, fail_backward, fail_skip;
  ag_op fail_op;
} cap_state;

static cap_state *state_of(const ag_backend *be) { return (cap_state *)be->ctx; }

static double now_ms(void) { return ag_now_seconds() * 1e3; }

/* Appends an item to the open capture on stream `s`; fails (and stays
 * failed) once the capture is invalidated, as CUDA does. */
static ag_status record(cap_state *st, cap_stream *s, const cap_item *item) {
  if (st->invalid)
    return ag_set_error(AG_ERR_DEVICE, "capture: launch into a capture invalidated earlier");
  if (st->list.n == st->list.cap) {
    const int cap = st->list.cap ? 2 * st->list.cap : 64;
    cap_item *items = realloc(st->list.items, (size_t)cap * sizeof *items);
    if (!items) return ag_set_error(AG_ERR_OOM, "capture: out of host memory");
    st->list.items = items;
    st->list.cap = cap;
  }
  st->list.items[st->list.n++] = *item;
  s->work++;
  return AG_OK;
}

static ag_status record_kernel(cap_state *st, cap_stream *s, cap_op_fn fn, const ag_op_call *c,
                               ag_op op, int backward) {
  if (st->fail_armed && st->fail_op == op && st->fail_backward == backward &&
      st->fail_skip-- == 0) {
    st->fail_armed = 0;
    st->invalid = 1;
    return ag_set_error(AG_ERR_KERNEL, "capture: injected launch failure of %s%s",
                        ag_op_get_info(op)->name, backward ? " backward" : "");
  }
  const cap_item item = {.kind = CAP_KERNEL, .fn = fn, .call = *c};
  ag_status status = record(st, s, &item);
  if (status != AG_OK) st->invalid = 1;
  if (status == AG_OK) st->counters.kernels_recorded++;
  return status;
}

/* Every op launch goes through here (the backend's launch_op): recorded on
 * a capturing stream, run on the CPU kernels otherwise. */
static ag_status cap_launch(ag_backend *be, int op, int backward, cap_op_fn fn,
                            const ag_op_call *c) {
  cap_state *st = state_of(be);
  cap_stream *s = (cap_stream *)c->stream;
  if (s && s->capturing) return record_kernel(st, s, fn, c, (ag_op)op, backward);
  if (st->origin) st->counters.kernels_in_capture++;
  st->counters.kernels_run++;
  return fn(c);
}

static ag_status cap_copy(ag_backend *be, void *dst, const void *src, size_t bytes,
                          ag_copy_kind kind, void *stream) {
  (void)kind;
  cap_state *st = state_of(be);
  cap_stream *s = (cap_stream *)stream;
  if (s && s->capturing) {
    const cap_item item = {.kind = CAP_COPY, .dst = dst, .src = src, .bytes = bytes};
    AG_TRY(record(st, s, &item));
    st->counters.copies_recorded++;
    return AG_OK;
  }
  if (bytes) memmove(dst, src, bytes);
  return AG_OK;
}

static ag_status cap_memset(ag_backend *be, void *dst, int value, size_t bytes, void *stream) {
  cap_state *st = state_of(be);
  cap_stream *s = (cap_stream *)stream;
  if (s && s->capturing) {
    const cap_item item = {.kind = CAP_MEMSET, .dst = dst, .bytes = bytes, .value = value};
    AG_TRY(record(st, s, &item));
    st->counters.copies_recorded++;
    return AG_OK;
  }
  memset(dst, value, bytes);
  return AG_OK;
}

static ag_status cap_stream_create(ag_backend *be, void **stream) {
  (void)be;
  *stream = calloc(1, sizeof(cap_stream));
  return *stream ? AG_OK : ag_set_error(AG_ERR_OOM, "capture: out of host memory for a stream");
}

static void cap_stream_destroy(ag_backend *be, void *stream) {
  (void)be;
  free(stream);
}

static ag_status cap_event_create(ag_backend *be, void **event, int timing) {
  (void)be, (void)timing;
  *event = calloc(1, sizeof(cap_event));
  return *event ? AG_OK : ag_set_error(AG_ERR_OOM, "capture: out of host memory for an event");
}

static void cap_event_destroy(ag_backend *be, void *event) {
  (void)be;
  free(event);
}

/* Inside a capture an event marks a point of the recording on its stream;
 * outside one it is a timestamp. */
static ag_status cap_event_record(ag_backend *be, void *event, void *stream) {
  cap_state *st = state_of(be);
  cap_event *ev = (cap_event *)event;
  cap_stream *s = (cap_stream *)stream;
  if (s && s->capturing) {
    *ev = (cap_event){.capture = st->capture, .stream = s, .work = s->work};
    return AG_OK;
  }
  *ev = (cap_event){.ms = now_ms()};
  return AG_OK;
}

static ag_status cap_event_elapsed(ag_backend *be, void *start, void *end, float *ms) {
  (void)be;
  const cap_event *a = (const cap_event *)start, *b = (const cap_event *)end;
  if (a->capture || b->capture)
    return ag_set_error(AG_ERR_INVALID, "capture: timing an event recorded in a capture");
  *ms = (float)(b->ms - a->ms);
  return AG_OK;
}

static ag_status join_capture(cap_state *st, cap_stream *s) {
  if (st->n_members == CAP_MAX_MEMBERS)
    return ag_set_error(AG_ERR_UNSUPPORTED, "capture: more than %d streams in one capture",
                        CAP_MAX_MEMBERS);
  *s = (cap_stream){.capturing = 1};
  st->members[st->n_members++] = s;
  return AG_OK;
}

/* Waiting on an event of the open capture pulls a stream into it (a fork);
 * the origin waiting on a side stream's event joins that work back. Other
 * waits order nothing on a synchronous host. */
static ag_status cap_stream_wait(ag_backend *be, void *stream, void *event) {
  cap_state *st = state_of(be);
  const cap_event *ev = (const cap_event *)event;
  cap_stream *s = (cap_stream *)stream;
  if (!st->origin || !s || ev->capture != st->capture) return AG_OK;
  if (!s->capturing) return join_capture(st, s);
  if (s == st->origin && ev->stream->joined < ev->work) ev->stream->joined = ev->work;
  return AG_OK;
}

static ag_status cap_synchronize(ag_backend *be, void *stream) {
  cap_state *st = state_of(be);
  cap_stream *s = (cap_stream *)stream;
  if (st->origin && (!s || s->capturing))
    return ag_set_error(AG_ERR_DEVICE, "capture: synchronizing %s while a capture is open",
                        s ? "a capturing stream" : "the device");
  return AG_OK;
}

static ag_status cap_capture_begin(ag_backend *be, void *stream) {
  cap_state *st = state_of(be);
  if (!stream)
    return ag_set_error(AG_ERR_INVALID, "capture: the default stream cannot be captured");
  if (st->origin) return ag_set_error(AG_ERR_INVALID, "capture: a capture is already open");
  st->capture++;
  st->invalid = 0;
  st->n_members = 0;
  st->list.n = 0;
  AG_TRY(join_capture(st, (cap_stream *)stream));
  st->origin = (cap_stream *)stream;
  st->counters.captures++;
  return AG_OK;
}

/* The first side stream whose work the origin never waited for, or -1. */
static int first_unjoined(const cap_state *st) {
  for (int i = 1; i < st->n_members; i++)
    if (st->members[i]->joined < st->members[i]->work) return i;
  return -1;
}

static void close_capture(cap_state *st) {
  for (int i = 0; i < st->n_members; i++) st->members[i]->capturing = 0;
  st->n_members = 0;
  st->origin = NULL;
}

/* The capture's verdict: an invalidated or unjoined capture fails even
 * when it is being discarded, as cudaStreamEndCapture does. */
static ag_status capture_verdict(const cap_state *st) {
  if (st->invalid)
    return ag_set_error(AG_ERR_DEVICE, "capture: ended a capture invalidated by a failed launch");
  const int u = first_unjoined(st);
  if (u >= 0)
    return ag_set_error(AG_ERR_DEVICE,
                        "capture: side stream %d did work the origin stream never waited for "
                        "(unjoined)",
                        u);
  return AG_OK;
}

static ag_status cap_capture_end(ag_backend *be, void *stream, void **graph) {
  cap_state *st = state_of(be);
  if (graph) *graph = NULL;
  if (!st->origin) return ag_set_error(AG_ERR_INVALID, "capture: no capture is open");
  if ((cap_stream *)stream != st->origin)
    return ag_set_error(AG_ERR_INVALID, "capture: ended on a stream that did not begin it");
  const ag_status verdict = capture_verdict(st);
  close_capture(st);
  if (verdict != AG_OK || !graph) return verdict;
  cap_list *g = malloc(sizeof *g);
  if (!g) return ag_set_error(AG_ERR_OOM, "capture: out of host memory for a graph");
  *g = st->list;
  st->list = (cap_list){0};
  st->counters.graphs++;
  st->counters.live_graphs++;
  *graph = g;
  return AG_OK;
}

static ag_status replay_item(cap_state *st, const cap_item *it) {
  switch (it->kind) {
    case CAP_KERNEL:
      st->counters.kernels_run++;
      st->counters.kernels_replayed++;
      return it->fn(&it->call);
    case CAP_COPY:
      if (it->bytes) memmove(it->dst, it->src, it->bytes);
      return AG_OK;
    case CAP_MEMSET:
      memset(it->dst, it->value, it->bytes);
      return AG_OK;
  }
  return ag_set_error(AG_ERR_INVALID, "capture: corrupt graph item");
}

static ag_status cap_graph_launch(ag_backend *be, void *graph, void *stream) {
  (void)stream;
  cap_state *st = state_of(be);
  if (st->origin) return ag_set_error(AG_ERR_UNSUPPORTED, "capture: graph launch inside a capture");
  const cap_list *g = (const cap_list *)graph;
  st->counters.replays++;
  for (int i = 0; i < g->n; i++) AG_TRY(replay_item(st, &g->items[i]));
  return AG_OK;
}

static void cap_graph_destroy(ag_backend *be, void *graph) {
  cap_list *g = (cap_list *)graph;
  state_of(be)->counters.live_graphs--;
  free(g->items);
  free(g);
}

static pthread_once_t ag_capture_once = PTHREAD_ONCE_INIT;
static ag_backend ag_capture_be;
static cap_state ag_capture_state;
static ag_status ag_capture_init_status = AG_ERR_INVALID;

static void capture_backend_create(void) {
  ag_backend *be = &ag_capture_be;
  ag_capture_init_status =
      ag_backend_init_host(be, "capture", AG_DEVICE_CPU, &ag_cpu_kernel_table);
  if (ag_capture_init_status != AG_OK) return;
  be->ctx = &ag_capture_state;
  be->launch_op = cap_launch;
  be->copy = cap_copy;
  be->memset = cap_memset;
  be->stream_create = cap_stream_create;
  be->stream_destroy = cap_stream_destroy;
  be->event_create = cap_event_create;
  be->event_destroy = cap_event_destroy;
  be->event_record = cap_event_record;
  be->event_elapsed_ms = cap_event_elapsed;
  be->stream_wait_event = cap_stream_wait;
  be->synchronize = cap_synchronize;
  be->capture_begin = cap_capture_begin;
  be->capture_end = cap_capture_end;
  be->graph_launch = cap_graph_launch;
  be->graph_destroy = cap_graph_destroy;
  ag_capture_init_status = ag_backend_register(be);
}

ag_backend *ag_backend_capture(void) {
  pthread_once(&ag_capture_once, capture_backend_create);
  return ag_capture_init_status == AG_OK ? &ag_capture_be : NULL;
}

ag_capture_counters ag_capture_get_counters(const ag_backend *be) { return state_of(be)->counters; }

int ag_capture_is_open(const ag_backend *be) { return state_of(be)->origin != NULL; }

void ag_capture_fail_launch(ag_backend *be, ag_op op, int backward, int skip) {
  cap_state *st = state_of(be);
  st->fail_armed = 1;
  st->fail_op = op;
  st->fail_backward = backward;
  st->fail_skip = skip;
}
