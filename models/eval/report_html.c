/* The comparison as one self-contained HTML page: tables, SVG charts drawn
 * here, and the sample grids inlined as data: URIs. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "report_internal.h"

/* ---- charts ------------------------------------------------------------ */

#define CHART_POINTS 32
#define CHART_SERIES 12

enum { SERIES_LINE, SERIES_REFERENCE, SERIES_POINTS };

typedef struct series {
  char name[64];
  int style; /* SERIES_REFERENCE: a dashed horizontal line at y[0] */
  int n;
  double x[CHART_POINTS], y[CHART_POINTS];
  char label[CHART_POINTS][16]; /* beside each point; "" none */
} series;

typedef struct chart {
  const char *title, *xlabel, *ylabel;
  int logx, logy;
  series s[CHART_SERIES];
  int ns;
} chart;

static const char *const palette[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                                      "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22"};
#define PALETTE (int)(sizeof palette / sizeof *palette)

static series *chart_add(chart *c, const char *name, int style) {
  if (c->ns == CHART_SERIES) return NULL;
  series *s = &c->s[c->ns++];
  memset(s, 0, sizeof *s);
  snprintf(s->name, sizeof s->name, "%s", name);
  s->style = style;
  return s;
}

static void series_point(series *s, double x, double y, const char *label) {
  if (!s || s->n == CHART_POINTS || !isfinite(x) || !isfinite(y)) return;
  s->x[s->n] = x;
  s->y[s->n] = y;
  snprintf(s->label[s->n], sizeof s->label[0], "%s", label ? label : "");
  s->n++;
}

/* An axis: data range, scale and the pixel span it maps to. */
typedef struct axis {
  double lo, hi;
  int log;
  double p0, p1;
} axis;

static double axis_t(const axis *a, double v) {
  const double t = a->log ? (log10(v) - log10(a->lo)) / (log10(a->hi) - log10(a->lo))
                          : (v - a->lo) / (a->hi - a->lo);
  return a->p0 + t * (a->p1 - a->p0);
}

/* Widens [lo, hi] to something a reader can tick: decades on log axes, 5%
 * margins on linear ones, never empty. */
static void axis_fit(axis *a, double lo, double hi) {
  if (!(lo <= hi)) lo = 0, hi = 1;
  if (a->log) {
    if (lo <= 0) lo = hi > 0 ? hi / 10 : 1;
    a->lo = pow(10, floor(log10(lo) + 1e-9));
    a->hi = pow(10, ceil(log10(hi) - 1e-9));
    if (a->hi <= a->lo) a->hi = a->lo * 10;
    return;
  }
  if (hi - lo < 1e-12 * (fabs(hi) + 1)) lo -= 0.5 * (fabs(lo) + 1), hi += 0.5 * (fabs(hi) + 1);
  const double m = 0.05 * (hi - lo);
  a->lo = lo >= 0 && lo - m < 0 ? 0 : lo - m;
  a->hi = hi + m;
}

static void tick_text(double v, char *out, size_t len) {
  const double a = fabs(v);
  if (a == 0) snprintf(out, len, "0");
  else if (a >= 1e5 || a < 1e-3) snprintf(out, len, "%.0e", v);
  else if (a >= 100 || fabs(v - round(v)) < 1e-9) snprintf(out, len, "%.0f", v);
  else snprintf(out, len, "%.3g", v);
}

/* Tick values on the axis: 1-2-5 multiples of a decade. */
static int axis_ticks(const axis *a, double *t, int max) {
  int n = 0;
  if (a->log) {
    const int decades = (int)round(log10(a->hi / a->lo));
    static const double mult[] = {1, 2, 5};
    for (double d = a->lo; d <= a->hi * 1.0001 && n < max; d *= 10)
      for (int k = 0; k < (decades <= 2 ? 3 : 1) && n < max; k++)
        if (d * mult[k] <= a->hi * 1.0001) t[n++] = d * mult[k];
    return n;
  }
  const double raw = (a->hi - a->lo) / 5, mag = pow(10, floor(log10(raw)));
  const double step = raw / mag < 1.5 ? mag : raw / mag < 3.5 ? 2 * mag : raw / mag < 7.5 ? 5 * mag : 10 * mag;
  for (double v = ceil(a->lo / step) * step; v <= a->hi + 1e-9 * step && n < max; v += step)
    t[n++] = fabs(v) < 1e-12 * step ? 0 : v;
  return n;
}

