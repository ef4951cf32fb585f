/* fuzz_util.h - what the harnesses share: a scratch directory per process
 * for the files a reader is given (every reader here takes a path). */
#ifndef AG_FUZZ_UTIL_H
#define AG_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* libFuzzer's entry point, each harness's one definition. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* "$TMPDIR/ag-fuzz-<pid>" (or /tmp), created if needed. */
typedef struct ag_fuzz_dir {
  char path[256];
} ag_fuzz_dir;

/* 1 when the directory is there, else 0 (the input is then skipped). */
int ag_fuzz_dir_open(ag_fuzz_dir *d);
/* d/name into out (name may hold one subdirectory level, made here). */
const char *ag_fuzz_file(const ag_fuzz_dir *d, const char *name, char *out, size_t len);
/* Writes size bytes; 1 on success. */
int ag_fuzz_write(const char *path, const void *data, size_t size);
/* Removes d/name for each of the names (subdirectories after their files)
 * and the directory itself, so nothing stays behind between inputs. */
void ag_fuzz_dir_close(const ag_fuzz_dir *d, const char *const *names, int n);

#endif
