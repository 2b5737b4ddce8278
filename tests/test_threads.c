/* Thread-count determinism across every parallel entry point: each case runs
 * with 1, 2, 3 and 4 threads, everything it writes is collected as bytes,
 * and the bytes must be identical to the one-thread run.  Sizes are above
 * the 16k-element threshold under which a call stays on one thread, so the
 * parallel paths really run.  The Hogwild skip-gram step is not
 * deterministic by design: it runs under the same thread counts on rows
 * that every thread shares, and must give finite losses and tables (the
 * ASan and valgrind runs of this suite are what look at its memory). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "testing.h"

typedef struct fl_bytes {
  unsigned char *data;
  size_t len, cap;
} fl_bytes;

static void fl_bytes_add(fl_bytes *b, const void *p, size_t size) {
  if (b->len + size > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + size) cap *= 2;
    b->data = realloc(b->data, cap);
    ck_assert_ptr_nonnull(b->data);
    b->cap = cap;
  }
  memcpy(b->data + b->len, p, size);
  b->len += size;
}

typedef void (*fl_thread_case)(fl_bytes *out);

/* Runs `run` under 1..4 threads; every run must write the same bytes. */
static void fl_check_thread_counts(const char *what, fl_thread_case run) {
  fl_bytes first = {0};
  for (int threads = 1; threads <= 4; threads++) {
    ck_assert_int_eq(fastloss_set_num_threads(threads), FASTLOSS_OK);
    fl_bytes b = {0};
    run(&b);
    if (threads == 1) {
      first = b;
      continue;
    }
    FL_CHECK(b.len == first.len, "%s: %zu bytes with %d threads, %zu with 1", what, b.len, threads,
             first.len);
    for (size_t k = 0; k < b.len; k++)
      FL_CHECK(b.data[k] == first.data[k], "%s: byte %zu of %zu differs with %d threads", what, k,
               b.len, threads);
    free(b.data);
  }
  ck_assert_int_eq(fastloss_set_num_threads(0), FASTLOSS_OK);
  free(first.data);
}

static void fl_fill_normal_f32(fl_rng *rng, float *p, size_t count, double scale) {
  for (size_t k = 0; k < count; k++) p[k] = (float)(scale * fl_rng_normal(rng));
}

static void fl_fill_normal_f64(fl_rng *rng, double *p, size_t count, double scale) {
  for (size_t k = 0; k < count; k++) p[k] = scale * fl_rng_normal(rng);
}

/* ----------------------------------------------------------------- xent */

/* Rows strided past their end (ld > m), ignored rows, weights, smoothing,
 * and every reduction; hard and soft labels. */
static void fl_case_xent_f32(fl_bytes *out) {
  const size_t n = 203, m = 301, ld = m + 5;
  fl_rng rng;
  fl_rng_seed(&rng, 7001);
  float *z = malloc(n * ld * sizeof *z), *t = malloc(n * ld * sizeof *t);
  float *w = malloc(m * sizeof *w), *row = malloc(n * sizeof *row);
  float *g = malloc(n * ld * sizeof *g);
  int32_t *labels = malloc(n * sizeof *labels);
  fl_fill_normal_f32(&rng, z, n * ld, 3.0);
  for (size_t k = 0; k < n * ld; k++) t[k] = (float)fl_rng_uniform(&rng);
  for (size_t c = 0; c < m; c++) w[c] = (float)(0.5 + fl_rng_uniform(&rng));
  for (size_t i = 0; i < n; i++) labels[i] = i % 17 == 3 ? -100 : (int32_t)(fl_rng_u32(&rng) % m);
  for (int reduction = 0; reduction < 3; reduction++) {
    fastloss_xent_params params = {.reduction = (fastloss_reduction)reduction,
                                   .use_ignore_index = 1,
                                   .ignore_index = -100,
                                   .label_smoothing = reduction == 1 ? 0.1 : 0.0,
                                   .weight_f32 = reduction == 2 ? w : NULL};
    double loss;
    memset(g, 0, n * ld * sizeof *g);
    ck_assert_int_eq(fastloss_xent_f32(n, m, z, ld, labels, &params, row, &loss, g, ld),
                     FASTLOSS_OK);
    fl_bytes_add(out, &loss, sizeof loss);
    fl_bytes_add(out, row, n * sizeof *row);
    fl_bytes_add(out, g, n * ld * sizeof *g);
    /* Forward only (the two-pass path). */
    ck_assert_int_eq(fastloss_xent_f32(n, m, z, ld, labels, &params, row, &loss, NULL, ld),
                     FASTLOSS_OK);
    fl_bytes_add(out, &loss, sizeof loss);
    fl_bytes_add(out, row, n * sizeof *row);
    params.use_ignore_index = 0;
    ck_assert_int_eq(fastloss_xent_soft_f32(n, m, z, ld, t, ld, &params, row, &loss, g, ld),
                     FASTLOSS_OK);
    fl_bytes_add(out, &loss, sizeof loss);
    fl_bytes_add(out, row, n * sizeof *row);
    fl_bytes_add(out, g, n * ld * sizeof *g);
  }
  free(z), free(t), free(w), free(row), free(g), free(labels);
}