#define CW 380
#define CH 250
#define ML 58
#define MR 14
#define MT 30
#define MB 44

static void chart_range(const chart *c, axis *x, axis *y) {
  double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
  for (int i = 0; i < c->ns; i++)
    for (int k = 0; k < c->s[i].n; k++) {
      const double xv = c->s[i].x[k], yv = c->s[i].y[k];
      if (c->s[i].style != SERIES_REFERENCE && (!c->logx || xv > 0)) {
        xlo = fmin(xlo, xv);
        xhi = fmax(xhi, xv);
      }
      if (!c->logy || yv > 0) {
        ylo = fmin(ylo, yv);
        yhi = fmax(yhi, yv);
      }
    }
  *x = (axis){.log = c->logx, .p0 = ML, .p1 = CW - MR};
  *y = (axis){.log = c->logy, .p0 = CH - MB, .p1 = MT};
  axis_fit(x, xlo, xhi);
  axis_fit(y, ylo, yhi);
}

static void chart_axes(ag_strbuf *b, const chart *c, const axis *x, const axis *y) {
  double t[40];
  char txt[32];
  const int nx = axis_ticks(x, t, 40);
  for (int i = 0; i < nx; i++) {
    const double px = axis_t(x, t[i]);
    tick_text(t[i], txt, sizeof txt);
    ag_sb_printf(b, "<line x1='%.1f' y1='%d' x2='%.1f' y2='%d' class='grid'/>", px, MT, px, CH - MB);
    ag_sb_printf(b, "<text x='%.1f' y='%d' class='tick' text-anchor='middle'>%s</text>", px,
                 CH - MB + 14, txt);
  }
  const int ny = axis_ticks(y, t, 40);
  for (int i = 0; i < ny; i++) {
    const double py = axis_t(y, t[i]);
    tick_text(t[i], txt, sizeof txt);
    ag_sb_printf(b, "<line x1='%d' y1='%.1f' x2='%d' y2='%.1f' class='grid'/>", ML, py, CW - MR, py);
    ag_sb_printf(b, "<text x='%d' y='%.1f' class='tick' text-anchor='end'>%s</text>", ML - 4,
                 py + 3.5, txt);
  }
  ag_sb_printf(b, "<rect x='%d' y='%d' width='%d' height='%d' class='frame'/>", ML, MT,
               CW - MR - ML, CH - MB - MT);
  ag_sb_printf(b, "<text x='%d' y='18' class='ctitle'>", ML);
  ag_sb_html(b, c->title);
  ag_sb_printf(b, "</text><text x='%d' y='%d' class='alabel' text-anchor='middle'>",
               (ML + CW - MR) / 2, CH - 8);
  ag_sb_html(b, c->xlabel);
  ag_sb_printf(b, "%s</text><text x='14' y='%d' class='alabel' text-anchor='middle' "
                  "transform='rotate(-90 14 %d)'>", c->logx ? " (log)" : "", (MT + CH - MB) / 2,
               (MT + CH - MB) / 2);
  ag_sb_html(b, c->ylabel);
  ag_sb_printf(b, "%s</text>", c->logy ? " (log)" : "");
}

static void chart_series(ag_strbuf *b, const series *s, const char *color, const axis *x,
                         const axis *y) {
  if (s->style == SERIES_REFERENCE) {
    if (s->n > 0)
      ag_sb_printf(b, "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' stroke='%s' stroke-width='1.5' "
                      "stroke-dasharray='6 4'/>",
                   x->p0, axis_t(y, s->y[0]), x->p1, axis_t(y, s->y[0]), color);
    return;
  }
  if (s->style == SERIES_LINE && s->n > 1) {
    ag_sb_printf(b, "<polyline fill='none' stroke='%s' stroke-width='2' points='", color);
    for (int k = 0; k < s->n; k++) ag_sb_printf(b, "%.1f,%.1f ", axis_t(x, s->x[k]), axis_t(y, s->y[k]));
    ag_sb_printf(b, "'/>");
  }
  for (int k = 0; k < s->n; k++) {
    const double px = axis_t(x, s->x[k]), py = axis_t(y, s->y[k]);
    ag_sb_printf(b, "<circle cx='%.1f' cy='%.1f' r='3.5' fill='%s'/>", px, py, color);
    if (s->label[k][0]) {
      ag_sb_printf(b, "<text x='%.1f' y='%.1f' class='plabel'>", px + 5, py - 5);
      ag_sb_html(b, s->label[k]);
      ag_sb_printf(b, "</text>");
    }
  }
}

