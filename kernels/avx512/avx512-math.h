/* AVX-512 (F+DQ+BW+VL) helpers shared by the AVX-512 kernels: exp, tail masks
 * and horizontal reductions.  The exp is the algorithm of
 * kernels/scalar/scalar-math.h (same constants, same integer-shift 2^n rather
 * than scalef) on 16 lanes, so each lane matches the AVX2 exp bit for bit
 * (and the scalar one where the scalar build has FMA).
 *
 * With FL_AVX512_EMULATED (tests only, AVX2 hosts) the intrinsics come from
 * SIMDe's portable AVX-512 plus tests/simde-avx512-fill.h. */
#ifndef FASTLOSS_AVX512_MATH_H
#define FASTLOSS_AVX512_MATH_H

#ifdef FL_AVX512_EMULATED
/* An emulated __m512 is a 64-byte vector that must never cross a real call:
 * without AVX-512 its ABI is not the hardware one.  Everything that takes one
 * is always inlined (GCC reports an out-of-line copy, made at -O0 or by
 * cloning, with a -Wpsabi no pragma silences); clang warns at every call
 * even so, hence the pragma. */
#pragma GCC diagnostic ignored "-Wpsabi"
#define SIMDE_ENABLE_NATIVE_ALIASES
#include <simde/x86/avx512.h>

#include "simde-avx512-fill.h"
#define FL_AVX512_INLINE HEDLEY_ALWAYS_INLINE static
#else
#include <immintrin.h>
#define FL_AVX512_INLINE static inline
#endif
#include <stddef.h>
#include <stdint.h>

#include "scalar-math.h"

#define FL_AVX512_LANES 16

/* Lanes [0, count) set, count in [0, 16]. */
static inline __mmask16 fl_avx512_tail_mask(size_t count) {
  return (__mmask16)((UINT32_C(1) << count) - 1u);
}

#if defined(FASTLOSS_EXP_SLEEF) && defined(FL_AVX512_EMULATED)
#include <sleef.h>
/* SLEEF's AVX-512 entry points need real AVX-512: two AVX2 calls instead. */
FL_AVX512_INLINE __m512 fl_avx512_exp_nonpos(__m512 x) {
  const __m256 lo = Sleef_expf8_u10avx2(_mm512_castps512_ps256(x));
  const __m256 hi = Sleef_expf8_u10avx2(_mm512_extractf32x8_ps(x, 1));
  return _mm512_insertf32x8(_mm512_castps256_ps512(lo), hi, 1);
}
#elif defined(FASTLOSS_EXP_SLEEF)
#include <sleef.h>
FL_AVX512_INLINE __m512 fl_avx512_exp_nonpos(__m512 x) { return Sleef_expf16_u10avx512f(x); }
#else
/* The core shared by fl_avx512_exp_nonpos and fl_avx512_exp: t = xc log2(e) plus the
 * rounding magic (n = round(xc / ln2) in its low bits) and the polynomial
 * p(r) ~ exp(r), r = xc - n ln2; each caller scales by its power of two. */
FL_AVX512_INLINE __m512 fl_avx512_exp_core(__m512 xc, __m512 *t_out) {
  const __m512 t = _mm512_fmadd_ps(xc, _mm512_set1_ps(FL_LOG2E), _mm512_set1_ps(FL_ROUND_MAGIC));
  const __m512 n = _mm512_sub_ps(t, _mm512_set1_ps(FL_ROUND_MAGIC));
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(FL_LN2_HI), xc);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(FL_LN2_LO), r);
  __m512 p = _mm512_fmadd_ps(_mm512_set1_ps(FL_EXP_C6), r, _mm512_set1_ps(FL_EXP_C5));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(FL_EXP_C4));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(FL_EXP_C3));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(FL_EXP_C2));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  *t_out = t;
  return p;
}

