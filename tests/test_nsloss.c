/* fastloss_nsloss_f32: the loss, per-pair losses and the gradient rows
 * against a float64 reference written from fastloss.h, for every reduction
 * and vector-tail length; finite differences of the reported loss;
 * bit-identical outputs for 1 to 4 threads; extreme logits; every error
 * status with nothing written. */
#include "ns-fixture.h"

/* ------------------------------------------------ float64 reference */

/* -log sigmoid(y), without cancellation for either sign. */
static double ref_softplus_neg(double y) { return y >= 0 ? log1p(exp(-y)) : -y + log1p(exp(y)); }

typedef struct fl_nsloss_case {
  size_t vocab, dim, n, k;
  int32_t *centers, *contexts, *negatives;
  float *in, *out;
} fl_nsloss_case;

static fl_nsloss_case fl_nsloss_case_new(fl_rng *rng, size_t vocab, size_t dim, size_t n, size_t k,
                                         double scale) {
  fl_nsloss_case c = {vocab, dim, n, k, NULL, NULL, NULL, NULL, NULL};
  c.centers = malloc(sizeof(int32_t) * (n + 1));
  c.contexts = malloc(sizeof(int32_t) * (n + 1));
  c.negatives = malloc(sizeof(int32_t) * (n * k + 1));
  fl_ns_random_ids(rng, c.centers, n, vocab);
  fl_ns_random_ids(rng, c.contexts, n, vocab);
  fl_ns_random_ids(rng, c.negatives, n * k, vocab);
  if (n > 0 && k > 0) c.negatives[0] = c.contexts[0]; /* a negative equal to the context */
  fl_ns_tables_new(rng, vocab, dim, scale, &c.in, &c.out);
  return c;
}

static void fl_nsloss_case_free(fl_nsloss_case *c) {
  free(c->centers);
  free(c->contexts);
  free(c->negatives);
  free(c->in);
  free(c->out);
}

/* Row losses and the gradient rows of r * sum(rows), as fastloss.h states. */
static void ref_nsloss(const fl_nsloss_case *c, double r, double *rows, double *grad_in,
                       double *grad_out) {
  const size_t dim = c->dim, cols = c->k + 1;
  for (size_t i = 0; i < c->n; i++) {
    const float *v = c->in + (size_t)c->centers[i] * dim;
    rows[i] = 0.0;
    for (size_t e = 0; e < dim; e++) grad_in[i * dim + e] = 0.0;
    for (size_t j = 0; j < cols; j++) {
      const int32_t id = j == 0 ? c->contexts[i] : c->negatives[i * c->k + j - 1];
      const float *u = c->out + (size_t)id * dim;
      double z = 0.0;
      for (size_t e = 0; e < dim; e++) z += (double)u[e] * v[e];
      const double coef = j == 0 ? -r * ref_sigmoid(-z) : r * ref_sigmoid(z);
      rows[i] += ref_softplus_neg(j == 0 ? z : -z);
      for (size_t e = 0; e < dim; e++) {
        grad_in[i * dim + e] += coef * u[e];
        grad_out[(i * cols + j) * dim + e] = coef * v[e];
      }
    }
  }
}

typedef struct fl_nsloss_out {
  fl_buf rows, grad_in, grad_out;
  double loss;
} fl_nsloss_out;

static fl_nsloss_out fl_nsloss_out_new(const fl_nsloss_case *c, int misalign) {
  fl_nsloss_out o = {fl_buf_new(c->n, misalign), fl_buf_new(c->n * c->dim, misalign),
                     fl_buf_new(c->n * (c->k + 1) * c->dim, misalign), 12345.0};
  return o;
}

static void fl_nsloss_out_free(fl_nsloss_out *o) {
  fl_buf_check_canaries(&o->rows, "row_loss");
  fl_buf_check_canaries(&o->grad_in, "grad_in");
  fl_buf_check_canaries(&o->grad_out, "grad_out");
  fl_buf_free(&o->rows);
  fl_buf_free(&o->grad_in);
  fl_buf_free(&o->grad_out);
}

static fastloss_status fl_nsloss_run(const fl_nsloss_case *c, fastloss_reduction reduction,
                                     fl_nsloss_out *o) {
  const fastloss_nsloss_params params = {reduction};
  return fastloss_nsloss_f32(c->vocab, c->dim, c->in, c->out, c->n, c->centers, c->contexts, c->k,
                             c->negatives, &params, o->rows.data, &o->loss, o->grad_in.data,
                             o->grad_out.data);
}

/* ------------------------------------------------ tests */

