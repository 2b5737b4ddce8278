/* Benchmarks of SquaredError (fastloss_sqerr_loss_f32, fastloss_sqerr_grad_f32)
 * and WGAN_GPLoss (fastloss_wgangp_f32), for every ISA the host runs, at 1
 * and 2 OpenMP threads:
 *
 *   f32_sqerr_loss/<isa>/n:1024/m:1024/omp:<t>
 *       the loss, 0.5 ||y_pred - y||^2 summed in double
 *   f32_sqerr_grad/<isa>/<act>/n:1024/m:1024/omp:<t>
 *       the gradient (y_pred - y) act'(z) through <act>: identity, sigmoid,
 *       tanh, relu, elu, softplus, gelu (tanh form), gelu_exact (erf form:
 *       the vector erf of the math headers, fl_<isa>_gelu_erf)
 *   f32_wgangp_critic/<isa>/n:256/n_feats:3072/omp:<t>
 *       the critic's loss and its three gradients (a CIFAR-sized gradient
 *       penalty: 256 interpolates of 32x32x3)
 *
 * items = input elements per call (n m; for WGAN-GP n n_feats).  No timing
 * targets are asserted; scripts/bench-report.py lists the numbers.
 * Inputs, fixed seeds: y, y_pred, z N(0, 1); gradInterp N(0, 1/n_feats). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "fastloss.h"
#include "shim.h"

#define BENCH_SQERR_N 1024
#define BENCH_SQERR_M 1024
#define BENCH_WGANGP_N 256
#define BENCH_WGANGP_FEATS 3072
#define BENCH_SQERR_MAX_CASES 128

typedef enum bench_sqerr_op {
  BENCH_SQERR_LOSS,
  BENCH_SQERR_GRAD,
  BENCH_WGANGP_CRITIC
} bench_sqerr_op;

typedef struct bench_sqerr_case {
  fastloss_isa isa;
  int threads;
  bench_sqerr_op op;
  fastloss_activation act;
} bench_sqerr_case;

static bench_sqerr_case bench_sqerr_cases[BENCH_SQERR_MAX_CASES];
static size_t bench_sqerr_case_count;

static double bench_sqerr_normal(fastloss_rng *rng) {
  const double u1 = 1.0 - fastloss_rng_uniform(rng), u2 = fastloss_rng_uniform(rng);
  return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* count floats N(0, scale^2); NULL when out of memory. */
static float *bench_sqerr_array(size_t count, double scale, uint64_t stream) {
  float *x = malloc(count * sizeof *x);
  if (x == NULL) return NULL;
  fastloss_rng rng;
  fastloss_rng_init(&rng, 13, stream);
  for (size_t k = 0; k < count; k++) x[k] = (float)(scale * bench_sqerr_normal(&rng));
  return x;
}

static void bench_sqerr_run(flb_state *state, void *context) {
  const bench_sqerr_case *c = context;
  if (fastloss_set_isa(c->isa) != FASTLOSS_OK ||
      fastloss_set_num_threads(c->threads) != FASTLOSS_OK) {
    flb_skip_with_error(state, fastloss_last_error());
    return;
  }
  const int wgangp = c->op == BENCH_WGANGP_CRITIC;
  const size_t n = wgangp ? BENCH_WGANGP_N : BENCH_SQERR_N;
  const size_t m = wgangp ? BENCH_WGANGP_FEATS : BENCH_SQERR_M;
  float *a = bench_sqerr_array(n * m, wgangp ? 1.0 / sqrt((double)m) : 1.0, 1);
  float *b = bench_sqerr_array(n * m, 1.0, 2), *z = bench_sqerr_array(n * m, 1.0, 3);
  float *out = malloc(n * m * sizeof *out);
  float dyf[BENCH_WGANGP_N], dyr[BENCH_WGANGP_N];
  if (a == NULL || b == NULL || z == NULL || out == NULL) {
    flb_skip_with_error(state, "out of memory");
    free(a), free(b), free(z), free(out);
    return;
  }
  double loss = 0.0;
  fastloss_status status = FASTLOSS_OK;
  int first = 1; /* one untimed warm-up call */
  while (status == FASTLOSS_OK && (first || flb_keep_running(state))) {
    switch (c->op) {
      case BENCH_SQERR_LOSS:
        status = fastloss_sqerr_loss_f32(n, m, a, b, &loss);
        break;
      case BENCH_SQERR_GRAD:
        status = fastloss_sqerr_grad_f32(n, m, a, b, z, &c->act, out);
        break;
      case BENCH_WGANGP_CRITIC:
        /* Y_fake and Y_real: the first n entries of b and z. */
        status = fastloss_wgangp_f32('C', n, b, n, z, n, m, a, m, NULL, &loss, dyf, dyr, out);
        break;
    }
    first = 0;
    flb_do_not_optimize(&loss);
    flb_clobber_memory();
  }
  if (status != FASTLOSS_OK)
    flb_skip_with_error(state, fastloss_last_error());
  else
    flb_set_items_processed(state, flb_iterations(state) * (int64_t)(n * m));
  free(a), free(b), free(z), free(out);
}

