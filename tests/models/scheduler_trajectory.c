/* scheduler_trajectory CONFIGS OUT: runs aigc's samplers over whole
 * trajectories for tests/models/test_schedulers_diffusers.py, which runs
 * diffusers' schedulers on the same inputs and compares.
 *
 * CONFIGS holds one configuration a line, "key=value" words (kind, pred,
 * beta, spacing, steps, offset, eta, clip, thresh, ratio, max, alpha1,
 * karras, final_zero, lof, T). OUT gets one JSON object a line: the
 * timesteps, input scales, init sigma, the initial sample and every step's
 * noise, then the trajectory of the double host path (ag_sampler_step_f64)
 * and of the fused f32 kernel on the CPU backend (ag_sampler_step, fed
 * guided [cond; uncond] rows that combine to the same model output), or
 * the error ag_sampler_new gave. The model is a fixed smooth function of
 * its input and timestep that the script evaluates identically:
 *   m[j] = 0.8 tanh(x_in[j]) + 0.3 sin(0.013 t + 0.7 j),  j the flat index. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "models/diffusion/ag_scheduler.h"
#include "runtime/backends/ag_backend.h"

enum { IMAGES = 2, CHANNELS = 3, SIDE = 4, NUMEL = CHANNELS * SIDE * SIDE, TOTAL = IMAGES * NUMEL };
static const uint64_t SEED = 20240611;
static const float GUIDANCE = 0.5f; /* [m + d; m - d] combine to m */

static void dummy_model(const double *x, double scale, double t, double *m) {
  for (int j = 0; j < TOTAL; j++) m[j] = 0.8 * tanh(x[j] * scale) + 0.3 * sin(0.013 * t + 0.7 * j);
}

typedef struct run_config {
  ag_noise_schedule_config n;
  ag_sampler_config c;
  int64_t steps;
} run_config;

static int parse_enum(const char *v, const char *const *names, int count) {
  for (int i = 0; i < count; i++)
    if (strcmp(v, names[i]) == 0) return i;
  return -1;
}

/* One "key=value" word into the configuration; 0 on an unknown key or value. */
static int parse_word(run_config *r, const char *key, const char *v) {
  static const char *const kinds[] = {"ddpm", "ddim", "euler", "euler_a", "dpmpp_2m"};
  static const char *const spacings[] = {"linspace", "leading", "trailing"};
  if (strcmp(key, "kind") == 0) return (r->c.kind = (ag_sampler_kind)parse_enum(v, kinds, 5)) >= 0;
  if (strcmp(key, "spacing") == 0)
    return (r->c.spacing = (ag_timestep_spacing)parse_enum(v, spacings, 3)) >= 0;
  if (strcmp(key, "pred") == 0) return ag_prediction_parse(v, &r->n.prediction) == AG_OK;
  if (strcmp(key, "beta") == 0) return ag_beta_schedule_parse(v, &r->n.beta_schedule) == AG_OK;
  const double d = atof(v);
  if (strcmp(key, "steps") == 0) r->steps = (int64_t)d;
  else if (strcmp(key, "T") == 0) r->n.train_timesteps = (int64_t)d;
  else if (strcmp(key, "offset") == 0) r->c.steps_offset = (int64_t)d;
  else if (strcmp(key, "eta") == 0) r->c.eta = d;
  else if (strcmp(key, "clip") == 0) r->c.clip_sample = (int)d;
  else if (strcmp(key, "thresh") == 0) r->c.thresholding = (int)d;
  else if (strcmp(key, "ratio") == 0) r->c.dynamic_thresholding_ratio = d;
  else if (strcmp(key, "max") == 0) r->c.sample_max_value = d;
  else if (strcmp(key, "alpha1") == 0) r->c.set_alpha_to_one = (int)d;
  else if (strcmp(key, "karras") == 0) r->c.karras_sigmas = (int)d;
  else if (strcmp(key, "final_zero") == 0) r->c.final_sigmas_zero = (int)d;
  else if (strcmp(key, "lof") == 0) r->c.lower_order_final = (int)d;
  else return 0;
  return 1;
}

static int parse_line(char *line, run_config *r) {
  r->n = ag_noise_schedule_default();
  if (ag_sampler_config_named("ddpm", &r->c) != AG_OK) return 0;
  r->steps = 10;
  for (char *w = strtok(line, " \t\r\n"); w; w = strtok(NULL, " \t\r\n")) {
    char *eq = strchr(w, '=');
    if (!eq) return 0;
    *eq = 0;
    if (!parse_word(r, w, eq + 1)) return 0;
  }
  return 1;
}