START_TEST(nsloss_matches_reference) {
  const size_t dims[] = {1, 3, 7, 8, 9, 15, 16, 17, 33, 64, 100};
  const size_t ks[] = {0, 1, 5, 12};
  const fastloss_reduction reductions[] = {FASTLOSS_REDUCTION_SUM, FASTLOSS_REDUCTION_MEAN,
                                           FASTLOSS_REDUCTION_NONE};
  fl_rng rng;
  fl_rng_seed(&rng, 2026);
  for (size_t d = 0; d < sizeof dims / sizeof dims[0]; d++)
    for (size_t kk = 0; kk < sizeof ks / sizeof ks[0]; kk++)
      for (size_t rr = 0; rr < 3; rr++) {
        const size_t dim = dims[d], k = ks[kk], n = 23;
        fl_nsloss_case c = fl_nsloss_case_new(&rng, 17, dim, n, k, 4.0 / sqrt((double)dim));
        const size_t cols = k + 1;
        double *rows = malloc(sizeof(double) * n);
        double *g_in = malloc(sizeof(double) * n * dim);
        double *g_out = malloc(sizeof(double) * n * cols * dim);
        const double r = reductions[rr] == FASTLOSS_REDUCTION_MEAN ? 1.0 / (double)n : 1.0;
        ref_nsloss(&c, r, rows, g_in, g_out);
        double total = 0.0;
        for (size_t i = 0; i < n; i++) total += rows[i];
        if (reductions[rr] == FASTLOSS_REDUCTION_MEAN) total /= (double)n;
        fl_nsloss_out o = fl_nsloss_out_new(&c, (int)(d & 1));
        ck_assert_int_eq(fl_nsloss_run(&c, reductions[rr], &o), FASTLOSS_OK);
        FL_CHECK(fl_close(o.loss, total, 1e-6, 2e-6), "dim %zu k %zu: loss %.9g, want %.9g", dim, k,
                 o.loss, total);
        for (size_t i = 0; i < n; i++)
          FL_CHECK(fl_close(o.rows.data[i], rows[i], 1e-6, 2e-6),
                   "dim %zu k %zu: row %zu %.9g, want %.9g", dim, k, i, (double)o.rows.data[i],
                   rows[i]);
        /* the float dot products carry ~dim ulps of the terms' size */
        const double tol = 4e-7 * (double)dim * r;
        for (size_t j = 0; j < n * dim; j++)
          FL_CHECK(fl_close(o.grad_in.data[j], g_in[j], tol, 1e-5),
                   "dim %zu k %zu: grad_in[%zu] %.9g, want %.9g", dim, k, j,
                   (double)o.grad_in.data[j], g_in[j]);
        for (size_t j = 0; j < n * cols * dim; j++)
          FL_CHECK(fl_close(o.grad_out.data[j], g_out[j], tol, 1e-5),
                   "dim %zu k %zu: grad_out[%zu] %.9g, want %.9g", dim, k, j,
                   (double)o.grad_out.data[j], g_out[j]);
        fl_nsloss_out_free(&o);
        free(rows);
        free(g_in);
        free(g_out);
        fl_nsloss_case_free(&c);
      }
}
END_TEST

/* The gradient rows, scattered into table shapes, against central
 * differences of the loss the call reports (double tables would be exact;
 * here a step of 1e-2 on float tables, loose tolerance). */