static void fl_case_xent_f64(fl_bytes *out) {
  const size_t n = 130, m = 257, ld = m + 3;
  fl_rng rng;
  fl_rng_seed(&rng, 7002);
  double *z = malloc(n * ld * sizeof *z), *t = malloc(n * ld * sizeof *t);
  double *row = malloc(n * sizeof *row), *g = malloc(n * ld * sizeof *g);
  int32_t *labels = malloc(n * sizeof *labels);
  fl_fill_normal_f64(&rng, z, n * ld, 3.0);
  for (size_t k = 0; k < n * ld; k++) t[k] = fl_rng_uniform(&rng);
  for (size_t i = 0; i < n; i++) labels[i] = (int32_t)(fl_rng_u32(&rng) % m);
  const fastloss_xent_params params = {.reduction = FASTLOSS_REDUCTION_MEAN,
                                       .label_smoothing = 0.05};
  double loss;
  memset(g, 0, n * ld * sizeof *g);
  ck_assert_int_eq(fastloss_xent_f64(n, m, z, ld, labels, &params, row, &loss, g, ld), FASTLOSS_OK);
  fl_bytes_add(out, &loss, sizeof loss);
  fl_bytes_add(out, row, n * sizeof *row);
  fl_bytes_add(out, g, n * ld * sizeof *g);
  ck_assert_int_eq(fastloss_xent_f64(n, m, z, ld, labels, &params, row, &loss, NULL, ld),
                   FASTLOSS_OK);
  fl_bytes_add(out, &loss, sizeof loss);
  fl_bytes_add(out, row, n * sizeof *row);
  ck_assert_int_eq(fastloss_xent_soft_f64(n, m, z, ld, t, ld, &params, row, &loss, g, ld),
                   FASTLOSS_OK);
  fl_bytes_add(out, &loss, sizeof loss);
  fl_bytes_add(out, row, n * sizeof *row);
  fl_bytes_add(out, g, n * ld * sizeof *g);
  free(z), free(t), free(row), free(g), free(labels);
}

START_TEST(threads_xent) {
  fl_check_thread_counts("xent f32", fl_case_xent_f32);
  fl_check_thread_counts("xent f64", fl_case_xent_f64);
}
END_TEST

/* --------------------------------------------------------- crossentropy */

static void fl_case_crossentropy(fl_bytes *out) {
  const size_t n = 400, m = 97;
  fl_rng rng;
  fl_rng_seed(&rng, 7003);
  double *y = calloc(n * m, sizeof *y), *p = malloc(n * m * sizeof *p);
  float *yf = malloc(n * m * sizeof *yf), *pf = malloc(n * m * sizeof *pf);
  double *g = malloc(n * m * sizeof *g);
  float *gf = malloc(n * m * sizeof *gf);
  for (size_t i = 0; i < n; i++) {
    y[i * m + fl_rng_u32(&rng) % m] = 1.0;
    double sum = 0.0;
    for (size_t c = 0; c < m; c++) sum += p[i * m + c] = 0.01 + fl_rng_uniform(&rng);
    for (size_t c = 0; c < m; c++) p[i * m + c] /= sum;
  }
  for (size_t k = 0; k < n * m; k++) yf[k] = (float)y[k], pf[k] = (float)p[k];
  double loss;
  ck_assert_int_eq(fastloss_crossentropy_loss_f64(n, m, y, p, &loss), FASTLOSS_OK);
  fl_bytes_add(out, &loss, sizeof loss);
  ck_assert_int_eq(fastloss_crossentropy_loss_f32(n, m, yf, pf, &loss), FASTLOSS_OK);
  fl_bytes_add(out, &loss, sizeof loss);
  ck_assert_int_eq(fastloss_crossentropy_grad_f64(n, m, y, p, g), FASTLOSS_OK);
  fl_bytes_add(out, g, n * m * sizeof *g);
  ck_assert_int_eq(fastloss_crossentropy_grad_f32(n, m, yf, pf, gf), FASTLOSS_OK);
  fl_bytes_add(out, gf, n * m * sizeof *gf);
  free(y), free(p), free(yf), free(pf), free(g), free(gf);
}