static void bench_sqerr_add(fastloss_isa isa, int threads, bench_sqerr_op op,
                            fastloss_activation act, const char *act_name) {
  if (bench_sqerr_case_count == BENCH_SQERR_MAX_CASES) return;
  bench_sqerr_case *c = &bench_sqerr_cases[bench_sqerr_case_count++];
  c->isa = isa;
  c->threads = threads;
  c->op = op;
  c->act = act;
  char name[128];
  if (op == BENCH_SQERR_LOSS)
    snprintf(name, sizeof name, "f32_sqerr_loss/%s/n:%d/m:%d/omp:%d", fastloss_isa_name(isa),
             BENCH_SQERR_N, BENCH_SQERR_M, threads);
  else if (op == BENCH_SQERR_GRAD)
    snprintf(name, sizeof name, "f32_sqerr_grad/%s/%s/n:%d/m:%d/omp:%d", fastloss_isa_name(isa),
             act_name, BENCH_SQERR_N, BENCH_SQERR_M, threads);
  else
    snprintf(name, sizeof name, "f32_wgangp_critic/%s/n:%d/n_feats:%d/omp:%d",
             fastloss_isa_name(isa), BENCH_WGANGP_N, BENCH_WGANGP_FEATS, threads);
  flb_benchmark_use_real_time(flb_register(name, bench_sqerr_run, c));
}

void bench_sqerr_register(const fastloss_isa *isas, size_t isa_count, int max_threads) {
  static const struct {
    const char *name;
    fastloss_activation act;
  } acts[] = {{"identity", {.kind = FASTLOSS_ACT_IDENTITY}},
              {"sigmoid", {.kind = FASTLOSS_ACT_SIGMOID}},
              {"tanh", {.kind = FASTLOSS_ACT_TANH}},
              {"relu", {.kind = FASTLOSS_ACT_RELU}},
              {"elu", {.kind = FASTLOSS_ACT_ELU}},
              {"softplus", {.kind = FASTLOSS_ACT_SOFTPLUS}},
              {"gelu", {.kind = FASTLOSS_ACT_GELU}},
              {"gelu_exact", {.kind = FASTLOSS_ACT_GELU, .exact = 1}}};
  const fastloss_activation identity = {.kind = FASTLOSS_ACT_IDENTITY};
  for (size_t i = 0; i < isa_count; i++)
    for (int threads = 1; threads <= max_threads && threads <= 2; threads++) {
      bench_sqerr_add(isas[i], threads, BENCH_SQERR_LOSS, identity, "");
      for (size_t a = 0; a < sizeof acts / sizeof acts[0]; a++)
        bench_sqerr_add(isas[i], threads, BENCH_SQERR_GRAD, acts[a].act, acts[a].name);
      bench_sqerr_add(isas[i], threads, BENCH_WGANGP_CRITIC, identity, "");
    }
}
