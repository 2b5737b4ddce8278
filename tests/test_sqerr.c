/* SquaredError and the activations: every activation's value and derivative
 * on the ISA under test against float64 references written here, in ULPs,
 * over random, small, large and special arguments (the measured maximum is
 * printed per kind); the sqerr kernels over sizes around the vector width,
 * misaligned, with canaries and in place, against the scalar kernels; the
 * public f32 and f64 calls against the references, with huge values and NaN;
 * finite differences of every gradient through every activation;
 * thread-count invariance; the defaults of the activation descriptor; every
 * error status. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testing.h"

#define FL_PI 3.14159265358979323846
#define FL_SQ_FLUSH 1e-35

/* act'(z) r as the kernels compute it: act'(z) in float first, so where it
 * overflows the product is infinite whatever r is. */
static double fl_sq_times(double d, double r) {
  return fabs(d) > FLT_MAX ? copysign(INFINITY, d) * r : d * r;
}

static size_t fl_sq_lanes(void) { return fl_run.lanes > 1 ? fl_run.lanes : 8; }

/* Error of got in ULPs of want (a float result); below FLT_MIN an absolute
 * FLT_MIN is allowed (flushed tails). */
static double fl_sq_ulps(float got, double want) {
  if (isnan(want)) return isnan(got) ? 0.0 : INFINITY;
  if (isinf(want)) return got == want ? 0.0 : INFINITY;
  if (fabs(want) > FLT_MAX) return isinf(got) && (got > 0) == (want > 0) ? 0.0 : INFINITY;
  if (!isfinite(got)) return INFINITY;
  if (fabs(want) < FLT_MIN) return fabs(got - want) <= FLT_MIN ? 0.0 : INFINITY;
  int e;
  frexp(want, &e);
  return fabs((double)got - want) / ldexp(1.0, e - 24);
}

/* Error of got in ULPs of max(|want|, size): size is the magnitude of the
 * terms a result is the sum of, where their cancellation makes a relative
 * bound meaningless (Affine and HardSigmoid near their zero, GELU's
 * derivative near its minimum). */
static double fl_sq_ulps_sized(float got, double want, double size) {
  /* exp flushes below FLT_MIN, and a factor (a residual, GELU's z v') up
   * to ~1000 scales that: results below 1e-35 may flush. */
  if (fabs((double)got - want) <= FL_SQ_FLUSH) return 0.0;
  if (!isfinite(want) || !(size > fabs(want)) || !(size < FLT_MAX)) return fl_sq_ulps(got, want);
  if (!isfinite(got)) return INFINITY;
  int e;
  frexp(size, &e);
  return fabs((double)got - want) / ldexp(1.0, e - 24);
}

/* ------------------------------------------------------------ references */

/* The activations under test: every public kind, with parameters. */
typedef struct fl_sq_act {
  const char *name;
  fastloss_activation act;
} fl_sq_act;

static const fl_sq_act fl_sq_acts[] = {
    {"Identity", {.kind = FASTLOSS_ACT_IDENTITY}},
    {"Affine(2.5,-1)", {.kind = FASTLOSS_ACT_AFFINE, .slope = 2.5, .intercept = -1.0}},
    {"Sigmoid", {.kind = FASTLOSS_ACT_SIGMOID}},
    {"Tanh", {.kind = FASTLOSS_ACT_TANH}},
    {"ReLU", {.kind = FASTLOSS_ACT_RELU}},
    {"LeakyReLU", {.kind = FASTLOSS_ACT_LEAKY_RELU}},
    {"LeakyReLU(0.01)", {.kind = FASTLOSS_ACT_LEAKY_RELU, .alpha = 0.01}},
    {"ELU", {.kind = FASTLOSS_ACT_ELU}},
    {"ELU(0.5)", {.kind = FASTLOSS_ACT_ELU, .alpha = 0.5}},
    {"SELU", {.kind = FASTLOSS_ACT_SELU}},
    {"Exponential", {.kind = FASTLOSS_ACT_EXPONENTIAL}},
    {"SoftPlus", {.kind = FASTLOSS_ACT_SOFTPLUS}},
    {"HardSigmoid", {.kind = FASTLOSS_ACT_HARD_SIGMOID}},
    {"GELU", {.kind = FASTLOSS_ACT_GELU}},
    {"GELU(exact)", {.kind = FASTLOSS_ACT_GELU, .exact = 1}},
};
#define FL_SQ_ACTS (sizeof fl_sq_acts / sizeof fl_sq_acts[0])

static double fl_ref_sig(double z) {
  if (z >= 0.0) return 1.0 / (1.0 + exp(-z));
  const double e = exp(z);
  return e / (1.0 + e);
}

/* 1 + tanh(u) without cancellation for negative u. */
static double fl_ref_one_plus_tanh(double u) {
  return u > -1.0 ? 1.0 + tanh(u) : 2.0 * exp(2.0 * u) / (1.0 + exp(2.0 * u));
}

/* sech^2 u = 1 - tanh^2 u, with no cancellation (cosh overflows to inf and
 * the result to 0 where the true value is below 1e-300). */
static double fl_ref_sech2(double u) {
  const double c = cosh(u);
  return 1.0 / (c * c);
}

/* numpy-ml's activation (SEMANTICS.md) and its derivative, in double, with
 * the descriptor's documented defaults. */
static void fl_ref_act(const fastloss_activation *a, double z, double *f, double *d) {
  const double sqrt_2_pi = sqrt(2.0 / FL_PI);
  switch (a->kind) {
    case FASTLOSS_ACT_IDENTITY:
      *f = z, *d = 1.0;
      return;
    case FASTLOSS_ACT_AFFINE: {
      const double slope = a->slope == 0.0 && !a->use_params ? 1.0 : a->slope;
      *f = slope * z + a->intercept, *d = slope;
      return;
    }
    case FASTLOSS_ACT_SIGMOID:
      *f = fl_ref_sig(z), *d = fl_ref_sig(z) * fl_ref_sig(-z);
      return;
    case FASTLOSS_ACT_TANH:
      *f = tanh(z), *d = fl_ref_sech2(z);
      return;
    case FASTLOSS_ACT_RELU:
      *f = z > 0.0 ? z : 0.0, *d = z > 0.0 ? 1.0 : 0.0;
      return;
    case FASTLOSS_ACT_LEAKY_RELU: {
      const double alpha = a->alpha == 0.0 && !a->use_params ? 0.3 : a->alpha;
      *f = z < 0.0 ? alpha * z : z, *d = z < 0.0 ? alpha : 1.0;
      return;
    }
    case FASTLOSS_ACT_ELU:
    case FASTLOSS_ACT_SELU: {
      const int selu = a->kind == FASTLOSS_ACT_SELU;
      const double alpha = selu ? 1.6732632423543772 : (a->alpha == 0.0 ? 1.0 : a->alpha);
      const double scale = selu ? 1.0507009873554805 : 1.0;
      *f = scale * (z > 0.0 ? z : alpha * expm1(z));
      *d = scale * (z > 0.0 ? 1.0 : alpha * exp(z));
      return;
    }
    case FASTLOSS_ACT_EXPONENTIAL:
      *f = *d = exp(z);
      return;
    case FASTLOSS_ACT_SOFTPLUS:
      *f = z > 0.0 ? z + log1p(exp(-z)) : log1p(exp(z));
      *d = fl_ref_sig(z);
      return;
    case FASTLOSS_ACT_HARD_SIGMOID: {
      const double x = 0.2 * z + 0.5;
      *f = x < 0.0 ? 0.0 : (x > 1.0 ? 1.0 : x);
      *d = z >= -2.5 && z <= 2.5 ? 0.2 : 0.0;
      return;
    }
    case FASTLOSS_ACT_GELU:
      if (a->exact) {
        const double cdf = 0.5 * erfc(-z / sqrt(2.0));
        *f = z * cdf;
        *d = cdf + (fabs(z) < 40.0 ? z * exp(-0.5 * z * z) / sqrt(2.0 * FL_PI) : 0.0);
      } else {
        const double zc = fabs(z) > 1e5 ? copysign(1e5, z) : z; /* u' z^2 overflows */
        const double u = sqrt_2_pi * (zc + 0.044715 * zc * zc * zc);
        const double du = sqrt_2_pi * (1.0 + 3.0 * 0.044715 * zc * zc);
        *f = 0.5 * z * fl_ref_one_plus_tanh(u);
        *d = 0.5 * fl_ref_one_plus_tanh(u) +
             (fabs(u) < 400.0 ? 0.5 * zc * fl_ref_sech2(u) * du : 0.0);
      }
      return;
  }
  *f = *d = NAN;
}