START_TEST(threads_crossentropy) { fl_check_thread_counts("crossentropy", fl_case_crossentropy); }
END_TEST

/* ------------------------------------------------------------------ NCE */

/* A few training steps of the NCELoss object (drawn negatives, Adam,
 * repeated targets), then its parameters. */
static void fl_case_nce(fastloss_dtype dtype, int negative_sampling, fl_bytes *out) {
  /* V * d = 143000: Adam's dense step too runs on several threads */
  const size_t V = 1100, d = 130, k = 5, n_ex = 120, n_c = 2, rows = n_ex * n_c;
  const size_t elem = dtype == FASTLOSS_F32 ? sizeof(float) : sizeof(double);
  double *w = malloc(V * sizeof *w);
  for (size_t i = 0; i < V; i++) w[i] = (double)(1 + (i * 5) % 7);
  fastloss_sampler *s = NULL;
  ck_assert_int_eq(fastloss_sampler_create(&s, w, V, 0, 1, 77), FASTLOSS_OK);
  fastloss_nce_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.dtype = dtype;
  cfg.n_classes = V;
  cfg.n_in = d;
  cfg.num_negative_samples = k;
  cfg.sampler = s;
  cfg.optimizer.kind = FASTLOSS_OPT_ADAM;
  cfg.negative_sampling = negative_sampling;
  cfg.seed = 4321;
  fastloss_nce *nce = NULL;
  ck_assert_int_eq(fastloss_nce_create(&nce, &cfg), FASTLOSS_OK);
  fl_rng rng;
  fl_rng_seed(&rng, 7004);
  void *X = malloc(rows * d * elem), *y = malloc(rows * elem), *dX = malloc(rows * d * elem);
  int32_t *target = malloc(n_ex * sizeof *target);
  for (int step = 0; step < 3; step++) {
    for (size_t e = 0; e < rows * d; e++) {
      const double v = fl_rng_normal(&rng);
      if (dtype == FASTLOSS_F32)
        ((float *)X)[e] = (float)v;
      else
        ((double *)X)[e] = v;
    }
    for (size_t i = 0; i < n_ex; i++) target[i] = (int32_t)(fl_rng_u32(&rng) % 30);
    double loss;
    if (dtype == FASTLOSS_F32) {
      ck_assert_int_eq(fastloss_nce_loss_f32(nce, n_ex, n_c, d, X, target, NULL, 1, &loss, y),
                       FASTLOSS_OK);
      ck_assert_int_eq(fastloss_nce_grad_f32(nce, 1, 1, dX), FASTLOSS_OK);
    } else {
      ck_assert_int_eq(fastloss_nce_loss_f64(nce, n_ex, n_c, d, X, target, NULL, 1, &loss, y),
                       FASTLOSS_OK);
      ck_assert_int_eq(fastloss_nce_grad_f64(nce, 1, 1, dX), FASTLOSS_OK);
    }
    fl_bytes_add(out, &loss, sizeof loss);
    fl_bytes_add(out, y, rows * elem);
    fl_bytes_add(out, dX, rows * d * elem);
  }
  void *W, *b;
  ck_assert_int_eq(fastloss_nce_params(nce, &W, &b, NULL, NULL), FASTLOSS_OK);
  fl_bytes_add(out, W, V * d * elem);
  fl_bytes_add(out, b, V * elem);
  fastloss_nce_destroy(nce);
  fastloss_sampler_destroy(s);
  free(w), free(X), free(y), free(dX), free(target);
}

static void fl_case_nce_f32(fl_bytes *out) { fl_case_nce(FASTLOSS_F32, 0, out); }
static void fl_case_nce_f64_ns(fl_bytes *out) { fl_case_nce(FASTLOSS_F64, 1, out); }

START_TEST(threads_nce) {
  fl_check_thread_counts("nce f32", fl_case_nce_f32);
  fl_check_thread_counts("nce f64, negative sampling", fl_case_nce_f64_ns);
}
END_TEST

/* ------------------------------------------------------------------ VAE */