/* exp(x) for x <= 0 or NaN (scalar-math.h has the details). */
FL_AVX512_INLINE __m512 fl_avx512_exp_nonpos(__m512 x) {
  /* max returns its second operand when either is NaN: NaN survives the
   * clamp and flows through the polynomial. */
  const __m512 xc = _mm512_max_ps(_mm512_set1_ps(FL_EXPF_CLAMP), x);
  __m512 t;
  const __m512 p = fl_avx512_exp_core(xc, &t);
  const __m512i bits = _mm512_add_epi32(_mm512_castps_si512(t), _mm512_set1_epi32(127 - 0x400000));
  return _mm512_mul_ps(p, _mm512_castsi512_ps(_mm512_slli_epi32(bits, 23)));
}
#endif

/* Full-range exp and log for the VAE kernels: the algorithms of
 * fl_scalar_exp and fl_scalar_log (scalar-math.h has the details and the
 * measured errors) on 16 lanes, integer steps as in the AVX2 versions (no
 * srai or cvtepi32_ps, which SIMDe lacks), so each lane matches AVX2. */
#if defined(FASTLOSS_EXP_SLEEF) && defined(FL_AVX512_EMULATED)
FL_AVX512_INLINE __m512 fl_avx512_exp(__m512 x) {
  const __m256 lo = Sleef_expf8_u10avx2(_mm512_castps512_ps256(x));
  const __m256 hi = Sleef_expf8_u10avx2(_mm512_extractf32x8_ps(x, 1));
  return _mm512_insertf32x8(_mm512_castps256_ps512(lo), hi, 1);
}
FL_AVX512_INLINE __m512 fl_avx512_log(__m512 x) {
  const __m256 lo = Sleef_logf8_u10avx2(_mm512_castps512_ps256(x));
  const __m256 hi = Sleef_logf8_u10avx2(_mm512_extractf32x8_ps(x, 1));
  return _mm512_insertf32x8(_mm512_castps256_ps512(lo), hi, 1);
}
#elif defined(FASTLOSS_EXP_SLEEF)
FL_AVX512_INLINE __m512 fl_avx512_exp(__m512 x) { return Sleef_expf16_u10avx512f(x); }
FL_AVX512_INLINE __m512 fl_avx512_log(__m512 x) { return Sleef_logf16_u10avx512f(x); }
#else
FL_AVX512_INLINE __m512 fl_avx512_exp(__m512 x) {
  /* min and max return their second operand when either is NaN: NaN
   * survives both clamps. */
  __m512 xc = _mm512_min_ps(_mm512_set1_ps(FL_EXPF_MAX), x);
  xc = _mm512_max_ps(_mm512_set1_ps(FL_EXPF_CLAMP), xc);
  __m512 t;
  const __m512 p = fl_avx512_exp_core(xc, &t);
  /* 2^(n - 1); for n = -127 the pattern is -inf and the max makes it +0. */
  const __m512i bits = _mm512_add_epi32(_mm512_castps_si512(t), _mm512_set1_epi32(126 - 0x400000));
  const __m512 scale =
      _mm512_max_ps(_mm512_castsi512_ps(_mm512_slli_epi32(bits, 23)), _mm512_setzero_ps());
  return _mm512_mul_ps(_mm512_add_ps(p, p), scale);
}

