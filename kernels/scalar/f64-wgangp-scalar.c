/* WGAN-GP gradient-penalty micro-kernels, f64, portable C, serving every
 * ISA.  Contracts are in kernels/kernels.h.
 * norm: the plain sum of squares first; when it overflowed (a row entry
 *   past ~1e154) or may have lost entries to underflow (a sum below 2^-600,
 *   0 included: squares under 2^-1074 flush), a second pass scales the row by a
 *   power of 2 that brings its largest entry near 1, which is exact, and
 *   scales the root back.  NaN passes through both.
 * scale: coef g, one rounding. */
#include <float.h>
#include <math.h>
#include <stddef.h>

#include "kernels.h"

#define FL_UKERNEL_NAME(name) fl_f64_##name##_ukernel__scalar

static double fl_f64_wgangp_norm_ukernel__scalar(size_t m, const double *g) {
  double sum = 0.0;
  for (size_t j = 0; j < m; j++) sum += g[j] * g[j];
  if (sum <= DBL_MAX && sum >= 0x1p-600) return sqrt(sum);
  if (sum != sum) return sum;
  double largest = 0.0;
  for (size_t j = 0; j < m; j++) largest = fmax(largest, fabs(g[j]));
  if (largest == 0.0 || largest > DBL_MAX) return largest;
  int exponent;
  frexp(largest, &exponent);
  double scaled = 0.0;
  for (size_t j = 0; j < m; j++) {
    const double x = ldexp(g[j], -exponent);
    scaled += x * x;
  }
  return ldexp(sqrt(scaled), exponent);
}

static void fl_f64_wgangp_scale_ukernel__scalar(size_t m, const double *g, double coef,
                                                double *out) {
  for (size_t j = 0; j < m; j++) out[j] = coef * g[j];
}

const fl_f64_wgangp_kernels fl_f64_wgangp_kernels__scalar = {
    FL_WGANGP_KERNELS(FL_KERNEL_ENTRY, double)};
