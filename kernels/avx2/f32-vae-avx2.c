/* VAE loss micro-kernels, f32, AVX2+FMA (8 lanes).  Contracts in
 * kernels/kernels.h, maths in kernels/scalar/f32-vae-scalar.c.
 * bce: p clipped by max/min (NaN passes through); a vector whose 8 targets
 *   are all exactly 0 or 1 takes one log, of p or 1 - p chosen per lane
 *   (y log p + (1 - y) log(1 - p) is exactly that log for such a lane), any
 *   other vector two.  Gradient (p - y) scale / (p (1 - p)), one division.
 * bce_logits: e = exp(-|z|), u = 1 + e, r = 1 / u (true division), log1p(e)
 *   = log(u) + (e - (u - 1)) r; the term max(z, 0) - y z + log1p(e), the
 *   gradient scale (sigmoid(z) - y) with sigmoid(z) = r or e r by the sign.
 * kl: exp over the full range (avx2-math.h: +inf past 88.72, never NaN for
 *   finite input), term mu^2 + (exp(lv) - 1 - lv).
 * Errors: log 1.14 ULP, exp 1 ULP (measured, avx2-math.h); row sums in one
 *   float accumulator of 8 lanes, about (m / 8) eps of the summed terms.
 * Tails: the last m % 8 elements go through masked loads (masked-off lanes
 *   read as 0 and their terms are masked out of the sums) and
 *   fl_avx2_store_tail: nothing past a row is read or written.  Every load
 *   of an element precedes the store of its gradient, so a gradient may
 *   overwrite its own input.
 * The AVX-512 and NEON files follow this one line for line. */
#include <math.h>

#include "avx2-math.h"
#include "kernels.h"

#define FL_UKERNEL_NAME(name) fl_f32_##name##_ukernel__avx2
#define W FL_AVX2_LANES
/* with_grad must be a constant after inlining, so that loss-only calls
 * compute no gradient. */
#define FL_TILE_INLINE __attribute__((always_inline)) static inline

static size_t fl_f32_vae_outside_ukernel__avx2(size_t m, const float *p) {
  size_t j = 0;
  for (; j < m; j += W) {
    const size_t count = m - j < W ? m - j : W;
    /* Masked-off lanes read as 0, which is inside. */
    const __m256 v = _mm256_maskload_ps(p + j, fl_avx2_tail_mask(count));
    const __m256 bad = _mm256_or_ps(_mm256_cmp_ps(v, _mm256_setzero_ps(), _CMP_LT_OQ),
                                    _mm256_cmp_ps(v, _mm256_set1_ps(1.0f), _CMP_GT_OQ));
    const int lanes = _mm256_movemask_ps(bad);
    if (lanes != 0) return j + (size_t)__builtin_ctz((unsigned)lanes);
  }
  return m;
}

/* y log p + (1 - y) log(1 - p) at the clipped p, and the gradient. */
FL_TILE_INLINE __m256 fl_avx2_bce(__m256 y, __m256 p, __m256 eps, __m256 high, __m256 scale,
                                  __m256 *grad) {
  p = _mm256_min_ps(high, _mm256_max_ps(eps, p));
  const __m256 q = _mm256_sub_ps(_mm256_set1_ps(1.0f), p);
  const __m256 one = _mm256_cmp_ps(y, _mm256_set1_ps(1.0f), _CMP_EQ_OQ);
  const __m256 binary = _mm256_or_ps(one, _mm256_cmp_ps(y, _mm256_setzero_ps(), _CMP_EQ_OQ));
  __m256 likelihood;
  if (_mm256_movemask_ps(binary) == 0xff)
    likelihood = fl_avx2_log(_mm256_blendv_ps(q, p, one));
  else
    likelihood = _mm256_fmadd_ps(
        y, fl_avx2_log(p), _mm256_mul_ps(_mm256_sub_ps(_mm256_set1_ps(1.0f), y), fl_avx2_log(q)));
  *grad = _mm256_div_ps(_mm256_mul_ps(scale, _mm256_sub_ps(p, y)), _mm256_mul_ps(p, q));
  return likelihood;
}

FL_TILE_INLINE double fl_avx2_bce_row(size_t m, const float *y, const float *p, float eps,
                                      float scale, float *grad, const int with_grad) {
  const __m256 epsv = _mm256_set1_ps(eps), high = _mm256_set1_ps(1.0f - eps);
  const __m256 scalev = _mm256_set1_ps(scale);
  __m256 acc = _mm256_setzero_ps(), g;
  size_t j = 0;
  for (; j + W <= m; j += W) {
    acc = _mm256_add_ps(
        acc, fl_avx2_bce(_mm256_loadu_ps(y + j), _mm256_loadu_ps(p + j), epsv, high, scalev, &g));
    if (with_grad) _mm256_storeu_ps(grad + j, g);
  }
  if (j < m) {
    const size_t count = m - j;
    const __m256i mask = fl_avx2_tail_mask(count);
    const __m256 likelihood = fl_avx2_bce(_mm256_maskload_ps(y + j, mask),
                                          _mm256_maskload_ps(p + j, mask), epsv, high, scalev, &g);
    acc = _mm256_add_ps(acc, _mm256_and_ps(likelihood, _mm256_castsi256_ps(mask)));
    if (with_grad) fl_avx2_store_tail(grad + j, count, g);
  }
  return -(double)fl_avx2_hsum(acc);
}

static double fl_f32_vae_bce_ukernel__avx2(size_t m, const float *y, const float *p, float eps,
                                           float scale, float *grad) {
  return grad != NULL ? fl_avx2_bce_row(m, y, p, eps, scale, grad, 1)
                      : fl_avx2_bce_row(m, y, p, eps, scale, NULL, 0);
}

