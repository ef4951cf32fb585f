/* report_internal.h - what report.c (files, JSON) and report_html.c (the
 * page) share: a growable text buffer, and the page builder. */
#ifndef AG_REPORT_INTERNAL_H
#define AG_REPORT_INTERNAL_H

#include <stddef.h>

#include "ag_report.h"

/* Appends never fail midway: a failed allocation sets `oom` and later
 * appends do nothing, so a builder checks once at the end. */
typedef struct ag_strbuf {
  char *s;
  size_t len, cap;
  int oom;
} ag_strbuf;

void ag_sb_printf(ag_strbuf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
void ag_sb_put(ag_strbuf *b, const char *s, size_t n);
/* Text with & < > " escaped. */
void ag_sb_html(ag_strbuf *b, const char *s);
void ag_sb_base64(ag_strbuf *b, const unsigned char *data, size_t n);
void ag_sb_free(ag_strbuf *b);

/* A row's grid as written: its file name and the PNG's bytes. */
typedef struct ag_report_grid {
  char file[96];
  unsigned char *png;
  size_t png_len;
} ag_report_grid;

/* The page, with grids[i] the grid of r->rows[i] (png NULL: none). */
void ag_report_html(const ag_report *r, const ag_report_grid *grids, ag_strbuf *out);

#endif
