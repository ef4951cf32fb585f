/* ag_sched.h - the main header of runtime/sched/, which owns planning and
 * running graphs: kernel support, streams, memory, event waits and CUDA-graph
 * capture. It plans and runs a graph on its backend.
 *
 * Planning (ag_sched_new) checks that every node has a kernel on the
 * backend, gives every value its memory, and on CUDA puts independent
 * branches on separate streams:
 *   - parameters and constants keep the caller's memory; inputs, flagged
 *     outputs and parameter gradients get resident buffers of their own;
 *   - every other value lives in one arena, placed by liveness like a
 *     register allocator: values whose lifetimes do not overlap share bytes,
 *     and an elementwise op writes over an input that dies at it (in place);
 *   - nodes go on up to max_streams streams; a node waits (through events)
 *     for every earlier node on another stream it reads from or whose memory
 *     it overwrites, so reuse stays safe when branches run concurrently.
 * Running (ag_sched_run) launches the nodes in recording order. On CUDA the
 * second run is captured into a CUDA graph, and later runs replay it; the
 * run is ordered after earlier work on the default stream and before later
 * work on it, so eager code (an optimizer, ag_tensor_read) just follows. */
#ifndef AG_SCHED_H
#define AG_SCHED_H

#include <stdio.h>

#include "runtime/graph/ag_graph.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ag_sched_opts {
  int reuse;       /* share arena bytes between values with disjoint lifetimes */
  int inplace;     /* elementwise ops may write over an input that dies at them */
  int max_streams; /* 0: 4 on CUDA, 1 elsewhere; >1 plans streams on any backend */
  int cuda_graph;  /* capture on the second run and replay afterwards (CUDA only) */
} ag_sched_opts;

/* reuse, inplace and cuda_graph on; max_streams 0. */
ag_sched_opts ag_sched_defaults(void);

typedef struct ag_sched_stats {
  size_t arena_bytes;    /* the planned peak of all intermediates */
  size_t no_reuse_bytes; /* the same values, each in its own block */
  size_t resident_bytes; /* inputs, outputs and gradients the scheduler holds */
  int nodes, kernels;    /* nodes, and those that launch a kernel (views don't) */
  int inplace;           /* kernels writing over an input */
  int streams, waits;    /* streams used, cross-stream event waits per run */
  int captured;          /* runs replay a CUDA graph */
  int64_t runs;
} ag_sched_stats;

typedef struct ag_sched ag_sched;

/* Plans `g` (its status must be AG_OK). The graph must outlive the plan and
 * not change while it lives, and has one plan at a time: its values' memory
 * is the plan's, valid until ag_sched_free. */
ag_status ag_sched_new(ag_graph *g, const ag_sched_opts *opts, ag_sched **out);
void ag_sched_free(ag_sched *s);

/* Runs every node once. */
ag_status ag_sched_run(ag_sched *s);

/* Host code run mid-graph: fn(user, stream) is called in every run right
 * after the node that writes `t` has been launched, with the stream it was
 * launched on, so work fn enqueues there (or on a stream waiting on it)
 * follows that node. `t` is a value of the plan's graph that a node writes
 * (a parameter gradient, an output). Data-parallel training starts each
 * gradient bucket's reduction this way (runtime/dist/ag_dp.h). Hooks are
 * host code that must run every time, so a plan with hooks is never captured
 * into a CUDA graph. An error a hook returns stops the run and is returned. */
typedef ag_status (*ag_sched_hook)(void *user, void *stream);
ag_status ag_sched_on_written(ag_sched *s, const ag_tensor *t, ag_sched_hook fn, void *user);

ag_sched_stats ag_sched_get_stats(const ag_sched *s);
/* The stream of node i (0 for every node of a one-stream plan). */
int ag_sched_node_stream(const ag_sched *s, int node);
/* Checks the plan: every pair of nodes that touch overlapping memory, one of
 * them writing, is ordered (same stream, or joined by events); an error names
 * the first pair that is not. Used by tests. */
ag_status ag_sched_verify(const ag_sched *s);
/* One line per node: stream, waits, kernel, outputs with their placement. */
void ag_sched_dump(const ag_sched *s, FILE *f);

#ifdef __cplusplus
}
#endif

#endif
