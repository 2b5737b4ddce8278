/* Benchmarks of the negative-sampling step (fastloss_sgns_step_f32), for
 * every ISA the host runs, at 1 and 2 OpenMP threads:
 *
 *   f32_sgns_pair/<isa>/d:<d>/k:<k>/omp:<t>    word2vec's estimator: k
 *                                              negatives per pair
 *   f32_sgns_shared/<isa>/d:<d>/k:<k>/omp:<t>  HogBatch: groups of 6 pairs
 *                                              (one centre word's contexts)
 *                                              share k negatives
 *   f32_sgns_pair_draw/..., f32_sgns_shared_draw/...
 *                                              the same with the negatives
 *                                              drawn by the step itself
 *                                              (params->noise), d:100 only;
 *                                              the ratio to the case above
 *                                              is the cost of the draws
 *
 *   f32_cbow/<isa>/d:<d>/k:<k>/context:<c>/omp:<t>
 *                                              CBOW (fastloss_cbow_step_f32):
 *                                              k negatives per example, c
 *                                              context words (2 x window 5);
 *                                              items = examples (centre words)
 *
 *   f32_nce_fwdbwd/<isa>/V:<V>/n:<n>/d:<d>/k:<k>/omp:<t>
 *                                              the NCELoss object: loss() then
 *                                              grad() with the default SGD
 *                                              update, the shape
 *                                              (items = examples)
 *   f64_nce_fwdbwd/...                         the same in float64, numpy-ml's
 *                                              dtype
 *
 * A batch is 8192 pairs over a 30000-word vocabulary, ids drawn from a
 * Zipf(1) distribution like a text corpus's (frequent rows stay in cache,
 * rare ones miss), negatives from the unigram^0.75 sampler; the tables are
 * 2 x 30000 x d floats.  items = pairs per second.  The step updates the
 * tables in place, so later iterations train on the same batch again: the
 * cost of a step does not depend on the values (no lookup tables, no
 * early exits). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "fastloss.h"
#include "shim.h"

#define BENCH_SGNS_VOCAB 30000
#define BENCH_SGNS_PAIRS 8192
#define BENCH_SGNS_GROUP 6
#define BENCH_SGNS_MAX_CASES 64

typedef struct bench_sgns_case {
  fastloss_isa isa;
  int threads, shared, draw;
  size_t dim, k;
} bench_sgns_case;

static bench_sgns_case bench_sgns_cases[BENCH_SGNS_MAX_CASES];
static size_t bench_sgns_case_count;

typedef struct bench_sgns_data {
  size_t dim, k;
  float *in, *out;
  int32_t *inputs, *targets, *negatives;
  size_t *offsets;
  size_t n_groups;
  fastloss_sampler *noise; /* the unigram^0.75 distribution of the negatives */
} bench_sgns_data;

static void bench_sgns_free(bench_sgns_data *d) {
  free(d->in);
  free(d->out);
  free(d->inputs);
  free(d->targets);
  free(d->negatives);
  free(d->offsets);
  fastloss_sampler_destroy(d->noise);
  memset(d, 0, sizeof *d);
}

