/* numpy-ml's CrossEntropy on probabilities: loss and gradient against the
 * float64 reference, both dtypes, and the binary / stochastic checks. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "reference.h"
#include "testing.h"

/* One-hot y and softmax rows y_pred for n x m. */
static void fl_ce_data(size_t n, size_t m, fl_rng *rng, double *y, double *p) {
  for (size_t i = 0; i < n; i++) {
    const size_t label = fl_rng_u32(rng) % m;
    double sum = 0.0;
    for (size_t j = 0; j < m; j++) {
      y[i * m + j] = j == label ? 1.0 : 0.0;
      p[i * m + j] = exp(2.0 * fl_rng_normal(rng));
      sum += p[i * m + j];
    }
    for (size_t j = 0; j < m; j++) p[i * m + j] /= sum;
  }
  p[0] = 0.0; /* log(0 + eps64) stays finite */
  double rest = 0.0;
  for (size_t j = 1; j < m; j++) rest += p[j];
  for (size_t j = 1; j < m; j++) p[j] = rest > 0 ? p[j] / rest : 1.0 / (double)(m - 1);
  if (m == 1) p[0] = 1.0;
}

START_TEST(crossentropy_matches_reference) {
  const size_t shapes[][2] = {{1, 1}, {1, 7}, {3, 10}, {64, 1000}, {300, 257}, {5, 20000}};
  for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
    const size_t n = shapes[s][0], m = shapes[s][1];
    fl_rng rng;
    fl_rng_seed(&rng, 800 + s);
    double *y = malloc(n * m * sizeof(double)), *p = malloc(n * m * sizeof(double));
    double *g = malloc(n * m * sizeof(double));
    float *yf = malloc(n * m * sizeof(float)), *pf = malloc(n * m * sizeof(float));
    float *gf = malloc(n * m * sizeof(float));
    fl_ce_data(n, m, &rng, y, p);
    for (size_t k = 0; k < n * m; k++) {
      yf[k] = (float)y[k];
      pf[k] = (float)p[k];
    }
    double loss, loss32;
    ck_assert_int_eq(fastloss_crossentropy_loss_f64(n, m, y, p, &loss), FASTLOSS_OK);
    FL_CHECK(fl_close(loss, ref_crossentropy_loss(n, m, y, p), 0.0, 1e-13), "f64 %zux%zu", n, m);
    ck_assert_int_eq(fastloss_crossentropy_loss_f32(n, m, yf, pf, &loss32), FASTLOSS_OK);
    double *pd = malloc(n * m * sizeof(double)), *yd = malloc(n * m * sizeof(double));
    for (size_t k = 0; k < n * m; k++) {
      pd[k] = pf[k];
      yd[k] = yf[k];
    }
    FL_CHECK(fl_close(loss32, ref_crossentropy_loss(n, m, yd, pd), 0.0, 1e-12), "f32 %zux%zu", n, m);
    ck_assert_int_eq(fastloss_crossentropy_grad_f64(n, m, y, p, g), FASTLOSS_OK);
    ck_assert_int_eq(fastloss_crossentropy_grad_f32(n, m, yf, pf, gf), FASTLOSS_OK);
    for (size_t k = 0; k < n * m; k++) {
      FL_CHECK1(g[k] == p[k] - y[k]);
      FL_CHECK1(gf[k] == pf[k] - yf[k]);
    }
    /* In place over y_pred. */
    ck_assert_int_eq(fastloss_crossentropy_grad_f32(n, m, yf, pf, pf), FASTLOSS_OK);
    for (size_t k = 0; k < n * m; k++) FL_CHECK1(pf[k] == gf[k]);
    free(y);
    free(p);
    free(g);
    free(yf);
    free(pf);
    free(gf);
    free(pd);
    free(yd);
  }
}
END_TEST

/* The sum is the same for every thread count. */
START_TEST(crossentropy_thread_invariance) {
  const size_t n = 2000, m = 100;
  fl_rng rng;
  fl_rng_seed(&rng, 900);
  double *y = malloc(n * m * sizeof(double)), *p = malloc(n * m * sizeof(double));
  fl_ce_data(n, m, &rng, y, p);
  double first = 0.0;
  const int threads[] = {1, 2, 3, 8};
  for (int t = 0; t < 4; t++) {
    fastloss_set_num_threads(threads[t]);
    double loss;
    ck_assert_int_eq(fastloss_crossentropy_loss_f64(n, m, y, p, &loss), FASTLOSS_OK);
    if (t == 0) first = loss;
    FL_CHECK1(memcmp(&loss, &first, sizeof loss) == 0);
  }
  fastloss_set_num_threads(0);
  free(y);
  free(p);
}
END_TEST

/* The first offending index is named, whatever the thread count. */
START_TEST(crossentropy_checks) {
  const size_t n = 3000, m = 50;
  fl_rng rng;
  fl_rng_seed(&rng, 901);
  double *y = malloc(n * m * sizeof(double)), *p = malloc(n * m * sizeof(double));
  fl_ce_data(n, m, &rng, y, p);
  double loss = 42.0;
  y[2500 * m + 3] = 0.5;
  y[2900 * m + 1] = 2.0;
  ck_assert_int_eq(fastloss_crossentropy_loss_f64(n, m, y, p, &loss), FASTLOSS_ERR_NOT_BINARY);
  ck_assert_str_eq(fastloss_last_error(), "y[2500][3] is not 0 or 1 (y must be one-hot)");
  FL_CHECK1(loss == 42.0);
  y[2500 * m + 3] = 0.0;
  y[2900 * m + 1] = 0.0;
  p[1234 * m + 7] += 0.01;
  ck_assert_int_eq(fastloss_crossentropy_loss_f64(n, m, y, p, &loss), FASTLOSS_ERR_NOT_STOCHASTIC);
  FL_CHECK(strstr(fastloss_last_error(), "row 1234 of y_pred") != NULL, "%s", fastloss_last_error());
  p[1234 * m + 7] -= 0.01;
  p[17 * m + 2] = -0.0001;
  p[17 * m + 3] += 0.0001;
  double *g = malloc(n * m * sizeof(double));
  g[0] = 42.0;
  ck_assert_int_eq(fastloss_crossentropy_grad_f64(n, m, y, p, g), FASTLOSS_ERR_NOT_STOCHASTIC);
  ck_assert_str_eq(fastloss_last_error(), "y_pred[17][2] is outside [0, 1]");
  FL_CHECK1(g[0] == 42.0);
  p[17 * m + 2] = NAN;
  ck_assert_int_eq(fastloss_crossentropy_loss_f64(n, m, y, p, &loss), FASTLOSS_ERR_NOT_STOCHASTIC);
  FL_CHECK1(loss == 42.0);
  free(y);
  free(p);
  free(g);
}
END_TEST

Suite *fl_suite_crossentropy(void) {
  Suite *s = suite_create("crossentropy");
  TCase *tc = tcase_create("numpy-ml parity");
  tcase_set_timeout(tc, 600);
  tcase_add_test(tc, crossentropy_matches_reference);
  tcase_add_test(tc, crossentropy_thread_invariance);
  tcase_add_test(tc, crossentropy_checks);
  suite_add_tcase(s, tc);
  return s;
}