/* The magnitude of the terms of act(z) and act'(z) (see fl_sq_ulps_sized). */
static void fl_ref_sizes(const fastloss_activation *a, double z, double *fs, double *ds) {
  double f, d;
  fl_ref_act(a, z, &f, &d);
  *fs = fabs(f), *ds = fabs(d);
  if (a->kind == FASTLOSS_ACT_AFFINE) {
    const double slope = a->slope == 0.0 && !a->use_params ? 1.0 : a->slope;
    *fs = fabs(slope * z) + fabs(a->intercept);
  } else if (a->kind == FASTLOSS_ACT_HARD_SIGMOID && f > 0.0 && f < 1.0) {
    *fs = fabs(0.2 * z) + 0.5;
  } else if (a->kind == FASTLOSS_ACT_GELU && fabs(z) < 40.0) {
    const double zc = z;
    if (a->exact) {
      *ds = 0.5 * erfc(-z / sqrt(2.0)) + fabs(z * exp(-0.5 * z * z) / sqrt(2.0 * FL_PI));
    } else {
      const double u = sqrt(2.0 / FL_PI) * (zc + 0.044715 * zc * zc * zc);
      const double du = sqrt(2.0 / FL_PI) * (1.0 + 3.0 * 0.044715 * zc * zc);
      *ds = 0.5 * fl_ref_one_plus_tanh(u) + fabs(0.5 * zc * fl_ref_sech2(u) * du);
    }
  }
}

/* Arguments: random over [-12, 12], small 2^-k, the kinks and thresholds
 * (0, -0, +-2.5, +-0.55, -ln2), large (+-30, +-90, +-1e4, +-1e30, FLT_MAX). */
static void fl_sq_args(float *z, size_t m, fl_rng *rng) {
  static const float special[] = {
      0.0f,    -0.0f,    2.5f,   -2.5f,   0.55f, -0.55f, 0.5499f, -0.5501f, -0.693147f, -0.69315f,
      30.0f,   -30.0f,   88.0f,  -88.0f,  90.0f, -90.0f, 1e4f,    -1e4f,    1e30f,      -1e30f,
      FLT_MAX, -FLT_MAX, 1e-30f, -1e-30f, 9.0f,  -9.0f,  20.5f,   -20.5f,   FLT_MIN,    -5.0f};
  const size_t ns = sizeof special / sizeof special[0];
  for (size_t j = 0; j < m; j++) {
    if (j < ns) {
      z[j] = special[j];
      continue;
    }
    switch (j % 4) {
      case 0:
        z[j] = (float)(24.0 * fl_rng_uniform(rng) - 12.0);
        break;
      case 1:
        z[j] = (float)(3.0 * fl_rng_normal(rng));
        break;
      case 2:
        z[j] = (float)ldexp(fl_rng_uniform(rng) - 0.5, -(int)(j % 40));
        break;
      default:
        z[j] = (float)(1.2 * fl_rng_uniform(rng) - 0.6);
        break; /* the tanh/expm1 switch */
    }
  }
}

/* Bounds in ULPs (measured, with margin: see the printed maxima).  The tanh
 * GELU loses |v| eps relative to exp of its rounded argument v = 2u: the
 * bound grows with |v|. */
static double fl_sq_bound(const fastloss_activation *a, double z, int derivative) {
  /* The erf GELU's float algorithm (scalar-math.h): measured 4.1 ULP with
   * FMA, 6.3 without (the division's residual needs FMA), whichever exp. */
  if (a->kind == FASTLOSS_ACT_GELU && a->exact) return fl_run.has_fma ? 4.5 : 7.0;
  double base = 5.0;
#ifndef FASTLOSS_EXP_SLEEF
  if (!fl_run.has_fma) base = 7.0;
#endif
  if (a->kind == FASTLOSS_ACT_GELU && !a->exact) {
    const double v = 2.0 * sqrt(2.0 / FL_PI) * fabs(z) * (1.0 + 0.044715 * z * z);
    return base + 3.0 * (v < 200.0 ? v : 200.0) + (derivative ? 8.0 : 0.0);
  }
  (void)derivative;
  return base;
}

/* ------------------------------------------------------------ activations */

START_TEST(sqerr_kernels_installed) {
  const fl_f32_sqerr_kernels *k = fl_run.kernels->f32_sqerr;
  FL_CHECK((k == &fl_f32_sqerr_kernels__scalar) == (fl_run.isa == FASTLOSS_ISA_SCALAR),
           "%s: f32 sqerr kernels are %s the scalar ones", fl_run.mode,
           k == &fl_f32_sqerr_kernels__scalar ? "" : "not");
  FL_CHECK1(fl_run.kernels->f64_sqerr == &fl_f64_sqerr_kernels__scalar);
  FL_CHECK1((fl_run.kernels->f32_wgangp == &fl_f32_wgangp_kernels__scalar) ==
            (fl_run.isa == FASTLOSS_ISA_SCALAR));
  FL_CHECK1(fl_run.kernels->f64_wgangp == &fl_f64_wgangp_kernels__scalar);
}
END_TEST

/* Every activation's value and derivative through the public f32 calls on
 * the ISA under test, in ULPs of the float64 reference; then the f64 calls,
 * relatively. */