static void fl_case_vae(fl_bytes *out) {
  const size_t n = 90, N = 200, T = 16, ld_y = N + 3, ld_t = T + 1;
  fl_rng rng;
  fl_rng_seed(&rng, 7005);
  float *y = malloc(n * ld_y * sizeof *y), *p = malloc(n * ld_y * sizeof *p);
  float *mu = malloc(n * ld_t * sizeof *mu), *lv = malloc(n * ld_t * sizeof *lv);
  float *rec = malloc(n * sizeof *rec), *kl = malloc(n * sizeof *kl);
  float *dp = calloc(n * ld_y, sizeof *dp), *dlv = calloc(n * ld_t, sizeof *dlv),
        *dmu = calloc(n * ld_t, sizeof *dmu);
  for (size_t k = 0; k < n * ld_y; k++)
    y[k] = (float)(fl_rng_u32(&rng) % 2), p[k] = (float)fl_rng_uniform(&rng);
  fl_fill_normal_f32(&rng, mu, n * ld_t, 1.0);
  fl_fill_normal_f32(&rng, lv, n * ld_t, 1.0);
  for (int from_logits = 0; from_logits < 2; from_logits++) {
    const fastloss_vae_params params = {.from_logits = from_logits};
    double loss;
    ck_assert_int_eq(fastloss_vae_f32(n, N, T, y, ld_y, p, ld_y, mu, lv, ld_t, &params, rec, kl,
                                      &loss, dp, dlv, dmu),
                     FASTLOSS_OK);
    fl_bytes_add(out, &loss, sizeof loss);
    fl_bytes_add(out, rec, n * sizeof *rec);
    fl_bytes_add(out, kl, n * sizeof *kl);
    fl_bytes_add(out, dp, n * ld_y * sizeof *dp);
    fl_bytes_add(out, dlv, n * ld_t * sizeof *dlv);
    fl_bytes_add(out, dmu, n * ld_t * sizeof *dmu);
  }
  double *yd = malloc(n * N * sizeof *yd), *pd = malloc(n * N * sizeof *pd);
  double *mud = malloc(n * T * sizeof *mud), *lvd = malloc(n * T * sizeof *lvd);
  double *dpd = malloc(n * N * sizeof *dpd), *dlvd = malloc(n * T * sizeof *dlvd),
         *dmud = malloc(n * T * sizeof *dmud);
  for (size_t k = 0; k < n * N; k++) yd[k] = y[k], pd[k] = fl_rng_uniform(&rng);
  fl_fill_normal_f64(&rng, mud, n * T, 1.0);
  fl_fill_normal_f64(&rng, lvd, n * T, 1.0);
  double loss;
  ck_assert_int_eq(fastloss_vae_loss_f64(n, N, T, yd, pd, mud, lvd, &loss), FASTLOSS_OK);
  ck_assert_int_eq(fastloss_vae_grad_f64(n, N, T, yd, pd, mud, lvd, dpd, dlvd, dmud), FASTLOSS_OK);
  fl_bytes_add(out, &loss, sizeof loss);
  fl_bytes_add(out, dpd, n * N * sizeof *dpd);
  fl_bytes_add(out, dlvd, n * T * sizeof *dlvd);
  fl_bytes_add(out, dmud, n * T * sizeof *dmud);
  free(y), free(p), free(mu), free(lv), free(rec), free(kl), free(dp), free(dlv), free(dmu);
  free(yd), free(pd), free(mud), free(lvd), free(dpd), free(dlvd), free(dmud);
}

START_TEST(threads_vae) { fl_check_thread_counts("vae", fl_case_vae); }
END_TEST

/* ----------------------------------------------- sqerr and activations */

static void fl_case_sqerr(fl_bytes *out) {
  const size_t n = 150, m = 211, count = n * m;
  fl_rng rng;
  fl_rng_seed(&rng, 7006);
  float *y = malloc(count * sizeof *y), *p = malloc(count * sizeof *p),
        *z = malloc(count * sizeof *z), *g = malloc(count * sizeof *g);
  double *yd = malloc(count * sizeof *yd), *pd = malloc(count * sizeof *pd),
         *zd = malloc(count * sizeof *zd), *gd = malloc(count * sizeof *gd);
  fl_fill_normal_f32(&rng, y, count, 1.0);
  fl_fill_normal_f32(&rng, p, count, 1.0);
  fl_fill_normal_f32(&rng, z, count, 2.0);
  for (size_t k = 0; k < count; k++) yd[k] = y[k], pd[k] = p[k], zd[k] = z[k];
  double loss;
  ck_assert_int_eq(fastloss_sqerr_loss_f32(n, m, y, p, &loss), FASTLOSS_OK);
  fl_bytes_add(out, &loss, sizeof loss);
  ck_assert_int_eq(fastloss_sqerr_loss_f64(n, m, yd, pd, &loss), FASTLOSS_OK);
  fl_bytes_add(out, &loss, sizeof loss);
  const fastloss_activation acts[] = {{.kind = FASTLOSS_ACT_SIGMOID},
                                      {.kind = FASTLOSS_ACT_GELU},
                                      {.kind = FASTLOSS_ACT_GELU, .exact = 1},
                                      {.kind = FASTLOSS_ACT_ELU}};
  for (size_t a = 0; a < sizeof acts / sizeof acts[0]; a++) {
    ck_assert_int_eq(fastloss_sqerr_grad_f32(n, m, y, p, z, &acts[a], g), FASTLOSS_OK);
    fl_bytes_add(out, g, count * sizeof *g);
    ck_assert_int_eq(fastloss_sqerr_grad_f64(n, m, yd, pd, zd, &acts[a], gd), FASTLOSS_OK);
    fl_bytes_add(out, gd, count * sizeof *gd);
    ck_assert_int_eq(fastloss_activation_fn_f32(&acts[a], count, z, g), FASTLOSS_OK);
    fl_bytes_add(out, g, count * sizeof *g);
    ck_assert_int_eq(fastloss_activation_grad_f64(&acts[a], count, zd, gd), FASTLOSS_OK);
    fl_bytes_add(out, gd, count * sizeof *gd);
  }
  free(y), free(p), free(z), free(g), free(yd), free(pd), free(zd), free(gd);
}

