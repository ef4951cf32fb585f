/* Progress line: rate over a sliding window, eta, terminal or log output. */
#include "ag_progress.h"

#include <math.h>
#include <stdarg.h>
#include <unistd.h>

#include "runtime/core/ag_info.h"

/* Terminal redraws per second at most: more is flicker, not information. */
#define AG_PROGRESS_TTY_INTERVAL_S 0.1
/* The rate is measured over at least this much time, so it does not jump
 * with every step's jitter. */
#define AG_PROGRESS_WINDOW_S 1.0
#define AG_PROGRESS_LOG_EVERY_S 10.0

static double monotonic_now(void *ctx) {
  (void)ctx;
  return ag_now_seconds();
}

const char *ag_progress_format_eta(double seconds, char *buf, size_t len) {
  if (!(seconds >= 0.0) || !isfinite(seconds)) {
    snprintf(buf, len, "?");
    return buf;
  }
  long long s = llround(seconds);
  if (s < 60)
    snprintf(buf, len, "%llds", s);
  else if (s < 3600)
    snprintf(buf, len, "%lldm%02llds", s / 60, s % 60);
  else
    snprintf(buf, len, "%lldh%02lldm", s / 3600, s % 3600 / 60);
  return buf;
}

void ag_progress_begin(ag_progress *p, const char *label, int64_t total_steps, const char *unit,
                       FILE *f) {
  if (!p->now) p->now = monotonic_now;
  if (!(p->log_every_s > 0.0)) p->log_every_s = AG_PROGRESS_LOG_EVERY_S;
  p->label = label ? label : "";
  p->unit = unit ? unit : "items";
  p->f = f;
  p->total = total_steps;
  p->tty = p->mode == AG_PROGRESS_TTY || (p->mode == AG_PROGRESS_AUTO && isatty(fileno(f)));
  p->start = p->now(p->now_ctx);
  p->last_print = -INFINITY;
  p->printed_last = 1;
  p->win_t = p->start;
  p->win_items = p->win_steps = 0;
  p->item_rate = p->step_rate = -1.0;
  p->step = 0;
  p->loss = NAN;
  p->note[0] = '\0';
  p->note_fresh = 0;
}

void ag_progress_note(ag_progress *p, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(p->note, sizeof p->note, fmt, ap);
  va_end(ap);
  p->note_fresh = 1;
}

static void format_rate(double rate, char *buf, size_t len) {
  const char *fmt = rate >= 100.0 ? "%.0f" : rate >= 10.0 ? "%.1f" : "%.2f";
  snprintf(buf, len, fmt, rate);
}

static void write_line(ag_progress *p) {
  char line[512], rate[32], eta[32];
  int k = snprintf(line, sizeof line, "%s  step %lld", p->label, (long long)p->step);
  if (p->total > 0) k += snprintf(line + k, sizeof line - (size_t)k, "/%lld", (long long)p->total);
  if (p->item_rate >= 0.0) {
    format_rate(p->item_rate, rate, sizeof rate);
    k += snprintf(line + k, sizeof line - (size_t)k, "  %s %s/s", rate, p->unit);
  }
  if (!isnan(p->loss)) /* a job without a loss (rendering) passes NaN */
    k += snprintf(line + k, sizeof line - (size_t)k, "  loss %.4f", (double)p->loss);
  if (p->total > 0 && p->step_rate > 0.0) {
    double left = (double)(p->total - p->step) / p->step_rate;
    k += snprintf(line + k, sizeof line - (size_t)k, "  eta %s",
                  ag_progress_format_eta(left, eta, sizeof eta));
  }
  if (p->note[0]) snprintf(line + k, sizeof line - (size_t)k, "  %s", p->note);
  p->note_fresh = 0;
  /* "\033[K" clears what a longer previous line left to the right. */
  fprintf(p->f, p->tty ? "\r%s\033[K" : "%s\n", line);
  fflush(p->f);
}

/* Closes the rate window once it spans enough time, or at once while no
 * rate is known yet. */
static void refresh_rate(ag_progress *p, double t) {
  double dt = t - p->win_t;
  if (!(dt >= AG_PROGRESS_WINDOW_S) && !(p->item_rate < 0.0 && dt > 0.0)) return;
  p->item_rate = (double)p->win_items / dt;
  p->step_rate = (double)p->win_steps / dt;
  p->win_t = t;
  p->win_items = p->win_steps = 0;
}

void ag_progress_update(ag_progress *p, int64_t step, int64_t items, float loss) {
  double t = p->now(p->now_ctx);
  p->win_items += items;
  p->win_steps += step > p->step ? step - p->step : 0;
  p->step = step;
  p->loss = loss;
  refresh_rate(p, t);
  int last = p->total > 0 && step >= p->total;
  double interval = p->tty ? AG_PROGRESS_TTY_INTERVAL_S : p->log_every_s;
  p->printed_last = last || p->note_fresh || t - p->last_print >= interval;
  if (!p->printed_last) return;
  p->last_print = t;
  write_line(p);
}

void ag_progress_end(ag_progress *p) {
  if (!p->printed_last) {
    p->last_print = p->now(p->now_ctx);
    p->printed_last = 1;
    write_line(p);
  }
  if (p->tty && isfinite(p->last_print)) {
    fputc('\n', p->f);
    fflush(p->f);
  }
}