START_TEST(sqerr_activation_accuracy) {
  const size_t m = fl_run.slow ? 20011 : 400009;
  float *z = malloc(m * sizeof *z), *f = malloc(m * sizeof *f), *d = malloc(m * sizeof *d);
  double *zd = malloc(m * sizeof *zd), *fd = malloc(m * sizeof *fd), *dd = malloc(m * sizeof *dd);
  ck_assert_ptr_nonnull(z);
  ck_assert_ptr_nonnull(f);
  ck_assert_ptr_nonnull(d);
  ck_assert_ptr_nonnull(zd);
  ck_assert_ptr_nonnull(fd);
  ck_assert_ptr_nonnull(dd);
  fl_rng rng;
  fl_rng_seed(&rng, 2001);
  fl_sq_args(z, m, &rng);
  for (size_t j = 0; j < m; j++) zd[j] = z[j];
  for (size_t a = 0; a < FL_SQ_ACTS; a++) {
    const fastloss_activation *act = &fl_sq_acts[a].act;
    ck_assert_int_eq(fastloss_activation_fn_f32(act, m, z, f), FASTLOSS_OK);
    ck_assert_int_eq(fastloss_activation_grad_f32(act, m, z, d), FASTLOSS_OK);
    double worst_f = 0.0, worst_d = 0.0;
    float at_f = 0.0f, at_d = 0.0f;
    for (size_t j = 0; j < m; j++) {
      double rf, rd, fs, ds;
      fl_ref_act(act, z[j], &rf, &rd);
      fl_ref_sizes(act, z[j], &fs, &ds);
      const double ef = fl_sq_ulps_sized(f[j], rf, fs), ed = fl_sq_ulps_sized(d[j], rd, ds);
      const double bf = fl_sq_bound(act, z[j], 0), bd = fl_sq_bound(act, z[j], 1);
      FL_CHECK(ef <= bf, "%s %s(%.9g) = %.9g, reference %.9g (%.2f ULP, bound %.1f)", fl_run.mode,
               fl_sq_acts[a].name, (double)z[j], (double)f[j], rf, ef, bf);
      FL_CHECK(ed <= bd, "%s %s'(%.9g) = %.9g, reference %.9g (%.2f ULP, bound %.1f)", fl_run.mode,
               fl_sq_acts[a].name, (double)z[j], (double)d[j], rd, ed, bd);
      if (ef / bf > worst_f / fl_sq_bound(act, at_f, 0)) worst_f = ef, at_f = z[j];
      if (ed / bd > worst_d / fl_sq_bound(act, at_d, 1)) worst_d = ed, at_d = z[j];
    }
    printf("%s %-16s value %.2f ULP (z = %.6g), derivative %.2f ULP (z = %.6g)\n", fl_run.mode,
           fl_sq_acts[a].name, worst_f, (double)at_f, worst_d, (double)at_d);
    /* f64: within a few eps of the reference, relatively (absolutely below
     * DBL_MIN). */
    ck_assert_int_eq(fastloss_activation_fn_f64(act, m, zd, fd), FASTLOSS_OK);
    ck_assert_int_eq(fastloss_activation_grad_f64(act, m, zd, dd), FASTLOSS_OK);
    for (size_t j = 0; j < m; j++) {
      double rf, rd;
      fl_ref_act(act, zd[j], &rf, &rd);
      /* The tanh GELU's argument v carries |v| eps of rounding into exp. */
      double tol = 16.0 * DBL_EPSILON;
      if (act->kind == FASTLOSS_ACT_GELU && !act->exact) {
        const double v = fabs(zd[j]) * (1.6 + 0.0714 * zd[j] * zd[j]);
        tol += 4.0 * DBL_EPSILON * (v < 1e3 ? v : 1e3);
      }
      /* erfc(x) carries 2 x^2 times the rounding of its argument -z/sqrt 2. */
      if (act->kind == FASTLOSS_ACT_GELU && act->exact)
        tol += 2.0 * DBL_EPSILON * (zd[j] * zd[j] < 1e4 ? zd[j] * zd[j] : 1e4);
      double fs, ds;
      fl_ref_sizes(act, zd[j], &fs, &ds);
      FL_CHECK((fd[j] == rf || fabs(fd[j] - rf) <= tol * fs + 1e-300) &&
                   (dd[j] == rd || fabs(dd[j] - rd) <= tol * ds + 1e-300) &&
                   isnan(fd[j]) == isnan(rf) && isnan(dd[j]) == isnan(rd),
               "f64 %s(%.17g) = %.17g, %.17g; reference %.17g, %.17g", fl_sq_acts[a].name, zd[j],
               fd[j], dd[j], rf, rd);
    }
  }
  /* NaN: its own output only. */
  float zn[3] = {0.25f, NAN, -0.25f}, fn[3], dn[3];
  for (size_t a = 0; a < FL_SQ_ACTS; a++) {
    const fastloss_activation *act = &fl_sq_acts[a].act;
    fastloss_activation_fn_f32(act, 3, zn, fn);
    fastloss_activation_grad_f32(act, 3, zn, dn);
    const int constant_slope =
        act->kind == FASTLOSS_ACT_IDENTITY || act->kind == FASTLOSS_ACT_AFFINE;
    FL_CHECK(isnan(fn[1]) && (constant_slope || isnan(dn[1])) && !isnan(fn[0]) && !isnan(fn[2]) &&
                 !isnan(dn[0]) && !isnan(dn[2]),
             "%s %s: NaN gives %g, %g; neighbours %g %g", fl_run.mode, fl_sq_acts[a].name,
             (double)fn[1], (double)dn[1], (double)fn[0], (double)dn[2]);
  }
  free(z);
  free(f);
  free(d);
  free(zd);
  free(fd);
  free(dd);
}
END_TEST

/* ------------------------------------------------------------ kernels */

/* sqerr_act over rows of 0..4W+1 and 1000 elements, both alignments, each
 * output combination, in place, against the scalar kernel (within twice the
 * accuracy bound of each) and the reference; canaries around everything. */
START_TEST(sqerr_act_kernel_tails) {
  const fl_f32_sqerr_kernels *k = fl_run.kernels->f32_sqerr;
  const size_t lanes = fl_sq_lanes();
  fl_rng rng;
  fl_rng_seed(&rng, 2002);
  size_t sizes[80], ns = 0;
  for (size_t m = 0; m <= 4 * lanes + 1; m++) sizes[ns++] = m;
  sizes[ns++] = 1000;
  for (size_t a = 0; a < FL_SQ_ACTS; a++) {
    fl_act_args args;
    {
      /* The kernels' view of the descriptor, through the public call's
       * resolution: activation_fn of one element must agree. */
      const fastloss_activation *act = &fl_sq_acts[a].act;
      args.alpha = act->kind == FASTLOSS_ACT_SELU         ? 1.6732632423543772
                   : act->alpha != 0.0                    ? act->alpha
                   : act->kind == FASTLOSS_ACT_LEAKY_RELU ? 0.3
                                                          : 1.0;
      args.scale = act->kind == FASTLOSS_ACT_SELU     ? 1.0507009873554805
                   : act->kind == FASTLOSS_ACT_AFFINE ? act->slope
                                                      : 1.0;
      args.intercept = act->intercept;
      static const fl_act_kind kinds[] = {FL_ACT_AFFINE,   FL_ACT_AFFINE,      FL_ACT_SIGMOID,
                                          FL_ACT_TANH,     FL_ACT_RELU,        FL_ACT_LEAKY_RELU,
                                          FL_ACT_ELU,      FL_ACT_ELU,         FL_ACT_EXPONENTIAL,
                                          FL_ACT_SOFTPLUS, FL_ACT_HARD_SIGMOID};
      args.kind = act->kind == FASTLOSS_ACT_GELU ? (act->exact ? FL_ACT_GELU_ERF : FL_ACT_GELU_TANH)
                                                 : kinds[act->kind];
    }
    for (size_t s = 0; s < ns; s++)
      for (int variant = 0; variant < 6; variant++) {
        const size_t m = sizes[s];
        const int mis = variant & 1;
        fl_buf z = fl_buf_new(m, mis), y = fl_buf_new(m, !mis), p = fl_buf_new(m, mis);
        fl_buf f = fl_buf_new(m, !mis), d = fl_buf_new(m, mis);
        fl_buf fs = fl_buf_new(m, 0), ds = fl_buf_new(m, 0), zs = fl_buf_new(m, 0);
        fl_sq_args(z.data, m, &rng);
        /* Shuffle the specials into the tails too. */
        for (size_t j = 0; j + 1 < m; j += 3) {
          const float t = z.data[j];
          z.data[j] = z.data[m - 1 - j];
          z.data[m - 1 - j] = t;
        }
        for (size_t j = 0; j < m; j++) {
          y.data[j] = (float)fl_rng_normal(&rng);
          p.data[j] = (float)fl_rng_normal(&rng);
          zs.data[j] = z.data[j];
        }
        /* 0: f and d; 1: f only; 2: d only; 3: d with residual; 4: d with
         * residual in place of z; 5: f in place of z. */
        const int residual = variant == 3 || variant == 4;
        float *fo = variant == 2 || variant == 3 || variant == 4 ? NULL
                    : variant == 5                               ? z.data
                                                                 : f.data;
        float *dO = variant == 1 || variant == 5 ? NULL : (variant == 4 ? z.data : d.data);
        k->sqerr_act(m, &args, z.data, residual ? y.data : NULL, residual ? p.data : NULL, fo, dO);
        fl_f32_sqerr_kernels__scalar.sqerr_act(m, &args, zs.data, residual ? y.data : NULL,
                                               residual ? p.data : NULL, fs.data, ds.data);
        fl_buf bufs[] = {z, y, p, f, d};
        for (size_t b = 0; b < 5; b++) fl_buf_check_canaries(&bufs[b], "sqerr_act");
        for (size_t j = 0; j < m; j++) {
          double rf, rd, sf, sd;
          fl_ref_act(&fl_sq_acts[a].act, zs.data[j], &rf, &rd);
          fl_ref_sizes(&fl_sq_acts[a].act, zs.data[j], &sf, &sd);
          const double bound = fl_sq_bound(&fl_sq_acts[a].act, zs.data[j], 1);
          if (fo != NULL)
            FL_CHECK(fl_sq_ulps_sized(fo[j], rf, sf) <= bound &&
                         fl_sq_ulps_sized(fo[j], fs.data[j], sf) <= 2.0 * bound,
                     "%s %s m=%zu variant=%d f[%zu] = %.9g, scalar %.9g, reference %.9g",
                     fl_run.mode, fl_sq_acts[a].name, m, variant, j, (double)fo[j],
                     (double)fs.data[j], rf);
          if (dO != NULL) {
            const double r = residual ? (double)(p.data[j] - y.data[j]) : 1.0;
            FL_CHECK(fl_sq_ulps_sized(dO[j], fl_sq_times(rd, r), sd * fabs(r)) <= bound + 1.0 &&
                         fl_sq_ulps_sized(dO[j], ds.data[j], sd * fabs(r)) <= 2.0 * bound + 1.0,
                     "%s %s m=%zu variant=%d d[%zu] = %.9g, scalar %.9g, reference %.9g",
                     fl_run.mode, fl_sq_acts[a].name, m, variant, j, (double)dO[j],
                     (double)ds.data[j], fl_sq_times(rd, r));
          }
          if (fo == NULL) FL_CHECK1(isnan(f.data[j]));
          if (dO == NULL || dO == z.data) FL_CHECK1(isnan(d.data[j]));
        }
        fl_buf all[] = {z, y, p, f, d, fs, ds, zs};
        for (size_t b = 0; b < 8; b++) fl_buf_free(&all[b]);
      }
  }
}
END_TEST