static void chart_legend(ag_strbuf *b, const chart *c) {
  for (int i = 0; i < c->ns; i++) {
    const int ly = CH + 4 + 16 * i;
    const char *color = palette[i % PALETTE];
    ag_sb_printf(b, "<line x1='%d' y1='%d' x2='%d' y2='%d' stroke='%s' stroke-width='2'%s/>", ML,
                 ly, ML + 22, ly, color, c->s[i].style == SERIES_REFERENCE ? " stroke-dasharray='6 4'" : "");
    ag_sb_printf(b, "<text x='%d' y='%d' class='legend'>", ML + 28, ly + 4);
    ag_sb_html(b, c->s[i].name);
    ag_sb_printf(b, "</text>");
  }
}

static void chart_svg(ag_strbuf *b, const chart *c) {
  axis x, y;
  chart_range(c, &x, &y);
  ag_sb_printf(b, "<figure><svg xmlns='http://www.w3.org/2000/svg' width='%d' height='%d' "
                  "viewBox='0 0 %d %d' role='img'>",
               CW, CH + 8 + 16 * c->ns, CW, CH + 8 + 16 * c->ns);
  chart_axes(b, c, &x, &y);
  for (int i = 0; i < c->ns; i++) chart_series(b, &c->s[i], palette[i % PALETTE], &x, &y);
  chart_legend(b, c);
  ag_sb_printf(b, "</svg></figure>\n");
}

/* ---- the three charts -------------------------------------------------- */

/* Sweep entries are grouped by sampler in the order they first appear. */
static int sampler_names(const ag_report *r, const char *names[CHART_SERIES]) {
  int n = 0;
  for (int i = 0; i < r->n_sweep; i++) {
    int seen = 0;
    for (int k = 0; k < n; k++) seen |= strcmp(names[k], r->sweep[i].sampler) == 0;
    if (!seen && n < CHART_SERIES - 4) names[n++] = r->sweep[i].sampler;
  }
  return n;
}

static void fid_vs_steps(ag_strbuf *b, const ag_report *r) {
  chart c = {.title = "FID vs sampling steps (diffusion)", .xlabel = "steps", .ylabel = "FID",
             .logx = 1};
  const char *names[CHART_SERIES];
  const int ns = sampler_names(r, names);
  for (int k = 0; k < ns; k++) {
    series *s = chart_add(&c, names[k], SERIES_LINE);
    for (int i = 0; i < r->n_sweep; i++)
      if (strcmp(r->sweep[i].sampler, names[k]) == 0) series_point(s, (double)r->sweep[i].steps, r->sweep[i].fid.value, NULL);
  }
  for (int i = 0; i < r->n_sweep_refs; i++)
    series_point(chart_add(&c, r->sweep_refs[i].name, SERIES_REFERENCE), 0, r->sweep_refs[i].fid.value, NULL);
  chart_svg(b, &c);
}

static void speed_vs_batch(ag_strbuf *b, const ag_report *r) {
  chart c = {.title = "Sampling throughput vs batch size", .xlabel = "batch", .ylabel = "images/s",
             .logx = 1, .logy = 1};
  for (int i = 0; i < r->n_speed; i++) {
    const ag_report_speed *sp = &r->speed[i];
    char name[64];
    if (sp->steps) snprintf(name, sizeof name, "diffusion %s %lld steps", sp->sampler, (long long)sp->steps);
    else snprintf(name, sizeof name, "%s", sp->generator);
    series *s = NULL;
    for (int k = 0; k < c.ns; k++)
      if (strcmp(c.s[k].name, name) == 0) s = &c.s[k];
    if (!s) s = chart_add(&c, name, SERIES_LINE);
    series_point(s, (double)sp->batch, sp->images_per_s, NULL);
  }
  chart_svg(b, &c);
}

