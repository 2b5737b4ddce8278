/* Benchmarks of VAELoss (fastloss_vae_f32), for every ISA the host runs, at
 * 1 and 2 OpenMP threads, on the shape (n = 1024 images of N = 784
 * pixels, T = 64 latents):
 *
 *   f32_vae_fwdbwd/<isa>/<y>/n:1024/N:784/T:64/omp:<t>
 *       the fused call: loss, per-row terms and the three gradients
 *       (dY_pred, dLogVar, dMean), numpy-ml's loss() + grad() in one pass
 *   f32_vae_fwd/<isa>/<y>/n:1024/N:784/T:64/omp:<t>
 *       the loss alone (numpy-ml's loss())
 *
 * <y>: bin = binarised images (y exactly 0 or 1, the one-log path), soft =
 * grey levels in [0, 1] (two logs per pixel), logits = from_logits with
 * binarised y (softplus).  items = n (N + T) input elements per call, the
 * unit of the peer numbers (PyTorch 1.13: 0.068e9/s for BCE + KL
 * forward and backward; numpy-ml: 0.024e9/s); its targets (>= 6x PyTorch =
 * 0.41e9/s, >= 25x numpy-ml = 0.60e9/s, fused, 1 thread) are printed next to
 * the measured numbers by scripts/bench-report.py, never asserted.
 *
 * Inputs, fixed seeds: y binary with about 20% ones (MNIST-like) or uniform
 * grey levels; y_pred uniform in (0, 1) (logits: N(0, 2^2)); t_mean N(0, 1),
 * t_log_var N(0, 0.5^2). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "fastloss.h"
#include "shim.h"

#define BENCH_VAE_N 1024
#define BENCH_VAE_PIXELS 784
#define BENCH_VAE_LATENTS 64
#define BENCH_VAE_MAX_CASES 64

typedef enum bench_vae_target {
  BENCH_VAE_BINARY,
  BENCH_VAE_SOFT,
  BENCH_VAE_LOGITS
} bench_vae_target;

typedef struct bench_vae_case {
  fastloss_isa isa;
  int threads, backward;
  bench_vae_target target;
} bench_vae_case;

static bench_vae_case bench_vae_cases[BENCH_VAE_MAX_CASES];
static size_t bench_vae_case_count;

typedef struct bench_vae_data {
  float *y, *p, *mu, *lv, *dp, *dlv, *dmu, *rec, *kl;
} bench_vae_data;

static void bench_vae_free(bench_vae_data *d) {
  free(d->y);
  free(d->p);
  free(d->mu);
  free(d->lv);
  free(d->dp);
  free(d->dlv);
  free(d->dmu);
  free(d->rec);
  free(d->kl);
  memset(d, 0, sizeof *d);
}

static double bench_vae_normal(fastloss_rng *rng) {
  const double u1 = 1.0 - fastloss_rng_uniform(rng), u2 = fastloss_rng_uniform(rng);
  return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* Returns 0 when out of memory. */
static int bench_vae_make(bench_vae_data *d, bench_vae_target target) {
  const size_t ny = (size_t)BENCH_VAE_N * BENCH_VAE_PIXELS;
  const size_t nt = (size_t)BENCH_VAE_N * BENCH_VAE_LATENTS;
  memset(d, 0, sizeof *d);
  d->y = malloc(ny * sizeof(float));
  d->p = malloc(ny * sizeof(float));
  d->dp = malloc(ny * sizeof(float));
  d->mu = malloc(nt * sizeof(float));
  d->lv = malloc(nt * sizeof(float));
  d->dlv = malloc(nt * sizeof(float));
  d->dmu = malloc(nt * sizeof(float));
  d->rec = malloc(BENCH_VAE_N * sizeof(float));
  d->kl = malloc(BENCH_VAE_N * sizeof(float));
  if (!(d->y && d->p && d->dp && d->mu && d->lv && d->dlv && d->dmu && d->rec && d->kl)) {
    bench_vae_free(d);
    return 0;
  }
  fastloss_rng rng;
  fastloss_rng_init(&rng, 11, 0);
  for (size_t k = 0; k < ny; k++) {
    const double u = fastloss_rng_uniform(&rng);
    d->y[k] = target == BENCH_VAE_SOFT ? (float)u : (u < 0.2 ? 1.0f : 0.0f);
    d->p[k] = target == BENCH_VAE_LOGITS ? (float)(2.0 * bench_vae_normal(&rng))
                                         : (float)(0.001 + 0.998 * fastloss_rng_uniform(&rng));
  }
  for (size_t k = 0; k < nt; k++) {
    d->mu[k] = (float)bench_vae_normal(&rng);
    d->lv[k] = (float)(0.5 * bench_vae_normal(&rng));
  }
  return 1;
}

