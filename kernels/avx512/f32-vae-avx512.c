/* VAE loss micro-kernels, f32, AVX-512 F+DQ+BW+VL (16 lanes).  Contracts in
 * kernels/kernels.h, maths in kernels/scalar/f32-vae-scalar.c.
 * bce: p clipped by max/min (NaN passes through); a vector whose 16 targets
 *   are all exactly 0 or 1 takes one log, of p or 1 - p chosen per lane
 *   (y log p + (1 - y) log(1 - p) is exactly that log for such a lane), any
 *   other vector two.  Gradient (p - y) scale / (p (1 - p)), one division.
 * bce_logits: e = exp(-|z|), u = 1 + e, r = 1 / u (true division), log1p(e)
 *   = log(u) + (e - (u - 1)) r; the term max(z, 0) - y z + log1p(e), the
 *   gradient scale (sigmoid(z) - y) with sigmoid(z) = r or e r by the sign.
 * kl: exp over the full range (avx512-math.h: +inf past 88.72, never NaN for
 *   finite input), term mu^2 + (exp(lv) - 1 - lv).
 * Errors: log 1.14 ULP, exp 1 ULP (as AVX2, lane for lane); row sums in one
 *   float accumulator of 16 lanes, about (m / 16) eps of the summed terms.
 * Tails: the last m % 16 elements go through masked loads (masked-off lanes
 *   read as 0 and their terms are masked out of the sums) and masked stores:
 *   nothing past a row is read or written.  Every load of an element
 *   precedes the store of its gradient, so a gradient may overwrite its own
 *   input.
 * Follows the AVX2 file line for line.  Compiled a second time against SIMDe
 * (FL_AVX512_EMULATED, tests only) as fl_f32_vae_kernels__avx512_emulated. */
#include <math.h>

#include "avx512-math.h"
#include "kernels.h"

#define FL_UKERNEL_NAME(name) fl_f32_##name##_ukernel__avx512
#define W FL_AVX512_LANES
#ifdef FL_AVX512_EMULATED
#define FL_AVX512_TABLE fl_f32_vae_kernels__avx512_emulated
#else
#define FL_AVX512_TABLE fl_f32_vae_kernels__avx512
#endif
/* with_grad must be a constant after inlining, so that loss-only calls
 * compute no gradient. */
#define FL_TILE_INLINE __attribute__((always_inline)) static inline

static size_t fl_f32_vae_outside_ukernel__avx512(size_t m, const float *p) {
  size_t j = 0;
  for (; j < m; j += W) {
    const size_t count = m - j < W ? m - j : W;
    /* Masked-off lanes read as 0, which is inside. */
    const __m512 v = _mm512_maskz_loadu_ps(fl_avx512_tail_mask(count), p + j);
    const __mmask16 bad = (__mmask16)(_mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_LT_OQ) |
                                      _mm512_cmp_ps_mask(v, _mm512_set1_ps(1.0f), _CMP_GT_OQ));
    const unsigned lanes = bad;
    if (lanes != 0) return j + (size_t)__builtin_ctz(lanes);
  }
  return m;
}

/* y log p + (1 - y) log(1 - p) at the clipped p, and the gradient. */
FL_TILE_INLINE __m512 fl_avx512_bce(__m512 y, __m512 p, __m512 eps, __m512 high, __m512 scale,
                                    __m512 *grad) {
  p = _mm512_min_ps(high, _mm512_max_ps(eps, p));
  const __m512 q = _mm512_sub_ps(_mm512_set1_ps(1.0f), p);
  const __mmask16 one = _mm512_cmp_ps_mask(y, _mm512_set1_ps(1.0f), _CMP_EQ_OQ);
  const __mmask16 binary =
      (__mmask16)(one | _mm512_cmp_ps_mask(y, _mm512_setzero_ps(), _CMP_EQ_OQ));
  __m512 likelihood;
  if (binary == 0xffff)
    likelihood = fl_avx512_log(_mm512_mask_blend_ps(one, q, p));
  else
    likelihood =
        _mm512_fmadd_ps(y, fl_avx512_log(p),
                        _mm512_mul_ps(_mm512_sub_ps(_mm512_set1_ps(1.0f), y), fl_avx512_log(q)));
  *grad = _mm512_div_ps(_mm512_mul_ps(scale, _mm512_sub_ps(p, y)), _mm512_mul_ps(p, q));
  return likelihood;
}

