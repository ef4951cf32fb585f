/* Output files put in place by rename (see out_file.h). */
#define _POSIX_C_SOURCE 200809L
#include "out_file.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

ag_status ag_out_open(ag_out_file *o, const char *path, const char *what) {
  memset(o, 0, sizeof *o);
  o->path = path, o->what = what;
  struct stat sb;
  if (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode))
    return ag_set_error(AG_ERR_IO,
                        "%s '%s': exists and is not a regular file (writing would "
                        "replace it)",
                        what, path);
  const int k = snprintf(o->tmp, sizeof o->tmp, "%s.tmp.%ld", path, (long)getpid());
  if (k < 0 || (size_t)k >= sizeof o->tmp)
    return ag_set_error(AG_ERR_INVALID, "%s '%s': path too long", what, path);
  if (!(o->f = fopen(o->tmp, "wb")))
    return ag_set_error(AG_ERR_IO, "%s '%s': cannot create '%s': %s", what, path, o->tmp,
                        strerror(errno));
  return AG_OK;
}

/* Makes the rename itself durable; best effort (some filesystems refuse). */
static void sync_parent_dir(const char *path) {
  char dir[4096];
  const char *slash = strrchr(path, '/');
  if (!slash)
    snprintf(dir, sizeof dir, ".");
  else
    snprintf(dir, sizeof dir, "%.*s", (int)(slash - path) + (slash == path), path);
  const int fd = open(dir, O_RDONLY);
  if (fd < 0) return;
  (void)fsync(fd);
  close(fd);
}

ag_status ag_out_commit(ag_out_file *o, int ok) {
  int err = ok ? 0 : errno; /* the reason, when the system gave one */
  const char *step = ok ? NULL : "writing";
  if (!step && (fflush(o->f) != 0 || fsync(fileno(o->f)) != 0)) err = errno, step = "flushing";
  if (fclose(o->f) != 0 && !step) err = errno, step = "closing";
  o->f = NULL;
  if (!step && rename(o->tmp, o->path) != 0) err = errno, step = "renaming into place";
  if (!step) {
    sync_parent_dir(o->path);
    return AG_OK;
  }
  remove(o->tmp);
  return ag_set_error(AG_ERR_IO, "%s '%s': %s failed: %s", o->what, o->path, step,
                      err ? strerror(err) : "unknown error");
}

void ag_out_abandon(ag_out_file *o) {
  if (o->f) fclose(o->f);
  o->f = NULL;
  remove(o->tmp);
}
