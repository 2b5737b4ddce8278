/* AArch64 AdvSIMD helpers shared by the NEON kernels: exp, tail loads and
 * stores, and horizontal reductions.  The exp is the algorithm of
 * kernels/scalar/scalar-math.h (same constants) on 4 lanes.
 * AdvSIMD has no masked loads: a tail goes through a 4-float buffer on the
 * stack, so that only [p, p + count) of the caller's memory is touched. */
#ifndef FASTLOSS_NEON_MATH_H
#define FASTLOSS_NEON_MATH_H

#include <arm_neon.h>
#include <stddef.h>
#include <stdint.h>

#include "scalar-math.h"

#define FL_NEON_LANES 4

/* Lanes [0, count) set, count in [0, 4]. */
static inline uint32x4_t fl_neon_tail_mask(size_t count) {
  static const uint32_t table[8] = {~0u, ~0u, ~0u, ~0u, 0, 0, 0, 0};
  return vld1q_u32(table + 4 - count);
}

/* p[0, count) in lanes [0, count), `fill` in the others; count in [1, 4].
 * The copies are spelled out: as a loop, GCC turns them into a memcpy call. */
static inline float32x4_t fl_neon_load_tail(const float *p, size_t count, float fill) {
  if (count == FL_NEON_LANES) return vld1q_f32(p);
  float buffer[FL_NEON_LANES] = {p[0], fill, fill, fill};
  if (count > 1) buffer[1] = p[1];
  if (count > 2) buffer[2] = p[2];
  return vld1q_f32(buffer);
}

/* Lanes [0, count) of v to p[0, count); count in [1, 4]. */
static inline void fl_neon_store_tail(float *p, size_t count, float32x4_t v) {
  if (count == FL_NEON_LANES) {
    vst1q_f32(p, v);
    return;
  }
  float buffer[FL_NEON_LANES];
  vst1q_f32(buffer, v);
  p[0] = buffer[0];
  if (count > 1) p[1] = buffer[1];
  if (count > 2) p[2] = buffer[2];
}

/* v where mask is set, +0 elsewhere. */
static inline float32x4_t fl_neon_and_mask(float32x4_t v, uint32x4_t mask) {
  return vreinterpretq_f32_u32(vandq_u32(vreinterpretq_u32_f32(v), mask));
}

/* a * b - c with one rounding (AdvSIMD fuses only c - a * b and c + a * b). */
static inline float32x4_t fl_neon_fmsub(float32x4_t a, float32x4_t b, float32x4_t c) {
  return vfmaq_f32(vnegq_f32(c), a, b);
}

#ifdef FASTLOSS_EXP_SLEEF
#include <sleef.h>
static inline float32x4_t fl_neon_exp_nonpos(float32x4_t x) { return Sleef_expf4_u10advsimd(x); }
#else
/* The core shared by fl_neon_exp_nonpos and fl_neon_exp: t = xc log2(e) plus the
 * rounding magic (n = round(xc / ln2) in its low bits) and the polynomial
 * p(r) ~ exp(r), r = xc - n ln2; each caller scales by its power of two. */
static inline float32x4_t fl_neon_exp_core(float32x4_t xc, float32x4_t *t_out) {
  const float32x4_t t = vfmaq_f32(vdupq_n_f32(FL_ROUND_MAGIC), xc, vdupq_n_f32(FL_LOG2E));
  const float32x4_t n = vsubq_f32(t, vdupq_n_f32(FL_ROUND_MAGIC));
  float32x4_t r = vfmsq_f32(xc, n, vdupq_n_f32(FL_LN2_HI));
  r = vfmsq_f32(r, n, vdupq_n_f32(FL_LN2_LO));
  float32x4_t p = vfmaq_f32(vdupq_n_f32(FL_EXP_C5), vdupq_n_f32(FL_EXP_C6), r);
  p = vfmaq_f32(vdupq_n_f32(FL_EXP_C4), p, r);
  p = vfmaq_f32(vdupq_n_f32(FL_EXP_C3), p, r);
  p = vfmaq_f32(vdupq_n_f32(FL_EXP_C2), p, r);
  p = vfmaq_f32(vdupq_n_f32(1.0f), p, r);
  p = vfmaq_f32(vdupq_n_f32(1.0f), p, r);
  *t_out = t;
  return p;
}

/* exp(x) for x <= 0 or NaN (scalar-math.h has the details). */
static inline float32x4_t fl_neon_exp_nonpos(float32x4_t x) {
  /* FMAX returns NaN when either operand is NaN: NaN survives the clamp
   * and flows through the polynomial. */
  const float32x4_t xc = vmaxq_f32(vdupq_n_f32(FL_EXPF_CLAMP), x);
  float32x4_t t;
  const float32x4_t p = fl_neon_exp_core(xc, &t);
  const int32x4_t bits = vaddq_s32(vreinterpretq_s32_f32(t), vdupq_n_s32(127 - 0x400000));
  return vmulq_f32(p, vreinterpretq_f32_s32(vshlq_n_s32(bits, 23)));
}
#endif