START_TEST(nsloss_finite_differences) {
  fl_rng rng;
  fl_rng_seed(&rng, 7);
  fl_nsloss_case c = fl_nsloss_case_new(&rng, 6, 5, 9, 3, 1.5);
  const size_t vocab = c.vocab, dim = c.dim, cols = c.k + 1, size = vocab * dim;
  fl_nsloss_out o = fl_nsloss_out_new(&c, 0);
  ck_assert_int_eq(fl_nsloss_run(&c, FASTLOSS_REDUCTION_SUM, &o), FASTLOSS_OK);
  double *d_in = calloc(size, sizeof(double)), *d_out = calloc(size, sizeof(double));
  for (size_t i = 0; i < c.n; i++)
    for (size_t e = 0; e < dim; e++) {
      d_in[(size_t)c.centers[i] * dim + e] += o.grad_in.data[i * dim + e];
      for (size_t j = 0; j < cols; j++) {
        const int32_t id = j == 0 ? c.contexts[i] : c.negatives[i * c.k + j - 1];
        d_out[(size_t)id * dim + e] += o.grad_out.data[(i * cols + j) * dim + e];
      }
    }
  const float h = 1e-2f;
  for (int table = 0; table < 2; table++)
    for (size_t j = 0; j < size; j++) {
      float *t = table == 0 ? c.in : c.out;
      const float keep = t[j];
      double up, down;
      t[j] = keep + h;
      ck_assert_int_eq(fastloss_nsloss_f32(vocab, dim, c.in, c.out, c.n, c.centers, c.contexts, c.k,
                                           c.negatives, NULL, NULL, &up, NULL, NULL),
                       FASTLOSS_OK);
      t[j] = keep - h;
      ck_assert_int_eq(fastloss_nsloss_f32(vocab, dim, c.in, c.out, c.n, c.centers, c.contexts, c.k,
                                           c.negatives, NULL, NULL, &down, NULL, NULL),
                       FASTLOSS_OK);
      t[j] = keep;
      const double numeric = (up - down) / (2.0 * (double)h);
      const double analytic = table == 0 ? d_in[j] : d_out[j];
      FL_CHECK(fl_close(analytic, numeric, 2e-3, 1e-2), "table %d [%zu]: %.6g, numeric %.6g", table,
               j, analytic, numeric);
    }
  free(d_in);
  free(d_out);
  fl_nsloss_out_free(&o);
  fl_nsloss_case_free(&c);
}
END_TEST

START_TEST(nsloss_threads) {
  fl_rng rng;
  fl_rng_seed(&rng, 11);
  fl_nsloss_case c = fl_nsloss_case_new(&rng, 300, 64, fl_run.slow ? 400 : 3000, 5, 1.0);
  fl_nsloss_out first = fl_nsloss_out_new(&c, 0);
  ck_assert_int_eq(fastloss_set_num_threads(1), FASTLOSS_OK);
  ck_assert_int_eq(fl_nsloss_run(&c, FASTLOSS_REDUCTION_MEAN, &first), FASTLOSS_OK);
  for (int threads = 2; threads <= 4; threads++) {
    fl_nsloss_out o = fl_nsloss_out_new(&c, 0);
    ck_assert_int_eq(fastloss_set_num_threads(threads), FASTLOSS_OK);
    ck_assert_int_eq(fl_nsloss_run(&c, FASTLOSS_REDUCTION_MEAN, &o), FASTLOSS_OK);
    FL_CHECK(memcmp(&o.loss, &first.loss, sizeof(double)) == 0, "%d threads: loss differs",
             threads);
    FL_CHECK(memcmp(o.rows.data, first.rows.data, c.n * sizeof(float)) == 0,
             "%d threads: row_loss differs", threads);
    FL_CHECK(memcmp(o.grad_in.data, first.grad_in.data, c.n * c.dim * sizeof(float)) == 0,
             "%d threads: grad_in differs", threads);
    FL_CHECK(
        memcmp(o.grad_out.data, first.grad_out.data, c.n * (c.k + 1) * c.dim * sizeof(float)) == 0,
        "%d threads: grad_out differs", threads);
    fl_nsloss_out_free(&o);
  }
  ck_assert_int_eq(fastloss_set_num_threads(0), FASTLOSS_OK);
  fl_nsloss_out_free(&first);
  fl_nsloss_case_free(&c);
}
END_TEST

/* Logits far out (|z| up to ~1e4, and inf): each row loss is softplus
 * exactly (no clip), the saturated gradients are 0 or -+1 times the other
 * vector, nothing is NaN; a NaN in one row stays in that row. */
