/* The exp inside the kernels, measured in ULPs against libm's double exp,
 * through vexpscale (max 0, scale 1) of the kernels under test, over its
 * domain x <= 0.  Below 2^-126 (x < -87.34) the bound is absolute: results
 * there may be flushed to 0. */
#include <float.h>
#include <math.h>
#include <stdlib.h>

#include "testing.h"

static double fl_ulp_error(float got, double want) {
  if (want < FLT_MIN) return fabs(got - want) <= FLT_MIN ? 0.0 : INFINITY;
  int e;
  frexp(want, &e);
  return fabs((double)got - want) / ldexp(1.0, e - 24);
}

/* The documented bound: 1 ULP with FMA (and for SLEEF's u10), 2 without. */
static double fl_exp_bound(void) {
#ifdef FASTLOSS_EXP_SLEEF
  return 1.0;
#else
  return fl_run.has_fma ? 1.0 : 2.0;
#endif
}

START_TEST(exp_ulp_bound) {
  const fl_f32_xent_kernels *k = fl_run.kernels->f32_xent;
  const size_t chunk = 4099; /* odd: exercises the tail */
  const size_t chunks = fl_run.slow ? 60 : 1000;
  float *x = malloc(chunk * sizeof *x), *y = malloc(chunk * sizeof *y);
  fl_rng rng;
  fl_rng_seed(&rng, 7);
  double worst = 0.0;
  float worst_x = 0.0f;
  for (size_t c = 0; c < chunks; c++) {
    for (size_t j = 0; j < chunk; j++) {
      if (c % 4 == 0) /* near 0, where relative accuracy is hardest to keep */
        x[j] = (float)(-fl_rng_uniform(&rng) * ldexp(1.0, -(int)(c % 40)));
      else
        x[j] = (float)(-88.5 * fl_rng_uniform(&rng));
    }
    k->xent_vexpscale(chunk, x, 0.0f, 1.0f, y);
    for (size_t j = 0; j < chunk; j++) {
      const double e = fl_ulp_error(y[j], exp((double)x[j]));
      if (e > worst) {
        worst = e;
        worst_x = x[j];
      }
    }
  }
  free(x);
  free(y);
  FL_CHECK(worst <= fl_exp_bound(), "%s exp: %.3f ULP at x = %.9g (bound %.1f)", fl_run.mode,
                worst, (double)worst_x, fl_exp_bound());
}
END_TEST

START_TEST(exp_special_values) {
  const fl_f32_xent_kernels *k = fl_run.kernels->f32_xent;
  const float x[] = {-INFINITY, NAN, 0.0f, -0.0f, -87.5f, -100.0f, -1e30f, -FLT_MAX, -1.0f};
  const size_t count = sizeof x / sizeof x[0];
  float y[sizeof x / sizeof x[0]];
  k->xent_vexpscale(count, x, 0.0f, 1.0f, y);
  ck_assert_float_eq(y[0], 0.0f);
  FL_CHECK1(isnan(y[1]));
  ck_assert_float_eq(y[2], 1.0f);
  ck_assert_float_eq(y[3], 1.0f);
  FL_CHECK1(y[4] >= 0.0f && y[4] < FLT_MIN);
  FL_CHECK1(y[5] >= 0.0f && y[5] < FLT_MIN); /* SLEEF returns a denormal */
  ck_assert_float_eq(y[6], 0.0f);
  FL_CHECK1(y[7] == 0.0f);
  FL_CHECK1(fl_ulp_error(y[8], exp(-1.0)) <= fl_exp_bound());
}
END_TEST

Suite *fl_suite_exp(void) {
  Suite *s = suite_create("exp");
  TCase *tc = tcase_create("exp");
  tcase_set_timeout(tc, 600);
  tcase_add_test(tc, exp_ulp_bound);
  tcase_add_test(tc, exp_special_values);
  suite_add_tcase(s, tc);
  return s;
}