FL_AVX512_INLINE __m512 fl_avx512_log(__m512 x) {
  const __m512i offset =
      _mm512_sub_epi32(_mm512_castps_si512(x), _mm512_set1_epi32((int)FL_LOG_SQRT_HALF_BITS));
  const __m512i k_bits = _mm512_add_epi32(
      _mm512_srli_epi32(_mm512_add_epi32(offset, _mm512_set1_epi32((int)FL_LOG_EXP_OFFSET)), 23),
      _mm512_set1_epi32(0x4B400000));
  const __m512i m_bits = _mm512_add_epi32(_mm512_and_si512(offset, _mm512_set1_epi32(0x7fffff)),
                                          _mm512_set1_epi32((int)FL_LOG_SQRT_HALF_BITS));
  const __m512 k = _mm512_sub_ps(_mm512_castsi512_ps(k_bits), _mm512_set1_ps(FL_LOG_EXP_MAGIC));
  const __m512 f = _mm512_sub_ps(_mm512_castsi512_ps(m_bits), _mm512_set1_ps(1.0f));
  __m512 q = _mm512_fmadd_ps(_mm512_set1_ps(FL_LOG_C7), f, _mm512_set1_ps(FL_LOG_C6));
  q = _mm512_fmadd_ps(q, f, _mm512_set1_ps(FL_LOG_C5));
  q = _mm512_fmadd_ps(q, f, _mm512_set1_ps(FL_LOG_C4));
  q = _mm512_fmadd_ps(q, f, _mm512_set1_ps(FL_LOG_C3));
  q = _mm512_fmadd_ps(q, f, _mm512_set1_ps(FL_LOG_C2));
  q = _mm512_fmadd_ps(q, f, _mm512_set1_ps(FL_LOG_C1));
  q = _mm512_fmadd_ps(q, f, _mm512_set1_ps(FL_LOG_C0));
  const __m512 low =
      _mm512_fmadd_ps(k, _mm512_set1_ps(FL_LN2_LO), _mm512_fmadd_ps(_mm512_mul_ps(f, f), q, f));
  /* x - x is 0, or NaN for NaN x: the integer steps above lose NaN. */
  return _mm512_add_ps(_mm512_fmadd_ps(k, _mm512_set1_ps(FL_LN2_HI), low), _mm512_sub_ps(x, x));
}
#endif

/* Transposes the 16 x 16 block v[0..15] (row r in v[r]) into out[0..15]
 * (out may be v), in registers: 64 shuffles in four rounds of 16.
 *   1. unpacklo/hi pair rows 2i, 2i+1 within each 128-bit lane;
 *   2. shuffle_ps gathers, in each 128-bit lane L, rows 4g..4g+3 of column
 *      4L + k into u[4g + k];
 *   3, 4. shuffle_f32x4 moves those 128-bit pieces across lanes: column
 *      4L + k is piece L of u[k], u[4 + k], u[8 + k], u[12 + k] in order.
 * (The first version went through memory, 16 stores and 256 scalar moves,
 * written before an AVX-512 machine was at hand.) */
FL_AVX512_INLINE void fl_avx512_transpose(const __m512 v[FL_AVX512_LANES],
                                          __m512 out[FL_AVX512_LANES]) {
  __m512 t[FL_AVX512_LANES], u[FL_AVX512_LANES];
  for (size_t i = 0; i < FL_AVX512_LANES; i += 2) {
    t[i] = _mm512_unpacklo_ps(v[i], v[i + 1]);     /* a0 b0 a1 b1 per lane */
    t[i + 1] = _mm512_unpackhi_ps(v[i], v[i + 1]); /* a2 b2 a3 b3 */
  }
  for (size_t g = 0; g < FL_AVX512_LANES; g += 4) {
    u[g + 0] = _mm512_shuffle_ps(t[g], t[g + 2], 0x44);     /* a0 b0 c0 d0 */
    u[g + 1] = _mm512_shuffle_ps(t[g], t[g + 2], 0xee);     /* a1 b1 c1 d1 */
    u[g + 2] = _mm512_shuffle_ps(t[g + 1], t[g + 3], 0x44); /* a2 b2 c2 d2 */
    u[g + 3] = _mm512_shuffle_ps(t[g + 1], t[g + 3], 0xee); /* a3 b3 c3 d3 */
  }
  for (size_t k = 0; k < 4; k++) {
    /* Pieces 0, 2 (0x88) and 1, 3 (0xdd) of two vectors, then again. */
    const __m512 w0 = _mm512_shuffle_f32x4(u[k], u[4 + k], 0x88);
    const __m512 w1 = _mm512_shuffle_f32x4(u[k], u[4 + k], 0xdd);
    const __m512 w2 = _mm512_shuffle_f32x4(u[8 + k], u[12 + k], 0x88);
    const __m512 w3 = _mm512_shuffle_f32x4(u[8 + k], u[12 + k], 0xdd);
    out[k] = _mm512_shuffle_f32x4(w0, w2, 0x88);
    out[8 + k] = _mm512_shuffle_f32x4(w0, w2, 0xdd);
    out[4 + k] = _mm512_shuffle_f32x4(w1, w3, 0x88);
    out[12 + k] = _mm512_shuffle_f32x4(w1, w3, 0xdd);
  }
}