START_TEST(nsloss_extremes) {
  enum { V = 4, D = 2, N = 4, K = 1 };
  float in[V * D] = {100, 0, -100, 0, 0, 0, NAN, 0};
  float out[V * D] = {100, 0, 1, 0, -1, 0, 0, 0};
  const int32_t centers[N] = {0, 1, 2, 3}, contexts[N] = {0, 0, 1, 1}, negatives[N] = {1, 1, 2, 0};
  float rows[N], grad_in[N * D], grad_out[N * (K + 1) * D];
  double loss;
  const fastloss_nsloss_params none = {FASTLOSS_REDUCTION_NONE};
  ck_assert_int_eq(fastloss_nsloss_f32(V, D, in, out, N, centers, contexts, K, negatives, &none,
                                       rows, &loss, grad_in, grad_out),
                   FASTLOSS_OK);
  /* row 0: z_o = 1e4, z_s = 100: softplus(-1e4) + softplus(100) = 100 (+ tiny) */
  ck_assert(fl_close(rows[0], 100.0, 0.0, 1e-6));
  /* row 1: z_o = -1e4, z_s = -100: 1e4 + ~0 */
  ck_assert(fl_close(rows[1], 1e4, 0.0, 1e-6));
  /* row 2: v = 0: 2 log 2 */
  ck_assert(fl_close(rows[2], 2.0 * log(2.0), 0.0, 1e-6));
  ck_assert(isnan(rows[3]) && isnan(loss));
  /* row 0: sigmoid(-1e4) = 0, sigmoid(100) = 1: grad_in = u_s, grad_out = (0, v) */
  ck_assert(grad_in[0] == 1.0f && grad_in[1] == 0.0f);
  ck_assert(grad_out[0] == 0.0f && grad_out[2] == 100.0f);
  /* row 1: -u_o + 0 u_s */
  ck_assert(grad_in[2] == -100.0f && grad_out[4] == 100.0f && fabsf(grad_out[6]) < 1e-30f);
  for (size_t j = 0; j < 3 * D; j++) ck_assert(!isnan(grad_in[j]));
  ck_assert(isnan(grad_in[6]));
  /* an infinite logit: +inf loss */
  in[0] = INFINITY;
  in[2] = 1.0f;
  ck_assert_int_eq(fastloss_nsloss_f32(V, D, in, out, 2, centers, contexts, K, negatives, &none,
                                       rows, &loss, NULL, NULL),
                   FASTLOSS_OK);
  ck_assert(isinf(rows[0]) && rows[0] > 0 && isinf(loss));
}
END_TEST

static void fl_nsloss_expect(fastloss_status want, const char *part, size_t vocab, size_t dim,
                             const float *in, const float *out, size_t n, const int32_t *centers,
                             const int32_t *contexts, size_t k, const int32_t *negatives,
                             const fastloss_nsloss_params *params, float *rows, float *grad_in,
                             float *grad_out) {
  float rows_copy[8], in_copy[64], out_copy[192];
  if (rows) memcpy(rows_copy, rows, sizeof rows_copy);
  if (grad_in) memcpy(in_copy, grad_in, sizeof in_copy);
  if (grad_out) memcpy(out_copy, grad_out, sizeof out_copy);
  double loss = 12345.0;
  const fastloss_status got =
      fastloss_nsloss_f32(vocab, dim, in, out, n, centers, contexts, k, negatives, params, rows,
                          &loss, grad_in, grad_out);
  fl_ns_check_error(got, want, part, loss, NULL, NULL, NULL, NULL);
  if (rows) ck_assert_msg(memcmp(rows, rows_copy, sizeof rows_copy) == 0, "row_loss written");
  if (grad_in) ck_assert_msg(memcmp(grad_in, in_copy, sizeof in_copy) == 0, "grad_in written");
  if (grad_out) ck_assert_msg(memcmp(grad_out, out_copy, sizeof out_copy) == 0, "grad_out written");
}