static void quality_vs_cost(ag_strbuf *b, const ag_report *r) {
  chart c = {.title = "Quality vs cost (lower left is better)", .xlabel = "images/s",
             .ylabel = "FID", .logx = 1};
  const char *names[CHART_SERIES];
  const int ns = sampler_names(r, names);
  char label[16];
  for (int k = 0; k < ns; k++) {
    series *s = chart_add(&c, names[k], SERIES_LINE);
    for (int i = 0; i < r->n_sweep; i++)
      if (strcmp(r->sweep[i].sampler, names[k]) == 0) {
        snprintf(label, sizeof label, "%lld", (long long)r->sweep[i].steps);
        series_point(s, r->sweep[i].images_per_s, r->sweep[i].fid.value, label);
      }
  }
  for (int i = 0; i < r->n_sweep_refs; i++)
    if (r->sweep_refs[i].images_per_s > 0)
      series_point(chart_add(&c, r->sweep_refs[i].name, SERIES_POINTS), r->sweep_refs[i].images_per_s,
                   r->sweep_refs[i].fid.value, NULL);
  chart_svg(b, &c);
}

/* ---- tables ------------------------------------------------------------ */

static void cell_est(ag_strbuf *b, ag_estimate e, double scale, int decimals) {
  if (!isfinite(e.value)) {
    ag_sb_printf(b, "<td>&ndash;</td>");
    return;
  }
  ag_sb_printf(b, "<td>%.*f<span class='pm'> &plusmn; %.*f</span></td>", decimals, e.value * scale,
               decimals, e.std * scale);
}

static void row_name(ag_strbuf *b, const ag_report_row *w) {
  ag_sb_printf(b, "<tr%s><td class='name'>", strcmp(w->kind, "real") == 0 ? " class='anchor'" : "");
  ag_sb_html(b, w->name);
  ag_sb_printf(b, "</td><td>%lld</td>", (long long)w->n);
}

/* How close the image distributions are. */
static void distribution_table(ag_strbuf *b, const ag_report *r) {
  ag_sb_printf(b, "<table><thead><tr><th>source</th><th>n</th><th>FID &darr;</th>"
                  "<th>KID &times;10&sup3; &darr;</th><th>precision &uarr;</th><th>recall &uarr;</th>"
                  "<th>density</th><th>coverage &uarr;</th></tr></thead><tbody>\n");
  for (int i = 0; i < r->n_rows; i++) {
    const ag_report_row *w = &r->rows[i];
    row_name(b, w);
    cell_est(b, w->fid, 1, 2);
    cell_est(b, w->kid, 1000, 2);
    cell_est(b, w->prdc.precision, 1, 3);
    cell_est(b, w->prdc.recall, 1, 3);
    cell_est(b, w->prdc.density, 1, 3);
    cell_est(b, w->prdc.coverage, 1, 3);
    ag_sb_printf(b, "</tr>\n");
  }
  ag_sb_printf(b, "</tbody></table>\n");
}

/* Which classes come out, whether training images are copied, how fast. */
static void classes_table(ag_strbuf *b, const ag_report *r) {
  ag_sb_printf(b, "<table><thead><tr><th>source</th><th>n</th><th>classes covered &uarr;</th>"
                  "<th>KL to uniform &darr;</th><th>label accuracy &uarr;</th><th>memorisation</th>"
                  "<th>images/s</th></tr></thead><tbody>\n");
  for (int i = 0; i < r->n_rows; i++) {
    const ag_report_row *w = &r->rows[i];
    row_name(b, w);
    ag_sb_printf(b, "<td>%lld / %lld</td>", (long long)w->classes.covered, (long long)w->classes.classes);
    cell_est(b, w->classes.kl, 1, 3);
    if (w->classes.label_accuracy.value >= 0) cell_est(b, w->classes.label_accuracy, 1, 3);
    else ag_sb_printf(b, "<td>&ndash;</td>");
    if (w->has_memo)
      ag_sb_printf(b, "<td class='%s'>%s: ratio %.2f &plusmn; %.2f, copies %.1f%%</td>",
                   w->memo.flagged ? "flag" : "okay", w->memo.flagged ? "FLAGGED" : "ok",
                   w->memo.ratio.value, w->memo.ratio.std, 100 * w->memo.copy_fraction);
    else ag_sb_printf(b, "<td>&ndash; (training images)</td>");
    if (w->images_per_s > 0) ag_sb_printf(b, "<td>%.1f</td></tr>\n", w->images_per_s);
    else ag_sb_printf(b, "<td>&ndash;</td></tr>\n");
  }
  ag_sb_printf(b, "</tbody></table>\n");
}