/* Fixed-seed inputs; returns 0 when out of memory. */
static int bench_sgns_make(bench_sgns_data *d, size_t dim, size_t k, int shared) {
  memset(d, 0, sizeof *d);
  const size_t vocab = BENCH_SGNS_VOCAB, pairs = BENCH_SGNS_PAIRS;
  d->dim = dim;
  d->k = k;
  d->n_groups = shared ? (pairs + BENCH_SGNS_GROUP - 1) / BENCH_SGNS_GROUP : pairs;
  d->in = malloc(sizeof(float) * vocab * dim);
  d->out = malloc(sizeof(float) * vocab * dim);
  d->inputs = malloc(sizeof(int32_t) * pairs);
  d->targets = malloc(sizeof(int32_t) * pairs);
  d->negatives = malloc(sizeof(int32_t) * d->n_groups * k + 1);
  d->offsets = malloc(sizeof(size_t) * (d->n_groups + 1));
  double *weights = malloc(sizeof(double) * vocab);
  uint64_t *counts = malloc(sizeof(uint64_t) * vocab);
  fastloss_sampler *zipf = NULL, *noise = NULL;
  int ok = d->in && d->out && d->inputs && d->targets && d->negatives && d->offsets && weights &&
           counts;
  if (ok) {
    for (size_t i = 0; i < vocab; i++) {
      weights[i] = 1.0 / (double)(i + 1);
      counts[i] = (uint64_t)(1e7 / (double)(i + 1)) + 1;
    }
    ok = fastloss_sampler_create(&zipf, weights, vocab, 0, 1, 1) == FASTLOSS_OK &&
         fastloss_sampler_create_unigram(&noise, counts, vocab, 0.75, 2) == FASTLOSS_OK;
  }
  if (ok) {
    fastloss_rng rng;
    fastloss_rng_init(&rng, 3, 0);
    for (size_t j = 0; j < vocab * dim; j++) {
      d->in[j] = (float)((fastloss_rng_uniform(&rng) - 0.5) / (double)dim);
      d->out[j] = (float)((fastloss_rng_uniform(&rng) - 0.5) / (double)dim);
    }
    ok = fastloss_sampler_sample(zipf, pairs, d->inputs) == FASTLOSS_OK &&
         fastloss_sampler_sample(noise, d->n_groups * k, d->negatives) == FASTLOSS_OK;
    /* targets: one centre word per group of BENCH_SGNS_GROUP pairs */
    int32_t centre[1] = {0};
    for (size_t i = 0; ok && i < pairs; i++) {
      if (i % BENCH_SGNS_GROUP == 0) ok = fastloss_sampler_sample(zipf, 1, centre) == FASTLOSS_OK;
      d->targets[i] = centre[0];
    }
    for (size_t g = 0; g <= d->n_groups; g++)
      d->offsets[g] = g * BENCH_SGNS_GROUP < pairs ? g * BENCH_SGNS_GROUP : pairs;
  }
  fastloss_sampler_destroy(zipf);
  d->noise = noise;
  free(weights);
  free(counts);
  if (!ok) bench_sgns_free(d);
  return ok;
}

static void bench_sgns_run(flb_state *state, void *context) {
  const bench_sgns_case *c = context;
  if (fastloss_set_isa(c->isa) != FASTLOSS_OK ||
      fastloss_set_num_threads(c->threads) != FASTLOSS_OK) {
    flb_skip_with_error(state, fastloss_last_error());
    return;
  }
  bench_sgns_data d;
  if (!bench_sgns_make(&d, c->dim, c->k, c->shared)) {
    flb_skip_with_error(state, "out of memory or sampler failure");
    return;
  }
  const fastloss_sgns_batch batch = {BENCH_SGNS_PAIRS, d.inputs, d.targets, d.k,
                                     c->draw ? NULL : d.negatives, d.n_groups,
                                     c->shared ? d.offsets : NULL};
  /* Drawing: each step takes the next range of streams, as a trainer does. */
  fastloss_sgns_params params = {.noise = c->draw ? d.noise : NULL, .seed = 8};
  double loss = 0.0;
  int failed = fastloss_sgns_step_f32(BENCH_SGNS_VOCAB, d.dim, d.in, d.out, &batch, 0.025f,
                                      &params, &loss) != FASTLOSS_OK; /* warm-up, untimed */
  while (flb_keep_running(state)) {
    params.stream += d.n_groups;
    failed |= fastloss_sgns_step_f32(BENCH_SGNS_VOCAB, d.dim, d.in, d.out, &batch, 0.025f,
                                     &params, &loss) != FASTLOSS_OK;
    flb_do_not_optimize(&loss);
    flb_clobber_memory();
  }
  if (failed) flb_skip_with_error(state, fastloss_last_error());
  flb_set_items_processed(state, flb_iterations(state) * BENCH_SGNS_PAIRS);
  bench_sgns_free(&d);
}

/* ------------------------------------------------------------ CBOW */

/* 4096 examples of BENCH_CBOW_CONTEXT Zipf-drawn context words around a
 * Zipf-drawn centre word, k unigram^0.75 negatives each, over the same
 * vocabulary and tables as the skip-gram cases. */
#define BENCH_CBOW_EXAMPLES 4096
#define BENCH_CBOW_CONTEXT 10

typedef struct bench_cbow_case {
  fastloss_isa isa;
  int threads;
  size_t dim, k;
} bench_cbow_case;

static bench_cbow_case bench_cbow_cases[8];
static size_t bench_cbow_case_count;