START_TEST(nsloss_errors) {
  float table[128];
  for (size_t j = 0; j < 128; j++) table[j] = (float)j / 128;
  const float *in = table, *out = table + 64; /* vocab 8, dim 8 each */
  float rows[8], gi[64], go[256];             /* go + 8 still holds the 192 the helper compares */
  for (size_t j = 0; j < 8; j++) rows[j] = -1.0f;
  for (size_t j = 0; j < 64; j++) gi[j] = -2.0f;
  for (size_t j = 0; j < 256; j++) go[j] = -3.0f;
  const int32_t ok[4] = {0, 1, 2, 3}, bad[4] = {0, 8, 1, 2}, negative[4] = {0, 1, 2, -1};
  const fastloss_nsloss_params none = {FASTLOSS_REDUCTION_NONE}, odd = {(fastloss_reduction)7};
  fl_nsloss_expect(FASTLOSS_ERR_NULL_POINTER, "in_emb is NULL", 8, 8, NULL, out, 2, ok, ok, 1, ok,
                   NULL, rows, gi, go);
  fl_nsloss_expect(FASTLOSS_ERR_NULL_POINTER, "out_emb is NULL", 8, 8, in, NULL, 2, ok, ok, 1, ok,
                   NULL, rows, gi, go);
  fl_nsloss_expect(FASTLOSS_ERR_INVALID_SHAPE, "vocab = 0", 0, 8, in, out, 2, ok, ok, 1, ok, NULL,
                   rows, gi, go);
  fl_nsloss_expect(FASTLOSS_ERR_INVALID_SHAPE, "dim = 0", 8, 0, in, out, 2, ok, ok, 1, ok, NULL,
                   rows, gi, go);
  fl_nsloss_expect(FASTLOSS_ERR_SIZE_OVERFLOW, "overflows", SIZE_MAX / 2, 8, in, out, 2, ok, ok, 1,
                   ok, NULL, rows, gi, go);
  fl_nsloss_expect(FASTLOSS_ERR_SIZE_OVERFLOW, "overflows", 8, 8, in, out, SIZE_MAX / 16, ok, ok, 1,
                   ok, NULL, rows, gi, go);
  fl_nsloss_expect(FASTLOSS_ERR_NULL_POINTER, "centers is NULL", 8, 8, in, out, 2, NULL, ok, 1, ok,
                   NULL, rows, gi, go);
  fl_nsloss_expect(FASTLOSS_ERR_NULL_POINTER, "contexts is NULL", 8, 8, in, out, 2, ok, NULL, 1, ok,
                   NULL, rows, gi, go);
  fl_nsloss_expect(FASTLOSS_ERR_NULL_POINTER, "negatives is NULL", 8, 8, in, out, 2, ok, ok, 1,
                   NULL, NULL, rows, gi, go);
  fl_nsloss_expect(FASTLOSS_ERR_INVALID_ARGUMENT, "reduction = 7", 8, 8, in, out, 2, ok, ok, 1, ok,
                   &odd, rows, gi, go);
  fl_nsloss_expect(FASTLOSS_ERR_NULL_POINTER, "row_loss is NULL", 8, 8, in, out, 2, ok, ok, 1, ok,
                   &none, NULL, gi, go);
  fl_nsloss_expect(FASTLOSS_ERR_LABEL_OUT_OF_RANGE, "centers[1] = 8 is outside [0, 8)", 8, 8, in,
                   out, 2, bad, ok, 1, ok, NULL, rows, gi, go);
  fl_nsloss_expect(FASTLOSS_ERR_LABEL_OUT_OF_RANGE, "contexts[1] = 8", 8, 8, in, out, 2, ok, bad, 1,
                   ok, NULL, rows, gi, go);
  fl_nsloss_expect(FASTLOSS_ERR_LABEL_OUT_OF_RANGE, "negatives[3] = -1", 8, 8, in, out, 2, ok, ok,
                   2, negative, NULL, rows, gi, go);
  /* outputs overlapping an input or each other */
  float *writable = malloc(sizeof(float) * 128);
  memcpy(writable, table, sizeof(float) * 128);
  fl_nsloss_expect(FASTLOSS_ERR_OVERLAP, "grad_in and in_emb overlap", 8, 8, writable,
                   writable + 64, 2, ok, ok, 1, ok, NULL, NULL, writable + 8, NULL);
  fl_nsloss_expect(FASTLOSS_ERR_OVERLAP, "grad_out and grad_in overlap", 8, 8, in, out, 2, ok, ok,
                   1, ok, NULL, NULL, go, go + 8);
  fl_nsloss_expect(FASTLOSS_ERR_OVERLAP, "row_loss and out_emb overlap", 8, 8, writable,
                   writable + 64, 2, ok, ok, 1, ok, NULL, writable + 64, NULL, NULL);
  free(writable);
  /* the good call works; no pairs: loss 0 (sum), NaN (mean) */
  double loss = -1.0;
  ck_assert_int_eq(fastloss_nsloss_f32(8, 8, in, out, 2, ok, ok, 1, ok, NULL, rows, &loss, gi, go),
                   FASTLOSS_OK);
  ck_assert(loss > 0.0);
  ck_assert_int_eq(
      fastloss_nsloss_f32(8, 8, in, out, 0, NULL, NULL, 5, NULL, NULL, NULL, &loss, NULL, NULL),
      FASTLOSS_OK);
  ck_assert(loss == 0.0);
  const fastloss_nsloss_params mean = {FASTLOSS_REDUCTION_MEAN};
  ck_assert_int_eq(
      fastloss_nsloss_f32(8, 8, in, out, 0, NULL, NULL, 5, NULL, &mean, NULL, &loss, NULL, NULL),
      FASTLOSS_OK);
  ck_assert(isnan(loss));
}
END_TEST

Suite *fl_suite_nsloss(void) {
  Suite *s = suite_create("nsloss");
  TCase *tc = tcase_create("nsloss");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, nsloss_matches_reference);
  tcase_add_test(tc, nsloss_finite_differences);
  tcase_add_test(tc, nsloss_threads);
  tcase_add_test(tc, nsloss_extremes);
  tcase_add_test(tc, nsloss_errors);
  suite_add_tcase(s, tc);
  return s;
}
