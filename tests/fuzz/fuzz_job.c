/* The render job-file reader (tools/nerf_args.c): the input as a job file,
 * every job read and checked, then each job's fields touched. */
#include <string.h>

#include "fuzz_util.h"
#include "tools/nerf_args.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const char *const names[] = {"jobs.json"};
  ag_fuzz_dir d;
  char path[512];
  if (!ag_fuzz_dir_open(&d)) return 0;
  ag_render_jobs j = {0};
  if (ag_fuzz_write(ag_fuzz_file(&d, names[0], path, sizeof path), data, size) &&
      ag_render_jobs_read(path, 0, &j) == AG_OK) {
    size_t sum = 0;
    for (int i = 0; i < j.n; i++)
      sum += strlen(j.jobs[i].checkpoint) + strlen(j.jobs[i].out) +
             (j.jobs[i].cameras ? strlen(j.jobs[i].cameras) : 0) + (size_t)j.jobs[i].w;
    (void)sum;
  }
  ag_render_jobs_free(&j);
  ag_fuzz_dir_close(&d, names, 1);
  return 0;
}
