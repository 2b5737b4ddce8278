/* AVX2+FMA helpers shared by the AVX2 kernels: exp, tail masks and
 * horizontal reductions.  The exp is the algorithm of
 * kernels/scalar/scalar-math.h (same constants) on 8 lanes. */
#ifndef FASTLOSS_AVX2_MATH_H
#define FASTLOSS_AVX2_MATH_H

#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>

#include "scalar-math.h"

#define FL_AVX2_LANES 8

/* Lanes [0, count) set, count in [0, 8]. */
static inline __m256i fl_avx2_tail_mask(size_t count) {
  static const int32_t table[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
  return _mm256_loadu_si256((const __m256i *)(table + 8 - count));
}

/* Stores lanes [0, count) of v to p, count in [0, 8].  Not maskstore: AMD
 * Zen microcodes a 256-bit masked store (tens of cycles), which dominated
 * the small-vocabulary kernel. */
static inline void fl_avx2_store_tail(float *p, size_t count, __m256 v) {
  if (count == FL_AVX2_LANES) {
    _mm256_storeu_ps(p, v);
    return;
  }
  __m128 x = _mm256_castps256_ps128(v);
  if (count >= 4) {
    _mm_storeu_ps(p, x);
    x = _mm256_extractf128_ps(v, 1);
    p += 4;
    count -= 4;
  }
  if (count >= 2) {
    _mm_storel_pi((__m64 *)p, x);
    x = _mm_movehl_ps(x, x);
    p += 2;
    count -= 2;
  }
  if (count == 1) _mm_store_ss(p, x);
}

#ifdef FASTLOSS_EXP_SLEEF
#include <sleef.h>
static inline __m256 fl_avx2_exp_nonpos(__m256 x) { return Sleef_expf8_u10avx2(x); }
#else
/* The core shared by fl_avx2_exp_nonpos and fl_avx2_exp: t = xc log2(e) plus the
 * rounding magic (n = round(xc / ln2) in its low bits) and the polynomial
 * p(r) ~ exp(r), r = xc - n ln2; each caller scales by its power of two. */
static inline __m256 fl_avx2_exp_core(__m256 xc, __m256 *t_out) {
  const __m256 t = _mm256_fmadd_ps(xc, _mm256_set1_ps(FL_LOG2E), _mm256_set1_ps(FL_ROUND_MAGIC));
  const __m256 n = _mm256_sub_ps(t, _mm256_set1_ps(FL_ROUND_MAGIC));
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(FL_LN2_HI), xc);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(FL_LN2_LO), r);
  __m256 p = _mm256_fmadd_ps(_mm256_set1_ps(FL_EXP_C6), r, _mm256_set1_ps(FL_EXP_C5));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(FL_EXP_C4));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(FL_EXP_C3));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(FL_EXP_C2));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
  *t_out = t;
  return p;
}

/* exp(x) for x <= 0 or NaN (scalar-math.h has the details). */
static inline __m256 fl_avx2_exp_nonpos(__m256 x) {
  /* max returns its second operand when either is NaN: NaN survives the
   * clamp and flows through the polynomial. */
  const __m256 xc = _mm256_max_ps(_mm256_set1_ps(FL_EXPF_CLAMP), x);
  __m256 t;
  const __m256 p = fl_avx2_exp_core(xc, &t);
  const __m256i bits = _mm256_add_epi32(_mm256_castps_si256(t), _mm256_set1_epi32(127 - 0x400000));
  return _mm256_mul_ps(p, _mm256_castsi256_ps(_mm256_slli_epi32(bits, 23)));
}
#endif

/* Full-range exp and log for the VAE kernels: the algorithms of
 * fl_scalar_exp and fl_scalar_log (scalar-math.h has the details and the
 * measured errors) on 8 lanes. */