/* Full-range exp and log for the VAE kernels: the algorithms of
 * fl_scalar_exp and fl_scalar_log (scalar-math.h has the details and the
 * measured errors) on 4 lanes, integer steps as in the AVX2 versions. */
#ifdef FASTLOSS_EXP_SLEEF
static inline float32x4_t fl_neon_exp(float32x4_t x) { return Sleef_expf4_u10advsimd(x); }
static inline float32x4_t fl_neon_log(float32x4_t x) { return Sleef_logf4_u10advsimd(x); }
#else
static inline float32x4_t fl_neon_exp(float32x4_t x) {
  /* FMIN and FMAX return NaN when either operand is NaN: NaN survives both
   * clamps. */
  float32x4_t xc = vminq_f32(vdupq_n_f32(FL_EXPF_MAX), x);
  xc = vmaxq_f32(vdupq_n_f32(FL_EXPF_CLAMP), xc);
  float32x4_t t;
  const float32x4_t p = fl_neon_exp_core(xc, &t);
  /* 2^(n - 1); for n = -127 the pattern is -inf and the max makes it +0. */
  const int32x4_t bits = vaddq_s32(vreinterpretq_s32_f32(t), vdupq_n_s32(126 - 0x400000));
  const float32x4_t scale =
      vmaxq_f32(vreinterpretq_f32_s32(vshlq_n_s32(bits, 23)), vdupq_n_f32(0.0f));
  return vmulq_f32(vaddq_f32(p, p), scale);
}

static inline float32x4_t fl_neon_log(float32x4_t x) {
  const uint32x4_t offset =
      vsubq_u32(vreinterpretq_u32_f32(x), vdupq_n_u32(FL_LOG_SQRT_HALF_BITS));
  const uint32x4_t k_bits =
      vaddq_u32(vshrq_n_u32(vaddq_u32(offset, vdupq_n_u32(FL_LOG_EXP_OFFSET)), 23),
                vdupq_n_u32(0x4B400000u));
  const uint32x4_t m_bits =
      vaddq_u32(vandq_u32(offset, vdupq_n_u32(0x7fffffu)), vdupq_n_u32(FL_LOG_SQRT_HALF_BITS));
  const float32x4_t k = vsubq_f32(vreinterpretq_f32_u32(k_bits), vdupq_n_f32(FL_LOG_EXP_MAGIC));
  const float32x4_t f = vsubq_f32(vreinterpretq_f32_u32(m_bits), vdupq_n_f32(1.0f));
  float32x4_t q = vfmaq_f32(vdupq_n_f32(FL_LOG_C6), vdupq_n_f32(FL_LOG_C7), f);
  q = vfmaq_f32(vdupq_n_f32(FL_LOG_C5), q, f);
  q = vfmaq_f32(vdupq_n_f32(FL_LOG_C4), q, f);
  q = vfmaq_f32(vdupq_n_f32(FL_LOG_C3), q, f);
  q = vfmaq_f32(vdupq_n_f32(FL_LOG_C2), q, f);
  q = vfmaq_f32(vdupq_n_f32(FL_LOG_C1), q, f);
  q = vfmaq_f32(vdupq_n_f32(FL_LOG_C0), q, f);
  const float32x4_t low =
      vfmaq_f32(vfmaq_f32(f, vmulq_f32(f, f), q), k, vdupq_n_f32(FL_LN2_LO));
  /* x - x is 0, or NaN for NaN x: the integer steps above lose NaN. */
  return vaddq_f32(vfmaq_f32(low, k, vdupq_n_f32(FL_LN2_HI)), vsubq_f32(x, x));
}
#endif

/* Transposes the 4 x 4 block v[0..3] (row r in v[r]) into out[0..3] (out
 * may be v). */
static inline void fl_neon_transpose(const float32x4_t v[FL_NEON_LANES],
                                     float32x4_t out[FL_NEON_LANES]) {
  const float32x4x2_t p01 = vtrnq_f32(v[0], v[1]); /* a0 b0 a2 b2 | a1 b1 a3 b3 */
  const float32x4x2_t p23 = vtrnq_f32(v[2], v[3]); /* c0 d0 c2 d2 | c1 d1 c3 d3 */
  out[0] = vcombine_f32(vget_low_f32(p01.val[0]), vget_low_f32(p23.val[0]));
  out[1] = vcombine_f32(vget_low_f32(p01.val[1]), vget_low_f32(p23.val[1]));
  out[2] = vcombine_f32(vget_high_f32(p01.val[0]), vget_high_f32(p23.val[0]));
  out[3] = vcombine_f32(vget_high_f32(p01.val[1]), vget_high_f32(p23.val[1]));
}