START_TEST(threads_sqerr) { fl_check_thread_counts("sqerr", fl_case_sqerr); }
END_TEST

/* --------------------------------------------------------------- wgangp */

static void fl_case_wgangp(fl_bytes *out) {
  const size_t n = 300, m = 129, ld = m + 2;
  fl_rng rng;
  fl_rng_seed(&rng, 7007);
  float *yf = malloc(n * sizeof *yf), *yr = malloc(n * sizeof *yr);
  float *g = malloc(n * ld * sizeof *g), *dg = calloc(n * ld, sizeof *dg);
  float *dyf = malloc(n * sizeof *dyf), *dyr = malloc(n * sizeof *dyr);
  double *yfd = malloc(n * sizeof *yfd), *gd = malloc(n * ld * sizeof *gd),
         *dgd = calloc(n * ld, sizeof *dgd);
  fl_fill_normal_f32(&rng, yf, n, 1.0);
  fl_fill_normal_f32(&rng, yr, n, 1.0);
  fl_fill_normal_f32(&rng, g, n * ld, 0.1);
  for (size_t k = 0; k < n; k++) yfd[k] = yf[k];
  for (size_t k = 0; k < n * ld; k++) gd[k] = g[k];
  double loss;
  ck_assert_int_eq(fastloss_wgangp_f32('C', n, yf, n, yr, n, m, g, ld, NULL, &loss, dyf, dyr, dg),
                   FASTLOSS_OK);
  fl_bytes_add(out, &loss, sizeof loss);
  fl_bytes_add(out, dyf, n * sizeof *dyf);
  fl_bytes_add(out, dyr, n * sizeof *dyr);
  fl_bytes_add(out, dg, n * ld * sizeof *dg);
  ck_assert_int_eq(
      fastloss_wgangp_f64('C', n, yfd, n, yfd, n, m, gd, ld, NULL, &loss, NULL, NULL, dgd),
      FASTLOSS_OK);
  fl_bytes_add(out, &loss, sizeof loss);
  fl_bytes_add(out, dgd, n * ld * sizeof *dgd);
  ck_assert_int_eq(
      fastloss_wgangp_f32('G', n, yf, 0, NULL, 0, 0, NULL, 0, NULL, &loss, dyf, NULL, NULL),
      FASTLOSS_OK);
  fl_bytes_add(out, &loss, sizeof loss);
  fl_bytes_add(out, dyf, n * sizeof *dyf);
  free(yf), free(yr), free(g), free(dg), free(dyf), free(dyr), free(yfd), free(gd), free(dgd);
}

START_TEST(threads_wgangp) { fl_check_thread_counts("wgangp", fl_case_wgangp); }
END_TEST

/* ----------------------------------------------------------------- sgns */

enum { FL_TV = 40, FL_TDIM = 64, FL_TPAIRS = 600, FL_TK = 5 };

typedef struct fl_sgns_tables {
  float *in, *out;
  int32_t *inputs, *targets, *negatives;
  size_t *offsets;
} fl_sgns_tables;