/* GELU's exact form, the vector erf of the math headers, on the ISA under
 * test through its sqerr_act kernel, against the float64 reference (libm
 * erfc and exp in double): a dense sweep of [-14, 14] (step 2^-13, 2^-9
 * under qemu), a sweep of the far negative tail where Phi(z) ~ 1e-40 and
 * 1 + erf would cancel to nothing, +-2^e for every float exponent, and the
 * special values, all within fl_sq_bound (4.5 ULP with FMA, 7 without:
 * the measured maxima are printed; the derivative near its zero at
 * z = -0.75 in ULPs of Phi + |z phi|).  +-0, +-inf, NaN and +-1e30 exactly: GELU(-0)
 * = -0, GELU(+-inf) = +inf, 0 with derivatives 1, 0, GELU(-1e30) = 0, NaN
 * propagates.  Then lanes are independent of where an element sits: every
 * element of calls of 1..2W+1 elements at odd offsets and misaligned
 * (canaries around them) is bit-identical to the same element of the long
 * call (NaN's sign and payload aside). */
START_TEST(sqerr_gelu_erf_kernel) {
  const fl_f32_sqerr_kernels *k = fl_run.kernels->f32_sqerr;
  const fastloss_activation act = {.kind = FASTLOSS_ACT_GELU, .exact = 1};
  const fl_act_args args = {.kind = FL_ACT_GELU_ERF, .alpha = 1.0, .scale = 1.0};
  const double step = fl_run.slow ? 0x1p-9 : 0x1p-13;
  const size_t sweep = (size_t)(28.0 / step) + 1, tail = fl_run.slow ? 500 : 20000;
  const float special[] = {0.0f,     -0.0f,    INFINITY, -INFINITY, NAN,     1e30f,   -1e30f,
                           FLT_MAX,  -FLT_MAX, FLT_MIN,  -FLT_MIN,  1e-45f,  -1e-45f, 15.0f,
                           -15.0f,   16.0f,    -16.0f,   13.25f,    -13.25f, 40.0f,   -40.0f,
                           -0.7518f, 0.7518f,  5.0f,     -5.0f,     1e5f,    -1e5f};
  const size_t ns = sizeof special / sizeof special[0];
  const size_t m = sweep + tail + 2 * 277 + ns;
  float *z = malloc(m * sizeof *z), *f = malloc(m * sizeof *f), *d = malloc(m * sizeof *d);
  ck_assert_ptr_nonnull(z);
  ck_assert_ptr_nonnull(f);
  ck_assert_ptr_nonnull(d);
  size_t count = 0;
  for (size_t j = 0; j < sweep; j++) z[count++] = (float)(-14.0 + (double)j * step);
  for (size_t j = 0; j < tail; j++) z[count++] = (float)(-14.0 + 4.0 * (double)j / (double)tail);
  for (int e = -149; e <= 127; e++) z[count++] = ldexpf(1.0f, e), z[count++] = -ldexpf(1.0f, e);
  for (size_t j = 0; j < ns; j++) z[count++] = special[j];
  ck_assert_uint_eq(count, m);
  k->sqerr_act(m, &args, z, NULL, NULL, f, d);
  double worst_f = 0.0, worst_d = 0.0;
  float at_f = 0.0f, at_d = 0.0f;
  for (size_t j = 0; j < m; j++) {
    if (isinf(z[j])) continue; /* the reference's -inf * 0; checked below */
    double rf, rd, fs, ds;
    fl_ref_act(&act, z[j], &rf, &rd);
    fl_ref_sizes(&act, z[j], &fs, &ds);
    const double ef = fl_sq_ulps_sized(f[j], rf, fs), ed = fl_sq_ulps_sized(d[j], rd, ds);
    const double bound = fl_sq_bound(&act, z[j], 0);
    FL_CHECK(ef <= bound && ed <= bound,
             "%s GELU-erf(%.9g) = %.9g (%.2f ULP), derivative %.9g (%.2f ULP); reference %.9g, "
             "%.9g (bound %.1f)",
             fl_run.mode, (double)z[j], (double)f[j], ef, (double)d[j], ed, rf, rd, bound);
    if (ef > worst_f) worst_f = ef, at_f = z[j];
    if (ed > worst_d) worst_d = ed, at_d = z[j];
  }
  printf("%s GELU-erf sweep of %zu: value %.2f ULP (z = %.6g), derivative %.2f ULP (z = %.6g)\n",
         fl_run.mode, m, worst_f, (double)at_f, worst_d, (double)at_d);
  /* The special values exactly (the last ns elements). */
  const float *fx = f + m - ns, *dx = d + m - ns;
  FL_CHECK(fx[0] == 0.0f && !signbit(fx[0]) && fx[1] == 0.0f && signbit(fx[1]),
           "%s GELU-erf(+-0) = %g, %g", fl_run.mode, (double)fx[0], (double)fx[1]);
  FL_CHECK(fx[2] == INFINITY && dx[2] == 1.0f && fx[3] == 0.0f && dx[3] == 0.0f,
           "%s GELU-erf(+-inf) = %g, %g, derivatives %g, %g", fl_run.mode, (double)fx[2],
           (double)fx[3], (double)dx[2], (double)dx[3]);
  FL_CHECK(isnan(fx[4]) && isnan(dx[4]), "%s GELU-erf(NaN) = %g, derivative %g", fl_run.mode,
           (double)fx[4], (double)dx[4]);
  FL_CHECK(fx[5] == 1e30f && dx[5] == 1.0f && fx[6] == 0.0f && dx[6] == 0.0f && fx[7] == FLT_MAX &&
               dx[7] == 1.0f && fx[8] == 0.0f && dx[8] == 0.0f,
           "%s GELU-erf(+-1e30, +-FLT_MAX) = %g, %g, %g, %g; derivatives %g, %g, %g, %g",
           fl_run.mode, (double)fx[5], (double)fx[6], (double)fx[7], (double)fx[8], (double)dx[5],
           (double)dx[6], (double)dx[7], (double)dx[8]);
  /* Short calls at odd offsets, misaligned, against the long call. */
  const size_t lanes = fl_sq_lanes();
  for (size_t len = 1; len <= 2 * lanes + 1; len++)
    for (size_t start = m - ns - len / 2; start + len <= m; start += len) {
      fl_buf zb = fl_buf_new(len, 1), fb = fl_buf_new(len, 0), db = fl_buf_new(len, 1);
      memcpy(zb.data, z + start, len * sizeof *z);
      k->sqerr_act(len, &args, zb.data, NULL, NULL, fb.data, db.data);
      fl_buf_check_canaries(&zb, "gelu_erf z");
      fl_buf_check_canaries(&fb, "gelu_erf f");
      fl_buf_check_canaries(&db, "gelu_erf d");
      for (size_t j = 0; j < len; j++)
        FL_CHECK((fl_same_bits(fb.data[j], f[start + j]) ||
                  (isnan(fb.data[j]) && isnan(f[start + j]))) &&
                     (fl_same_bits(db.data[j], d[start + j]) ||
                      (isnan(db.data[j]) && isnan(d[start + j]))),
                 "%s GELU-erf m=%zu element %zu (z = %g): %.9g, %.9g; long call %.9g, %.9g",
                 fl_run.mode, len, j, (double)zb.data[j], (double)fb.data[j], (double)db.data[j],
                 (double)f[start + j], (double)d[start + j]);
      fl_buf_free(&zb);
      fl_buf_free(&fb);
      fl_buf_free(&db);
    }
  free(z);
  free(f);
  free(d);
}
END_TEST

