/* The harnesses' scratch directory (see fuzz_util.h). */
#define _POSIX_C_SOURCE 200809L
#include "fuzz_util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int ag_fuzz_dir_open(ag_fuzz_dir *d) {
  const char *tmp = getenv("TMPDIR");
  snprintf(d->path, sizeof d->path, "%s/ag-fuzz-%ld", tmp && tmp[0] ? tmp : "/tmp", (long)getpid());
  return mkdir(d->path, 0700) == 0 || errno == EEXIST;
}

const char *ag_fuzz_file(const ag_fuzz_dir *d, const char *name, char *out, size_t len) {
  const char *slash = strchr(name, '/');
  if (slash) {
    snprintf(out, len, "%s/%.*s", d->path, (int)(slash - name), name);
    mkdir(out, 0700);
  }
  snprintf(out, len, "%s/%s", d->path, name);
  return out;
}

int ag_fuzz_write(const char *path, const void *data, size_t size) {
  FILE *f = fopen(path, "wb");
  if (!f) return 0;
  const int ok = fwrite(data, 1, size, f) == size;
  return fclose(f) == 0 && ok;
}

void ag_fuzz_dir_close(const ag_fuzz_dir *d, const char *const *names, int n) {
  char path[512];
  for (int i = 0; i < n; i++) {
    snprintf(path, sizeof path, "%s/%s", d->path, names[i]);
    remove(path);
    char *slash = strrchr(path + strlen(d->path) + 1, '/');
    if (slash) *slash = '\0', rmdir(path);
  }
  rmdir(d->path);
}