/* A small vocabulary, so every row is shared by many pairs (and threads). */
static fl_sgns_tables fl_sgns_tables_new(uint64_t seed) {
  fl_sgns_tables t;
  fl_rng rng;
  fl_rng_seed(&rng, seed);
  t.in = malloc(FL_TV * FL_TDIM * sizeof(float));
  t.out = malloc(FL_TV * FL_TDIM * sizeof(float));
  fl_fill_normal_f32(&rng, t.in, FL_TV * FL_TDIM, 0.1);
  fl_fill_normal_f32(&rng, t.out, FL_TV * FL_TDIM, 0.1);
  t.inputs = malloc(FL_TPAIRS * sizeof(int32_t));
  t.targets = malloc(FL_TPAIRS * sizeof(int32_t));
  t.negatives = malloc(FL_TPAIRS * FL_TK * sizeof(int32_t));
  t.offsets = malloc((FL_TPAIRS / 4 + 1) * sizeof(size_t));
  for (size_t i = 0; i < FL_TPAIRS; i++) {
    t.inputs[i] = (int32_t)(fl_rng_u32(&rng) % FL_TV);
    t.targets[i] = (int32_t)(fl_rng_u32(&rng) % FL_TV);
  }
  for (size_t i = 0; i < FL_TPAIRS * FL_TK; i++)
    t.negatives[i] = (int32_t)(fl_rng_u32(&rng) % FL_TV);
  for (size_t g = 0; g <= FL_TPAIRS / 4; g++) t.offsets[g] = 4 * g; /* groups of 4 pairs */
  return t;
}

static void fl_sgns_tables_free(fl_sgns_tables *t) {
  free(t->in), free(t->out), free(t->inputs), free(t->targets), free(t->negatives),
      free(t->offsets);
}

/* A case's end: both tables' bytes into out, then the tables freed. */
static void fl_sgns_tables_emit_free(fl_bytes *out, fl_sgns_tables *t) {
  fl_bytes_add(out, t->in, FL_TV * FL_TDIM * sizeof(float));
  fl_bytes_add(out, t->out, FL_TV * FL_TDIM * sizeof(float));
  fl_sgns_tables_free(t);
}

/* Three batch layouts: per-pair negatives, HogBatch groups, and negatives
 * drawn by the step from a noise sampler. */
static fastloss_sgns_batch fl_sgns_layout(const fl_sgns_tables *t, int layout) {
  fastloss_sgns_batch b = {.n_pairs = FL_TPAIRS,
                           .inputs = t->inputs,
                           .targets = t->targets,
                           .k = FL_TK,
                           .negatives = t->negatives};
  if (layout == 1) {
    b.n_groups = FL_TPAIRS / 4;
    b.group_offsets = t->offsets;
  } else if (layout == 2) {
    b.negatives = NULL;
  }
  return b;
}

static fastloss_sampler *fl_sgns_noise(void) {
  uint64_t counts[FL_TV];
  for (size_t i = 0; i < FL_TV; i++) counts[i] = 1 + (i * 13) % 50;
  fastloss_sampler *s = NULL;
  ck_assert_int_eq(fastloss_sampler_create_unigram(&s, counts, FL_TV, 0.75, 5), FASTLOSS_OK);
  return s;
}

static void fl_case_sgns_deterministic(fl_bytes *out) {
  fl_sgns_tables t = fl_sgns_tables_new(7008);
  fastloss_sampler *noise = fl_sgns_noise();
  for (int layout = 0; layout < 3; layout++) {
    const fastloss_sgns_batch b = fl_sgns_layout(&t, layout);
    const fastloss_sgns_params params = {
        .deterministic = 1, .noise = noise, .seed = 9, .stream = 100 * (uint64_t)layout};
    for (int step = 0; step < 2; step++) {
      double loss;
      ck_assert_int_eq(
          fastloss_sgns_step_f32(FL_TV, FL_TDIM, t.in, t.out, &b, 0.05f, &params, &loss),
          FASTLOSS_OK);
      fl_bytes_add(out, &loss, sizeof loss);
    }
  }
  fastloss_sampler_destroy(noise);
  fl_sgns_tables_emit_free(out, &t);
}

START_TEST(threads_sgns_deterministic) {
  fl_check_thread_counts("sgns deterministic", fl_case_sgns_deterministic);
}
END_TEST

/* Hogwild: races on shared rows are allowed to change the numbers, never to
 * crash, write outside the tables, or produce non-finite values. */