/* sqerr_sum: sizes around the width, misaligned, against a double sum;
 * 1e20-sized entries (their float squares would overflow) stay finite. */
START_TEST(sqerr_sum_kernel) {
  const fl_f32_sqerr_kernels *k = fl_run.kernels->f32_sqerr;
  const size_t lanes = fl_sq_lanes();
  fl_rng rng;
  fl_rng_seed(&rng, 2003);
  for (size_t m = 0; m <= 4 * lanes + 1 + 1000; m += (m < 4 * lanes + 1 ? 1 : 1000 - 4 * lanes))
    for (int kind = 0; kind < 3; kind++)
      for (int mis = 0; mis < 2; mis++) {
        fl_buf y = fl_buf_new(m, mis), p = fl_buf_new(m, !mis);
        double want = 0.0;
        for (size_t j = 0; j < m; j++) {
          const double scale = kind == 0 ? 1.0 : (kind == 1 ? 1e20 : 1e-25);
          y.data[j] = (float)(scale * fl_rng_normal(&rng));
          p.data[j] = kind == 1 && j % 2 ? -3e38f : (float)(scale * fl_rng_normal(&rng));
          const double diff = (double)p.data[j] - (double)y.data[j];
          want += diff * diff;
        }
        const double got = k->sqerr_sum(m, y.data, p.data);
        fl_buf_check_canaries(&y, "sum y");
        fl_buf_check_canaries(&p, "sum p");
        FL_CHECK(isfinite(got) && fl_close(got, want, 0.0, 1e-13),
                 "%s sqerr_sum m=%zu kind=%d: %.17g, reference %.17g", fl_run.mode, m, kind, got,
                 want);
        fl_buf_free(&y);
        fl_buf_free(&p);
      }
}
END_TEST

/* ------------------------------------------------------------ public API */

/* loss and grad (f32 and f64) for every activation over shapes around the
 * chunk size, against the references; y_pred = act(z) from the reference. */
START_TEST(sqerr_api_against_reference) {
  const size_t shapes[][2] = {{1, 1},    {3, 7},    {1, 4095}, {2, 4097},
                              {64, 100}, {5000, 1}, {17, 333}};
  const size_t nshapes = fl_run.slow ? 5 : sizeof shapes / sizeof shapes[0];
  fl_rng rng;
  fl_rng_seed(&rng, 2004);
  for (size_t s = 0; s < nshapes; s++) {
    const size_t n = shapes[s][0], m = shapes[s][1], count = n * m;
    float *y = malloc(count * sizeof *y), *p = malloc(count * sizeof *p),
          *z = malloc(count * sizeof *z), *g = malloc(count * sizeof *g);
    double *yd = malloc(count * sizeof *yd), *pd = malloc(count * sizeof *pd),
           *zd = malloc(count * sizeof *zd), *gd = malloc(count * sizeof *gd);
    for (size_t a = 0; a < FL_SQ_ACTS; a++) {
      const fastloss_activation *act = &fl_sq_acts[a].act;
      double want = 0.0;
      for (size_t k = 0; k < count; k++) {
        z[k] = (float)(2.0 * fl_rng_normal(&rng));
        double rf, rd;
        fl_ref_act(act, z[k], &rf, &rd);
        y[k] = (float)(rf + 0.3 * fl_rng_normal(&rng));
        p[k] = (float)rf;
        yd[k] = y[k], pd[k] = p[k], zd[k] = z[k];
        const double diff = (double)p[k] - (double)y[k];
        want += 0.5 * diff * diff;
      }
      double loss32, loss64;
      ck_assert_int_eq(fastloss_sqerr_loss_f32(n, m, y, p, &loss32), FASTLOSS_OK);
      ck_assert_int_eq(fastloss_sqerr_loss_f64(n, m, yd, pd, &loss64), FASTLOSS_OK);
      FL_CHECK(fl_close(loss32, want, 0.0, 1e-12) && fl_close(loss64, want, 0.0, 1e-12),
               "%s %zu x %zu: loss %.17g (f32), %.17g (f64), reference %.17g", fl_run.mode, n, m,
               loss32, loss64, want);
      ck_assert_int_eq(fastloss_sqerr_grad_f32(n, m, y, p, z, act, g), FASTLOSS_OK);
      ck_assert_int_eq(fastloss_sqerr_grad_f64(n, m, yd, pd, zd, act, gd), FASTLOSS_OK);
      for (size_t k = 0; k < count; k++) {
        double rf, rd, sf, sd;
        fl_ref_act(act, z[k], &rf, &rd);
        fl_ref_sizes(act, z[k], &sf, &sd);
        const double r = (double)p[k] - (double)y[k], want_g = fl_sq_times(rd, r);
        const double bound = fl_sq_bound(act, z[k], 1) + 1.0;
        FL_CHECK(fl_sq_ulps_sized(g[k], want_g, sd * fabs(r)) <= bound,
                 "%s %s %zu x %zu grad[%zu] = %.9g, reference %.9g (z %.9g)", fl_run.mode,
                 fl_sq_acts[a].name, n, m, k, (double)g[k], want_g, (double)z[k]);
        FL_CHECK(fabs(gd[k] - want_g) <= 64.0 * DBL_EPSILON * sd * fabs(r) + 1e-300,
                 "f64 %s grad[%zu] = %.17g, reference %.17g", fl_sq_acts[a].name, k, gd[k], want_g);
      }
    }
    free(y), free(p), free(z), free(g), free(yd), free(pd), free(zd), free(gd);
  }
}
END_TEST

/* Extremes: huge values (float squares overflow; the loss must not), NaN
 * (loss NaN, gradient NaN in its own element only), in-place gradients. */