#ifdef FASTLOSS_EXP_SLEEF
static inline __m256 fl_avx2_exp(__m256 x) { return Sleef_expf8_u10avx2(x); }
static inline __m256 fl_avx2_log(__m256 x) { return Sleef_logf8_u10avx2(x); }
#else
static inline __m256 fl_avx2_exp(__m256 x) {
  /* min and max return their second operand when either is NaN: NaN
   * survives both clamps. */
  __m256 xc = _mm256_min_ps(_mm256_set1_ps(FL_EXPF_MAX), x);
  xc = _mm256_max_ps(_mm256_set1_ps(FL_EXPF_CLAMP), xc);
  __m256 t;
  const __m256 p = fl_avx2_exp_core(xc, &t);
  /* 2^(n - 1); for n = -127 the pattern is -inf and the max makes it +0. */
  const __m256i bits = _mm256_add_epi32(_mm256_castps_si256(t), _mm256_set1_epi32(126 - 0x400000));
  const __m256 scale = _mm256_max_ps(_mm256_castsi256_ps(_mm256_slli_epi32(bits, 23)),
                                     _mm256_setzero_ps());
  return _mm256_mul_ps(_mm256_add_ps(p, p), scale);
}

static inline __m256 fl_avx2_log(__m256 x) {
  const __m256i offset =
      _mm256_sub_epi32(_mm256_castps_si256(x), _mm256_set1_epi32((int)FL_LOG_SQRT_HALF_BITS));
  const __m256i k_bits = _mm256_add_epi32(
      _mm256_srli_epi32(_mm256_add_epi32(offset, _mm256_set1_epi32((int)FL_LOG_EXP_OFFSET)), 23),
      _mm256_set1_epi32(0x4B400000));
  const __m256i m_bits = _mm256_add_epi32(_mm256_and_si256(offset, _mm256_set1_epi32(0x7fffff)),
                                          _mm256_set1_epi32((int)FL_LOG_SQRT_HALF_BITS));
  const __m256 k = _mm256_sub_ps(_mm256_castsi256_ps(k_bits), _mm256_set1_ps(FL_LOG_EXP_MAGIC));
  const __m256 f = _mm256_sub_ps(_mm256_castsi256_ps(m_bits), _mm256_set1_ps(1.0f));
  __m256 q = _mm256_fmadd_ps(_mm256_set1_ps(FL_LOG_C7), f, _mm256_set1_ps(FL_LOG_C6));
  q = _mm256_fmadd_ps(q, f, _mm256_set1_ps(FL_LOG_C5));
  q = _mm256_fmadd_ps(q, f, _mm256_set1_ps(FL_LOG_C4));
  q = _mm256_fmadd_ps(q, f, _mm256_set1_ps(FL_LOG_C3));
  q = _mm256_fmadd_ps(q, f, _mm256_set1_ps(FL_LOG_C2));
  q = _mm256_fmadd_ps(q, f, _mm256_set1_ps(FL_LOG_C1));
  q = _mm256_fmadd_ps(q, f, _mm256_set1_ps(FL_LOG_C0));
  const __m256 low = _mm256_fmadd_ps(k, _mm256_set1_ps(FL_LN2_LO),
                                     _mm256_fmadd_ps(_mm256_mul_ps(f, f), q, f));
  /* x - x is 0, or NaN for NaN x: the integer steps above lose NaN. */
  return _mm256_add_ps(_mm256_fmadd_ps(k, _mm256_set1_ps(FL_LN2_HI), low), _mm256_sub_ps(x, x));
}
#endif

/* Transposes the 8 x 8 block v[0..7] (row r in v[r]) into out[0..7] (out
 * may be v).  128-bit lane crossings use insert/extract, which AMD Zen runs
 * far faster than vperm2f128. */