static void bench_cbow_run(flb_state *state, void *context) {
  const bench_cbow_case *c = context;
  if (fastloss_set_isa(c->isa) != FASTLOSS_OK ||
      fastloss_set_num_threads(c->threads) != FASTLOSS_OK) {
    flb_skip_with_error(state, fastloss_last_error());
    return;
  }
  const size_t n = BENCH_CBOW_EXAMPLES, n_contexts = n * BENCH_CBOW_CONTEXT;
  /* The skip-gram data gives the tables and the negatives (8192 x k, of
   * which the first 4096 x k serve); centre words and contexts are drawn
   * here. */
  bench_sgns_data d;
  if (!bench_sgns_make(&d, c->dim, c->k, 0)) {
    flb_skip_with_error(state, "out of memory or sampler failure");
    return;
  }
  int32_t *contexts = malloc(sizeof(int32_t) * n_contexts);
  int32_t *targets = malloc(sizeof(int32_t) * n);
  size_t *offsets = malloc(sizeof(size_t) * (n + 1));
  double *weights = malloc(sizeof(double) * BENCH_SGNS_VOCAB);
  fastloss_sampler *zipf = NULL;
  int ok = contexts && targets && offsets && weights;
  if (ok) {
    for (size_t i = 0; i < BENCH_SGNS_VOCAB; i++) weights[i] = 1.0 / (double)(i + 1);
    ok = fastloss_sampler_create(&zipf, weights, BENCH_SGNS_VOCAB, 0, 1, 7) == FASTLOSS_OK &&
         fastloss_sampler_sample(zipf, n_contexts, contexts) == FASTLOSS_OK &&
         fastloss_sampler_sample(zipf, n, targets) == FASTLOSS_OK;
  }
  if (!ok) {
    flb_skip_with_error(state, "out of memory or sampler failure");
  } else {
    for (size_t e = 0; e <= n; e++) offsets[e] = e * BENCH_CBOW_CONTEXT;
    const fastloss_cbow_batch batch = {n, targets, offsets, n_contexts, contexts, d.k, d.negatives};
    double loss = 0.0;
    int failed = fastloss_cbow_step_f32(BENCH_SGNS_VOCAB, d.dim, d.in, d.out, &batch, 0.05f, NULL,
                                        &loss) != FASTLOSS_OK; /* warm-up, untimed */
    while (flb_keep_running(state)) {
      failed |= fastloss_cbow_step_f32(BENCH_SGNS_VOCAB, d.dim, d.in, d.out, &batch, 0.05f, NULL,
                                       &loss) != FASTLOSS_OK;
      flb_do_not_optimize(&loss);
      flb_clobber_memory();
    }
    if (failed) flb_skip_with_error(state, fastloss_last_error());
    flb_set_items_processed(state, flb_iterations(state) * (int64_t)n);
  }
  fastloss_sampler_destroy(zipf);
  free(contexts);
  free(targets);
  free(offsets);
  free(weights);
  bench_sgns_free(&d);
}

/* ------------------------------------------------------------ NCELoss */

typedef struct bench_nce_case {
  fastloss_isa isa;
  int threads, f64;
  size_t vocab, n_ex, dim, k;
} bench_nce_case;

static bench_nce_case bench_nce_cases[16];
static size_t bench_nce_case_count;

static void bench_nce_run(flb_state *state, void *context) {
  const bench_nce_case *c = context;
  if (fastloss_set_isa(c->isa) != FASTLOSS_OK ||
      fastloss_set_num_threads(c->threads) != FASTLOSS_OK) {
    flb_skip_with_error(state, fastloss_last_error());
    return;
  }
  uint64_t *counts = malloc(sizeof(uint64_t) * c->vocab);
  const size_t elem = c->f64 ? sizeof(double) : sizeof(float);
  void *x = malloc(elem * c->n_ex * c->dim), *dx = malloc(elem * c->n_ex * c->dim);
  int32_t *target = malloc(sizeof(int32_t) * c->n_ex);
  fastloss_sampler *noise = NULL;
  fastloss_nce *nce = NULL;
  int ok = counts && x && dx && target;
  if (ok) {
    for (size_t i = 0; i < c->vocab; i++) counts[i] = (uint64_t)(1e7 / (double)(i + 1)) + 1;
    ok = fastloss_sampler_create_unigram(&noise, counts, c->vocab, 0.75, 4) == FASTLOSS_OK;
  }
  if (ok) {
    fastloss_rng rng;
    fastloss_rng_init(&rng, 5, 0);
    for (size_t j = 0; j < c->n_ex * c->dim; j++) {
      const double v = fastloss_rng_uniform(&rng) - 0.5;
      if (c->f64)
        ((double *)x)[j] = v;
      else
        ((float *)x)[j] = (float)v;
    }
    ok = fastloss_sampler_sample_rng(noise, &rng, c->n_ex, target) == FASTLOSS_OK;
    fastloss_nce_config config = {0};
    config.dtype = c->f64 ? FASTLOSS_F64 : FASTLOSS_F32;
    config.n_classes = c->vocab;
    config.n_in = c->dim;
    config.num_negative_samples = c->k;
    config.sampler = noise;
    config.seed = 6;
    ok = ok && fastloss_nce_create(&nce, &config) == FASTLOSS_OK;
  }
  double loss = 0.0;
  int failed = !ok;
  /* The first pass is a warm-up, untimed. */
  for (int warm = 1; !failed && (warm || flb_keep_running(state)); warm = 0) {
    if (c->f64) {
      failed |= fastloss_nce_loss_f64(nce, c->n_ex, 1, c->dim, x, target, NULL, 1, &loss, NULL) !=
                FASTLOSS_OK;
      failed |= fastloss_nce_grad_f64(nce, 1, 1, dx) != FASTLOSS_OK;
    } else {
      failed |= fastloss_nce_loss_f32(nce, c->n_ex, 1, c->dim, x, target, NULL, 1, &loss, NULL) !=
                FASTLOSS_OK;
      failed |= fastloss_nce_grad_f32(nce, 1, 1, dx) != FASTLOSS_OK;
    }
    flb_do_not_optimize(&loss);
    flb_clobber_memory();
  }
  if (failed)
    flb_skip_with_error(state, ok ? fastloss_last_error() : "out of memory or setup failure");
  else
    flb_set_items_processed(state, flb_iterations(state) * (int64_t)c->n_ex);
  fastloss_nce_destroy(nce);
  fastloss_sampler_destroy(noise);
  free(counts);
  free(x);
  free(dx);
  free(target);
}

