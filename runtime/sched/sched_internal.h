/* sched_internal.h - the plan shared by the scheduler's parts: memory
 * (sched_memory.c), streams (sched_streams.c) and running (sched.c). */
#ifndef AG_SCHED_INTERNAL_H
#define AG_SCHED_INTERNAL_H

#include "ag_sched.h"
#include "runtime/graph/graph_internal.h"

#define AG_SCHED_MAX_STREAMS 8
#define AG_SCHED_ALIGN 256

/* Where a base value's memory comes from. */
typedef enum ag_storage {
  AG_STORE_CALLER,   /* parameter, constant or input: memory exists already */
  AG_STORE_RESIDENT, /* an output or gradient: a buffer of its own */
  AG_STORE_ARENA,    /* an intermediate: a slot of the arena */
  AG_STORE_MERGED,   /* emptied: its values were written in place elsewhere */
} ag_storage;

/* A block of memory: a slot of the arena shared by one base value and the
 * values written in place over it, or one resident/caller buffer. */
typedef struct ag_block {
  ag_storage storage;
  size_t bytes;
  size_t offset;                     /* in the arena */
  int first, last;                   /* the nodes that write it first and read it last */
  int last_on[AG_SCHED_MAX_STREAMS]; /* per stream, the last node touching it */
  ag_buffer *buf;                    /* the memory, once placed */
} ag_block;

typedef struct ag_sched_node {
  int stream;
  int event; /* it records one for later nodes on other streams */
  int n_waits;
  int *waits;   /* nodes on other streams to wait for */
  int inplace;  /* output 0 shares its block with an input */
  int n_access; /* the blocks its kernel reads or writes */
  int access[2 * AG_OP_MAX_ARGS];
  unsigned writes; /* bit i: access[i] is written */
  int hooks;       /* 1 + index of its first hook in ag_sched.hooks; 0: none */
} ag_sched_node;

/* A hook registered with ag_sched_on_written, chained per node. */
typedef struct ag_sched_hook_entry {
  ag_sched_hook fn;
  void *user;
  int next; /* 1 + index of the node's next hook; 0: the last */
} ag_sched_hook_entry;

struct ag_sched {
  ag_graph *g;
  int live; /* planning succeeded: the graph's memory is this plan's */
  ag_backend *be;
  ag_sched_opts opts;
  int *block_of; /* per value: its block */
  ag_block *blocks;
  int n_blocks;
  ag_sched_node *nodes;
  /* Per node, a vector clock of data dependencies alone: data_clock[n][k]
   * is the last node of stream k that n depends on through values it reads
   * (n itself on its own stream). Used while planning memory. */
  int (*data_clock)[AG_SCHED_MAX_STREAMS];
  ag_buffer arena;
  ag_tensor **resident; /* the tensors behind AG_STORE_RESIDENT blocks */
  int n_resident;
  void *streams[AG_SCHED_MAX_STREAMS];
  void **events;                  /* per node, NULL when it records none */
  int tail[AG_SCHED_MAX_STREAMS]; /* the last node of each stream */
  void *join_in, *join_out;       /* order the run against the default stream */
  void *fork;                     /* side streams start after stream 0 does */
  void *cuda_graph;
  ag_sched_hook_entry *hooks;
  int n_hooks;
  ag_sched_stats stats;
};

/* Decides where every value lives (no memory allocated yet). */
ag_status ag_sched_plan_memory(ag_sched *s);
/* Gives the arena and resident blocks memory and points the values at it. */
ag_status ag_sched_place(ag_sched *s);
/* Streams, and the event waits that order the nodes across them. */
ag_status ag_sched_plan_streams(ag_sched *s);
ag_status ag_sched_plan_waits(ag_sched *s);

/* Fills each node's access list from the final block assignment. */
void ag_sched_collect_access(ag_sched *s);
/* Whether blocks a and b share bytes. */
int ag_sched_blocks_overlap(const ag_sched *s, int a, int b);

#endif