FL_TILE_INLINE double fl_avx512_bce_row(size_t m, const float *y, const float *p, float eps,
                                        float scale, float *grad, const int with_grad) {
  const __m512 epsv = _mm512_set1_ps(eps), high = _mm512_set1_ps(1.0f - eps);
  const __m512 scalev = _mm512_set1_ps(scale);
  __m512 acc = _mm512_setzero_ps(), g;
  size_t j = 0;
  for (; j + W <= m; j += W) {
    acc = _mm512_add_ps(
        acc, fl_avx512_bce(_mm512_loadu_ps(y + j), _mm512_loadu_ps(p + j), epsv, high, scalev, &g));
    if (with_grad) _mm512_storeu_ps(grad + j, g);
  }
  if (j < m) {
    const size_t count = m - j;
    const __mmask16 mask = fl_avx512_tail_mask(count);
    const __m512 likelihood =
        fl_avx512_bce(_mm512_maskz_loadu_ps(mask, y + j), _mm512_maskz_loadu_ps(mask, p + j), epsv,
                      high, scalev, &g);
    acc = _mm512_add_ps(acc, _mm512_maskz_mov_ps(mask, likelihood));
    if (with_grad) fl_avx512_store_tail(grad + j, count, g);
  }
  return -(double)fl_avx512_hsum(acc);
}

static double fl_f32_vae_bce_ukernel__avx512(size_t m, const float *y, const float *p, float eps,
                                             float scale, float *grad) {
  return grad != NULL ? fl_avx512_bce_row(m, y, p, eps, scale, grad, 1)
                      : fl_avx512_bce_row(m, y, p, eps, scale, NULL, 0);
}

/* softplus(z) - y z, and the gradient. */
FL_TILE_INLINE __m512 fl_avx512_bce_logits(__m512 y, __m512 z, __m512 scale, __m512 *grad) {
  const __m512 e = fl_avx512_exp_nonpos(_mm512_or_ps(z, _mm512_set1_ps(-0.0f))); /* exp(-|z|) */
  const __m512 u = _mm512_add_ps(_mm512_set1_ps(1.0f), e);
  const __m512 r = _mm512_div_ps(_mm512_set1_ps(1.0f), u);
  const __m512 lost = _mm512_sub_ps(e, _mm512_sub_ps(u, _mm512_set1_ps(1.0f)));
  const __m512 log1p_e = _mm512_fmadd_ps(lost, r, fl_avx512_log(u));
  const __m512 positive = _mm512_max_ps(z, _mm512_setzero_ps());
  /* Ordered compare: a NaN lane takes e r, which is NaN too. */
  const __m512 sigmoid = _mm512_mask_blend_ps(
      _mm512_cmp_ps_mask(z, _mm512_setzero_ps(), _CMP_GE_OQ), _mm512_mul_ps(e, r), r);
  *grad = _mm512_mul_ps(scale, _mm512_sub_ps(sigmoid, y));
  return _mm512_add_ps(_mm512_fnmadd_ps(y, z, positive), log1p_e);
}