/* softplus(z) - y z, and the gradient. */
FL_TILE_INLINE __m256 fl_avx2_bce_logits(__m256 y, __m256 z, __m256 scale, __m256 *grad) {
  const __m256 e = fl_avx2_exp_nonpos(_mm256_or_ps(z, _mm256_set1_ps(-0.0f))); /* exp(-|z|) */
  const __m256 u = _mm256_add_ps(_mm256_set1_ps(1.0f), e);
  const __m256 r = _mm256_div_ps(_mm256_set1_ps(1.0f), u);
  const __m256 lost = _mm256_sub_ps(e, _mm256_sub_ps(u, _mm256_set1_ps(1.0f)));
  const __m256 log1p_e = _mm256_fmadd_ps(lost, r, fl_avx2_log(u));
  const __m256 positive = _mm256_max_ps(z, _mm256_setzero_ps());
  /* Ordered compare: a NaN lane takes e r, which is NaN too. */
  const __m256 sigmoid =
      _mm256_blendv_ps(_mm256_mul_ps(e, r), r, _mm256_cmp_ps(z, _mm256_setzero_ps(), _CMP_GE_OQ));
  *grad = _mm256_mul_ps(scale, _mm256_sub_ps(sigmoid, y));
  return _mm256_add_ps(_mm256_fnmadd_ps(y, z, positive), log1p_e);
}

FL_TILE_INLINE double fl_avx2_bce_logits_row(size_t m, const float *y, const float *z, float scale,
                                             float *grad, const int with_grad) {
  const __m256 scalev = _mm256_set1_ps(scale);
  __m256 acc = _mm256_setzero_ps(), g;
  size_t j = 0;
  for (; j + W <= m; j += W) {
    acc = _mm256_add_ps(
        acc, fl_avx2_bce_logits(_mm256_loadu_ps(y + j), _mm256_loadu_ps(z + j), scalev, &g));
    if (with_grad) _mm256_storeu_ps(grad + j, g);
  }
  if (j < m) {
    const size_t count = m - j;
    const __m256i mask = fl_avx2_tail_mask(count);
    const __m256 term = fl_avx2_bce_logits(_mm256_maskload_ps(y + j, mask),
                                           _mm256_maskload_ps(z + j, mask), scalev, &g);
    acc = _mm256_add_ps(acc, _mm256_and_ps(term, _mm256_castsi256_ps(mask)));
    if (with_grad) fl_avx2_store_tail(grad + j, count, g);
  }
  return (double)fl_avx2_hsum(acc);
}

static double fl_f32_vae_bce_logits_ukernel__avx2(size_t m, const float *y, const float *z,
                                                  float scale, float *grad) {
  return grad != NULL ? fl_avx2_bce_logits_row(m, y, z, scale, grad, 1)
                      : fl_avx2_bce_logits_row(m, y, z, scale, NULL, 0);
}

/* mu^2 + exp(lv) - 1 - lv, and exp(lv) - 1 for the gradient. */
FL_TILE_INLINE __m256 fl_avx2_kl(__m256 mu, __m256 lv, __m256 *em1) {
  *em1 = _mm256_sub_ps(fl_avx2_exp(lv), _mm256_set1_ps(1.0f));
  return _mm256_fmadd_ps(mu, mu, _mm256_sub_ps(*em1, lv));
}

static double fl_f32_vae_kl_ukernel__avx2(size_t m, const float *mu, const float *lv, float scale,
                                          float *dlv, float *dmu) {
  const __m256 scalev = _mm256_set1_ps(scale), half_scale = _mm256_set1_ps(0.5f * scale);
  __m256 acc = _mm256_setzero_ps(), em1;
  size_t j = 0;
  for (; j + W <= m; j += W) {
    const __m256 muv = _mm256_loadu_ps(mu + j);
    acc = _mm256_add_ps(acc, fl_avx2_kl(muv, _mm256_loadu_ps(lv + j), &em1));
    if (dlv != NULL) _mm256_storeu_ps(dlv + j, _mm256_mul_ps(half_scale, em1));
    if (dmu != NULL) _mm256_storeu_ps(dmu + j, _mm256_mul_ps(scalev, muv));
  }
  if (j < m) {
    const size_t count = m - j;
    const __m256i mask = fl_avx2_tail_mask(count);
    const __m256 muv = _mm256_maskload_ps(mu + j, mask);
    const __m256 term = fl_avx2_kl(muv, _mm256_maskload_ps(lv + j, mask), &em1);
    acc = _mm256_add_ps(acc, _mm256_and_ps(term, _mm256_castsi256_ps(mask)));
    if (dlv != NULL) fl_avx2_store_tail(dlv + j, count, _mm256_mul_ps(half_scale, em1));
    if (dmu != NULL) fl_avx2_store_tail(dmu + j, count, _mm256_mul_ps(scalev, muv));
  }
  return 0.5 * (double)fl_avx2_hsum(acc);
}

static void fl_f32_vae_log_ukernel__avx2(size_t m, const float *x, float *y) {
  size_t j = 0;
  for (; j + W <= m; j += W) _mm256_storeu_ps(y + j, fl_avx2_log(_mm256_loadu_ps(x + j)));
  if (j < m)
    fl_avx2_store_tail(y + j, m - j,
                       fl_avx2_log(_mm256_maskload_ps(x + j, fl_avx2_tail_mask(m - j))));
}

const fl_f32_vae_kernels fl_f32_vae_kernels__avx2 = {FL_VAE_KERNELS(FL_KERNEL_ENTRY, float)};