static void put_array(FILE *f, const char *key, const double *v, int64_t n) {
  fprintf(f, "\"%s\":[", key);
  for (int64_t j = 0; j < n; j++) fprintf(f, "%s%.17g", j ? "," : "", v[j]);
  fprintf(f, "]");
}

static void put_string(FILE *f, const char *s) {
  fputc('"', f);
  for (; *s; s++) {
    if (*s == '"' || *s == '\\') fputc('\\', f);
    fputc(*s >= 32 ? *s : ' ', f);
  }
  fputc('"', f);
}

/* The fused f32 kernel's trajectory from the same start; traj[i * TOTAL ..]. */
static ag_status run_kernel(ag_sampler *s, const double *x_init, double *traj, double *init_err) {
  ag_backend *cpu = ag_backend_cpu();
  const int64_t shape[4] = {IMAGES, CHANNELS, SIDE, SIDE}, mshape[4] = {2 * IMAGES, CHANNELS, SIDE, SIDE};
  ag_tensor *x = ag_tensor_new(cpu, AG_F32, 4, shape), *m = ag_tensor_new(cpu, AG_F32, 4, mshape);
  float xf[TOTAL], mf[2 * TOTAL];
  double xd[TOTAL], md[TOTAL];
  ag_status st = x && m ? AG_OK : ag_set_error(AG_ERR_OOM, "trajectory: out of memory");
  if (st == AG_OK) st = ag_sampler_init_noise(s, x, SEED, 0);
  if (st == AG_OK) st = ag_tensor_read(x, xf, sizeof xf);
  *init_err = 0;
  for (int j = 0; st == AG_OK && j < TOTAL; j++) {
    const double d = fabs(xf[j] - x_init[j]);
    *init_err = d > *init_err ? d : *init_err;
    xf[j] = (float)x_init[j];
  }
  if (st == AG_OK) st = ag_tensor_write(x, xf, sizeof xf);
  for (int64_t i = 0; st == AG_OK && i < ag_sampler_steps(s); i++) {
    for (int j = 0; j < TOTAL; j++) xd[j] = xf[j];
    dummy_model(xd, ag_sampler_input_scale(s, i), ag_sampler_timestep(s, i), md);
    for (int j = 0; j < TOTAL; j++) mf[j] = (float)(md[j] + 0.25), mf[TOTAL + j] = (float)(md[j] - 0.25);
    st = ag_tensor_write(m, mf, sizeof mf);
    if (st == AG_OK) st = ag_sampler_step(s, i, x, m, GUIDANCE, SEED, 0);
    if (st == AG_OK) st = ag_tensor_read(x, xf, sizeof xf);
    for (int j = 0; j < TOTAL; j++) traj[i * TOTAL + j] = xf[j];
  }
  ag_tensor_free(x);
  ag_tensor_free(m);
  return st;
}

/* One configuration's record. */
static ag_status run_one(FILE *f, int id, const run_config *r) {
  ag_sampler *s = NULL;
  fprintf(f, "{\"id\":%d,", id);
  if (ag_sampler_new(&r->n, &r->c, r->steps, &s) != AG_OK) {
    fprintf(f, "\"error\":");
    put_string(f, ag_last_error());
    fprintf(f, "}\n");
    return AG_OK;
  }
  const int64_t n = ag_sampler_steps(s);
  double *ts = malloc(sizeof(double) * (size_t)n), *scales = malloc(sizeof(double) * (size_t)n);
  double *noise = malloc(sizeof(double) * (size_t)(n * TOTAL));
  double *traj = malloc(sizeof(double) * (size_t)(n * TOTAL));
  double *ktraj = malloc(sizeof(double) * (size_t)(n * TOTAL));
  double x[TOTAL], x_init[TOTAL], m[TOTAL], init_err = 0;
  ag_status st = ts && scales && noise && traj && ktraj ? AG_OK : ag_set_error(AG_ERR_OOM, "trajectory: out of memory");
  ag_sampler_draw_noise(SEED, -1, 0, IMAGES, NUMEL, x_init);
  for (int j = 0; j < TOTAL; j++) x[j] = x_init[j] *= ag_sampler_init_noise_sigma(s);
  for (int64_t i = 0; st == AG_OK && i < n; i++) {
    ts[i] = ag_sampler_timestep(s, i);
    scales[i] = ag_sampler_input_scale(s, i);
    ag_sampler_draw_noise(SEED, i, 0, IMAGES, NUMEL, noise + i * TOTAL);
    dummy_model(x, scales[i], ts[i], m);
    st = ag_sampler_step_f64(s, i, x, m, noise + i * TOTAL, IMAGES, NUMEL);
    memcpy(traj + i * TOTAL, x, sizeof x);
  }
  if (st == AG_OK) st = run_kernel(s, x_init, ktraj, &init_err);
  if (st == AG_OK) {
    fprintf(f, "\"shape\":[%d,%d,%d,%d],\"init_sigma\":%.17g,\"init_noise_err\":%.17g,", IMAGES,
            CHANNELS, SIDE, SIDE, ag_sampler_init_noise_sigma(s), init_err);
    put_array(f, "timesteps", ts, n);
    fputc(',', f);
    put_array(f, "input_scales", scales, n);
    fputc(',', f);
    put_array(f, "x_init", x_init, TOTAL);
    fputc(',', f);
    put_array(f, "noise", noise, n * TOTAL);
    fputc(',', f);
    put_array(f, "f64", traj, n * TOTAL);
    fputc(',', f);
    put_array(f, "f32", ktraj, n * TOTAL);
    fprintf(f, "}\n");
  }
  free(ts);
  free(scales);
  free(noise);
  free(traj);
  free(ktraj);
  ag_sampler_free(s);
  return st;
}

