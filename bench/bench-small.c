/* Benchmarks of small calls, where the work is a few hundred flops and what
 * a call costs around it (checks, dispatch, an OpenMP region) shows: on the
 * host's best ISA, 1 OpenMP thread (a small call stays on one thread anyway,
 * and then enters no OpenMP region):
 *
 *   f32_small/xent/<isa>/n:1/m:10/omp:1         fastloss_xent_f32, loss and gradient
 *   f32_small/crossentropy/<isa>/n:1/m:10/omp:1 fastloss_crossentropy_loss_f32
 *   f32_small/sqerr/<isa>/n:1/m:16/omp:1        fastloss_sqerr_loss_f32
 *   f32_small/vae/<isa>/n:1/N:16/T:8/omp:1      fastloss_vae_f32, loss and gradients
 *   f32_small/wgangp/<isa>/n:4/n_feats:8/omp:1  fastloss_wgangp_f32, the critic
 *   f32_small/nce/<isa>/n_ex:2/d:16/omp:1       NCELoss loss() + grad() + update(),
 *                                               1000 classes, k 5, SGD
 *   f32_small/sgns/<isa>/pairs:1/d:100/omp:1    fastloss_sgns_step_f32, one pair,
 *                                               k 5 drawn by the step
 *
 * items = calls (for nce, one loss + grad + update), so the report's time
 * per call is the time of one.  No timing targets are asserted. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"
#include "fastloss.h"
#include "shim.h"

typedef enum bench_small_op {
  BENCH_SMALL_XENT,
  BENCH_SMALL_CROSSENTROPY,
  BENCH_SMALL_SQERR,
  BENCH_SMALL_VAE,
  BENCH_SMALL_WGANGP,
  BENCH_SMALL_NCE,
  BENCH_SMALL_SGNS,
  BENCH_SMALL_OPS
} bench_small_op;

typedef struct bench_small_case {
  fastloss_isa isa;
  bench_small_op op;
} bench_small_case;

static bench_small_case bench_small_cases[BENCH_SMALL_OPS];

#define BENCH_SMALL_CLASSES 1000
#define BENCH_SMALL_DIM 100

/* Inputs of every op, filled once per run: probabilities that sum to 1 per
 * row of 10, one-hot targets, small logits and gradients. */
typedef struct bench_small_data {
  float y[64], p[64], z[64], g[64], mu[8], lv[8], dmu[8], dlv[8], x[32], dx[32];
  int32_t labels[2];
} bench_small_data;

static void bench_small_fill(bench_small_data *d) {
  for (int i = 0; i < 64; i++) {
    d->y[i] = i % 10 == 3 ? 1.0f : 0.0f;
    d->p[i] = 0.1f;
    d->z[i] = 0.03f * (float)(i % 17) - 0.2f;
  }
  for (int i = 0; i < 8; i++) {
    d->mu[i] = 0.1f * (float)i;
    d->lv[i] = -0.05f * (float)i;
  }
  for (int i = 0; i < 32; i++) d->x[i] = 0.01f * (float)(i % 13);
  d->labels[0] = 3;
  d->labels[1] = 7;
}