START_TEST(threads_sgns_hogwild) {
  fastloss_sampler *noise = fl_sgns_noise();
  for (int threads = 1; threads <= 4; threads++) {
    ck_assert_int_eq(fastloss_set_num_threads(threads), FASTLOSS_OK);
    fl_sgns_tables t = fl_sgns_tables_new(7009);
    for (int layout = 0; layout < 3; layout++) {
      const fastloss_sgns_batch b = fl_sgns_layout(&t, layout);
      const fastloss_sgns_params params = {.noise = noise, .seed = 10};
      for (int step = 0; step < 3; step++) {
        double loss;
        ck_assert_int_eq(fastloss_sgns_step_f32(FL_TV, FL_TDIM, t.in, t.out, &b, 0.05f,
                                                layout == 0 ? NULL : &params, &loss),
                         FASTLOSS_OK);
        FL_CHECK(isfinite(loss) && loss > 0.0, "%d threads, layout %d: loss %g", threads, layout,
                 loss);
      }
    }
    for (size_t k = 0; k < FL_TV * FL_TDIM; k++)
      FL_CHECK(isfinite(t.in[k]) && isfinite(t.out[k]), "%d threads: element %zu not finite",
               threads, k);
    fl_sgns_tables_free(&t);
  }
  ck_assert_int_eq(fastloss_set_num_threads(0), FASTLOSS_OK);
  fastloss_sampler_destroy(noise);
}
END_TEST

/* --------------------------------------------- inside a caller's region */

/* A CBOW step (deterministic) and negative sampling's loss and gradients
 * on the tables it left. */
static void fl_case_cbow_nsloss(fl_bytes *out) {
  fl_sgns_tables t = fl_sgns_tables_new(7010);
  const fastloss_cbow_batch batch = {.n_examples = FL_TPAIRS / 4,
                                     .targets = t.targets,
                                     .context_offsets = t.offsets,
                                     .n_contexts = FL_TPAIRS,
                                     .contexts = t.inputs,
                                     .k = FL_TK,
                                     .negatives = t.negatives};
  const fastloss_sgns_params params = {.deterministic = 1};
  double loss;
  ck_assert_int_eq(
      fastloss_cbow_step_f32(FL_TV, FL_TDIM, t.in, t.out, &batch, 0.05f, &params, &loss),
      FASTLOSS_OK);
  fl_bytes_add(out, &loss, sizeof loss);
  float *row = malloc(FL_TPAIRS * sizeof(float));
  float *grad_in = malloc(FL_TPAIRS * FL_TDIM * sizeof(float));
  float *grad_out = malloc(FL_TPAIRS * (FL_TK + 1) * FL_TDIM * sizeof(float));
  ck_assert_int_eq(fastloss_nsloss_f32(FL_TV, FL_TDIM, t.in, t.out, FL_TPAIRS, t.inputs, t.targets,
                                       FL_TK, t.negatives, NULL, row, &loss, grad_in, grad_out),
                   FASTLOSS_OK);
  fl_bytes_add(out, &loss, sizeof loss);
  fl_bytes_add(out, row, FL_TPAIRS * sizeof(float));
  fl_bytes_add(out, grad_in, FL_TPAIRS * FL_TDIM * sizeof(float));
  fl_bytes_add(out, grad_out, FL_TPAIRS * (FL_TK + 1) * FL_TDIM * sizeof(float));
  free(row), free(grad_in), free(grad_out);
  fl_sgns_tables_emit_free(out, &t);
}

/* Runs `run` on each of a caller's 2 OpenMP threads, nested regions off (so
 * a call asking for more threads gets a team of one): each must write the
 * bytes of `serial`. */
static void fl_check_in_caller_region(const char *what, fl_thread_case run,
                                      const fl_bytes *serial) {
  fl_bytes mine[2] = {{0}, {0}};
  int team = 1;
#ifdef _OPENMP
  const int levels = omp_get_max_active_levels();
  omp_set_max_active_levels(1);
#endif
#pragma omp parallel num_threads(2)
  {
    int t = 0;
#ifdef _OPENMP
    t = omp_get_thread_num();
#pragma omp single
    team = omp_get_num_threads();
#endif
    run(&mine[t]);
  }
#ifdef _OPENMP
  omp_set_max_active_levels(levels);
#endif
  for (int t = 0; t < team; t++) {
    FL_CHECK(mine[t].len == serial->len, "%s: %zu bytes on caller thread %d, %zu outside", what,
             mine[t].len, t, serial->len);
    size_t differ = 0;
    for (size_t k = 0; k < serial->len && k < mine[t].len; k++)
      differ += mine[t].data[k] != serial->data[k];
    FL_CHECK(differ == 0, "%s: %zu of %zu bytes differ on caller thread %d from outside", what,
             differ, serial->len, t);
    free(mine[t].data);
  }
}