FL_TILE_INLINE double fl_avx512_bce_logits_row(size_t m, const float *y, const float *z,
                                               float scale, float *grad, const int with_grad) {
  const __m512 scalev = _mm512_set1_ps(scale);
  __m512 acc = _mm512_setzero_ps(), g;
  size_t j = 0;
  for (; j + W <= m; j += W) {
    acc = _mm512_add_ps(
        acc, fl_avx512_bce_logits(_mm512_loadu_ps(y + j), _mm512_loadu_ps(z + j), scalev, &g));
    if (with_grad) _mm512_storeu_ps(grad + j, g);
  }
  if (j < m) {
    const size_t count = m - j;
    const __mmask16 mask = fl_avx512_tail_mask(count);
    const __m512 term = fl_avx512_bce_logits(_mm512_maskz_loadu_ps(mask, y + j),
                                             _mm512_maskz_loadu_ps(mask, z + j), scalev, &g);
    acc = _mm512_add_ps(acc, _mm512_maskz_mov_ps(mask, term));
    if (with_grad) fl_avx512_store_tail(grad + j, count, g);
  }
  return (double)fl_avx512_hsum(acc);
}

static double fl_f32_vae_bce_logits_ukernel__avx512(size_t m, const float *y, const float *z,
                                                    float scale, float *grad) {
  return grad != NULL ? fl_avx512_bce_logits_row(m, y, z, scale, grad, 1)
                      : fl_avx512_bce_logits_row(m, y, z, scale, NULL, 0);
}

/* mu^2 + exp(lv) - 1 - lv, and exp(lv) - 1 for the gradient. */
FL_TILE_INLINE __m512 fl_avx512_kl(__m512 mu, __m512 lv, __m512 *em1) {
  *em1 = _mm512_sub_ps(fl_avx512_exp(lv), _mm512_set1_ps(1.0f));
  return _mm512_fmadd_ps(mu, mu, _mm512_sub_ps(*em1, lv));
}

static double fl_f32_vae_kl_ukernel__avx512(size_t m, const float *mu, const float *lv, float scale,
                                            float *dlv, float *dmu) {
  const __m512 scalev = _mm512_set1_ps(scale), half_scale = _mm512_set1_ps(0.5f * scale);
  __m512 acc = _mm512_setzero_ps(), em1;
  size_t j = 0;
  for (; j + W <= m; j += W) {
    const __m512 muv = _mm512_loadu_ps(mu + j);
    acc = _mm512_add_ps(acc, fl_avx512_kl(muv, _mm512_loadu_ps(lv + j), &em1));
    if (dlv != NULL) _mm512_storeu_ps(dlv + j, _mm512_mul_ps(half_scale, em1));
    if (dmu != NULL) _mm512_storeu_ps(dmu + j, _mm512_mul_ps(scalev, muv));
  }
  if (j < m) {
    const size_t count = m - j;
    const __mmask16 mask = fl_avx512_tail_mask(count);
    const __m512 muv = _mm512_maskz_loadu_ps(mask, mu + j);
    const __m512 term = fl_avx512_kl(muv, _mm512_maskz_loadu_ps(mask, lv + j), &em1);
    acc = _mm512_add_ps(acc, _mm512_maskz_mov_ps(mask, term));
    if (dlv != NULL) fl_avx512_store_tail(dlv + j, count, _mm512_mul_ps(half_scale, em1));
    if (dmu != NULL) fl_avx512_store_tail(dmu + j, count, _mm512_mul_ps(scalev, muv));
  }
  return 0.5 * (double)fl_avx512_hsum(acc);
}

static void fl_f32_vae_log_ukernel__avx512(size_t m, const float *x, float *y) {
  size_t j = 0;
  for (; j + W <= m; j += W) _mm512_storeu_ps(y + j, fl_avx512_log(_mm512_loadu_ps(x + j)));
  if (j < m)
    fl_avx512_store_tail(y + j, m - j,
                         fl_avx512_log(_mm512_maskz_loadu_ps(fl_avx512_tail_mask(m - j), x + j)));
}

const fl_f32_vae_kernels FL_AVX512_TABLE = {FL_VAE_KERNELS(FL_KERNEL_ENTRY, float)};
