/* aigc compare: the diffusion model and the GAN side by side on quality and
 * cost (models/eval/ag_compare.h runs it, ag_report.h writes it up as
 * compare.json, sample grids and one HTML page). This file is the options.
 * Every input is loaded and checked before the first image is sampled, and
 * the report is staged and moved into place at the end, so a bad input or a
 * failure leaves nothing half-written. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aigc_cli.h"
#include "models/diffusion/ag_ddpm.h"
#include "models/eval/ag_compare.h"

#define MAX_LIST AG_COMPARE_MAX_LIST

const char ag_cmd_compare_options[] =
    "  --diffusion FILE           the diffusion checkpoint (aigc train ddpm)\n"
    "  --gan FILE                 the GAN checkpoint (aigc train gan)\n"
    "  --classifier FILE          the classifier whose features are measured (aigc train\n"
    "                             classifier; classifier.safetensors)\n"
    "  --out DIR                  the report: index.html, compare.json, grids (report)\n"
    "  --n N                      images per source in the main table (256)\n"
    "  --sweep-n N                images per sampler x steps point (64)\n"
    "  --samplers LIST            diffusion samplers swept, the first in the main table\n"
    "                             (ddpm,ddim,dpmpp_2m)\n"
    "  --steps LIST               step counts swept, the largest in the main table (10,25)\n"
    "  --batches LIST             batch sizes timed for each generator; the largest\n"
    "                             samples the tables (16,64,128)\n"
    "  --guidance X               classifier-free guidance of the diffusion model (3)\n"
    "  --memo-ref N               training images the memorisation check searches (10000)\n"
    "  --seed N                   sampling seed and the resampling seeds (1)\n"
    "  --data fashion-mnist|DIR   Debian's Fashion-MNIST (default) or a dir of its IDX files\n"
    "With the defaults, sampling the diffusion model dominates: a few minutes on 2 CPU\n"
    "cores for the base-32 default UNet with guidance.\n";

/* "10,25,50" into out[]: each a positive integer, at most MAX_LIST. */
static int parse_ints(const ag_cli *cli, const char *opt, const char *text, int64_t *out, int *n) {
  *n = 0;
  for (const char *p = text;;) {
    char *end;
    const long long v = strtoll(p, &end, 10);
    if (end == p || v < 1 || v > INT_MAX || (*end && *end != ',') || *n == MAX_LIST)
      return ag_cli_usage_error(cli, "%s '%s': up to %d positive integers, comma-separated", opt,
                                text, MAX_LIST);
    out[(*n)++] = v;
    if (!*end) return AG_EXIT_OK;
    p = end + 1;
  }
}

static int parse_samplers(const ag_cli *cli, const char *text, ag_compare_opts *o) {
  o->n_samplers = 0;
  for (const char *p = text;;) {
    const size_t len = strcspn(p, ",");
    if (len == 0 || len >= sizeof o->samplers[0] || o->n_samplers == MAX_LIST)
      return ag_cli_usage_error(cli, "--samplers '%s': up to %d sampler names, comma-separated",
                                text, MAX_LIST);
    char *name = o->samplers[o->n_samplers++];
    memcpy(name, p, len);
    name[len] = 0;
    ag_sampler_config sc;
    if (ag_sampler_config_named(name, &sc) != AG_OK)
      return ag_cli_usage_error(cli, "--samplers: unknown sampler '%s' (one of %s)", name,
                                ag_sampler_names());
    if (!p[len]) return AG_EXIT_OK;
    p += len + 1;
  }
}

/* Lists and numbers the user left out keep ag_compare_default_opts(). */
static int parse_args(const ag_cli *cli, int argc, char **argv, ag_compare_opts *o,
                      const char **out) {
  const char *samplers = NULL, *steps = NULL, *batches = NULL, *data = "fashion-mnist";
  long long n = o->n, sweep_n = o->sweep_n, memo_ref = o->memo_ref, seed = (long long)o->seed;
  ag_cli_args w = ag_cli_args_of(cli, argc, argv);
  while (ag_cli_next(&w)) {
    ag_cli_text(&w, "--diffusion", &o->diffusion);
    ag_cli_text(&w, "--gan", &o->gan);
    ag_cli_text(&w, "--classifier", &o->classifier);
    ag_cli_text(&w, "--out", out);
    ag_cli_text(&w, "--data", &data);
    ag_cli_text(&w, "--samplers", &samplers);
    ag_cli_text(&w, "--steps", &steps);
    ag_cli_text(&w, "--batches", &batches);
    ag_cli_int(&w, "--n", 8192, &n);
    ag_cli_int(&w, "--sweep-n", 8192, &sweep_n);
    ag_cli_int(&w, "--memo-ref", 1 << 20, &memo_ref);
    ag_cli_int(&w, "--seed", LLONG_MAX, &seed);
    ag_cli_float(&w, "--guidance", &o->guidance);
  }
  if (w.rc) return w.rc;
  o->n = n, o->sweep_n = sweep_n, o->memo_ref = memo_ref, o->seed = (uint64_t)seed;
  o->data = ag_cli_dataset_dir(data);
  if (!o->diffusion || !o->gan)
    return ag_cli_usage_error(cli, "both --diffusion and --gan checkpoints are needed");
  if (o->n < 16 || o->sweep_n < 16 || o->sweep_n > o->n)
    return ag_cli_usage_error(cli, "--n %lld, --sweep-n %lld: each at least 16, the sweep's no "
                                   "more than --n", n, sweep_n);
  int rc = samplers ? parse_samplers(cli, samplers, o) : AG_EXIT_OK;
  if (!rc && steps) rc = parse_ints(cli, "--steps", steps, o->steps, &o->n_steps);
  if (!rc && batches) rc = parse_ints(cli, "--batches", batches, o->batches, &o->n_batches);
  return rc;
}

int ag_cmd_compare(const ag_cli *cli, int argc, char **argv) {
  ag_compare_opts o = ag_compare_default_opts();
  o.classifier = "classifier.safetensors";
  o.log = stdout;
  const char *out = "report";
  int rc = parse_args(cli, argc, argv, &o, &out);
  ag_backend *be = NULL;
  if (rc == AG_EXIT_OK) rc = ag_cli_use_device(cli, &be);
  if (rc == AG_EXIT_OK) rc = ag_cli_check_writable_dir(out);
  if (rc != AG_EXIT_OK) return rc;
  ag_compare_summary s;
  if (ag_compare_run(be, &o, out, &s) != AG_OK) return AG_EXIT_RUNTIME;
  printf("\n");
  ag_compare_print_table(stdout, s.rows, s.n_rows);
  printf("\nreport:            %s/index.html (%.0f s)\n", out, s.seconds);
  return AG_EXIT_OK;
}
