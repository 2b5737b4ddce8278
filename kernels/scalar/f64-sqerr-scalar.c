/* SquaredError micro-kernels, f64, portable C, serving every ISA.  Contracts
 * are in kernels/kernels.h; the maths is that of f32-sqerr-scalar.c with
 * exp, expm1, tanh, log1p and erfc from scalar-math64.h (libm, or SLEEF
 * with -Dexp=sleef).  The sum
 * runs left to right in double. */
#include <float.h>
#include <math.h>
#include <stddef.h>

#include "kernels.h"
#include "scalar-math64.h"

#define FL_UKERNEL_NAME(name) fl_f64_##name##_ukernel__scalar

#define FL_GELU_C1 1.59576912160573071175
#define FL_GELU_C3 0.07135481627260024878
#define FL_GELU_CLAMP 40.0
#define FL_SQRT_HALF_64 0.70710678118654752440
#define FL_SQRT_HALF_64_LO (-4.8336466567264567e-17) /* sqrt(1/2) - FL_SQRT_HALF_64 */
#define FL_TWO_OVER_SQRT_PI_64 1.1283791670955125739
#define FL_INV_SQRT_2PI_64 0.39894228040143267794

static double fl_f64_sqerr_sum_ukernel__scalar(size_t m, const double *y, const double *p) {
  double sum = 0.0;
  for (size_t j = 0; j < m; j++) {
    const double diff = p[j] - y[j];
    sum += diff * diff;
  }
  return sum;
}

static inline void fl_f64_act_eval(fl_act_kind kind, const fl_act_args *a, double z, double *f,
                                   double *d) {
  switch (kind) {
    case FL_ACT_AFFINE:
      *f = a->scale * z + a->intercept;
      *d = a->scale;
      return;
    case FL_ACT_SIGMOID: {
      const double e = fl_exp64(-fabs(z)), r = 1.0 / (1.0 + e);
      *f = z >= 0.0 ? r : e * r;
      *d = (e * r) * r;
      return;
    }
    case FL_ACT_TANH: {
      *f = fl_tanh64(z);
      /* 1 - tanh^2 cancels in the tail: 4e / (1 + e)^2 there. */
      const double e = fl_exp64(-2.0 * fabs(z)), u = 1.0 + e;
      *d = fabs(z) < 0.55 ? 1.0 - *f * *f : (4.0 * e) / (u * u);
      return;
    }
    case FL_ACT_RELU:
      *f = z < 0.0 ? 0.0 : z;
      *d = z > 0.0 ? 1.0 : (z != z ? z : 0.0);
      return;
    case FL_ACT_LEAKY_RELU:
      *f = z < 0.0 ? a->alpha * z : z;
      *d = z < 0.0 ? a->alpha : (z != z ? z : 1.0);
      return;
    case FL_ACT_ELU:
      *f = z > 0.0 ? a->scale * z : a->scale * (a->alpha * fl_expm1_64(z));
      *d = z > 0.0 ? a->scale : a->scale * (a->alpha * fl_exp64(z));
      return;
    case FL_ACT_EXPONENTIAL:
      *f = *d = fl_exp64(z);
      return;
    case FL_ACT_SOFTPLUS: {
      const double e = fl_exp64(-fabs(z)), r = 1.0 / (1.0 + e);
      *f = (z > 0.0 ? z : 0.0) + fl_log1p64(e);
      *d = z >= 0.0 ? r : e * r;
      return;
    }
    case FL_ACT_HARD_SIGMOID: {
      const double x = 0.2 * z + 0.5;
      *f = x < 0.0 ? 0.0 : (x > 1.0 ? 1.0 : x);
      *d = z >= -2.5 && z <= 2.5 ? 0.2 : (z != z ? z : 0.0);
      return;
    }
    case FL_ACT_GELU_TANH: {
      const double zc =
          z < -FL_GELU_CLAMP ? -FL_GELU_CLAMP : (z > FL_GELU_CLAMP ? FL_GELU_CLAMP : z);
      const double z2 = zc * zc;
      const double v = zc * (FL_GELU_C1 + FL_GELU_C3 * z2), dv = FL_GELU_C1 + 3.0 * FL_GELU_C3 * z2;
      const double e = fl_exp64(-fabs(v)), r = 1.0 / (1.0 + e);
      const double s = v >= 0.0 ? r : e * r;
      *f = z * s;
      *d = s + (zc * dv) * ((e * r) * r);
      return;
    }
    case FL_ACT_GELU_ERF: {
      /* Phi(z) = erfc(x) / 2 with x = -z / sqrt 2.  Rounding x costs a
       * relative error of 2 x^2 eps in erfc's far tail (hundreds of ULP
       * near z = -19), so the rounding error x_lo of x (the product's, by
       * FMA, and that of the constant) is put back to first order:
       * erfc(x + x_lo) = erfc(x) - (2 / sqrt pi) e^{-x^2} x_lo.  Likewise
       * the density takes z^2 as zz + zz_lo. */
      const double x = -z * FL_SQRT_HALF_64;
      /* Past |z| = 40 erfc is 0 or 2 whatever x_lo is; there (and for inf,
       * where the FMA would give inf - inf) no correction. */
      const double x_lo =
          fabs(z) < 40.0 ? fma(-z, FL_SQRT_HALF_64, -x) + (-z) * FL_SQRT_HALF_64_LO : 0.0;
      const double cdf = 0.5 * (fl_erfc64(x) - FL_TWO_OVER_SQRT_PI_64 * fl_exp64(-x * x) * x_lo);
      const double zc = z < -40.0 ? -40.0 : (z > 40.0 ? 40.0 : z);
      const double zz = zc * zc, zz_lo = fma(zc, zc, -zz);
      const double density = FL_INV_SQRT_2PI_64 * (fl_exp64(-0.5 * zz) * (1.0 - 0.5 * zz_lo));
      *f = z < -40.0 ? -0.0 : z * cdf;
      *d = cdf + zc * density;
      return;
    }
    case FL_ACT_KIND_COUNT:
      break;
  }
  *f = *d = NAN;
}