static inline void fl_avx2_transpose(const __m256 v[FL_AVX2_LANES], __m256 out[FL_AVX2_LANES]) {
  const __m256 t0 = _mm256_unpacklo_ps(v[0], v[1]), t1 = _mm256_unpackhi_ps(v[0], v[1]);
  const __m256 t2 = _mm256_unpacklo_ps(v[2], v[3]), t3 = _mm256_unpackhi_ps(v[2], v[3]);
  const __m256 t4 = _mm256_unpacklo_ps(v[4], v[5]), t5 = _mm256_unpackhi_ps(v[4], v[5]);
  const __m256 t6 = _mm256_unpacklo_ps(v[6], v[7]), t7 = _mm256_unpackhi_ps(v[6], v[7]);
  const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xee);
  const __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xee);
  const __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xee);
  const __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xee);
  out[0] = _mm256_insertf128_ps(u0, _mm256_castps256_ps128(u4), 1);
  out[1] = _mm256_insertf128_ps(u1, _mm256_castps256_ps128(u5), 1);
  out[2] = _mm256_insertf128_ps(u2, _mm256_castps256_ps128(u6), 1);
  out[3] = _mm256_insertf128_ps(u3, _mm256_castps256_ps128(u7), 1);
  out[4] = _mm256_insertf128_ps(u4, _mm256_extractf128_ps(u0, 1), 0);
  out[5] = _mm256_insertf128_ps(u5, _mm256_extractf128_ps(u1, 1), 0);
  out[6] = _mm256_insertf128_ps(u6, _mm256_extractf128_ps(u2, 1), 0);
  out[7] = _mm256_insertf128_ps(u7, _mm256_extractf128_ps(u3, 1), 0);
}

static inline float fl_avx2_hmax(__m256 v) {
  __m128 x = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  x = _mm_max_ps(x, _mm_movehl_ps(x, x));
  x = _mm_max_ss(x, _mm_movehdup_ps(x));
  return _mm_cvtss_f32(x);
}

static inline float fl_avx2_hsum(__m256 v) {
  __m128 x = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  x = _mm_add_ps(x, _mm_movehl_ps(x, x));
  x = _mm_add_ss(x, _mm_movehdup_ps(x));
  return _mm_cvtss_f32(x);
}

/* ------------------------------------------------ expm1, tanh, helpers
 * Added for the SquaredError activations: the algorithms of
 * fl_scalar_expm1_nonpos and fl_scalar_tanh (scalar-math.h has the details)
 * on 8 lanes, both branches computed and blended. */

/* d where z is a number, z (NaN) where it is NaN: piecewise derivatives
 * would otherwise turn a NaN argument into 0 or 1. */
static inline __m256 fl_avx2_keep_nan(__m256 d, __m256 z) {
  return _mm256_blendv_ps(d, z, _mm256_cmp_ps(z, z, _CMP_UNORD_Q));
}

/* e^x - 1 for x <= 0 (and NaN). */
static inline __m256 fl_avx2_expm1_nonpos(__m256 x) {
  __m256 q = _mm256_fmadd_ps(_mm256_set1_ps(FL_EXPM1_C10), x, _mm256_set1_ps(FL_EXPM1_C9));
  q = _mm256_fmadd_ps(q, x, _mm256_set1_ps(FL_EXPM1_C8));
  q = _mm256_fmadd_ps(q, x, _mm256_set1_ps(FL_EXPM1_C7));
  q = _mm256_fmadd_ps(q, x, _mm256_set1_ps(FL_EXPM1_C6));
  q = _mm256_fmadd_ps(q, x, _mm256_set1_ps(FL_EXPM1_C5));
  q = _mm256_fmadd_ps(q, x, _mm256_set1_ps(FL_EXPM1_C4));
  q = _mm256_fmadd_ps(q, x, _mm256_set1_ps(FL_EXPM1_C3));
  q = _mm256_fmadd_ps(q, x, _mm256_set1_ps(FL_EXPM1_C2));
  const __m256 poly = _mm256_fmadd_ps(_mm256_mul_ps(x, x), q, x);
  const __m256 large = _mm256_sub_ps(fl_avx2_exp_nonpos(x), _mm256_set1_ps(1.0f));
  return _mm256_blendv_ps(poly, large, _mm256_cmp_ps(x, _mm256_set1_ps(-FL_LN2), _CMP_LT_OQ));
}

