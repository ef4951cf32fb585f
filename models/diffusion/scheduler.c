/* Noise schedules and samplers as diffusers 0.30.3 builds them: the betas of
 * each schedule, the timesteps of each spacing (numpy's linspace, arange and
 * round-half-even included) and the sigmas Euler and DPM-Solver++ step
 * through (np.interp, Karras et al.'s rho = 7 ramp, _sigma_to_t). Everything
 * is double; diffusers' float32 casts are not copied, the verification runs
 * diffusers in float64. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "scheduler_internal.h"

ag_noise_schedule_config ag_noise_schedule_default(void) {
  return (ag_noise_schedule_config){1000, AG_BETA_LINEAR, 1e-4, 0.02, AG_PRED_EPSILON};
}

static const char *const beta_names[] = {"linear", "scaled_linear", "squaredcos_cap_v2"};
static const char *const prediction_names[] = {"epsilon", "v_prediction", "sample"};

const char *ag_beta_schedule_name(ag_beta_schedule b) {
  return (unsigned)b < 3 ? beta_names[b] : "unknown";
}
const char *ag_prediction_name(ag_diffusion_prediction p) {
  return (unsigned)p < 3 ? prediction_names[p] : "unknown";
}

static int find_name(const char *const *names, int count, const char *name) {
  for (int i = 0; name && i < count; i++)
    if (strcmp(names[i], name) == 0) return i;
  return -1;
}

ag_status ag_beta_schedule_parse(const char *name, ag_beta_schedule *out) {
  const int i = find_name(beta_names, 3, name);
  if (i < 0)
    return ag_set_error(AG_ERR_INVALID,
                        "unknown beta schedule '%s' (linear, scaled_linear, squaredcos_cap_v2)",
                        name ? name : "");
  *out = (ag_beta_schedule)i;
  return AG_OK;
}

ag_status ag_prediction_parse(const char *name, ag_diffusion_prediction *out) {
  const int i = find_name(prediction_names, 3, name);
  if (i < 0)
    return ag_set_error(AG_ERR_INVALID,
                        "unknown prediction type '%s' (epsilon, v_prediction, sample)",
                        name ? name : "");
  *out = (ag_diffusion_prediction)i;
  return AG_OK;
}

ag_status ag_noise_schedule_check(const ag_noise_schedule_config *n) {
  if (n->train_timesteps < 1)
    return ag_set_error(AG_ERR_INVALID, "noise schedule: train_timesteps %lld must be >= 1",
                        (long long)n->train_timesteps);
  if ((unsigned)n->beta_schedule > AG_BETA_SQUAREDCOS_CAP_V2)
    return ag_set_error(AG_ERR_INVALID, "noise schedule: unknown beta schedule %d",
                        (int)n->beta_schedule);
  if ((unsigned)n->prediction > AG_PRED_SAMPLE)
    return ag_set_error(AG_ERR_INVALID, "noise schedule: unknown prediction type %d",
                        (int)n->prediction);
  if (n->beta_schedule != AG_BETA_SQUAREDCOS_CAP_V2 &&
      !(n->beta_start > 0 && n->beta_start < 1 && n->beta_end > 0 && n->beta_end < 1))
    return ag_set_error(AG_ERR_INVALID, "noise schedule: betas %g .. %g must lie in (0, 1)",
                        n->beta_start, n->beta_end);
  return AG_OK;
}

/* numpy's linspace(a, b, count): a + k (b - a) / (count - 1), the last
 * value exactly b. */
static double linspace_at(double a, double b, int64_t count, int64_t k) {
  if (count > 1 && k == count - 1) return b;
  return count > 1 ? (double)k * ((b - a) / (double)(count - 1)) + a : a;
}

/* Nichol & Dhariwal's alpha_bar(t) = cos((t + 0.008) / 1.008 * pi / 2)^2. */
static double cosine_alpha_bar(double t) {
  const double c = cos((t + 0.008) / 1.008 * 3.14159265358979323846 / 2);
  return c * c;
}

static double beta_at(const ag_noise_schedule_config *n, int64_t t) {
  const int64_t T = n->train_timesteps;
  switch (n->beta_schedule) {
  case AG_BETA_LINEAR: return linspace_at(n->beta_start, n->beta_end, T, t);
  case AG_BETA_SCALED_LINEAR: {
    const double r = linspace_at(sqrt(n->beta_start), sqrt(n->beta_end), T, t);
    return r * r;
  }
  case AG_BETA_SQUAREDCOS_CAP_V2: {
    const double b = 1 - cosine_alpha_bar((double)(t + 1) / (double)T) /
                             cosine_alpha_bar((double)t / (double)T);
    return b < 0.999 ? b : 0.999;
  }
  }
  return 0;
}

