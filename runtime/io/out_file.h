/* out_file.h - how every writer in aigc puts a file in place: written under
 * "<path>.tmp.<pid>" in the same directory, flushed to disk, then renamed over
 * `path`, so a reader, a crash or a full disk never sees a half-written file
 * under the final name and the previous version survives every failure.
 *
 *   ag_out_file o;
 *   AG_TRY(ag_out_open(&o, path, "mesh"));
 *   ... fwrite(..., o.f) ...
 *   return ag_out_commit(&o, ok);   // renames, or removes the temporary
 *
 * Errors start with `what` and the path ("mesh 'm.ply': ...") and carry the
 * system's reason (strerror). A path that exists and is not a regular file
 * (a device such as /dev/null, a directory, a FIFO) is refused: the rename
 * would replace it. A process killed mid-write leaves only its temporary. */
#ifndef AG_IO_OUT_FILE_H
#define AG_IO_OUT_FILE_H

#include <stdio.h>

#include "base/ag_base.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ag_out_file {
  FILE *f; /* the temporary, open for binary writing */
  const char *path, *what;
  char tmp[4096];
} ag_out_file;

ag_status ag_out_open(ag_out_file *o, const char *path, const char *what);

/* Finishes the file: when `ok` (the caller's writes all succeeded) it is
 * flushed, synced, closed and renamed over the path, and the directory
 * synced; otherwise, or when any of that fails, the temporary is removed and
 * the previous file is left as it was. A write error the caller saw is
 * reported with errno as it was at the call. */
ag_status ag_out_commit(ag_out_file *o, int ok);

/* Closes and removes the temporary, keeping the error the caller already
 * set (for writers whose messages say more than errno, e.g. which tensor). */
void ag_out_abandon(ag_out_file *o);

#ifdef __cplusplus
}
#endif

#endif