/* A caller's own OpenMP threads, each making its own calls: every thread
 * gets the bytes of the same calls made outside any region.  A call on one
 * thread skips OpenMP only outside every region (fl_parallel) or runs its
 * loop in one plain call (fl_parallel_for); inside one, its loops must not be
 * shared out over the caller's threads. */
START_TEST(threads_inside_caller_region) {
  static const struct {
    const char *what;
    fl_thread_case run;
  } cases[] = {{"xent f32", fl_case_xent_f32},
               {"xent f64", fl_case_xent_f64},
               {"crossentropy", fl_case_crossentropy},
               {"nce f32", fl_case_nce_f32},
               {"nce f64, negative sampling", fl_case_nce_f64_ns},
               {"vae", fl_case_vae},
               {"sqerr", fl_case_sqerr},
               {"wgangp", fl_case_wgangp},
               {"sgns deterministic", fl_case_sgns_deterministic},
               {"cbow and nsloss", fl_case_cbow_nsloss}};
  for (int threads = 1; threads <= 2; threads++) {
    ck_assert_int_eq(fastloss_set_num_threads(threads), FASTLOSS_OK);
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
      fl_bytes serial = {0};
      cases[c].run(&serial);
      char what[64];
      snprintf(what, sizeof what, "%s, %d library threads", cases[c].what, threads);
      fl_check_in_caller_region(what, cases[c].run, &serial);
      free(serial.data);
    }
  }
  ck_assert_int_eq(fastloss_set_num_threads(0), FASTLOSS_OK);
}
END_TEST

/* Hogwild sgns and CBOW steps (three layouts, the negatives given or
 * drawn), their losses and the tables they leave. */
static void fl_case_hogwild_steps(fl_bytes *out) {
  fl_sgns_tables t = fl_sgns_tables_new(7011);
  fastloss_sampler *noise = fl_sgns_noise();
  const fastloss_sgns_params params = {.noise = noise, .seed = 12};
  for (int layout = 0; layout < 3; layout++) {
    const fastloss_sgns_batch b = fl_sgns_layout(&t, layout);
    double loss;
    ck_assert_int_eq(fastloss_sgns_step_f32(FL_TV, FL_TDIM, t.in, t.out, &b, 0.05f, &params, &loss),
                     FASTLOSS_OK);
    fl_bytes_add(out, &loss, sizeof loss);
    const fastloss_cbow_batch cb = {.n_examples = FL_TPAIRS / 4,
                                    .targets = t.targets,
                                    .context_offsets = t.offsets,
                                    .n_contexts = FL_TPAIRS,
                                    .contexts = t.inputs,
                                    .k = FL_TK,
                                    .negatives = layout == 2 ? NULL : t.negatives};
    ck_assert_int_eq(
        fastloss_cbow_step_f32(FL_TV, FL_TDIM, t.in, t.out, &cb, 0.05f, &params, &loss),
        FASTLOSS_OK);
    fl_bytes_add(out, &loss, sizeof loss);
  }
  fastloss_sampler_destroy(noise);
  fl_sgns_tables_emit_free(out, &t);
}

/* Steps that ask for 4 threads from inside a caller's region get a team of
 * one there (nested regions off): each caller thread gets the bytes of one
 * thread outside, the losses of the threads the runtime did not start
 * counting nothing. */
START_TEST(threads_hogwild_team_smaller_than_asked) {
  fl_bytes serial = {0};
  ck_assert_int_eq(fastloss_set_num_threads(1), FASTLOSS_OK);
  fl_case_hogwild_steps(&serial);
  ck_assert_int_eq(fastloss_set_num_threads(4), FASTLOSS_OK);
  fl_check_in_caller_region("Hogwild steps asking for 4 threads", fl_case_hogwild_steps, &serial);
  free(serial.data);
  ck_assert_int_eq(fastloss_set_num_threads(0), FASTLOSS_OK);
}
END_TEST

Suite *fl_suite_threads(void) {
  Suite *s = suite_create("threads");
  TCase *tc = tcase_create("thread counts");
  tcase_set_timeout(tc, 600);
  tcase_add_test(tc, threads_xent);
  tcase_add_test(tc, threads_crossentropy);
  tcase_add_test(tc, threads_nce);
  tcase_add_test(tc, threads_vae);
  tcase_add_test(tc, threads_sqerr);
  tcase_add_test(tc, threads_wgangp);
  tcase_add_test(tc, threads_sgns_deterministic);
  tcase_add_test(tc, threads_sgns_hogwild);
  tcase_add_test(tc, threads_inside_caller_region);
  tcase_add_test(tc, threads_hogwild_team_smaller_than_asked);
  suite_add_tcase(s, tc);
  return s;
}