ag_status ag_alphas_cumprod(const ag_noise_schedule_config *n, double *out) {
  AG_TRY(ag_noise_schedule_check(n));
  double p = 1;
  for (int64_t t = 0; t < n->train_timesteps; t++) out[t] = p *= 1 - beta_at(n, t);
  return AG_OK;
}

/* ---------------------------------------------------------------------------
 * Named configurations: each class's defaults in diffusers. */

static const char *const sampler_names[] = {"ddpm",     "ddim",     "euler",
                                            "euler_a",  "dpmpp_2m", "dpmpp_2m_karras"};
#define SAMPLER_NAME_COUNT 6

const char *ag_sampler_names(void) { return "ddpm, ddim, euler, euler_a, dpmpp_2m, dpmpp_2m_karras"; }

ag_status ag_sampler_config_named(const char *name, ag_sampler_config *out) {
  const int i = find_name(sampler_names, SAMPLER_NAME_COUNT, name);
  if (i < 0)
    return ag_set_error(AG_ERR_INVALID, "unknown sampler '%s' (%s)", name ? name : "",
                        ag_sampler_names());
  static const ag_sampler_kind kinds[SAMPLER_NAME_COUNT] = {
      AG_SAMPLER_DDPM,  AG_SAMPLER_DDIM,     AG_SAMPLER_EULER, AG_SAMPLER_EULER_ANCESTRAL,
      AG_SAMPLER_DPMPP_2M, AG_SAMPLER_DPMPP_2M};
  const int ddpm_like = kinds[i] == AG_SAMPLER_DDPM || kinds[i] == AG_SAMPLER_DDIM;
  *out = (ag_sampler_config){
      .kind = kinds[i],
      .spacing = ddpm_like ? AG_SPACING_LEADING : AG_SPACING_LINSPACE,
      .steps_offset = 0,
      .set_alpha_to_one = 1,
      .eta = 0,
      .clip_sample = ddpm_like,
      .clip_sample_range = 1.0,
      .thresholding = 0,
      .dynamic_thresholding_ratio = 0.995,
      .sample_max_value = 1.0,
      .karras_sigmas = i == 5,
      .final_sigmas_zero = 1,
      .lower_order_final = 1,
  };
  return AG_OK;
}

/* ---------------------------------------------------------------------------
 * Timesteps (set_timesteps). DPM-Solver++ spaces steps + 1 points and drops
 * the last for linspace and leading. */

/* numpy's arange(start, 0, -step) for a float step: ceil(start / step)
 * values start - k step. */
static int64_t arange_down_count(double start, double step) {
  return (int64_t)ceil((0.0 - start) / -step);
}

static ag_status spaced_timesteps(const ag_sampler *s, double *ts) {
  const int64_t T = s->n.train_timesteps, n = s->steps;
  const int64_t points = s->c.kind == AG_SAMPLER_DPMPP_2M ? 1 : 0;
  switch (s->c.spacing) {
  case AG_SPACING_LINSPACE:
    for (int64_t k = 0; k < n; k++)
      ts[k] = nearbyint(linspace_at(0, (double)(T - 1), n + points, n + points - 1 - k));
    return AG_OK;
  case AG_SPACING_LEADING: {
    const int64_t ratio = T / (n + points);
    for (int64_t k = 0; k < n; k++)
      ts[k] = (double)((n + points - 1 - k) * ratio + s->c.steps_offset);
    return AG_OK;
  }
  case AG_SPACING_TRAILING: {
    const double ratio = (double)T / (double)n;
    const int64_t m = arange_down_count((double)T, ratio);
    if (m != n)
      return ag_set_error(AG_ERR_INVALID, "sampler: trailing spacing of %lld steps over %lld gives %lld timesteps",
                          (long long)n, (long long)T, (long long)m);
    for (int64_t k = 0; k < n; k++) ts[k] = nearbyint((double)T + (double)k * -ratio) - 1;
    return AG_OK;
  }
  }
  return ag_set_error(AG_ERR_INVALID, "sampler: unknown timestep spacing %d", (int)s->c.spacing);
}

/* ---------------------------------------------------------------------------
 * Sigmas: sigma(t) = sqrt((1 - ab_t) / ab_t). */

static double sigma_of(const ag_sampler *s, int64_t t) {
  const double ab = s->alphas_cumprod[t];
  return sqrt((1 - ab) / ab);
}

