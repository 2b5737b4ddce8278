/* Softmax cross-entropy micro-kernels, f64, portable C: the baseline every
 * SIMD kernel is tested against.  The maths and the contract of each kernel
 * are in kernels/kernels.h; exp and log come from
 * scalar-math64.h (libm, or SLEEF with -Dexp=sleef).
 * Sums run left to right in double. */
#include <float.h>
#include <math.h>
#include <stddef.h>

#include "kernels.h"
#include "scalar-math64.h"

#define FL_UKERNEL_NAME(name) fl_f64_##name##_ukernel__scalar

static double fl_f64_xent_rmax_ukernel__scalar(size_t m, const double *x) {
  double max = -INFINITY;
  for (size_t j = 0; j < m; j++) max = x[j] > max ? x[j] : max;
  return max;
}

static double fl_f64_xent_rexpstore_ukernel__scalar(size_t m, const double *x, double max,
                                                    double *y, const double *next,
                                                    double *next_max) {
  double sum = 0.0;
  double nmax = -INFINITY;
  for (size_t j = 0; j < m; j++) {
    nmax = next[j] > nmax ? next[j] : nmax; /* read before y[j] is written (next may be x = y) */
    const double e = fl_exp64(x[j] - max);
    y[j] = e;
    sum += e;
  }
  *next_max = nmax;
  return sum;
}

static double fl_f64_xent_rexpsum_ukernel__scalar(size_t m, const double *x, double max,
                                                  const double *next, double *next_max) {
  double sum = 0.0;
  double nmax = -INFINITY;
  for (size_t j = 0; j < m; j++) {
    nmax = next[j] > nmax ? next[j] : nmax;
    sum += fl_exp64(x[j] - max);
  }
  *next_max = nmax;
  return sum;
}

/* Online max and sum: the sum is rescaled only when the running max grows.
 * -inf entries contribute exactly 0 (without this, -inf - -inf is NaN). */
static void fl_f64_xent_ronline_ukernel__scalar(size_t m, const double *x, double *max_out,
                                                double *sum_out) {
  double max = -INFINITY;
  double sum = 0.0;
  for (size_t j = 0; j < m; j++) {
    const double v = x[j];
    if (v > max) {
      sum = sum * fl_exp64(max - v) + fl_exp64(v - v); /* 1, or NaN for +inf */
      max = v;
    } else if (v != -INFINITY) {
      sum += fl_exp64(v - max);
    }
  }
  *max_out = max;
  *sum_out = (double)sum;
}

static void fl_f64_xent_vexpscale_ukernel__scalar(size_t m, const double *x, double max,
                                                  double scale, double *y) {
  for (size_t j = 0; j < m; j++) y[j] = fl_exp64(x[j] - max) * scale;
}

static void fl_f64_xent_vaffine_ukernel__scalar(size_t m, double *y, double alpha, double beta,
                                                double gamma, const double *t, const double *w) {
  for (size_t j = 0; j < m; j++) {
    double target = t != NULL ? beta + gamma * t[j] : beta;
    if (w != NULL) target *= w[j];
    y[j] = alpha * y[j] - target;
  }
}

static double fl_f64_xent_rdot_ukernel__scalar(size_t m, const double *a, double shift,
                                               const double *b, const double *c) {
  double sum = 0.0;
  for (size_t j = 0; j < m; j++) {
    double weight = 1;
    if (b != NULL) weight *= b[j];
    if (c != NULL) weight *= c[j];
    if (weight != 0) sum += (double)((a[j] - shift) * weight);
  }
  return (double)sum;
}

/* The label term is subtracted after the affine one, as the SIMD kernels do,
 * so that every ISA rounds the label's gradient the same way. */
static void fl_f64_xent_smallrows_ukernel__scalar(
    size_t rows, size_t m, const double *z, size_t ld_z, const int32_t *labels, const double *alpha,
    const double *beta, const double *label_coef, double *grad, size_t ld_grad, double *row_max,
    double *row_logsum, double *row_zsum, double *row_zy) {
  for (size_t i = 0; i < rows; i++) {
    const double *zi = z + i * ld_z;
    /* A label outside [0, m) wraps past m as size_t and names no class. */
    const size_t y = (size_t)(int64_t)labels[i];
    double max = -INFINITY;
    for (size_t j = 0; j < m; j++) max = zi[j] > max ? zi[j] : max;
    const double shift = max > -DBL_MAX ? max : -DBL_MAX;
    double sum = 0.0, zsum = 0.0;
    for (size_t j = 0; j < m; j++) zsum += (double)(zi[j] - shift);
    row_zy[i] = y < m ? zi[y] : 0; /* before an in-place gradient overwrites it */
    if (grad != NULL) {
      double *gi = grad + i * ld_grad;
      for (size_t j = 0; j < m; j++) {
        gi[j] = fl_exp64(zi[j] - max);
        sum += (double)gi[j];
      }
      const double scale = alpha[i] / (double)sum;
      for (size_t j = 0; j < m; j++) gi[j] = gi[j] * scale - beta[i];
      if (y < m) gi[y] -= label_coef[i];
    } else {
      for (size_t j = 0; j < m; j++) sum += (double)fl_exp64(zi[j] - max);
    }
    row_max[i] = max;
    row_logsum[i] = fl_log64(sum);
    if (row_zsum != NULL) row_zsum[i] = (double)zsum;
  }
}

const fl_f64_xent_kernels fl_f64_xent_kernels__scalar = {FL_XENT_KERNELS(FL_KERNEL_ENTRY, double)};
