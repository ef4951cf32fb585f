/* aigc-bench: throughput of aigc's kernels on a chosen device.
 *   aigc-bench smoke [--device D] [--n ELEMENTS] [--reps R] [--json FILE] */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ag_bench.h"
#include "runtime/ag_info.h"

static int usage(void) {
  fprintf(stderr, "usage: aigc-bench smoke [--device D] [--n ELEMENTS] [--reps R] [--json FILE]\n");
  return 2;
}

/* Writes the rows as JSON to a temporary name, then renames it into place,
 * so an interrupted run never leaves a half-written file. */
static ag_status write_json(const char *path, const char *device, const ag_bench_row *rows,
                            int n) {
  cJSON *root = cJSON_CreateObject(), *list = cJSON_AddArrayToObject(root, "results");
  cJSON_AddStringToObject(root, "device", device);
  for (int i = 0; i < n; i++) {
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "op", rows[i].op);
    cJSON_AddStringToObject(r, "shape", rows[i].shape);
    cJSON_AddNumberToObject(r, "ms", rows[i].ms);
    cJSON_AddNumberToObject(r, "gbps", rows[i].gbps);
    cJSON_AddItemToArray(list, r);
  }
  char *text = cJSON_Print(root);
  cJSON_Delete(root);
  char tmp[4096];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  FILE *f = fopen(tmp, "w");
  int ok = f && text && fputs(text, f) >= 0;
  if (f && fclose(f) != 0) ok = 0;
  free(text);
  if (!ok || rename(tmp, path) != 0) {
    remove(tmp);
    return ag_set_error(AG_ERR_IO, "cannot write %s", path);
  }
  return AG_OK;
}

int main(int argc, char **argv) {
  const char *device = NULL, *json = NULL;
  long long n = 1 << 22;
  int reps = 10;
  if (argc < 2 || strcmp(argv[1], "smoke") != 0) return usage();
  for (int i = 2; i < argc; i++) {
    if (i + 1 >= argc) return usage();
    if (strcmp(argv[i], "--device") == 0) device = argv[++i];
    else if (strcmp(argv[i], "--json") == 0) json = argv[++i];
    else if (strcmp(argv[i], "--n") == 0) n = atoll(argv[++i]);
    else if (strcmp(argv[i], "--reps") == 0) reps = atoi(argv[++i]);
    else return usage();
  }
  if (n < 1024 || reps < 1) return usage();
  ag_backend *be = NULL;
  char note[512];
  if (ag_backend_select(device, &be, note, sizeof note) != AG_OK) {
    fprintf(stderr, "aigc-bench: %s\n", ag_last_error());
    return 1;
  }
  if (note[0]) printf("%s\n", note);
  ag_bench_row rows[16];
  int count = 0;
  if (ag_bench_smoke(be, n, reps, rows, 16, &count) != AG_OK) {
    fprintf(stderr, "aigc-bench: %s\n", ag_last_error());
    return 1;
  }
  printf("%-12s %-18s %10s %10s\n", "op", "shape", "ms", "GB/s");
  for (int i = 0; i < count; i++)
    printf("%-12s %-18s %10.3f %10.1f\n", rows[i].op, rows[i].shape, rows[i].ms, rows[i].gbps);
  if (json && write_json(json, be->name, rows, count) != AG_OK) {
    fprintf(stderr, "aigc-bench: %s\n", ag_last_error());
    return 1;
  }
  return 0;
}