static inline void fl_f64_act_loop(fl_act_kind kind, const fl_act_args *a, size_t m,
                                   const double *z, const double *y, const double *p, double *f,
                                   double *d) {
  for (size_t j = 0; j < m; j++) {
    double fj, dj;
    fl_f64_act_eval(kind, a, z[j], &fj, &dj);
    if (y != NULL) dj *= p[j] - y[j];
    if (f != NULL) f[j] = fj;
    if (d != NULL) d[j] = dj;
  }
}

static void fl_f64_sqerr_act_ukernel__scalar(size_t m, const fl_act_args *act, const double *z,
                                             const double *y, const double *p, double *f,
                                             double *d) {
  switch (act->kind) {
#define FL_ACT_CASE(kind)                         \
  case kind:                                      \
    fl_f64_act_loop(kind, act, m, z, y, p, f, d); \
    return;
    FL_ACT_CASE(FL_ACT_AFFINE)
    FL_ACT_CASE(FL_ACT_SIGMOID)
    FL_ACT_CASE(FL_ACT_TANH)
    FL_ACT_CASE(FL_ACT_RELU)
    FL_ACT_CASE(FL_ACT_LEAKY_RELU)
    FL_ACT_CASE(FL_ACT_ELU)
    FL_ACT_CASE(FL_ACT_EXPONENTIAL)
    FL_ACT_CASE(FL_ACT_SOFTPLUS)
    FL_ACT_CASE(FL_ACT_HARD_SIGMOID)
    FL_ACT_CASE(FL_ACT_GELU_TANH)
    FL_ACT_CASE(FL_ACT_GELU_ERF)
#undef FL_ACT_CASE
    case FL_ACT_KIND_COUNT:
      break;
  }
}

const fl_f64_sqerr_kernels fl_f64_sqerr_kernels__scalar = {
    FL_SQERR_KERNELS(FL_KERNEL_ENTRY, double)};