static fastloss_status bench_vae_once(const bench_vae_case *c, const bench_vae_data *d,
                                      double *loss) {
  const fastloss_vae_params params = {.from_logits = c->target == BENCH_VAE_LOGITS};
  return fastloss_vae_f32(BENCH_VAE_N, BENCH_VAE_PIXELS, BENCH_VAE_LATENTS, d->y, BENCH_VAE_PIXELS,
                          d->p, BENCH_VAE_PIXELS, d->mu, d->lv, BENCH_VAE_LATENTS, &params,
                          c->backward ? d->rec : NULL, c->backward ? d->kl : NULL, loss,
                          c->backward ? d->dp : NULL, c->backward ? d->dlv : NULL,
                          c->backward ? d->dmu : NULL);
}

static void bench_vae_run(flb_state *state, void *context) {
  const bench_vae_case *c = context;
  if (fastloss_set_isa(c->isa) != FASTLOSS_OK ||
      fastloss_set_num_threads(c->threads) != FASTLOSS_OK) {
    flb_skip_with_error(state, fastloss_last_error());
    return;
  }
  bench_vae_data d;
  if (!bench_vae_make(&d, c->target)) {
    flb_skip_with_error(state, "out of memory");
    return;
  }
  double loss = 0.0;
  int failed = bench_vae_once(c, &d, &loss) != FASTLOSS_OK; /* warm-up, untimed */
  while (!failed && flb_keep_running(state)) {
    failed |= bench_vae_once(c, &d, &loss) != FASTLOSS_OK;
    flb_do_not_optimize(&loss);
    flb_clobber_memory();
  }
  if (failed)
    flb_skip_with_error(state, fastloss_last_error());
  else
    flb_set_items_processed(state, flb_iterations(state) * (int64_t)BENCH_VAE_N *
                                       (BENCH_VAE_PIXELS + BENCH_VAE_LATENTS));
  bench_vae_free(&d);
}

void bench_vae_register(const fastloss_isa *isas, size_t isa_count, int max_threads) {
  static const char *const target_names[] = {"bin", "soft", "logits"};
  for (int backward = 1; backward >= 0; backward--)
    for (int target = 0; target < 3; target++) {
      if (!backward && target != BENCH_VAE_BINARY) continue;
      for (size_t i = 0; i < isa_count; i++)
        for (int threads = 1; threads <= max_threads && threads <= 2; threads++) {
          if (bench_vae_case_count == BENCH_VAE_MAX_CASES) return;
          bench_vae_case *c = &bench_vae_cases[bench_vae_case_count++];
          c->isa = isas[i];
          c->threads = threads;
          c->backward = backward;
          c->target = (bench_vae_target)target;
          char name[128];
          snprintf(name, sizeof name, "f32_vae_%s/%s/%s/n:%d/N:%d/T:%d/omp:%d",
                   backward ? "fwdbwd" : "fwd", fastloss_isa_name(c->isa), target_names[target],
                   BENCH_VAE_N, BENCH_VAE_PIXELS, BENCH_VAE_LATENTS, threads);
          flb_benchmark_use_real_time(flb_register(name, bench_vae_run, c));
        }
    }
}