/* Stores lanes [0, count) of v to p, count in [0, 16]. */
FL_AVX512_INLINE void fl_avx512_store_tail(float *p, size_t count, __m512 v) {
  _mm512_mask_storeu_ps(p, fl_avx512_tail_mask(count), v);
}

FL_AVX512_INLINE float fl_avx512_hmax(__m512 v) {
  const __m256 y = _mm256_max_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
  __m128 x = _mm_max_ps(_mm256_castps256_ps128(y), _mm256_extractf128_ps(y, 1));
  x = _mm_max_ps(x, _mm_movehl_ps(x, x));
  x = _mm_max_ss(x, _mm_movehdup_ps(x));
  return _mm_cvtss_f32(x);
}

FL_AVX512_INLINE float fl_avx512_hsum(__m512 v) {
  const __m256 y = _mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
  __m128 x = _mm_add_ps(_mm256_castps256_ps128(y), _mm256_extractf128_ps(y, 1));
  x = _mm_add_ps(x, _mm_movehl_ps(x, x));
  x = _mm_add_ss(x, _mm_movehdup_ps(x));
  return _mm_cvtss_f32(x);
}

/* ------------------------------------------------ expm1, tanh, helpers
 * Added for the SquaredError activations: the algorithms of
 * fl_scalar_expm1_nonpos and fl_scalar_tanh (scalar-math.h has the details)
 * on 16 lanes, both branches computed and blended, as in avx2-math.h. */

/* d where z is a number, z (NaN) where it is NaN. */
FL_AVX512_INLINE __m512 fl_avx512_keep_nan(__m512 d, __m512 z) {
  return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(z, z, _CMP_UNORD_Q), d, z);
}

/* e^x - 1 for x <= 0 (and NaN). */
FL_AVX512_INLINE __m512 fl_avx512_expm1_nonpos(__m512 x) {
  __m512 q = _mm512_fmadd_ps(_mm512_set1_ps(FL_EXPM1_C10), x, _mm512_set1_ps(FL_EXPM1_C9));
  q = _mm512_fmadd_ps(q, x, _mm512_set1_ps(FL_EXPM1_C8));
  q = _mm512_fmadd_ps(q, x, _mm512_set1_ps(FL_EXPM1_C7));
  q = _mm512_fmadd_ps(q, x, _mm512_set1_ps(FL_EXPM1_C6));
  q = _mm512_fmadd_ps(q, x, _mm512_set1_ps(FL_EXPM1_C5));
  q = _mm512_fmadd_ps(q, x, _mm512_set1_ps(FL_EXPM1_C4));
  q = _mm512_fmadd_ps(q, x, _mm512_set1_ps(FL_EXPM1_C3));
  q = _mm512_fmadd_ps(q, x, _mm512_set1_ps(FL_EXPM1_C2));
  const __m512 poly = _mm512_fmadd_ps(_mm512_mul_ps(x, x), q, x);
  const __m512 large = _mm512_sub_ps(fl_avx512_exp_nonpos(x), _mm512_set1_ps(1.0f));
  return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, _mm512_set1_ps(-FL_LN2), _CMP_LT_OQ), poly,
                              large);
}

