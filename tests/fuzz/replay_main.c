/* Replays inputs through a harness's LLVMFuzzerTestOneInput without
 * libFuzzer: every file of the directories given, in name order, each once.
 * A crash is the sanitizer's (or the process's) to report; the file about to
 * run is printed first so the log names it. A missing directory is allowed
 * (a harness with no regressions yet has none), but replaying nothing at all
 * fails: the corpus must be there. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz_util.h"

static int read_file(const char *path, uint8_t **data, size_t *size) {
  FILE *f = fopen(path, "rb");
  if (!f) return 0;
  const long len = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
  *data = len >= 0 && fseek(f, 0, SEEK_SET) == 0 ? malloc((size_t)len + 1) : NULL;
  const int ok = *data && fread(*data, 1, (size_t)len, f) == (size_t)len;
  fclose(f);
  *size = ok ? (size_t)len : 0;
  return ok;
}

static int by_name(const struct dirent **a, const struct dirent **b) {
  return strcmp((*a)->d_name, (*b)->d_name);
}

static int is_input(const struct dirent *e) { return e->d_name[0] != '.'; }

/* The inputs of one directory: how many ran, or -1 when one is unreadable. */
static long replay_dir(const char *dir) {
  struct dirent **names = NULL;
  const int n = scandir(dir, &names, is_input, by_name);
  if (n < 0) {
    printf("%s: no such directory, nothing to replay\n", dir);
    return 0;
  }
  long ran = 0;
  int unreadable = 0;
  for (int i = 0; i < n; i++) {
    char path[4096];
    struct stat sb;
    uint8_t *data = NULL;
    size_t size = 0;
    snprintf(path, sizeof path, "%s/%s", dir, names[i]->d_name);
    if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode)) {
      if (!read_file(path, &data, &size)) {
        fprintf(stderr, "replay: %s: cannot read\n", path);
        unreadable = 1;
      } else {
        printf("%s (%zu bytes)\n", path, size);
        fflush(stdout);
        LLVMFuzzerTestOneInput(data, size);
        ran++;
      }
    }
    free(data);
    free(names[i]);
  }
  free(names);
  return unreadable ? -1 : ran;
}

int main(int argc, char **argv) {
  long total = 0;
  for (int i = 1; i < argc; i++) {
    const long ran = replay_dir(argv[i]);
    if (ran < 0) return 1;
    total += ran;
  }
  printf("replayed %ld inputs\n", total);
  if (total == 0) fprintf(stderr, "replay: no inputs in the directories given\n");
  return total > 0 ? 0 : 1;
}