static void bytes_text(double v, char *out, size_t len) {
  if (v <= 0) snprintf(out, len, "&ndash;");
  else if (v >= 1 << 30) snprintf(out, len, "%.2f GiB", v / (1 << 30));
  else snprintf(out, len, "%.1f MiB", v / (1 << 20));
}

static void cost_table(ag_strbuf *b, const ag_report *r) {
  ag_sb_printf(b, "<table><thead><tr><th>generator</th><th>checkpoint</th><th>parameters</th>"
                  "<th>classes</th><th>training steps</th><th>training time</th>"
                  "<th>peak memory</th><th>trained on</th><th>dataset</th></tr></thead><tbody>\n");
  for (int i = 0; i < r->n_generators; i++) {
    const ag_generator_info *g = &r->generators[i].info;
    char mem[32];
    bytes_text((double)g->train_peak_bytes, mem, sizeof mem);
    ag_sb_printf(b, "<tr><td class='name'>");
    ag_sb_html(b, strcmp(g->kind, "ddpm") == 0 ? "diffusion (DDPM)" : g->kind);
    ag_sb_printf(b, "</td><td><code>");
    ag_sb_html(b, r->generators[i].path);
    ag_sb_printf(b, "</code></td><td>%lld</td><td>%lld</td><td>%lld</td><td>%.1f s</td><td>%s</td><td>",
                 (long long)g->params, (long long)g->classes, (long long)g->train_steps,
                 g->train_seconds, mem);
    ag_sb_html(b, g->device);
    ag_sb_printf(b, "</td><td>");
    ag_sb_html(b, g->dataset);
    ag_sb_printf(b, "</td></tr>\n");
  }
  ag_sb_printf(b, "</tbody></table>\n");
}

static void sweep_table(ag_strbuf *b, const ag_report *r) {
  if (r->n_sweep == 0) return;
  ag_sb_printf(b, "<h3>Diffusion samplers</h3><table><thead><tr><th>sampler</th><th>steps</th>"
                  "<th>n</th><th>batch</th><th>FID</th><th>images/s</th></tr></thead><tbody>\n");
  for (int i = 0; i < r->n_sweep; i++) {
    ag_sb_printf(b, "<tr><td class='name'>");
    ag_sb_html(b, r->sweep[i].sampler);
    ag_sb_printf(b, "</td><td>%lld</td><td>%lld</td><td>%lld</td>", (long long)r->sweep[i].steps,
                 (long long)r->sweep[i].n, (long long)r->sweep[i].batch);
    cell_est(b, r->sweep[i].fid, 1, 2);
    ag_sb_printf(b, "<td>%.1f</td></tr>\n", r->sweep[i].images_per_s);
  }
  ag_sb_printf(b, "</tbody></table>\n");
}

static void speed_table(ag_strbuf *b, const ag_report *r) {
  if (r->n_speed == 0) return;
  ag_sb_printf(b, "<h3>Throughput</h3><table><thead><tr><th>generator</th><th>sampler</th>"
                  "<th>steps</th><th>batch</th><th>images</th><th>seconds</th><th>images/s</th>"
                  "</tr></thead><tbody>\n");
  for (int i = 0; i < r->n_speed; i++) {
    const ag_report_speed *s = &r->speed[i];
    ag_sb_printf(b, "<tr><td class='name'>");
    ag_sb_html(b, s->generator);
    ag_sb_printf(b, "</td><td>");
    ag_sb_html(b, s->steps ? s->sampler : "-");
    ag_sb_printf(b, "</td><td>%lld</td><td>%lld</td><td>%lld</td><td>%.2f</td><td>%.1f</td></tr>\n",
                 (long long)s->steps, (long long)s->batch, (long long)s->images, s->seconds,
                 s->images_per_s);
  }
  ag_sb_printf(b, "</tbody></table>\n");
}