/* tanh(x) in *t and 1 - tanh(x)^2 in *d. */
FL_AVX512_INLINE void fl_avx512_tanh(__m512 x, __m512 *t, __m512 *d) {
  const __m512 sign = _mm512_set1_ps(-0.0f);
  const __m512 a = _mm512_andnot_ps(sign, x);
  const __m512 s = _mm512_mul_ps(x, x);
  __m512 p = _mm512_fmadd_ps(_mm512_set1_ps(FL_TANH_C19), s, _mm512_set1_ps(FL_TANH_C17));
  p = _mm512_fmadd_ps(p, s, _mm512_set1_ps(FL_TANH_C15));
  p = _mm512_fmadd_ps(p, s, _mm512_set1_ps(FL_TANH_C13));
  p = _mm512_fmadd_ps(p, s, _mm512_set1_ps(FL_TANH_C11));
  p = _mm512_fmadd_ps(p, s, _mm512_set1_ps(FL_TANH_C9));
  p = _mm512_fmadd_ps(p, s, _mm512_set1_ps(FL_TANH_C7));
  p = _mm512_fmadd_ps(p, s, _mm512_set1_ps(FL_TANH_C5));
  p = _mm512_fmadd_ps(p, s, _mm512_set1_ps(FL_TANH_C3));
  const __m512 small_t = _mm512_fmadd_ps(_mm512_mul_ps(x, s), p, x);
  const __m512 small_d = _mm512_fnmadd_ps(small_t, small_t, _mm512_set1_ps(1.0f));
  const __m512 e = fl_avx512_exp_nonpos(_mm512_mul_ps(_mm512_set1_ps(-2.0f), a));
  const __m512 u = _mm512_add_ps(_mm512_set1_ps(1.0f), e);
  const __m512 large_t = _mm512_or_ps(_mm512_div_ps(_mm512_sub_ps(_mm512_set1_ps(1.0f), e), u),
                                      _mm512_and_ps(sign, x));
  const __m512 large_d = _mm512_div_ps(_mm512_mul_ps(_mm512_set1_ps(4.0f), e), _mm512_mul_ps(u, u));
  /* Ordered compare: a NaN lane takes the large branch, NaN throughout. */
  const __mmask16 small = _mm512_cmp_ps_mask(a, _mm512_set1_ps(FL_TANH_SMALL), _CMP_LT_OQ);
  *t = _mm512_mask_blend_ps(small, large_t, small_t);
  *d = _mm512_mask_blend_ps(small, large_d, small_d);
}

/* The sum of the 8 doubles of v. */
FL_AVX512_INLINE double fl_avx512_hsum_pd(__m512d v) {
  const __m256d y = _mm256_add_pd(_mm512_castpd512_pd256(v), _mm512_extractf64x4_pd(v, 1));
  __m128d x = _mm_add_pd(_mm256_castpd256_pd128(y), _mm256_extractf128_pd(y, 1));
  x = _mm_add_sd(x, _mm_unpackhi_pd(x, x));
  return _mm_cvtsd_f64(x);
}

/* ------------------------------------------------ GELU (erf)
 * GELU's exact form: the algorithm of fl_scalar_gelu_erf_f32 (scalar-math.h
 * has the maths and the measured errors) on 16 lanes, as in avx2-math.h. */

