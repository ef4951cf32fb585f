/* ag_progress.h - a progress line for long runs:
 *   "label  step 120/4690  2345 img/s  loss 0.4123  eta 1m23s  [note]"
 * On a terminal one line is rewritten in place ('\r') at most ~10 times a
 * second; elsewhere (a log file, a pipe) a plain line is written at most every
 * `log_every_s` seconds, and always for the first and the last step.
 *
 * Usage: `ag_progress p = {0};` optionally set the fields marked "caller",
 * then begin / update per step / end. */
#ifndef AG_PROGRESS_H
#define AG_PROGRESS_H

#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ag_progress_mode {
  AG_PROGRESS_AUTO = 0, /* line rewriting when `f` is a terminal, else log lines */
  AG_PROGRESS_TTY,
  AG_PROGRESS_LOG
} ag_progress_mode;

typedef struct ag_progress {
  /* caller (zero = default) */
  ag_progress_mode mode;
  double log_every_s;       /* log mode: seconds between lines (10) */
  double (*now)(void *ctx); /* seconds on a monotonic clock (CLOCK_MONOTONIC) */
  void *now_ctx;
  /* set by ag_progress_begin */
  const char *label, *unit;
  FILE *f;
  int64_t total;
  int tty;
  double start, last_print;
  int printed_last; /* the latest update has been written */
  /* rate window: items and steps since win_t */
  double win_t;
  int64_t win_items, win_steps;
  double item_rate, step_rate; /* < 0 until first measured */
  int64_t step;
  float loss;
  char note[64];  /* ag_progress_note's text, "" for none */
  int note_fresh; /* not yet written */
} ag_progress;

/* total_steps <= 0: unknown (no "/total" and no eta). unit names the items
 * ("img"); label and unit must outlive the progress. */
void ag_progress_begin(ag_progress *p, const char *label, int64_t total_steps, const char *unit,
                       FILE *f);
/* `step` is the count of steps done (1 .. total), `items` those this step
 * processed (images, tokens), `loss` this step's loss (NaN: a job without one,
 * and the line shows none). */
void ag_progress_update(ag_progress *p, int64_t step, int64_t items, float loss);
/* A short text the line shows from now on ("val 24.31 dB", a metric
 * measured every so often); the next update writes the line at once. */
void ag_progress_note(ag_progress *p, const char *fmt, ...);
/* Writes the final state if it was not yet written and ends the line. */
void ag_progress_end(ag_progress *p);

/* "45s", "3m05s", "1h02m"; "?" for a negative or non-finite time. */
const char *ag_progress_format_eta(double seconds, char *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif
