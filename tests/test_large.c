/* Large and degenerate sizes: row strides so long that row offsets pass
 * 2^32 elements (on sparse, never-touched address space, so they cost no
 * memory), a million classes in xent and NCELoss, and, with
 * FASTLOSS_TEST_LARGE=1 only (8 GiB each and several seconds), dense calls
 * over more than 2^31 elements: xent, an activation and its derivative, and
 * the WGAN-GP critic. */
#define _GNU_SOURCE
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "reference.h"
#include "testing.h"

/* Address space that is only committed where written: `bytes` may exceed
 * the machine's memory.  NULL where the host (or valgrind, or qemu) refuses. */
static void *fl_sparse_new(size_t bytes) {
  void *p =
      mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  return p == MAP_FAILED ? NULL : p;
}

/* 5 rows 2^30 + 7 elements apart: the last row starts past 2^32 elements
 * (16 GiB), so any 32-bit row offset would wrap.  xent (hard labels, in
 * place and not) and WGAN-GP against the float64 reference on copies. */
START_TEST(large_row_offsets) {
  const size_t n = 5, m = 37, ld = ((size_t)1 << 30) + 7;
  const size_t bytes = ((n - 1) * ld + m) * sizeof(float);
  float *z = fl_sparse_new(bytes), *g = fl_sparse_new(bytes);
  if (z == NULL || g == NULL) {
    printf("large_row_offsets: no %zu GiB of address space here, not run\n", bytes >> 30);
    if (z) munmap(z, bytes);
    if (g) munmap(g, bytes);
    return;
  }
  fl_rng rng;
  fl_rng_seed(&rng, 8001);
  double zd[5 * 37], ref_row[5], ref_grad[5 * 37], ref_loss;
  int32_t labels[5];
  for (size_t i = 0; i < n; i++) {
    labels[i] = (int32_t)((i * 11 + 3) % m);
    for (size_t j = 0; j < m; j++)
      zd[i * m + j] = z[i * ld + j] = (float)(2.0 * fl_rng_normal(&rng));
  }
  ref_xent(n, m, zd, m, labels, NULL, 0, NULL, 0.0, FASTLOSS_REDUCTION_SUM, 0, 0, ref_row,
           &ref_loss, ref_grad, NULL);
  for (int in_place = 0; in_place < 2; in_place++) {
    float row[5];
    double loss;
    float *out = in_place ? z : g;
    ck_assert_int_eq(fastloss_xent_f32(n, m, z, ld, labels, NULL, row, &loss, out, ld),
                     FASTLOSS_OK);
    FL_CHECK(fl_close(loss, ref_loss, 1e-5, 1e-5), "loss %.9g vs %.9g", loss, ref_loss);
    for (size_t i = 0; i < n; i++) {
      FL_CHECK1(fl_close(row[i], ref_row[i], 1e-5, 1e-5));
      for (size_t j = 0; j < m; j++)
        FL_CHECK(fl_close(out[i * ld + j], ref_grad[i * m + j], 1e-6, 2e-4),
                 "grad[%zu][%zu] = %g, want %g", i, j, (double)out[i * ld + j],
                 ref_grad[i * m + j]);
    }
  }
  /* WGAN-GP rows at the same offsets: ||g_i|| - 1 and its gradient. */
  float yf[5] = {0.5f, -1.0f, 2.0f, 0.0f, 1.0f}, yr[5] = {1.0f, 0.0f, -0.5f, 0.25f, 3.0f};
  double want = 0.0;
  for (size_t i = 0; i < n; i++) {
    double sq = 0.0;
    for (size_t j = 0; j < m; j++) {
      z[i * ld + j] = (float)(0.2 * fl_rng_normal(&rng));
      sq += (double)z[i * ld + j] * z[i * ld + j];
    }
    want += (yf[i] - yr[i]) / (double)n + 10.0 * (sqrt(sq) - 1.0) * (sqrt(sq) - 1.0) / (double)n;
  }
  double loss;
  ck_assert_int_eq(fastloss_wgangp_f32('C', n, yf, n, yr, n, m, z, ld, NULL, &loss, NULL, NULL, g),
                   FASTLOSS_OK);
  FL_CHECK(fl_close(loss, want, 1e-6, 1e-6), "wgangp loss %.9g vs %.9g", loss, want);
  for (size_t i = 0; i < n; i++) {
    double sq = 0.0;
    for (size_t j = 0; j < m; j++) sq += (double)z[i * ld + j] * z[i * ld + j];
    const double norm = sqrt(sq);
    for (size_t j = 0; j < m; j++)
      FL_CHECK1(fl_close(g[i * ld + j], 20.0 / (double)n * (norm - 1.0) * z[i * ld + j] / norm,
                         1e-7, 1e-5));
  }
  munmap(z, bytes);
  munmap(g, bytes);
}
END_TEST

/* m = 2^20 classes: labels at both ends, the float64 reference. */
START_TEST(large_vocab_xent) {
  const size_t n = 4, m = (size_t)1 << 20;
  fl_rng rng;
  fl_rng_seed(&rng, 8002);
  float *z = malloc(n * m * sizeof *z), *g = malloc(n * m * sizeof *g);
  double *zd = malloc(n * m * sizeof *zd), *ref_grad = malloc(n * m * sizeof *ref_grad);
  ck_assert_ptr_nonnull(z);
  ck_assert_ptr_nonnull(g);
  ck_assert_ptr_nonnull(zd);
  ck_assert_ptr_nonnull(ref_grad);
  for (size_t k = 0; k < n * m; k++) zd[k] = z[k] = (float)(2.0 * fl_rng_normal(&rng));
  const int32_t labels[4] = {(int32_t)m - 1, 0, 123457, (int32_t)m - 2};
  z[3 * m + m - 2] = 30.0f, zd[3 * m + m - 2] = 30.0; /* one row nearly certain */
  double ref_row[4], ref_scale[4], ref_loss, loss;
  float row[4];
  const fastloss_xent_params params = {.reduction = FASTLOSS_REDUCTION_MEAN};
  ref_xent(n, m, zd, m, labels, NULL, 0, NULL, 0.0, FASTLOSS_REDUCTION_MEAN, 0, 0, ref_row,
           &ref_loss, ref_grad, ref_scale);
  ck_assert_int_eq(fastloss_xent_f32(n, m, z, m, labels, &params, row, &loss, g, m), FASTLOSS_OK);
  FL_CHECK(fl_close(loss, ref_loss, 3e-4, 2e-5), "loss %.9g vs %.9g", loss, ref_loss);
  for (size_t i = 0; i < n; i++) {
    FL_CHECK(fl_close(row[i], ref_row[i], 3e-4, 2e-5), "row %zu: %.9g vs %.9g", i, (double)row[i],
             ref_row[i]);
    for (size_t j = 0; j < m; j++)
      FL_CHECK(fl_close(g[i * m + j], ref_grad[i * m + j], 4e-7 * ref_scale[i], 2e-4),
               "grad[%zu][%zu] = %g, want %g", i, j, (double)g[i * m + j], ref_grad[i * m + j]);
  }
  free(z), free(g), free(zd), free(ref_grad);
}
END_TEST

/* NCELoss over 2^20 classes (NCE, not negative sampling, so log Q enters):
 * targets and given negatives at both ends of the table, loss, y_pred and
 * dX against a float64 evaluation of the same parameters. */
START_TEST(large_vocab_nce) {
  const size_t V = (size_t)1 << 20, d = 8, k = 6, n_ex = 16;
  double *w = malloc(V * sizeof *w);
  ck_assert_ptr_nonnull(w);
  for (size_t i = 0; i < V; i++) w[i] = (double)(1 + i % 7);
  fastloss_sampler *s = NULL;
  ck_assert_int_eq(fastloss_sampler_create(&s, w, V, 0, 1, 3), FASTLOSS_OK);
  free(w);
  fastloss_nce_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.dtype = FASTLOSS_F32;
  cfg.n_classes = V;
  cfg.n_in = d;
  cfg.num_negative_samples = k;
  cfg.sampler = s;
  cfg.seed = 8003;
  fastloss_nce *nce = NULL;
  ck_assert_int_eq(fastloss_nce_create(&nce, &cfg), FASTLOSS_OK);
  void *pW, *pb;
  ck_assert_int_eq(fastloss_nce_params(nce, &pW, &pb, NULL, NULL), FASTLOSS_OK);
  float *W = pW, *b = pb;
  fl_rng rng;
  fl_rng_seed(&rng, 8004);
  const int32_t neg[6] = {(int32_t)V - 1, 0, 524288, (int32_t)V - 7, 99, (int32_t)V - 1};
  int32_t target[16];
  float X[16 * 8], y[16], dX[16 * 8];
  for (size_t i = 0; i < n_ex; i++)
    target[i] = i % 3 == 0 ? (int32_t)(V - 1 - i) : (int32_t)(fl_rng_u32(&rng) % V);
  for (size_t e = 0; e < n_ex * d; e++) X[e] = (float)fl_rng_normal(&rng);
  /* Larger weights and biases than the initialisation on the rows in use. */
  for (size_t i = 0; i < n_ex + k; i++) {
    const size_t cls = (size_t)(i < n_ex ? target[i] : neg[i - n_ex]);
    for (size_t e = 0; e < d; e++) W[cls * d + e] = (float)(0.5 * fl_rng_normal(&rng));
    b[cls] = (float)(0.3 * fl_rng_normal(&rng));
  }
  double loss;
  ck_assert_int_eq(fastloss_nce_loss_f32(nce, n_ex, 1, d, X, target, neg, 1, &loss, y),
                   FASTLOSS_OK);
  ck_assert_int_eq(fastloss_nce_grad_f32(nce, 1, 0, dX), FASTLOSS_OK);
  const double eps = FLT_EPSILON;
  double want = 0.0;
  for (size_t i = 0; i < n_ex; i++) {
    double dx[8] = {0};
    for (size_t col = 0; col <= k; col++) {
      const size_t cls = (size_t)(col == 0 ? target[i] : neg[col - 1]);
      double q;
      ck_assert_int_eq(fastloss_sampler_prob(s, cls, &q), FASTLOSS_OK);
      double zc = (double)b[cls] - log(q);
      for (size_t e = 0; e < d; e++) zc += (double)X[i * d + e] * W[cls * d + e];
      const double p = 1.0 / (1.0 + exp(-zc)), pm = 1.0 / (1.0 + exp(zc));
      const double pc = p < eps ? eps : (p > 1.0 - eps ? 1.0 - eps : p);
      const double pmc = pm < eps ? eps : (pm > 1.0 - eps ? 1.0 - eps : pm);
      want -= col == 0 ? log(pc) : log(pmc);
      if (col == 0)
        FL_CHECK(fl_close(y[i], pc, 1e-6, 1e-5), "y_pred[%zu] %g vs %g", i, (double)y[i], pc);
      for (size_t e = 0; e < d; e++) dx[e] += (p - (col == 0 ? 1.0 : 0.0)) * W[cls * d + e];
    }
    for (size_t e = 0; e < d; e++)
      FL_CHECK(fl_close(dX[i * d + e], dx[e], 1e-5, 1e-4), "dX[%zu][%zu] = %g, want %g", i, e,
               (double)dX[i * d + e], dx[e]);
  }
  FL_CHECK(fl_close(loss, want, 1e-5, 1e-5), "loss %.9g vs %.9g", loss, want);
  fastloss_nce_destroy(nce);
  fastloss_sampler_destroy(s);
}
END_TEST

/* n = 2 rows of m = 2^30 + 5 logits: 2^31 + 10 elements, the second row's
 * past 2^31.  Logits 0 but for a few, so the answer is in closed form:
 * row 0: label m - 1 at 3;  row 1: label 7 at 0 and the last logit at 5. */
START_TEST(large_dense_xent) {
  if (getenv("FASTLOSS_TEST_LARGE") == NULL || strcmp(getenv("FASTLOSS_TEST_LARGE"), "1") != 0) {
    printf("large_dense_xent: set FASTLOSS_TEST_LARGE=1 to run (8 GiB)\n");
    return;
  }
  const size_t n = 2, m = ((size_t)1 << 30) + 5;
  float *z = calloc(n * m, sizeof *z);
  if (z == NULL) {
    printf("large_dense_xent: could not allocate %zu GiB, not run\n", (n * m * sizeof *z) >> 30);
    return;
  }
  const int32_t labels[2] = {(int32_t)(m - 1), 7};
  z[m - 1] = 3.0f;
  z[2 * m - 1] = 5.0f;
  const double s0 = (double)(m - 1) + exp(3.0), s1 = (double)(m - 1) + exp(5.0);
  float row[2];
  double loss;
  ck_assert_int_eq(fastloss_xent_f32(n, m, z, m, labels, NULL, row, &loss, z, m), FASTLOSS_OK);
  FL_CHECK(fl_close(row[0], log(s0) - 3.0, 0.0, 1e-5), "row 0: %.9g vs %.9g", (double)row[0],
           log(s0) - 3.0);
  FL_CHECK(fl_close(row[1], log(s1), 0.0, 1e-5), "row 1: %.9g vs %.9g", (double)row[1], log(s1));
  FL_CHECK(fl_close(loss, log(s0) - 3.0 + log(s1), 0.0, 1e-5), "loss %.9g", loss);
  const double p0 = 1.0 / s0, p1 = 1.0 / s1;
  for (size_t j = 0; j < m - 1; j++)
    FL_CHECK(fl_close(z[j], p0, 0.0, 1e-4), "grad[0][%zu] = %g, want %g", j, (double)z[j], p0);
  FL_CHECK1(fl_close(z[m - 1], exp(3.0) / s0 - 1.0, 1e-6, 1e-5));
  for (size_t j = 0; j < m - 1; j++)
    FL_CHECK(fl_close(z[m + j], j == 7 ? p1 - 1.0 : p1, 1e-6 * (j == 7), 1e-4),
             "grad[1][%zu] = %g, want %g", j, (double)z[m + j], j == 7 ? p1 - 1.0 : p1);
  FL_CHECK1(fl_close(z[2 * m - 1], exp(5.0) / s1, 0.0, 1e-4));
  free(z);
}
END_TEST

static int fl_large_enabled(const char *name, const char *size) {
  const char *v = getenv("FASTLOSS_TEST_LARGE");
  if (v != NULL && strcmp(v, "1") == 0) return 1;
  printf("%s: set FASTLOSS_TEST_LARGE=1 to run (%s)\n", name, size);
  return 0;
}

/* Elementwise calls over 2^31 + 9 floats, in place (8 GiB): the sigmoid
 * and its derivative of zeros, with distinct values planted past index
 * 2^31, where a 32-bit element index would wrap. */
START_TEST(large_dense_activation) {
  if (!fl_large_enabled("large_dense_activation", "8 GiB")) return;
  const size_t count = ((size_t)1 << 31) + 9;
  const size_t planted[3] = {5, ((size_t)1 << 31) + 3, count - 1};
  const float values[3] = {-1.0f, 2.0f, -3.5f};
  float *z = calloc(count, sizeof *z);
  if (z == NULL) {
    printf("large_dense_activation: could not allocate 8 GiB, not run\n");
    return;
  }
  const fastloss_activation act = {.kind = FASTLOSS_ACT_SIGMOID};
  for (int grad = 0; grad < 2; grad++) {
    if (grad) memset(z, 0, count * sizeof *z);
    for (int p = 0; p < 3; p++) z[planted[p]] = values[p];
    const fastloss_status st = grad ? fastloss_activation_grad_f32(&act, count, z, z)
                                    : fastloss_activation_fn_f32(&act, count, z, z);
    ck_assert_int_eq(st, FASTLOSS_OK);
    for (int p = 0; p < 3; p++) {
      const double s = 1.0 / (1.0 + exp(-(double)values[p]));
      const double want = grad ? s * (1.0 - s) : s;
      FL_CHECK(fl_close(z[planted[p]], want, 0.0, 1e-6), "%s[%zu] = %.9g, want %.9g",
               grad ? "grad" : "fn", planted[p], (double)z[planted[p]], want);
    }
    /* the zeros: 0.5 (fn) or 0.25 (grad), checked on a stride through all of it */
    const float zero_value = grad ? 0.25f : 0.5f;
    for (size_t k = 0; k < count; k += 4099)
      if (k != planted[0] && k != planted[1] && k != planted[2])
        FL_CHECK(z[k] == zero_value, "%s[%zu] = %.9g", grad ? "grad" : "fn", k, (double)z[k]);
    FL_CHECK(z[count - 2] == zero_value, "%s[count - 2] = %.9g", grad ? "grad" : "fn",
             (double)z[count - 2]);
  }
  free(z);
}
END_TEST