static void bench_small_run(flb_state *state, void *context) {
  const bench_small_case *c = context;
  if (fastloss_set_isa(c->isa) != FASTLOSS_OK || fastloss_set_num_threads(1) != FASTLOSS_OK) {
    flb_skip_with_error(state, fastloss_last_error());
    return;
  }
  bench_small_data d;
  bench_small_fill(&d);
  fastloss_status status = FASTLOSS_OK;
  fastloss_sampler *noise = NULL;
  fastloss_nce *nce = NULL;
  float *in_emb = NULL, *out_emb = NULL;
  if (c->op == BENCH_SMALL_NCE || c->op == BENCH_SMALL_SGNS) {
    double weights[BENCH_SMALL_CLASSES];
    for (int i = 0; i < BENCH_SMALL_CLASSES; i++) weights[i] = 1.0 / (double)(i + 1);
    status = fastloss_sampler_create(&noise, weights, BENCH_SMALL_CLASSES, 0, 1, 42);
  }
  if (status == FASTLOSS_OK && c->op == BENCH_SMALL_NCE) {
    const fastloss_nce_config config = {.dtype = FASTLOSS_F32,
                                        .n_classes = BENCH_SMALL_CLASSES,
                                        .n_in = 16,
                                        .num_negative_samples = 5,
                                        .sampler = noise,
                                        .optimizer = {.kind = FASTLOSS_OPT_SGD, .lr = 0.01},
                                        .seed = 1};
    status = fastloss_nce_create(&nce, &config);
  }
  if (status == FASTLOSS_OK && c->op == BENCH_SMALL_SGNS) {
    const size_t cells = (size_t)BENCH_SMALL_CLASSES * BENCH_SMALL_DIM;
    in_emb = malloc(cells * sizeof *in_emb);
    out_emb = calloc(cells, sizeof *out_emb);
    if (in_emb == NULL || out_emb == NULL) {
      flb_skip_with_error(state, "out of memory");
      free(in_emb), free(out_emb);
      fastloss_sampler_destroy(noise);
      return;
    }
    for (size_t e = 0; e < cells; e++) in_emb[e] = 0.001f * (float)(e % 97) - 0.05f;
  }
  const fastloss_xent_params xent_params = {.reduction = FASTLOSS_REDUCTION_MEAN};
  const fastloss_vae_params vae_params = {0};
  const fastloss_wgangp_params wgangp_params = {.lambda = 10.0};
  const int32_t in_id = 5, out_id = 9;
  const fastloss_sgns_batch pair = {.n_pairs = 1, .inputs = &in_id, .targets = &out_id, .k = 5};
  fastloss_sgns_params sgns_params = {.noise = noise, .seed = 3};
  double loss = 0.0;
  while (status == FASTLOSS_OK && flb_keep_running(state)) {
    switch (c->op) {
      case BENCH_SMALL_XENT:
        status = fastloss_xent_f32(1, 10, d.z, 10, d.labels, &xent_params, NULL, &loss, d.g, 10);
        break;
      case BENCH_SMALL_CROSSENTROPY:
        status = fastloss_crossentropy_loss_f32(1, 10, d.y, d.p, &loss);
        break;
      case BENCH_SMALL_SQERR:
        status = fastloss_sqerr_loss_f32(1, 16, d.y, d.p, &loss);
        break;
      case BENCH_SMALL_VAE:
        status = fastloss_vae_f32(1, 16, 8, d.y, 16, d.p, 16, d.mu, d.lv, 8, &vae_params, NULL,
                                  NULL, &loss, d.g, d.dlv, d.dmu);
        break;
      case BENCH_SMALL_WGANGP:
        status = fastloss_wgangp_f32('C', 4, d.y, 4, d.p, 4, 8, d.z, 8, &wgangp_params, &loss, NULL,
                                     NULL, d.g);
        break;
      case BENCH_SMALL_NCE:
        status = fastloss_nce_loss_f32(nce, 2, 1, 16, d.x, d.labels, NULL, 1, &loss, NULL);
        if (status == FASTLOSS_OK) status = fastloss_nce_grad_f32(nce, 1, 0, d.dx);
        if (status == FASTLOSS_OK) status = fastloss_nce_update(nce);
        break;
      case BENCH_SMALL_SGNS:
        status = fastloss_sgns_step_f32(BENCH_SMALL_CLASSES, BENCH_SMALL_DIM, in_emb, out_emb,
                                        &pair, 0.025f, &sgns_params, &loss);
        sgns_params.stream++;
        break;
      default:
        status = FASTLOSS_ERR_INVALID_ARGUMENT;
        break;
    }
    flb_do_not_optimize(&loss);
    flb_clobber_memory();
  }
  if (status != FASTLOSS_OK)
    flb_skip_with_error(state, fastloss_last_error());
  else
    flb_set_items_processed(state, flb_iterations(state));
  fastloss_nce_destroy(nce);
  fastloss_sampler_destroy(noise);
  free(in_emb), free(out_emb);
}

void bench_small_register(const fastloss_isa *isas, size_t isa_count) {
  if (isa_count == 0) return;
  static const char *const names[BENCH_SMALL_OPS] = {
      "xent/%s/n:1/m:10",     "crossentropy/%s/n:1/m:10", "sqerr/%s/n:1/m:16",
      "vae/%s/n:1/N:16/T:8",  "wgangp/%s/n:4/n_feats:8",  "nce/%s/n_ex:2/d:16",
      "sgns/%s/pairs:1/d:100"};
  const fastloss_isa best = isas[isa_count - 1];
  for (int op = 0; op < BENCH_SMALL_OPS; op++) {
    bench_small_case *c = &bench_small_cases[op];
    c->isa = best;
    c->op = (bench_small_op)op;
    char shape[96], name[128];
    snprintf(shape, sizeof shape, names[op], fastloss_isa_name(best));
    snprintf(name, sizeof name, "f32_small/%s/omp:1", shape);
    flb_benchmark_use_real_time(flb_register(name, bench_small_run, c));
  }
}
