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
/* exp(x) for x <= 0 or NaN (scalar-math.h has the details). */
static inline float32x4_t fl_neon_exp_nonpos(float32x4_t x) {
  /* FMAX returns NaN when either operand is NaN: NaN survives the clamp
   * and flows through the polynomial. */
  const float32x4_t xc = vmaxq_f32(vdupq_n_f32(FL_EXPF_CLAMP), x);
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
  const int32x4_t bits = vaddq_s32(vreinterpretq_s32_f32(t), vdupq_n_s32(127 - 0x400000));
  return vmulq_f32(p, vreinterpretq_f32_s32(vshlq_n_s32(bits, 23)));
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

#endif