START_TEST(sqerr_api_extremes) {
  enum { n = 3, m = 37 };
  float y[n * m], p[n * m], z[n * m], g[n * m];
  fl_rng rng;
  fl_rng_seed(&rng, 2005);
  double want = 0.0;
  for (size_t k = 0; k < n * m; k++) {
    y[k] = (float)(1e20 * fl_rng_normal(&rng));
    p[k] = k % 5 == 0 ? FLT_MAX : (float)(1e20 * fl_rng_normal(&rng));
    z[k] = (float)(fl_rng_normal(&rng));
    const double diff = (double)p[k] - (double)y[k];
    want += 0.5 * diff * diff;
  }
  double loss;
  ck_assert_int_eq(fastloss_sqerr_loss_f32(n, m, y, p, &loss), FASTLOSS_OK);
  FL_CHECK(isfinite(loss) && fl_close(loss, want, 0.0, 1e-13), "%s huge: loss %.17g, want %.17g",
           fl_run.mode, loss, want);
  /* In place over each input in turn: the same bits as out of place. */
  const fastloss_activation tanh_act = {.kind = FASTLOSS_ACT_TANH};
  for (size_t k = 0; k < n * m; k++)
    y[k] = (float)fl_rng_normal(&rng), p[k] = (float)fl_rng_normal(&rng);
  ck_assert_int_eq(fastloss_sqerr_grad_f32(n, m, y, p, z, &tanh_act, g), FASTLOSS_OK);
  for (int w = 0; w < 3; w++) {
    float yc[n * m], pc[n * m], zc[n * m];
    memcpy(yc, y, sizeof yc), memcpy(pc, p, sizeof pc), memcpy(zc, z, sizeof zc);
    float *copies[3] = {yc, pc, zc};
    ck_assert_int_eq(fastloss_sqerr_grad_f32(n, m, yc, pc, zc, &tanh_act, copies[w]), FASTLOSS_OK);
    FL_CHECK(memcmp(copies[w], g, sizeof g) == 0, "%s in place over input %d differs", fl_run.mode,
             w);
  }
  /* NaN in y_pred, y and z: elementwise. */
  p[5] = NAN, y[40] = NAN, z[80] = NAN;
  ck_assert_int_eq(fastloss_sqerr_loss_f32(n, m, y, p, &loss), FASTLOSS_OK);
  FL_CHECK1(isnan(loss));
  ck_assert_int_eq(fastloss_sqerr_grad_f32(n, m, y, p, z, &tanh_act, g), FASTLOSS_OK);
  for (size_t k = 0; k < n * m; k++)
    FL_CHECK(isnan(g[k]) == (k == 5 || k == 40 || k == 80), "%s NaN: grad[%zu] = %g", fl_run.mode,
             k, (double)g[k]);
  /* Large |z| through every activation: finite where the reference is. */
  for (size_t a = 0; a < FL_SQ_ACTS; a++) {
    const float big[8] = {-1e30f, 1e30f, -200.0f, 200.0f, -60.0f, 60.0f, -FLT_MAX, 88.0f};
    const float ones[8] = {1, 1, 1, 1, 1, 1, 1, 1}, zeros[8] = {0};
    float gb[8];
    ck_assert_int_eq(fastloss_sqerr_grad_f32(1, 8, zeros, ones, big, &fl_sq_acts[a].act, gb),
                     FASTLOSS_OK);
    for (size_t j = 0; j < 8; j++) {
      double rf, rd, sf, sd;
      fl_ref_act(&fl_sq_acts[a].act, big[j], &rf, &rd);
      fl_ref_sizes(&fl_sq_acts[a].act, big[j], &sf, &sd);
      FL_CHECK(fl_sq_ulps_sized(gb[j], rd, sd) <= fl_sq_bound(&fl_sq_acts[a].act, big[j], 1) + 1.0,
               "%s %s' at z = %g: %.9g, reference %.9g", fl_run.mode, fl_sq_acts[a].name,
               (double)big[j], (double)gb[j], rd);
    }
  }
}
END_TEST

/* Away from the kinks (|z| > 0.05, and 2.5 for HardSigmoid). */
static double fl_sq_smooth_arg(fl_rng *rng) {
  for (;;) {
    const double z = 2.0 * fl_rng_normal(rng);
    if (fabs(z) > 0.05 && fabs(fabs(z) - 2.5) > 0.05 && fabs(z) < 6.0) return z;
  }
}

/* The gradient through every activation against central differences of
 * 0.5 ||act(z) - y||^2 (f64, tight), and activation_grad against
 * differences of activation_fn. */
START_TEST(sqerr_f64_finite_differences) {
  enum { n = 3, m = 7 };
  fl_rng rng;
  fl_rng_seed(&rng, 2006);
  for (size_t a = 0; a < FL_SQ_ACTS; a++) {
    const fastloss_activation *act = &fl_sq_acts[a].act;
    double y[n * m], z[n * m], p[n * m], g[n * m], d[n * m];
    for (size_t k = 0; k < n * m; k++) y[k] = fl_rng_normal(&rng), z[k] = fl_sq_smooth_arg(&rng);
    ck_assert_int_eq(fastloss_activation_fn_f64(act, n * m, z, p), FASTLOSS_OK);
    ck_assert_int_eq(fastloss_sqerr_grad_f64(n, m, y, p, z, act, g), FASTLOSS_OK);
    ck_assert_int_eq(fastloss_activation_grad_f64(act, n * m, z, d), FASTLOSS_OK);
    for (size_t k = 0; k < n * m; k++) {
      const double saved = z[k], h = 1e-6;
      double up, down, fu, fdn;
      z[k] = saved + h;
      fastloss_activation_fn_f64(act, n * m, z, p);
      fastloss_sqerr_loss_f64(n, m, y, p, &up);
      fu = p[k];
      z[k] = saved - h;
      fastloss_activation_fn_f64(act, n * m, z, p);
      fastloss_sqerr_loss_f64(n, m, y, p, &down);
      fdn = p[k];
      z[k] = saved;
      const double fd = (up - down) / (2.0 * h), fd_act = (fu - fdn) / (2.0 * h);
      FL_CHECK(fabs(fd - g[k]) <= 1e-6 * (1.0 + fabs(g[k])),
               "f64 %s: dL/dz[%zu] = %.10g, finite difference %.10g (z = %.6g)", fl_sq_acts[a].name,
               k, g[k], fd, z[k]);
      FL_CHECK(fabs(fd_act - d[k]) <= 1e-6 * (1.0 + fabs(d[k])),
               "f64 %s'(%.6g) = %.10g, finite difference %.10g", fl_sq_acts[a].name, z[k], d[k],
               fd_act);
    }
  }
}
END_TEST

/* The same on the ISA under test in f32 (coarse: float rounding limits the
 * step). */
START_TEST(sqerr_f32_finite_differences) {
  enum { n = 2, m = 11 };
  fl_rng rng;
  fl_rng_seed(&rng, 2007);
  for (size_t a = 0; a < FL_SQ_ACTS; a++) {
    const fastloss_activation *act = &fl_sq_acts[a].act;
    float y[n * m], z[n * m], p[n * m], g[n * m];
    for (size_t k = 0; k < n * m; k++)
      y[k] = (float)fl_rng_normal(&rng), z[k] = (float)fl_sq_smooth_arg(&rng);
    ck_assert_int_eq(fastloss_activation_fn_f32(act, n * m, z, p), FASTLOSS_OK);
    ck_assert_int_eq(fastloss_sqerr_grad_f32(n, m, y, p, z, act, g), FASTLOSS_OK);
    for (size_t k = 0; k < n * m; k++) {
      const float saved = z[k], h = 1e-2f;
      double up, down;
      z[k] = saved + h;
      fastloss_activation_fn_f32(act, n * m, z, p);
      fastloss_sqerr_loss_f32(n, m, y, p, &up);
      z[k] = saved - h;
      fastloss_activation_fn_f32(act, n * m, z, p);
      fastloss_sqerr_loss_f32(n, m, y, p, &down);
      z[k] = saved;
      const double fd = (up - down) / (2.0 * (double)h);
      /* Central differences err by h^2 f''' / 6: 2e-3 relative for the
       * exponential at z ~ 6, where the loss has curvature e^{2z}. */
      FL_CHECK(fabs(fd - g[k]) <= 2e-3 * (1.0 + fabs(g[k])),
               "%s f32 %s: dL/dz[%zu] = %.7g, finite difference %.7g (z = %.6g)", fl_run.mode,
               fl_sq_acts[a].name, k, (double)g[k], fd, (double)z[k]);
    }
    fastloss_activation_fn_f32(act, n * m, z, p);
  }
}
END_TEST