/* FMAXNMV: a NaN lane loses to any number, as in the kernels' running max. */
static inline float fl_neon_hmax(float32x4_t v) { return vmaxnmvq_f32(v); }

static inline float fl_neon_hsum(float32x4_t v) {
  const float32x2_t x = vadd_f32(vget_low_f32(v), vget_high_f32(v));
  return vget_lane_f32(vpadd_f32(x, x), 0);
}

/* ------------------------------------------------ expm1, tanh, helpers
 * Added for the SquaredError activations: the algorithms of
 * fl_scalar_expm1_nonpos and fl_scalar_tanh (scalar-math.h has the details)
 * on 4 lanes, both branches computed and blended, as in avx2-math.h. */

/* d where z is a number, z (NaN) where it is NaN. */
static inline float32x4_t fl_neon_keep_nan(float32x4_t d, float32x4_t z) {
  return vbslq_f32(vceqq_f32(z, z), d, z);
}

/* e^x - 1 for x <= 0 (and NaN). */
static inline float32x4_t fl_neon_expm1_nonpos(float32x4_t x) {
  float32x4_t q = vfmaq_f32(vdupq_n_f32(FL_EXPM1_C9), vdupq_n_f32(FL_EXPM1_C10), x);
  q = vfmaq_f32(vdupq_n_f32(FL_EXPM1_C8), q, x);
  q = vfmaq_f32(vdupq_n_f32(FL_EXPM1_C7), q, x);
  q = vfmaq_f32(vdupq_n_f32(FL_EXPM1_C6), q, x);
  q = vfmaq_f32(vdupq_n_f32(FL_EXPM1_C5), q, x);
  q = vfmaq_f32(vdupq_n_f32(FL_EXPM1_C4), q, x);
  q = vfmaq_f32(vdupq_n_f32(FL_EXPM1_C3), q, x);
  q = vfmaq_f32(vdupq_n_f32(FL_EXPM1_C2), q, x);
  const float32x4_t poly = vfmaq_f32(x, vmulq_f32(x, x), q);
  const float32x4_t large = vsubq_f32(fl_neon_exp_nonpos(x), vdupq_n_f32(1.0f));
  return vbslq_f32(vcltq_f32(x, vdupq_n_f32(-FL_LN2)), large, poly);
}

/* tanh(x) in *t and 1 - tanh(x)^2 in *d. */
static inline void fl_neon_tanh(float32x4_t x, float32x4_t *t, float32x4_t *d) {
  const float32x4_t a = vabsq_f32(x);
  const float32x4_t s = vmulq_f32(x, x);
  float32x4_t p = vfmaq_f32(vdupq_n_f32(FL_TANH_C17), vdupq_n_f32(FL_TANH_C19), s);
  p = vfmaq_f32(vdupq_n_f32(FL_TANH_C15), p, s);
  p = vfmaq_f32(vdupq_n_f32(FL_TANH_C13), p, s);
  p = vfmaq_f32(vdupq_n_f32(FL_TANH_C11), p, s);
  p = vfmaq_f32(vdupq_n_f32(FL_TANH_C9), p, s);
  p = vfmaq_f32(vdupq_n_f32(FL_TANH_C7), p, s);
  p = vfmaq_f32(vdupq_n_f32(FL_TANH_C5), p, s);
  p = vfmaq_f32(vdupq_n_f32(FL_TANH_C3), p, s);
  const float32x4_t small_t = vfmaq_f32(x, vmulq_f32(x, s), p);
  const float32x4_t small_d = vfmsq_f32(vdupq_n_f32(1.0f), small_t, small_t);
  const float32x4_t e = fl_neon_exp_nonpos(vmulq_f32(vdupq_n_f32(-2.0f), a));
  const float32x4_t u = vaddq_f32(vdupq_n_f32(1.0f), e);
  /* The sign of x onto the magnitude (1 - e) / u. */
  const float32x4_t large_t =
      vbslq_f32(vdupq_n_u32(0x80000000u), x, vdivq_f32(vsubq_f32(vdupq_n_f32(1.0f), e), u));
  const float32x4_t large_d = vdivq_f32(vmulq_f32(vdupq_n_f32(4.0f), e), vmulq_f32(u, u));
  /* Ordered compare: a NaN lane takes the large branch, NaN throughout. */
  const uint32x4_t small = vcltq_f32(a, vdupq_n_f32(FL_TANH_SMALL));
  *t = vbslq_f32(small, small_t, large_t);
  *d = vbslq_f32(small, small_d, large_d);
}

/* ------------------------------------------------ GELU (erf)
 * GELU's exact form: the algorithm of fl_scalar_gelu_erf_f32 (scalar-math.h
 * has the maths and the measured errors) on 4 lanes, as in avx2-math.h. */