/* tanh(x) in *t and 1 - tanh(x)^2 in *d. */
static inline void fl_avx2_tanh(__m256 x, __m256 *t, __m256 *d) {
  const __m256 sign = _mm256_set1_ps(-0.0f);
  const __m256 a = _mm256_andnot_ps(sign, x);
  const __m256 s = _mm256_mul_ps(x, x);
  __m256 p = _mm256_fmadd_ps(_mm256_set1_ps(FL_TANH_C19), s, _mm256_set1_ps(FL_TANH_C17));
  p = _mm256_fmadd_ps(p, s, _mm256_set1_ps(FL_TANH_C15));
  p = _mm256_fmadd_ps(p, s, _mm256_set1_ps(FL_TANH_C13));
  p = _mm256_fmadd_ps(p, s, _mm256_set1_ps(FL_TANH_C11));
  p = _mm256_fmadd_ps(p, s, _mm256_set1_ps(FL_TANH_C9));
  p = _mm256_fmadd_ps(p, s, _mm256_set1_ps(FL_TANH_C7));
  p = _mm256_fmadd_ps(p, s, _mm256_set1_ps(FL_TANH_C5));
  p = _mm256_fmadd_ps(p, s, _mm256_set1_ps(FL_TANH_C3));
  const __m256 small_t = _mm256_fmadd_ps(_mm256_mul_ps(x, s), p, x);
  const __m256 small_d = _mm256_fnmadd_ps(small_t, small_t, _mm256_set1_ps(1.0f));
  const __m256 e = fl_avx2_exp_nonpos(_mm256_mul_ps(_mm256_set1_ps(-2.0f), a));
  const __m256 u = _mm256_add_ps(_mm256_set1_ps(1.0f), e);
  const __m256 large_t = _mm256_or_ps(_mm256_div_ps(_mm256_sub_ps(_mm256_set1_ps(1.0f), e), u),
                                      _mm256_and_ps(sign, x));
  const __m256 large_d = _mm256_div_ps(_mm256_mul_ps(_mm256_set1_ps(4.0f), e), _mm256_mul_ps(u, u));
  /* Ordered compare: a NaN lane takes the large branch, NaN throughout. */
  const __m256 small = _mm256_cmp_ps(a, _mm256_set1_ps(FL_TANH_SMALL), _CMP_LT_OQ);
  *t = _mm256_blendv_ps(large_t, small_t, small);
  *d = _mm256_blendv_ps(large_d, small_d, small);
}

/* The sum of the 4 doubles of v. */
static inline double fl_avx2_hsum_pd(__m256d v) {
  __m128d x = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
  x = _mm_add_sd(x, _mm_unpackhi_pd(x, x));
  return _mm_cvtsd_f64(x);
}

/* ------------------------------------------------ GELU (erf)
 * GELU's exact form: the algorithm of fl_scalar_gelu_erf_f32 (scalar-math.h
 * has the maths and the measured errors) on 8 lanes, the two signs blended
 * into one fma. */