static void grids_section(ag_strbuf *b, const ag_report *r, const ag_report_grid *grids) {
  ag_sb_printf(b, "<h2>Samples</h2><div class='grids'>\n");
  for (int i = 0; i < r->n_rows; i++) {
    if (!grids[i].png) continue;
    ag_sb_printf(b, "<figure class='grid'><img alt='");
    ag_sb_html(b, r->rows[i].name);
    ag_sb_printf(b, "' src='data:image/png;base64,");
    ag_sb_base64(b, grids[i].png, grids[i].png_len);
    ag_sb_printf(b, "'><figcaption>");
    ag_sb_html(b, r->rows[i].name);
    ag_sb_printf(b, " (<code>");
    ag_sb_html(b, grids[i].file);
    ag_sb_printf(b, "</code>)</figcaption></figure>\n");
  }
  ag_sb_printf(b, "</div>\n");
}

/* ---- the page ---------------------------------------------------------- */

static const char page_style[] =
    "body{font-family:'DejaVu Sans',Helvetica,Arial,sans-serif;margin:24px auto;max-width:1180px;"
    "color:#222;background:#fff;font-size:14px}"
    "h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:26px 0 8px;border-bottom:1px solid "
    "#ccc;padding-bottom:3px}h3{font-size:15px;margin:18px 0 6px}"
    ".sub{color:#555;margin:0 0 12px}"
    ".note{background:#fff6d6;border:1px solid #e6c75a;padding:8px 12px;border-radius:4px}"
    "table{border-collapse:collapse;margin:6px 0;font-size:13px}"
    "th,td{border:1px solid #ccc;padding:4px 7px;text-align:right;white-space:nowrap}"
    "th{background:#eef2f7}td.name{text-align:left;font-weight:bold}"
    "tr.anchor td{background:#f3f8ee}.pm{color:#777;font-size:11px}"
    "td.flag{color:#b00;font-weight:bold}td.okay{color:#276}"
    ".charts{display:flex;flex-wrap:wrap;gap:12px}figure{margin:0}"
    "svg{background:#fcfcfd;border:1px solid #ddd}"
    "svg .grid{stroke:#e4e4e4}svg .frame{fill:none;stroke:#888}"
    "svg .tick{font-size:10px;fill:#444}svg .alabel{font-size:11px;fill:#333}"
    "svg .ctitle{font-size:13px;font-weight:bold;fill:#222}svg .legend{font-size:11px;fill:#222}"
    "svg .plabel{font-size:9px;fill:#555}"
    ".grids{display:flex;flex-wrap:wrap;gap:16px}.grid img{image-rendering:pixelated;width:"
    "340px;border:1px solid #ccc}figcaption{font-size:12px;color:#444}"
    "ul.method li{margin:3px 0}code{font-size:12px}";

static void header(ag_strbuf *b, const ag_report *r) {
  ag_sb_printf(b, "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'><title>");
  ag_sb_html(b, r->title);
  ag_sb_printf(b, "</title><style>%s</style></head><body>\n<h1>", page_style);
  ag_sb_html(b, r->title);
  ag_sb_printf(b, "</h1><p class='sub'>%lld images per source against %lld real test images of <code>",
               (long long)r->n, (long long)r->n_reference);
  ag_sb_html(b, r->data);
  ag_sb_printf(b, "</code>; seed %llu; on <code>", (unsigned long long)r->seed);
  ag_sb_html(b, r->device);
  ag_sb_printf(b, "</code>; the comparison took %.0f s.</p>\n", r->seconds);
  ag_sb_printf(b, "<p class='note'><b>These are not Inception scores.</b> FID, KID, precision, "
                  "recall, density and coverage are measured on the %lld-d feature layer of "
                  "aigc's own Fashion-MNIST classifier (<code>",
               (long long)r->feature_dim);
  ag_sb_html(b, r->classifier);
  if (r->classifier_accuracy >= 0)
    ag_sb_printf(b, "</code>, %.2f%% test accuracy): a Fashion-MNIST-classifier FID, comparable "
                    "within this report and with reports made with the same classifier, not with "
                    "published Inception FIDs.</p>\n",
                 100 * r->classifier_accuracy);
  else
    ag_sb_printf(b, "</code>): a Fashion-MNIST-classifier FID, comparable within this report and "
                    "with reports made with the same classifier, not with published Inception "
                    "FIDs.</p>\n");
}