/* Bit-identical loss and gradient for 1, 2, 3 and 8 threads. */
START_TEST(sqerr_thread_invariance) {
  const size_t n = fl_run.slow ? 300 : 2000, m = 301, count = n * m;
  float *y = malloc(count * sizeof *y), *p = malloc(count * sizeof *p),
        *z = malloc(count * sizeof *z), *g = malloc(count * sizeof *g),
        *g1 = malloc(count * sizeof *g1);
  double *yd = malloc(count * sizeof *yd), *pd = malloc(count * sizeof *pd);
  fl_rng rng;
  fl_rng_seed(&rng, 2008);
  for (size_t k = 0; k < count; k++) {
    y[k] = (float)fl_rng_normal(&rng), p[k] = (float)fl_rng_normal(&rng);
    z[k] = (float)fl_rng_normal(&rng), yd[k] = fl_rng_normal(&rng), pd[k] = fl_rng_normal(&rng);
  }
  const fastloss_activation gelu = {.kind = FASTLOSS_ACT_GELU};
  const int threads[] = {1, 2, 3, 8};
  double l32[4], l64[4];
  for (int t = 0; t < 4; t++) {
    ck_assert_int_eq(fastloss_set_num_threads(threads[t]), FASTLOSS_OK);
    ck_assert_int_eq(fastloss_sqerr_loss_f32(n, m, y, p, &l32[t]), FASTLOSS_OK);
    ck_assert_int_eq(fastloss_sqerr_loss_f64(n, m, yd, pd, &l64[t]), FASTLOSS_OK);
    ck_assert_int_eq(fastloss_sqerr_grad_f32(n, m, y, p, z, &gelu, t == 0 ? g1 : g), FASTLOSS_OK);
    FL_CHECK(memcmp(&l32[t], &l32[0], sizeof(double)) == 0 &&
                 memcmp(&l64[t], &l64[0], sizeof(double)) == 0,
             "%d threads: loss %.17g / %.17g, 1 thread %.17g / %.17g", threads[t], l32[t], l64[t],
             l32[0], l64[0]);
    if (t > 0) FL_CHECK1(memcmp(g, g1, count * sizeof *g) == 0);
  }
  fastloss_set_num_threads(0);
  free(y), free(p), free(z), free(g), free(g1), free(yd), free(pd);
}
END_TEST

/* ------------------------------------------------------------ descriptor */

/* Zero fields mean numpy-ml's defaults; use_params makes zeros zeros. */
START_TEST(sqerr_activation_defaults) {
  const double z[4] = {-2.0, -0.5, 0.0, 1.5};
  double f[4], d[4];
  const fastloss_activation leaky = {.kind = FASTLOSS_ACT_LEAKY_RELU};
  ck_assert_int_eq(fastloss_activation_fn_f64(&leaky, 4, z, f), FASTLOSS_OK);
  FL_CHECK1(f[0] == -0.6 && f[3] == 1.5);
  const fastloss_activation leaky0 = {.kind = FASTLOSS_ACT_LEAKY_RELU, .use_params = 1};
  ck_assert_int_eq(fastloss_activation_grad_f64(&leaky0, 4, z, d), FASTLOSS_OK);
  FL_CHECK1(d[0] == 0.0 && d[1] == 0.0 && d[2] == 1.0 && d[3] == 1.0); /* LeakyReLU'(0) = 1 */
  const fastloss_activation relu = {.kind = FASTLOSS_ACT_RELU};
  ck_assert_int_eq(fastloss_activation_grad_f64(&relu, 4, z, d), FASTLOSS_OK);
  FL_CHECK1(d[2] == 0.0); /* ReLU'(0) = 0 */
  const fastloss_activation elu = {.kind = FASTLOSS_ACT_ELU};
  ck_assert_int_eq(fastloss_activation_fn_f64(&elu, 4, z, f), FASTLOSS_OK);
  FL_CHECK1(f[0] == expm1(-2.0));
  const fastloss_activation affine = {.kind = FASTLOSS_ACT_AFFINE};
  ck_assert_int_eq(fastloss_activation_fn_f64(&affine, 4, z, f), FASTLOSS_OK);
  FL_CHECK1(f[1] == -0.5 && f[3] == 1.5);
  const fastloss_activation affine0 = {
      .kind = FASTLOSS_ACT_AFFINE, .intercept = 2.0, .use_params = 1};
  ck_assert_int_eq(fastloss_activation_fn_f64(&affine0, 4, z, f), FASTLOSS_OK);
  FL_CHECK1(f[0] == 2.0 && f[3] == 2.0);
  ck_assert_int_eq(fastloss_activation_grad_f64(&affine0, 4, z, d), FASTLOSS_OK);
  FL_CHECK1(d[0] == 0.0);
  /* SELU's constants; GELU's default is the tanh form. */
  const fastloss_activation selu = {.kind = FASTLOSS_ACT_SELU};
  ck_assert_int_eq(fastloss_activation_fn_f64(&selu, 4, z, f), FASTLOSS_OK);
  FL_CHECK1(fl_close(f[0], 1.0507009873554805 * 1.6732632423543772 * expm1(-2.0), 0.0, 1e-15));
  FL_CHECK1(fl_close(f[3], 1.0507009873554805 * 1.5, 0.0, 1e-15));
  const fastloss_activation gelu = {.kind = FASTLOSS_ACT_GELU},
                            gelu_exact = {.kind = FASTLOSS_ACT_GELU, .exact = 1};
  double fe[4];
  ck_assert_int_eq(fastloss_activation_fn_f64(&gelu, 4, z, f), FASTLOSS_OK);
  ck_assert_int_eq(fastloss_activation_fn_f64(&gelu_exact, 4, z, fe), FASTLOSS_OK);
  const double u = sqrt(2.0 / FL_PI) * (1.5 + 0.044715 * 1.5 * 1.5 * 1.5);
  FL_CHECK1(fl_close(f[3], 0.5 * 1.5 * (1.0 + tanh(u)), 0.0, 1e-14));
  FL_CHECK1(fl_close(fe[3], 0.5 * 1.5 * (1.0 + erf(1.5 / sqrt(2.0))), 0.0, 1e-14));
  FL_CHECK1(f[3] != fe[3]);
  /* NULL is Identity. */
  ck_assert_int_eq(fastloss_activation_grad_f64(NULL, 4, z, d), FASTLOSS_OK);
  FL_CHECK1(d[0] == 1.0 && d[3] == 1.0);
}
END_TEST

/* ------------------------------------------------------------ errors */

static void fl_sq_expect(fastloss_status got, fastloss_status want, const char *message,
                         const void *out, size_t bytes) {
  ck_assert_msg(got == want, "got %s (%s), want %s", fastloss_status_str(got),
                fastloss_last_error(), fastloss_status_str(want));
  ck_assert_msg(strstr(fastloss_last_error(), message) != NULL, "message '%s' lacks '%s'",
                fastloss_last_error(), message);
  const unsigned char *bytes_out = out;
  for (size_t k = 0; k < bytes; k++)
    ck_assert_msg(bytes_out[k] == 0x5a, "an output was written on error (byte %zu)", k);
}

