/* Sigmoid-logit micro-kernels of NCE and negative sampling, f32, portable C:
 * the baseline every SIMD kernel is tested against.  Contracts are in
 * kernels/kernels.h.  Dot products accumulate in double, so the baseline is
 * the most accurate; the sigmoid uses fl_scalar_exp_nonpos (scalar-math.h):
 *   e = exp(-|y|), r = 1 / (1 + e),  sigmoid(|y|) = r, sigmoid(-|y|) = e * r
 * which never overflows and never subtracts from 1.
 * sigmoid_bce: the sigmoid above, then the clipped BCE term with one log per
 *   element (fl_scalar_log; scalar-math.h), whose argument is chosen first:
 *   q itself where q <= 1/2, else u = 1 - c with log1p(-c) = log(u) +
 *   (-c - (u - 1)) / u.  u - 1 and -c - (u - 1) are exact (Sterbenz: c <=
 *   1/2 there), so the quotient puts back the rounding of 1 - c; no guard
 *   for u == 1 is needed (log(1) is exactly 0, SLEEF's too, and the
 *   correction then carries -c whole; and c >= eps in that branch keeps u
 *   below 1 anyway).  The clips are selected last, so whatever the log made
 *   of q = 0 or u = 1 in those lanes is discarded; NaN fails every compare
 *   and stays NaN.  Error against the formula on the kernel's own q and c:
 *   the log's (1.14 ULP with FMA, 1.22 without) plus the roundings of the
 *   correction and the sum; tests/test_nce_kernels.c measures and bounds it.
 *   The SIMD kernels run the same steps. */
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

/* q = sigmoid(y), c = sigmoid(-y): the one sigmoid of both kernels. */
static inline void fl_scalar_sigmoid(float y, float *q, float *c) {
  const float e = fl_scalar_exp_nonpos(-fabsf(y));
  const float r = 1.0f / (1.0f + e);
  const float small = e * r;
  const int positive = y >= 0.0f;
  *q = positive ? r : small;
  *c = positive ? small : r;
}

static void fl_f32_nce_sigmoid_ukernel__scalar(size_t m, const float *y, float *q, float *c) {
  for (size_t j = 0; j < m; j++) fl_scalar_sigmoid(y[j], &q[j], &c[j]);
}

/* -log of q clipped to [eps, 1 - eps], from q and c = 1 - q (eps =
 * FLT_EPSILON; FL_NCE_CLIP_LOW = -log(eps) = 23 ln 2, FL_NCE_CLIP_HIGH =
 * -log1p(-eps) = eps + eps^2 / 2 + ..., both rounded to float). */
static inline float fl_scalar_bce_term(float q, float c) {
  const int upper = q > 0.5f;
  const float u = 1.0f - c;
  const float arg = upper ? u : q;
  const float correction = upper ? -(c + (u - 1.0f)) / u : 0.0f;
  float t = -(fl_scalar_log(arg) + correction);
  t = c < FL_NCE_EPS ? FL_NCE_CLIP_HIGH : t;
  t = q < FL_NCE_EPS ? FL_NCE_CLIP_LOW : t;
  return t;
}

static void fl_f32_nce_sigmoid_bce_ukernel__scalar(size_t m, const float *y, float *q, float *c,
                                                   float *t) {
  for (size_t j = 0; j < m; j++) {
    float qj, cj;
    fl_scalar_sigmoid(y[j], &qj, &cj);
    q[j] = qj;
    c[j] = cj;
    t[j] = fl_scalar_bce_term(qj, cj);
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