void bench_nce_register(const fastloss_isa *isas, size_t isa_count, int max_threads) {
  static const size_t dims[] = {100, 300};
  for (int shared = 0; shared <= 1; shared++)
    for (int draw = 0; draw <= 1; draw++)
      for (size_t di = 0; di < (draw ? 1 : sizeof dims / sizeof dims[0]); di++)
        for (size_t i = 0; i < isa_count; i++)
          for (int threads = 1; threads <= max_threads && threads <= 2; threads++) {
            if (bench_sgns_case_count == BENCH_SGNS_MAX_CASES) return;
            bench_sgns_case *c = &bench_sgns_cases[bench_sgns_case_count++];
            c->isa = isas[i];
            c->threads = threads;
            c->shared = shared;
            c->draw = draw;
            c->dim = dims[di];
            c->k = 5;
            char name[128];
            snprintf(name, sizeof name, "f32_sgns_%s%s/%s/d:%zu/k:%zu/omp:%d",
                     shared ? "shared" : "pair", draw ? "_draw" : "", fastloss_isa_name(c->isa),
                     c->dim, c->k, threads);
            flb_benchmark_use_real_time(flb_register(name, bench_sgns_run, c));
          }
  for (size_t i = 0; i < isa_count; i++)
    for (int threads = 1; threads <= max_threads && threads <= 2; threads++) {
      if (bench_cbow_case_count == sizeof bench_cbow_cases / sizeof bench_cbow_cases[0]) break;
      bench_cbow_case *c = &bench_cbow_cases[bench_cbow_case_count++];
      c->isa = isas[i];
      c->threads = threads;
      c->dim = 100;
      c->k = 5;
      char name[128];
      snprintf(name, sizeof name, "f32_cbow/%s/d:%zu/k:%zu/context:%d/omp:%d",
               fastloss_isa_name(c->isa), c->dim, c->k, BENCH_CBOW_CONTEXT, threads);
      flb_benchmark_use_real_time(flb_register(name, bench_cbow_run, c));
    }
  for (int f64 = 0; f64 <= 1; f64++)
    for (size_t i = 0; i < isa_count; i++)
      for (int threads = 1; threads <= max_threads && threads <= 2; threads++) {
        if (bench_nce_case_count == sizeof bench_nce_cases / sizeof bench_nce_cases[0]) return;
        bench_nce_case *c = &bench_nce_cases[bench_nce_case_count++];
        c->isa = isas[i];
        c->threads = threads;
        c->f64 = f64;
        c->vocab = 100000;
        c->n_ex = 256;
        c->dim = 128;
        c->k = 5;
        char name[128];
        snprintf(name, sizeof name, "%s_nce_fwdbwd/%s/V:%zu/n:%zu/d:%zu/k:%zu/omp:%d",
                 f64 ? "f64" : "f32", fastloss_isa_name(c->isa), c->vocab, c->n_ex, c->dim, c->k,
                 threads);
        flb_benchmark_use_real_time(flb_register(name, bench_nce_run, c));
      }
}