START_TEST(sqerr_errors) {
  float y[12], p[12], z[12], g[12];
  for (size_t k = 0; k < 12; k++) y[k] = 1.0f, p[k] = 0.5f, z[k] = 0.25f;
  double loss;
  const fastloss_activation tanh_act = {.kind = FASTLOSS_ACT_TANH};
#define FL_POISON() (memset(g, 0x5a, sizeof g), memset(&loss, 0x5a, sizeof loss))
  FL_POISON();
  fl_sq_expect(fastloss_sqerr_loss_f32(0, 4, y, p, &loss), FASTLOSS_ERR_INVALID_SHAPE, "n = 0",
               &loss, sizeof loss);
  fl_sq_expect(fastloss_sqerr_loss_f32(3, 0, y, p, &loss), FASTLOSS_ERR_INVALID_SHAPE, "m = 0",
               &loss, sizeof loss);
  fl_sq_expect(fastloss_sqerr_loss_f32(3, 4, NULL, p, &loss), FASTLOSS_ERR_NULL_POINTER,
               "y is NULL", &loss, sizeof loss);
  fl_sq_expect(fastloss_sqerr_loss_f32(3, 4, y, NULL, &loss), FASTLOSS_ERR_NULL_POINTER,
               "y_pred is NULL", &loss, sizeof loss);
  fl_sq_expect(fastloss_sqerr_loss_f32(3, 4, y, p, NULL), FASTLOSS_ERR_NULL_POINTER, "loss is NULL",
               &loss, sizeof loss);
  fl_sq_expect(fastloss_sqerr_loss_f32(SIZE_MAX / 4, 4, y, p, &loss), FASTLOSS_ERR_SIZE_OVERFLOW,
               "overflows", &loss, sizeof loss);
  fl_sq_expect(fastloss_sqerr_grad_f32(3, 4, y, p, NULL, &tanh_act, g), FASTLOSS_ERR_NULL_POINTER,
               "z is NULL", g, sizeof g);
  fl_sq_expect(fastloss_sqerr_grad_f32(3, 4, y, p, z, &tanh_act, NULL), FASTLOSS_ERR_NULL_POINTER,
               "grad is NULL", g, sizeof g);
  fl_sq_expect(fastloss_sqerr_grad_f32(0, 4, y, p, z, &tanh_act, g), FASTLOSS_ERR_INVALID_SHAPE,
               "n = 0", g, sizeof g);
  const fastloss_activation unknown = {.kind = (fastloss_activation_kind)99};
  fl_sq_expect(fastloss_sqerr_grad_f32(3, 4, y, p, z, &unknown, g), FASTLOSS_ERR_INVALID_ARGUMENT,
               "act->kind = 99", g, sizeof g);
  const fastloss_activation negative = {.kind = (fastloss_activation_kind)-1};
  fl_sq_expect(fastloss_activation_fn_f32(&negative, 12, z, g), FASTLOSS_ERR_INVALID_ARGUMENT,
               "act->kind = -1", g, sizeof g);
  const fastloss_activation bad_alpha = {.kind = FASTLOSS_ACT_ELU, .alpha = NAN};
  fl_sq_expect(fastloss_sqerr_grad_f32(3, 4, y, p, z, &bad_alpha, g), FASTLOSS_ERR_INVALID_ARGUMENT,
               "act->alpha = nan is not finite (ELU)", g, sizeof g);
  const fastloss_activation bad_slope = {.kind = FASTLOSS_ACT_AFFINE, .slope = INFINITY};
  fl_sq_expect(fastloss_activation_grad_f32(&bad_slope, 12, z, g), FASTLOSS_ERR_INVALID_ARGUMENT,
               "act->slope = inf", g, sizeof g);
  const fastloss_activation bad_exact = {.kind = FASTLOSS_ACT_GELU, .exact = 2};
  fl_sq_expect(fastloss_activation_fn_f32(&bad_exact, 12, z, g), FASTLOSS_ERR_INVALID_ARGUMENT,
               "act->exact = 2", g, sizeof g);
  const fastloss_activation bad_use = {.kind = FASTLOSS_ACT_ELU, .use_params = 3};
  fl_sq_expect(fastloss_activation_fn_f32(&bad_use, 12, z, g), FASTLOSS_ERR_INVALID_ARGUMENT,
               "act->use_params = 3", g, sizeof g);
  fl_sq_expect(fastloss_activation_fn_f32(&tanh_act, 0, z, g), FASTLOSS_ERR_INVALID_SHAPE,
               "count = 0", g, sizeof g);
  fl_sq_expect(fastloss_activation_fn_f32(&tanh_act, 12, NULL, g), FASTLOSS_ERR_NULL_POINTER,
               "z is NULL", g, sizeof g);
  fl_sq_expect(fastloss_activation_grad_f32(&tanh_act, 12, z, NULL), FASTLOSS_ERR_NULL_POINTER,
               "out is NULL", g, sizeof g);
  /* Overlaps other than in place. */
  float big[32];
  for (size_t k = 0; k < 32; k++) big[k] = 0.5f;
  ck_assert_int_eq(fastloss_activation_fn_f32(&tanh_act, 12, big, big + 1), FASTLOSS_ERR_OVERLAP);
  ck_assert_str_eq(fastloss_last_error(), "out overlaps z without being the same buffer");
  ck_assert_int_eq(fastloss_sqerr_grad_f32(3, 4, y, big, z, NULL, big + 3), FASTLOSS_ERR_OVERLAP);
  ck_assert_str_eq(fastloss_last_error(), "grad overlaps y_pred without being the same buffer");
  ck_assert_int_eq(fastloss_activation_fn_f32(&tanh_act, 12, big, big), FASTLOSS_OK);
  /* f64 too. */
  double yd[2] = {1, 2}, pd[2] = {0, 0}, gd[2] = {7, 7};
  ck_assert_int_eq(fastloss_sqerr_grad_f64(1, 2, yd, pd, NULL, NULL, gd),
                   FASTLOSS_ERR_NULL_POINTER);
  ck_assert_int_eq(fastloss_sqerr_grad_f64(1, 2, yd, pd, pd, &unknown, gd),
                   FASTLOSS_ERR_INVALID_ARGUMENT);
  FL_CHECK1(gd[0] == 7.0 && gd[1] == 7.0);
  ck_assert_int_eq(fastloss_sqerr_loss_f64(1, 2, yd, pd, &loss), FASTLOSS_OK);
  FL_CHECK1(loss == 2.5);
#undef FL_POISON
}
END_TEST

Suite *fl_suite_sqerr(void) {
  Suite *s = suite_create("sqerr");
  TCase *tc = tcase_create("SquaredError");
  tcase_set_timeout(tc, 1200);
  tcase_add_test(tc, sqerr_kernels_installed);
  tcase_add_test(tc, sqerr_activation_accuracy);
  tcase_add_test(tc, sqerr_act_kernel_tails);
  tcase_add_test(tc, sqerr_gelu_erf_kernel);
  tcase_add_test(tc, sqerr_sum_kernel);
  tcase_add_test(tc, sqerr_api_against_reference);
  tcase_add_test(tc, sqerr_api_extremes);
  tcase_add_test(tc, sqerr_f64_finite_differences);
  tcase_add_test(tc, sqerr_f32_finite_differences);
  tcase_add_test(tc, sqerr_thread_invariance);
  tcase_add_test(tc, sqerr_activation_defaults);
  tcase_add_test(tc, sqerr_errors);
  suite_add_tcase(s, tc);
  return s;
}
