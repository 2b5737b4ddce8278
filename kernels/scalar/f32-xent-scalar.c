/* Softmax cross-entropy micro-kernels, f32, portable C: the baseline every
 * SIMD kernel is tested against.  The maths and the contract of each kernel
 * are in kernels/kernels.h; exp is fl_scalar_expf (scalar-math.h).
 * Sums run left to right in double, so the baseline is the most accurate. */
#include <float.h>
#include <math.h>
#include <stddef.h>

#include "kernels.h"
#include "scalar-math.h"

#define FL_UKERNEL_NAME(name) fl_f32_##name##_ukernel__scalar

static float fl_f32_xent_rmax_ukernel__scalar(size_t m, const float *x) {
  float max = -INFINITY;
  for (size_t j = 0; j < m; j++) max = x[j] > max ? x[j] : max;
  return max;
}

static float fl_f32_xent_rexpstore_ukernel__scalar(size_t m, const float *x, float max, float *y,
                                                   const float *next, float *next_max) {
  double sum = 0.0;
  float nmax = -INFINITY;
  for (size_t j = 0; j < m; j++) {
    nmax = next[j] > nmax ? next[j] : nmax; /* read before y[j] is written (next may be x = y) */
    const float e = fl_scalar_exp_nonpos(x[j] - max);
    y[j] = e;
    sum += e;
  }
  *next_max = nmax;
  return sum;
}

static float fl_f32_xent_rexpsum_ukernel__scalar(size_t m, const float *x, float max, const float *next,
                                                 float *next_max) {
  double sum = 0.0;
  float nmax = -INFINITY;
  for (size_t j = 0; j < m; j++) {
    nmax = next[j] > nmax ? next[j] : nmax;
    sum += fl_scalar_exp_nonpos(x[j] - max);
  }
  *next_max = nmax;
  return sum;
}

/* Online max and sum: the sum is rescaled only when the running max grows.
 * -inf entries contribute exactly 0 (without this, -inf - -inf is NaN). */
static void fl_f32_xent_ronline_ukernel__scalar(size_t m, const float *x, float *max_out,
                                                float *sum_out) {
  float max = -INFINITY;
  double sum = 0.0;
  for (size_t j = 0; j < m; j++) {
    const float v = x[j];
    if (v > max) {
      sum = sum * fl_scalar_exp_nonpos(max - v) + fl_scalar_exp_nonpos(v - v); /* 1, or NaN for +inf */
      max = v;
    } else if (v != -INFINITY) {
      sum += fl_scalar_exp_nonpos(v - max);
    }
  }
  *max_out = max;
  *sum_out = (float)sum;
}

static void fl_f32_xent_vexpscale_ukernel__scalar(size_t m, const float *x, float max,
                                                  float scale, float *y) {
  for (size_t j = 0; j < m; j++) y[j] = fl_scalar_exp_nonpos(x[j] - max) * scale;
}

static void fl_f32_xent_vaffine_ukernel__scalar(size_t m, float *y, float alpha, float beta,
                                                float gamma, const float *t, const float *w) {
  for (size_t j = 0; j < m; j++) {
    float target = t != NULL ? beta + gamma * t[j] : beta;
    if (w != NULL) target *= w[j];
    y[j] = alpha * y[j] - target;
  }
}

static float fl_f32_xent_rdot_ukernel__scalar(size_t m, const float *a, float shift,
                                              const float *b, const float *c) {
  double sum = 0.0;
  for (size_t j = 0; j < m; j++) {
    float weight = 1;
    if (b != NULL) weight *= b[j];
    if (c != NULL) weight *= c[j];
    if (weight != 0) sum += (double)((a[j] - shift) * weight);
  }
  return (float)sum;
}

/* The label term is subtracted after the affine one, as the SIMD kernels do,
 * so that every ISA rounds the label's gradient the same way. */
static void fl_f32_xent_smallrows_ukernel__scalar(size_t rows, size_t m, const float *z,
                                                  size_t ld_z, const int32_t *labels,
                                                  const float *alpha, const float *beta,
                                                  const float *label_coef, float *grad,
                                                  size_t ld_grad, float *row_max, float *row_logsum,
                                                  float *row_zsum, float *row_zy) {
  for (size_t i = 0; i < rows; i++) {
    const float *zi = z + i * ld_z;
    /* A label outside [0, m) wraps past m as size_t and names no class. */
    const size_t y = (size_t)(int64_t)labels[i];
    float max = -INFINITY;
    for (size_t j = 0; j < m; j++) max = zi[j] > max ? zi[j] : max;
    const float shift = max > -FLT_MAX ? max : -FLT_MAX;
    double sum = 0.0, zsum = 0.0;
    for (size_t j = 0; j < m; j++) zsum += (double)(zi[j] - shift);
    row_zy[i] = y < m ? zi[y] : 0; /* before an in-place gradient overwrites it */
    if (grad != NULL) {
      float *gi = grad + i * ld_grad;
      for (size_t j = 0; j < m; j++) {
        gi[j] = fl_scalar_exp_nonpos(zi[j] - max);
        sum += (double)gi[j];
      }
      const float scale = alpha[i] / (float)sum;
      for (size_t j = 0; j < m; j++) gi[j] = gi[j] * scale - beta[i];
      if (y < m) gi[y] -= label_coef[i];
    } else {
      for (size_t j = 0; j < m; j++) sum += (double)fl_scalar_exp_nonpos(zi[j] - max);
    }
    row_max[i] = max;
    row_logsum[i] = fl_scalar_log((float)sum);
    if (row_zsum != NULL) row_zsum[i] = (float)zsum;
  }
}

const fl_f32_xent_kernels fl_f32_xent_kernels__scalar = {FL_XENT_KERNELS(FL_KERNEL_ENTRY, float)};