/* --named: each named configuration's fields as JSON lines, then the error
 * an unknown name gives, for the script to hold against diffusers' class
 * defaults. */
static int print_named(void) {
  static const char *const names[] = {"ddpm", "ddim", "euler", "euler_a", "dpmpp_2m",
                                      "dpmpp_2m_karras"};
  static const char *const spacings[] = {"linspace", "leading", "trailing"};
  for (int i = 0; i < 6; i++) {
    ag_sampler_config c;
    if (ag_sampler_config_named(names[i], &c) != AG_OK) return 1;
    printf("{\"name\":\"%s\",\"kind\":%d,\"spacing\":\"%s\",\"steps_offset\":%lld,"
           "\"set_alpha_to_one\":%d,\"eta\":%g,\"clip_sample\":%d,\"clip_sample_range\":%g,"
           "\"thresholding\":%d,\"dynamic_thresholding_ratio\":%g,\"sample_max_value\":%g,"
           "\"use_karras_sigmas\":%d,\"final_sigmas_zero\":%d,\"lower_order_final\":%d}\n",
           names[i], (int)c.kind, spacings[c.spacing], (long long)c.steps_offset,
           c.set_alpha_to_one, c.eta, c.clip_sample, c.clip_sample_range, c.thresholding,
           c.dynamic_thresholding_ratio, c.sample_max_value, c.karras_sigmas,
           c.final_sigmas_zero, c.lower_order_final);
  }
  ag_sampler_config c;
  if (ag_sampler_config_named("plms", &c) == AG_OK) return 1;
  printf("{\"unknown\":");
  put_string(stdout, ag_last_error());
  printf("}\n");
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 2 && strcmp(argv[1], "--named") == 0) return print_named();
  if (argc != 3) {
    fprintf(stderr, "usage: scheduler_trajectory CONFIGS OUT | scheduler_trajectory --named\n");
    return 2;
  }
  FILE *in = fopen(argv[1], "r");
  if (!in) {
    fprintf(stderr, "scheduler_trajectory: cannot read '%s'\n", argv[1]);
    return 1;
  }
  char tmp[4096];
  snprintf(tmp, sizeof tmp, "%s.tmp.%ld", argv[2], (long)getpid());
  FILE *out = fopen(tmp, "w");
  if (!out) {
    fclose(in);
    fprintf(stderr, "scheduler_trajectory: cannot create '%s'\n", tmp);
    return 1;
  }
  char line[1024];
  int id = 0, ok = 1;
  while (ok && fgets(line, sizeof line, in)) {
    run_config r;
    if (!parse_line(line, &r)) {
      fprintf(stderr, "scheduler_trajectory: line %d: bad configuration\n", id + 1);
      ok = 0;
    } else if (run_one(out, id, &r) != AG_OK) {
      fprintf(stderr, "scheduler_trajectory: configuration %d: %s\n", id, ag_last_error());
      ok = 0;
    }
    id++;
  }
  fclose(in);
  ok = fclose(out) == 0 && ok;
  if (!ok || rename(tmp, argv[2]) != 0) {
    remove(tmp);
    if (ok) fprintf(stderr, "scheduler_trajectory: cannot write '%s'\n", argv[2]);
    return 1;
  }
  return 0;
}