static void method(ag_strbuf *b, const ag_report *r) {
  ag_sb_printf(b,
               "<h2>How the numbers are made</h2><ul class='method'>"
               "<li><b>Features</b>: the classifier's feature layer divided by one constant, "
               "its RMS over the real test set, so that KID's cubic kernel sees dot products "
               "of order 1 as with Inception features (PRDC and every ranking are unchanged "
               "by it).</li>"
               "<li><b>FID</b>: Fr&eacute;chet distance of the feature Gaussians against all %lld "
               "reference images, the trace term as tr&radic;(&radic;S1 S2 &radic;S1) by LAPACK's "
               "symmetric eigensolver; &plusmn; is the std over %d bootstrap resamplings of both "
               "sets. FID grows as the sample shrinks: compare rows of equal n only.</li>"
               "<li><b>KID</b>: unbiased MMD&sup2; with the kernel (x&middot;y/d + 1)&sup3;, mean "
               "over %lld pairs of random subsets of %lld (capped at the smaller set), &plusmn; "
               "their std, as clean-fid and torch-fidelity.</li>"
               "<li><b>Precision, recall</b> (Kynk&auml;&auml;nniemi et al. 2019) and <b>density, "
               "coverage</b> (Naeem et al. 2020) with k = %d against n real test images; &plusmn; "
               "is the spread over %d random half-samples of both sets (delete-n/2 jackknife), "
               "since a bootstrap would put duplicates inside the k-NN balls.</li>"
               "<li><b>Classes</b>: the classifier's predicted-class histogram of the generated "
               "images against uniform (KL in nats; a class is covered with at least half its "
               "uniform share); label accuracy: predicted class = requested class; &plusmn; by "
               "bootstrap over images.</li>"
               "<li><b>Memorisation</b>: pixel distance of each image to its nearest of %lld "
               "training images, against the same for real test images; ratio of medians "
               "(bootstrap &plusmn;), copies: images nearer than 99%% of test images are; flagged "
               "below ratio %.2f or above %.0f%% copies.</li>"
               "<li><b>Cost</b>: images/s is wall time of sampling on <code>",
               (long long)r->n_reference, r->fid.reps, (long long)r->kid.subsets,
               (long long)r->kid.subset_size, r->prdc.k, r->prdc.halves,
               (long long)r->memo_reference, r->memo.ratio_flag, 100 * r->memo.copy_flag);
  ag_sb_html(b, r->device);
  ag_sb_printf(b, "</code>, one sampling call per entry (so planning the graph is included, as "
                  "in a user's call); training time and peak memory are what the checkpoints "
                  "recorded.</li></ul>\n");
}

void ag_report_html(const ag_report *r, const ag_report_grid *grids, ag_strbuf *b) {
  header(b, r);
  ag_sb_printf(b, "<h2>Quality</h2>\n");
  distribution_table(b, r);
  classes_table(b, r);
  ag_sb_printf(b, "<h2>Charts</h2><div class='charts'>\n");
  if (r->n_sweep) fid_vs_steps(b, r);
  if (r->n_speed) speed_vs_batch(b, r);
  if (r->n_sweep) quality_vs_cost(b, r);
  ag_sb_printf(b, "</div>\n<h2>Cost</h2>\n");
  cost_table(b, r);
  sweep_table(b, r);
  speed_table(b, r);
  grids_section(b, r, grids);
  method(b, r);
  ag_sb_printf(b, "<p class='sub'>Every number is also in <code>compare.json</code>.</p>"
                  "</body></html>\n");
}