/* GELU(z) in *f and GELU'(z) in *d. */
FL_AVX512_INLINE void fl_avx512_gelu_erf(__m512 z, __m512 *f, __m512 *d) {
  const __m512 sign = _mm512_set1_ps(-0.0f), one = _mm512_set1_ps(1.0f);
  const __m512 shift = _mm512_set1_ps(FL_GELU_ERF_SHIFT);
  const __m512 inv_sqrt_2pi = _mm512_set1_ps(FL_GELU_ERF_INV_SQRT_2PI);
  /* min returns its second operand when either is NaN: NaN passes. */
  const __m512 a = _mm512_min_ps(_mm512_set1_ps(FL_GELU_ERF_CLAMP), _mm512_andnot_ps(sign, z));
  const __m512 hi =
      _mm512_and_ps(a, _mm512_castsi512_ps(_mm512_set1_epi32((int)FL_GELU_ERF_HIGH_MASK)));
  const __m512 lo = _mm512_sub_ps(a, hi);
  const __m512 l = _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(0.5f), lo), _mm512_add_ps(hi, a));
  __m512 q = _mm512_fmadd_ps(_mm512_set1_ps(FL_GELU_ERF_E5), l, _mm512_set1_ps(FL_GELU_ERF_E4));
  q = _mm512_fmadd_ps(q, l, _mm512_set1_ps(FL_GELU_ERF_E3));
  q = _mm512_fmadd_ps(q, l, _mm512_set1_ps(FL_GELU_ERF_E2));
  q = _mm512_fmadd_ps(q, l, _mm512_set1_ps(-1.0f));
  const __m512 eps = _mm512_mul_ps(q, l);
  const __m512 half_hi2 = _mm512_mul_ps(_mm512_set1_ps(0.5f), _mm512_mul_ps(hi, hi));
  const __m512 e = fl_avx512_exp_nonpos(_mm512_xor_ps(half_hi2, sign));
  const __m512 s = _mm512_add_ps(a, shift);
  const __m512 r = _mm512_div_ps(one, s);
  const __m512 back = _mm512_sub_ps(s, a);
  const __m512 s_err =
      _mm512_add_ps(_mm512_sub_ps(a, _mm512_sub_ps(s, back)), _mm512_sub_ps(shift, back));
  const __m512 rho = _mm512_fnmadd_ps(s_err, r, _mm512_fnmadd_ps(s, r, one));
  __m512 g = _mm512_fmadd_ps(_mm512_set1_ps(FL_GELU_ERF_G10), r, _mm512_set1_ps(FL_GELU_ERF_G9));
  g = _mm512_fmadd_ps(g, r, _mm512_set1_ps(FL_GELU_ERF_G8));
  g = _mm512_fmadd_ps(g, r, _mm512_set1_ps(FL_GELU_ERF_G7));
  g = _mm512_fmadd_ps(g, r, _mm512_set1_ps(FL_GELU_ERF_G6));
  g = _mm512_fmadd_ps(g, r, _mm512_set1_ps(FL_GELU_ERF_G5));
  g = _mm512_fmadd_ps(g, r, _mm512_set1_ps(FL_GELU_ERF_G4));
  g = _mm512_fmadd_ps(g, r, _mm512_set1_ps(FL_GELU_ERF_G3));
  g = _mm512_fmadd_ps(g, r, _mm512_set1_ps(FL_GELU_ERF_G2));
  g = _mm512_fmadd_ps(g, r, _mm512_set1_ps(FL_GELU_ERF_G1));
  g = _mm512_fmadd_ps(g, r, _mm512_set1_ps(FL_GELU_ERF_G0));
  const __m512 r_times_g = _mm512_mul_ps(g, r);
  const __m512 correction = _mm512_fmadd_ps(
      r_times_g, eps,
      _mm512_mul_ps(_mm512_mul_ps(rho, s), _mm512_fnmadd_ps(a, r_times_g, inv_sqrt_2pi)));
  const __m512 mills = _mm512_fmadd_ps(g, r, correction);
  const __m512 a_density = _mm512_mul_ps(a, inv_sqrt_2pi);
  const __m512 slope = _mm512_fnmadd_ps(a_density, eps, _mm512_fnmadd_ps(a, inv_sqrt_2pi, mills));
  const __mmask16 nonneg = _mm512_cmp_ps_mask(z, _mm512_setzero_ps(), _CMP_GE_OQ);
  const __m512 k = _mm512_maskz_mov_ps(nonneg, one);
  const __m512 signed_e = _mm512_mask_blend_ps(nonneg, e, _mm512_xor_ps(e, sign));
  const __m512 cdf = _mm512_fmadd_ps(signed_e, mills, k);
  *d = _mm512_fmadd_ps(signed_e, slope, k);
  /* max returns its second operand when either is NaN. */
  *f = _mm512_mul_ps(_mm512_max_ps(_mm512_set1_ps(-FL_GELU_ERF_CLAMP), z), cdf);
}

#endif