/* np.interp(t, arange(T), sigma): clamped at both ends. */
static double interp_sigma(const ag_sampler *s, double t) {
  const int64_t T = s->n.train_timesteps;
  if (t <= 0) return sigma_of(s, 0);
  if (t >= (double)(T - 1)) return sigma_of(s, T - 1);
  const int64_t j = (int64_t)floor(t);
  const double lo = sigma_of(s, j), hi = sigma_of(s, j + 1);
  return (hi - lo) * (t - (double)j) + lo;
}

/* diffusers' _sigma_to_t: the fractional timestep whose log sigma sits at
 * log(sigma), between its neighbours in log space. */
static double sigma_to_t(const ag_sampler *s, double sigma) {
  const int64_t T = s->n.train_timesteps;
  const double ls = log(sigma > 1e-10 ? sigma : 1e-10);
  int64_t low = -1;
  for (int64_t j = 0; j < T; j++)
    if (ls - log(sigma_of(s, j)) >= 0) low = j;
  if (low < 0) low = 0;
  if (low > T - 2) low = T - 2;
  const double lo = log(sigma_of(s, low)), hi = log(sigma_of(s, low + 1));
  double w = (lo - ls) / (lo - hi);
  w = w < 0 ? 0 : (w > 1 ? 1 : w);
  return (1 - w) * (double)low + w * (double)(low + 1);
}

/* Karras et al.'s schedule from sigma_max down to sigma_min, rho = 7. */
static void karras_sigmas(double sigma_min, double sigma_max, int64_t n, double *out) {
  const double rho = 7.0, lo = pow(sigma_min, 1 / rho), hi = pow(sigma_max, 1 / rho);
  for (int64_t k = 0; k < n; k++) out[k] = pow(hi + linspace_at(0, 1, n, k) * (lo - hi), rho);
}

static double final_sigma(const ag_sampler *s) {
  return s->c.final_sigmas_zero ? 0.0 : sigma_of(s, 0);
}

/* Euler (and Euler ancestral): sigmas interpolated at the timesteps, or
 * Karras' ramp between the first and last of them (fractional timesteps). */
static void euler_sigmas(ag_sampler *s) {
  const int64_t n = s->steps;
  for (int64_t k = 0; k < n; k++) s->sigmas[k] = interp_sigma(s, s->timesteps[k]);
  const int ancestral = s->c.kind == AG_SAMPLER_EULER_ANCESTRAL;
  if (!ancestral && s->c.karras_sigmas) {
    karras_sigmas(s->sigmas[n - 1], s->sigmas[0], n, s->sigmas);
    for (int64_t k = 0; k < n; k++) s->timesteps[k] = sigma_to_t(s, s->sigmas[k]);
  }
  s->sigmas[n] = ancestral ? 0.0 : final_sigma(s);
}

/* DPM-Solver++: sigmas at the timesteps, or Karras' ramp over the whole
 * training range with rounded timesteps. */
static void dpm_sigmas(ag_sampler *s) {
  const int64_t n = s->steps, T = s->n.train_timesteps;
  if (s->c.karras_sigmas) {
    karras_sigmas(sigma_of(s, 0), sigma_of(s, T - 1), n, s->sigmas);
    for (int64_t k = 0; k < n; k++) s->timesteps[k] = nearbyint(sigma_to_t(s, s->sigmas[k]));
  } else {
    for (int64_t k = 0; k < n; k++) s->sigmas[k] = interp_sigma(s, s->timesteps[k]);
  }
  s->sigmas[n] = final_sigma(s);
}

static ag_status check_config(const ag_noise_schedule_config *n, const ag_sampler_config *c,
                              int64_t steps) {
  AG_TRY(ag_noise_schedule_check(n));
  if ((unsigned)c->kind > AG_SAMPLER_DPMPP_2M)
    return ag_set_error(AG_ERR_INVALID, "sampler: unknown kind %d", (int)c->kind);
  if (steps < 1 || steps > n->train_timesteps)
    return ag_set_error(AG_ERR_INVALID, "sampler: steps %lld must be in 1 .. %lld (the training timesteps)",
                        (long long)steps, (long long)n->train_timesteps);
  if (c->kind == AG_SAMPLER_EULER_ANCESTRAL && n->prediction == AG_PRED_SAMPLE)
    return ag_set_error(AG_ERR_UNSUPPORTED,
                        "sampler euler_a: prediction type sample is not implemented (as in diffusers)");
  if (c->eta < 0)
    return ag_set_error(AG_ERR_INVALID, "sampler: eta %g must be >= 0", c->eta);
  if (c->clip_sample && !(c->clip_sample_range > 0))
    return ag_set_error(AG_ERR_INVALID, "sampler: clip_sample_range %g must be > 0",
                        c->clip_sample_range);
  if (c->thresholding &&
      !(c->dynamic_thresholding_ratio >= 0 && c->dynamic_thresholding_ratio <= 1 &&
        c->sample_max_value >= 1))
    return ag_set_error(AG_ERR_INVALID,
                        "sampler: thresholding needs a ratio in [0, 1] (got %g) and sample_max_value >= 1 (got %g)",
                        c->dynamic_thresholding_ratio, c->sample_max_value);
  if (c->karras_sigmas && n->train_timesteps < 2)
    return ag_set_error(AG_ERR_INVALID, "sampler: Karras sigmas need at least 2 training timesteps");
  return AG_OK;
}

