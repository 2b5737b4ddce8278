/* Sigmoid-logit micro-kernels of NCE and negative sampling, f32, portable C:
 * the baseline every SIMD kernel is tested against.  Contracts are in
 * kernels/kernels.h.  Dot products accumulate in double, so the baseline is
 * the most accurate; the sigmoid uses fl_scalar_exp_nonpos (scalar-math.h):
 *   e = exp(-|y|), r = 1 / (1 + e),  sigmoid(|y|) = r, sigmoid(-|y|) = e * r
 * which never overflows and never subtracts from 1. */
#include <math.h>
#include <stddef.h>

#include "kernels.h"
#include "scalar-math.h"

#define FL_UKERNEL_NAME(name) fl_f32_##name##_ukernel__scalar

static void fl_f32_nce_dots_ukernel__scalar(size_t rows, size_t cols, size_t d,
                                            const float *const *x, const float *const *w,
                                            float *z, size_t ld_z) {
  for (size_t r = 0; r < rows; r++) {
    const float *xr = x[r];
    for (size_t c = 0; c < cols; c++) {
      const float *wc = w[c];
      double sum = 0.0;
      for (size_t j = 0; j < d; j++) sum += (double)xr[j] * wc[j];
      z[r * ld_z + c] = (float)sum;
    }
  }
}

static void fl_f32_nce_sigmoid_ukernel__scalar(size_t m, const float *y, float *q, float *c) {
  for (size_t j = 0; j < m; j++) {
    const float e = fl_scalar_exp_nonpos(-fabsf(y[j]));
    const float r = 1.0f / (1.0f + e);
    const float small = e * r;
    const int positive = y[j] >= 0.0f;
    q[j] = positive ? r : small;
    c[j] = positive ? small : r;
  }
}

static void fl_f32_nce_gemv_ukernel__scalar(size_t cols, size_t d, const float *coef,
                                            const float *const *w, float *out) {
  for (size_t j = 0; j < d; j++) {
    double sum = out[j];
    for (size_t c = 0; c < cols; c++) sum += (double)coef[c] * w[c][j];
    out[j] = (float)sum;
  }
}

static void fl_f32_nce_ger_ukernel__scalar(size_t cols, size_t d, const float *coef,
                                           const float *x, float *const *w) {
  for (size_t c = 0; c < cols; c++) {
    float *wc = w[c];
    const float a = coef[c];
    for (size_t j = 0; j < d; j++) wc[j] = FL_FMAF(a, x[j], wc[j]);
  }
}

const fl_f32_nce_kernels fl_f32_nce_kernels__scalar = {FL_NCE_KERNELS(FL_KERNEL_ENTRY, float)};