/* GELU(z) in *f and GELU'(z) in *d. */
static inline void fl_avx2_gelu_erf(__m256 z, __m256 *f, __m256 *d) {
  const __m256 sign = _mm256_set1_ps(-0.0f), one = _mm256_set1_ps(1.0f);
  const __m256 shift = _mm256_set1_ps(FL_GELU_ERF_SHIFT);
  const __m256 inv_sqrt_2pi = _mm256_set1_ps(FL_GELU_ERF_INV_SQRT_2PI);
  /* min returns its second operand when either is NaN: NaN passes. */
  const __m256 a = _mm256_min_ps(_mm256_set1_ps(FL_GELU_ERF_CLAMP), _mm256_andnot_ps(sign, z));
  const __m256 hi =
      _mm256_and_ps(a, _mm256_castsi256_ps(_mm256_set1_epi32((int)FL_GELU_ERF_HIGH_MASK)));
  const __m256 lo = _mm256_sub_ps(a, hi);
  const __m256 l = _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(0.5f), lo), _mm256_add_ps(hi, a));
  __m256 q = _mm256_fmadd_ps(_mm256_set1_ps(FL_GELU_ERF_E5), l, _mm256_set1_ps(FL_GELU_ERF_E4));
  q = _mm256_fmadd_ps(q, l, _mm256_set1_ps(FL_GELU_ERF_E3));
  q = _mm256_fmadd_ps(q, l, _mm256_set1_ps(FL_GELU_ERF_E2));
  q = _mm256_fmadd_ps(q, l, _mm256_set1_ps(-1.0f));
  const __m256 eps = _mm256_mul_ps(q, l);
  const __m256 half_hi2 = _mm256_mul_ps(_mm256_set1_ps(0.5f), _mm256_mul_ps(hi, hi));
  const __m256 e = fl_avx2_exp_nonpos(_mm256_xor_ps(half_hi2, sign));
  const __m256 s = _mm256_add_ps(a, shift);
  const __m256 r = _mm256_div_ps(one, s);
  const __m256 back = _mm256_sub_ps(s, a);
  const __m256 s_err =
      _mm256_add_ps(_mm256_sub_ps(a, _mm256_sub_ps(s, back)), _mm256_sub_ps(shift, back));
  const __m256 rho = _mm256_fnmadd_ps(s_err, r, _mm256_fnmadd_ps(s, r, one));
  __m256 g = _mm256_fmadd_ps(_mm256_set1_ps(FL_GELU_ERF_G10), r, _mm256_set1_ps(FL_GELU_ERF_G9));
  g = _mm256_fmadd_ps(g, r, _mm256_set1_ps(FL_GELU_ERF_G8));
  g = _mm256_fmadd_ps(g, r, _mm256_set1_ps(FL_GELU_ERF_G7));
  g = _mm256_fmadd_ps(g, r, _mm256_set1_ps(FL_GELU_ERF_G6));
  g = _mm256_fmadd_ps(g, r, _mm256_set1_ps(FL_GELU_ERF_G5));
  g = _mm256_fmadd_ps(g, r, _mm256_set1_ps(FL_GELU_ERF_G4));
  g = _mm256_fmadd_ps(g, r, _mm256_set1_ps(FL_GELU_ERF_G3));
  g = _mm256_fmadd_ps(g, r, _mm256_set1_ps(FL_GELU_ERF_G2));
  g = _mm256_fmadd_ps(g, r, _mm256_set1_ps(FL_GELU_ERF_G1));
  g = _mm256_fmadd_ps(g, r, _mm256_set1_ps(FL_GELU_ERF_G0));
  const __m256 r_times_g = _mm256_mul_ps(g, r);
  const __m256 correction = _mm256_fmadd_ps(
      r_times_g, eps,
      _mm256_mul_ps(_mm256_mul_ps(rho, s), _mm256_fnmadd_ps(a, r_times_g, inv_sqrt_2pi)));
  const __m256 mills = _mm256_fmadd_ps(g, r, correction);
  const __m256 a_density = _mm256_mul_ps(a, inv_sqrt_2pi);
  const __m256 slope = _mm256_fnmadd_ps(a_density, eps, _mm256_fnmadd_ps(a, inv_sqrt_2pi, mills));
  const __m256 nonneg = _mm256_cmp_ps(z, _mm256_setzero_ps(), _CMP_GE_OQ);
  const __m256 k = _mm256_and_ps(nonneg, one);
  const __m256 signed_e = _mm256_xor_ps(e, _mm256_and_ps(nonneg, sign));
  const __m256 cdf = _mm256_fmadd_ps(signed_e, mills, k);
  *d = _mm256_fmadd_ps(signed_e, slope, k);
  /* max returns its second operand when either is NaN. */
  *f = _mm256_mul_ps(_mm256_max_ps(_mm256_set1_ps(-FL_GELU_ERF_CLAMP), z), cdf);
}

#endif