/* GELU(z) in *f and GELU'(z) in *d. */
static inline void fl_neon_gelu_erf(float32x4_t z, float32x4_t *f, float32x4_t *d) {
  const float32x4_t one = vdupq_n_f32(1.0f), shift = vdupq_n_f32(FL_GELU_ERF_SHIFT);
  const float32x4_t inv_sqrt_2pi = vdupq_n_f32(FL_GELU_ERF_INV_SQRT_2PI);
  /* FMIN returns NaN when either operand is NaN: NaN passes. */
  const float32x4_t a = vminq_f32(vdupq_n_f32(FL_GELU_ERF_CLAMP), vabsq_f32(z));
  const float32x4_t hi = vreinterpretq_f32_u32(
      vandq_u32(vreinterpretq_u32_f32(a), vdupq_n_u32(FL_GELU_ERF_HIGH_MASK)));
  const float32x4_t lo = vsubq_f32(a, hi);
  const float32x4_t l = vmulq_f32(vmulq_f32(vdupq_n_f32(0.5f), lo), vaddq_f32(hi, a));
  float32x4_t q = vfmaq_f32(vdupq_n_f32(FL_GELU_ERF_E4), vdupq_n_f32(FL_GELU_ERF_E5), l);
  q = vfmaq_f32(vdupq_n_f32(FL_GELU_ERF_E3), q, l);
  q = vfmaq_f32(vdupq_n_f32(FL_GELU_ERF_E2), q, l);
  q = vfmaq_f32(vdupq_n_f32(-1.0f), q, l);
  const float32x4_t eps = vmulq_f32(q, l);
  const float32x4_t half_hi2 = vmulq_f32(vdupq_n_f32(0.5f), vmulq_f32(hi, hi));
  const float32x4_t e = fl_neon_exp_nonpos(vnegq_f32(half_hi2));
  const float32x4_t s = vaddq_f32(a, shift);
  const float32x4_t r = vdivq_f32(one, s);
  const float32x4_t back = vsubq_f32(s, a);
  const float32x4_t s_err = vaddq_f32(vsubq_f32(a, vsubq_f32(s, back)), vsubq_f32(shift, back));
  const float32x4_t rho = vfmsq_f32(vfmsq_f32(one, s, r), s_err, r);
  float32x4_t g = vfmaq_f32(vdupq_n_f32(FL_GELU_ERF_G9), vdupq_n_f32(FL_GELU_ERF_G10), r);
  g = vfmaq_f32(vdupq_n_f32(FL_GELU_ERF_G8), g, r);
  g = vfmaq_f32(vdupq_n_f32(FL_GELU_ERF_G7), g, r);
  g = vfmaq_f32(vdupq_n_f32(FL_GELU_ERF_G6), g, r);
  g = vfmaq_f32(vdupq_n_f32(FL_GELU_ERF_G5), g, r);
  g = vfmaq_f32(vdupq_n_f32(FL_GELU_ERF_G4), g, r);
  g = vfmaq_f32(vdupq_n_f32(FL_GELU_ERF_G3), g, r);
  g = vfmaq_f32(vdupq_n_f32(FL_GELU_ERF_G2), g, r);
  g = vfmaq_f32(vdupq_n_f32(FL_GELU_ERF_G1), g, r);
  g = vfmaq_f32(vdupq_n_f32(FL_GELU_ERF_G0), g, r);
  const float32x4_t r_times_g = vmulq_f32(g, r);
  const float32x4_t correction = vfmaq_f32(
      vmulq_f32(vmulq_f32(rho, s), vfmsq_f32(inv_sqrt_2pi, a, r_times_g)), r_times_g, eps);
  const float32x4_t mills = vfmaq_f32(correction, g, r);
  const float32x4_t a_density = vmulq_f32(a, inv_sqrt_2pi);
  const float32x4_t slope = vfmsq_f32(vfmsq_f32(mills, a, inv_sqrt_2pi), a_density, eps);
  const uint32x4_t nonneg = vcgeq_f32(z, vdupq_n_f32(0.0f));
  const float32x4_t k = fl_neon_and_mask(one, nonneg);
  const float32x4_t signed_e = vreinterpretq_f32_u32(
      veorq_u32(vreinterpretq_u32_f32(e), vandq_u32(nonneg, vdupq_n_u32(0x80000000u))));
  const float32x4_t cdf = vfmaq_f32(k, signed_e, mills);
  *d = vfmaq_f32(k, signed_e, slope);
  /* FMAX returns NaN when either operand is NaN. */
  *f = vmulq_f32(vmaxq_f32(vdupq_n_f32(-FL_GELU_ERF_CLAMP), z), cdf);
}

#endif
