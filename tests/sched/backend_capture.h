/* backend_capture.h - a test backend that emulates CUDA stream capture on the
 * CPU, so the scheduler's graph path runs on machines without a GPU.
 *
 * It is the CPU backend (host memory, the CPU kernels) with every op, copy
 * and memset routed through a recorder. While a capture is open, work on a
 * stream that belongs to it is recorded and not run, as under
 * cudaStreamBeginCapture; capture_end turns the record into a "graph" and
 * graph_launch replays it in recording order through the real kernels.
 * The rules follow CUDA's relaxed capture mode on non-blocking streams:
 *   - capture_begin on the default (NULL) stream, or while a capture is
 *     open, is an error; capture_end must name the stream that began it;
 *   - a stream joins the capture by waiting on an event recorded in it, and
 *     every stream that joined and did work must be joined back (the origin
 *     waits on an event recorded after that work) before capture_end, or
 *     capture_end fails ("unjoined", like cudaErrorStreamCaptureUnjoined);
 *   - work on streams outside the capture (the default one included) runs at
 *     once, and is counted in kernels_in_capture when it is a kernel;
 *   - copies and memsets on a capturing stream are recorded like kernels
 *     (CUDA captures cudaMemcpyAsync / cudaMemsetAsync);
 *   - a launch that fails while recording invalidates the capture: later
 *     launches into it fail, and capture_end reports the failure even when
 *     asked to discard (cudaErrorStreamCaptureInvalidated);
 *   - synchronising the device or a capturing stream during capture fails;
 *   - launching a graph while a capture is open is not emulated (an error).
 * Replay follows recording order, which is stronger than the event order a
 * real graph keeps: missing cross-stream waits are not detected here (that
 * is ag_sched_verify's job). */
#ifndef AG_BACKEND_CAPTURE_H
#define AG_BACKEND_CAPTURE_H

#include <stdint.h>

#include "runtime/backends/ag_backend.h"
#include "runtime/ops/ag_ops.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Cumulative since the backend was created; tests compare snapshots. */
typedef struct ag_capture_counters {
  int64_t kernels_run;        /* kernel executions, direct and replayed */
  int64_t kernels_replayed;   /* of those, run by graph_launch */
  int64_t kernels_recorded;   /* launches recorded into a capture */
  int64_t kernels_in_capture; /* kernels run (not recorded) while a capture was open */
  int64_t copies_recorded;    /* copies and memsets recorded into a capture */
  int64_t captures;           /* captures opened */
  int64_t graphs;             /* captures ended into a graph */
  int64_t replays;            /* graph launches */
  int64_t live_graphs;        /* graphs not destroyed yet */
} ag_capture_counters;

/* Registers "capture" on first call; NULL if that failed (see ag_last_error). */
ag_backend *ag_backend_capture(void);

ag_capture_counters ag_capture_get_counters(const ag_backend *be);
/* Whether a capture is open. */
int ag_capture_is_open(const ag_backend *be);
/* Test hook: of the launches of `op` (its backward when `backward`) that
 * would be recorded into a capture from now on, the one after `skip` others
 * fails with AG_ERR_KERNEL instead (once). */
void ag_capture_fail_launch(ag_backend *be, ag_op op, int backward, int skip);

#ifdef __cplusplus
}
#endif

#endif