/* The WGAN-GP critic over gradInterp of 2 x (2^30 + 5) floats (8 GiB),
 * dGradInterp in place: row 1 lies past element 2^31. */
START_TEST(large_dense_wgangp) {
  if (!fl_large_enabled("large_dense_wgangp", "8 GiB")) return;
  const size_t n = 2, nf = ((size_t)1 << 30) + 5;
  float *g = calloc(n * nf, sizeof *g);
  if (g == NULL) {
    printf("large_dense_wgangp: could not allocate 8 GiB, not run\n");
    return;
  }
  /* row 0: (0, ..., 3, ..., 4) with norm 5; row 1: 0.5 at its last element, norm 0.5 */
  g[7] = 3.0f;
  g[nf - 1] = 4.0f;
  g[2 * nf - 1] = 0.5f;
  const float yf[2] = {1.0f, 2.0f}, yr[2] = {0.5f, -0.5f};
  const fastloss_wgangp_params params = {.lambda = 10.0, .use_lambda = 1};
  double loss;
  ck_assert_int_eq(fastloss_wgangp_f32(FASTLOSS_WGANGP_CRITIC, n, yf, n, yr, n, nf, g, nf, &params,
                                       &loss, NULL, NULL, g),
                   FASTLOSS_OK);
  /* mean(Y_fake) - mean(Y_real) + 10 mean((5 - 1)^2, (0.5 - 1)^2) */
  const double want_loss = 1.5 - 0.0 + 10.0 * (16.0 + 0.25) / 2.0;
  FL_CHECK(fl_close(loss, want_loss, 0.0, 1e-12), "loss %.17g, want %.17g", loss, want_loss);
  /* dG_i = (2 lambda / n) (||g_i|| - 1) g_i / ||g_i|| */
  FL_CHECK1(fl_close(g[7], 10.0 * 4.0 * 3.0 / 5.0, 0.0, 1e-6));
  FL_CHECK1(fl_close(g[nf - 1], 10.0 * 4.0 * 4.0 / 5.0, 0.0, 1e-6));
  FL_CHECK1(fl_close(g[2 * nf - 1], 10.0 * -0.5 * 1.0, 0.0, 1e-6));
  for (size_t k = 0; k < n * nf - 1; k += 4099)
    if (k != 7 && k != nf - 1) FL_CHECK(g[k] == 0.0f, "dGradInterp[%zu] = %g", k, (double)g[k]);
  free(g);
}
END_TEST

Suite *fl_suite_large(void) {
  Suite *s = suite_create("large");
  TCase *tc = tcase_create("sizes");
  tcase_set_timeout(tc, 600);
  tcase_add_test(tc, large_row_offsets);
  tcase_add_test(tc, large_vocab_xent);
  tcase_add_test(tc, large_vocab_nce);
  tcase_add_test(tc, large_dense_xent);
  tcase_add_test(tc, large_dense_activation);
  tcase_add_test(tc, large_dense_wgangp);
  suite_add_tcase(s, tc);
  return s;
}