/* Every integer timestep must index alphas_cumprod (a large steps_offset
 * would not, and diffusers would fail there too). */
static ag_status check_timesteps(const ag_sampler *s) {
  for (int64_t k = 0; k < s->steps; k++)
    if (s->timesteps[k] < 0 || s->timesteps[k] > (double)(s->n.train_timesteps - 1))
      return ag_set_error(AG_ERR_INVALID, "sampler: timestep %g of step %lld is outside 0 .. %lld",
                          s->timesteps[k], (long long)k, (long long)(s->n.train_timesteps - 1));
  return AG_OK;
}

static double max_of(const double *v, int64_t n) {
  double m = v[0];
  for (int64_t k = 1; k < n; k++) m = v[k] > m ? v[k] : m;
  return m;
}

static ag_status build(ag_sampler *s) {
  AG_TRY(ag_alphas_cumprod(&s->n, s->alphas_cumprod));
  AG_TRY(spaced_timesteps(s, s->timesteps));
  AG_TRY(check_timesteps(s));
  s->init_sigma = 1.0;
  if (s->c.kind == AG_SAMPLER_EULER || s->c.kind == AG_SAMPLER_EULER_ANCESTRAL) {
    euler_sigmas(s);
    const double m = max_of(s->sigmas, s->steps + 1);
    s->init_sigma = s->c.spacing == AG_SPACING_LEADING ? sqrt(m * m + 1) : m;
  } else if (s->c.kind == AG_SAMPLER_DPMPP_2M) {
    dpm_sigmas(s);
  }
  return AG_OK;
}

ag_status ag_sampler_new(const ag_noise_schedule_config *n, const ag_sampler_config *c,
                         int64_t steps, ag_sampler **out) {
  *out = NULL;
  AG_TRY(check_config(n, c, steps));
  ag_sampler *s = calloc(1, sizeof *s);
  if (!s) return ag_set_error(AG_ERR_OOM, "sampler: out of memory");
  s->n = *n, s->c = *c, s->steps = steps;
  s->x0_step = s->x0_host_step = -1;
  s->alphas_cumprod = malloc(sizeof(double) * (size_t)n->train_timesteps);
  s->timesteps = malloc(sizeof(double) * (size_t)steps);
  s->sigmas = malloc(sizeof(double) * (size_t)(steps + 1));
  ag_status st = s->alphas_cumprod && s->timesteps && s->sigmas
                     ? build(s)
                     : ag_set_error(AG_ERR_OOM, "sampler: out of memory");
  if (st != AG_OK) {
    ag_sampler_free(s);
    return st;
  }
  *out = s;
  return AG_OK;
}

void ag_sampler_free(ag_sampler *s) {
  if (!s) return;
  ag_tensor_free(s->x0[0]);
  ag_tensor_free(s->x0[1]);
  free(s->x0_host);
  free(s->alphas_cumprod);
  free(s->timesteps);
  free(s->sigmas);
  free(s);
}

int64_t ag_sampler_steps(const ag_sampler *s) { return s->steps; }

double ag_sampler_timestep(const ag_sampler *s, int64_t i) {
  return i >= 0 && i < s->steps ? s->timesteps[i] : NAN;
}

double ag_sampler_init_noise_sigma(const ag_sampler *s) { return s->init_sigma; }

double ag_sampler_input_scale(const ag_sampler *s, int64_t i) {
  if (i < 0 || i >= s->steps) return NAN;
  if (s->c.kind != AG_SAMPLER_EULER && s->c.kind != AG_SAMPLER_EULER_ANCESTRAL) return 1.0;
  return 1.0 / sqrt(s->sigmas[i] * s->sigmas[i] + 1);
}
