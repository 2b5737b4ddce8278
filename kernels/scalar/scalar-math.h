/* Scalar exp for the f32 kernels: the same range reduction and polynomial as
 * the SIMD kernels, so that the scalar baseline differs from them only in
 * summation order.
 *
 * exp(x) = 2^n * p(r), n = round(x / ln2), r = x - n ln2 in [-ln2/2, ln2/2],
 * ln2 split in two parts (Cody-Waite) so r is exact to ~2^-33.  p is a degree-6
 * polynomial 1 + r + c2 r^2 + ... + c6 r^6 fitted here for minimum error in
 * ULPs of the result (0.06 ULP on the interval; a degree-5 fit measured
 * 2.2 ULP after rounding, over the 2 ULP target).  With FMA the result is
 * within 1 ULP of exp(x), without FMA (the baseline x86-64 scalar build)
 * within 2; tests/test_exp.c checks the bound on every ISA.
 * Domain: the kernels only take exp of x - max <= 0, so there is no
 * overflow path.  x is clamped at -88, where n = -127 makes the 2^n scale
 * +0: results below 2^-126 (x < -87.34) are flushed to 0 or kept as
 * denormals, an absolute error under 2^-126, and -inf gives exactly 0.  NaN
 * gives NaN.  (Leaving out the overflow and underflow selects saves a third
 * of the non-FMA instructions, which bound the kernels on AMD Zen.)
 *
 * With -Dexp=sleef (FASTLOSS_EXP_SLEEF) every kernel calls SLEEF's 1-ULP
 * Sleef_expf*_u10 instead. */
#ifndef FASTLOSS_SCALAR_MATH_H
#define FASTLOSS_SCALAR_MATH_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#define FL_EXPF_CLAMP (-88.0f) /* n = round(x / ln2) = -127 here: 2^n encodes as +0 */
#define FL_LOG2E 1.44269502162933349609375f
#define FL_LN2_HI 0.693145751953125f         /* ln2 with its low 12 bits cleared */
#define FL_LN2_LO 1.428606765330187045e-06f  /* ln2 - FL_LN2_HI */
#define FL_ROUND_MAGIC 12582912.0f           /* 1.5 * 2^23: adding it rounds to an integer */
#define FL_EXP_C2 0.49999991059303284f
#define FL_EXP_C3 0.1666651964187622f
#define FL_EXP_C4 0.0416690856218338f
#define FL_EXP_C5 0.008368847891688347f
#define FL_EXP_C6 0.0013780402950942516f

/* Fused multiply-add where the target has it in hardware; the baseline x86-64
 * build has not, and a libm fmaf call would make the scalar baseline
 * artificially slow. */
#ifdef FP_FAST_FMAF
#define FL_FMAF(a, b, c) fmaf(a, b, c)
#else
#define FL_FMAF(a, b, c) ((a) * (b) + (c))
#endif

#ifdef FASTLOSS_EXP_SLEEF
#include <sleef.h>
static inline float fl_scalar_exp_nonpos(float x) { return Sleef_expf_u10(x); }
#else
static inline float fl_scalar_exp_nonpos(float x) {
  const float xc = x < FL_EXPF_CLAMP ? FL_EXPF_CLAMP : x;
  const float t = FL_FMAF(xc, FL_LOG2E, FL_ROUND_MAGIC);
  const float n = t - FL_ROUND_MAGIC;
  float r = FL_FMAF(n, -FL_LN2_HI, xc);
  r = FL_FMAF(n, -FL_LN2_LO, r);
  float p = FL_FMAF(FL_EXP_C6, r, FL_EXP_C5);
  p = FL_FMAF(p, r, FL_EXP_C4);
  p = FL_FMAF(p, r, FL_EXP_C3);
  p = FL_FMAF(p, r, FL_EXP_C2);
  p = FL_FMAF(p, r, 1.0f);
  p = FL_FMAF(p, r, 1.0f);
  uint32_t bits;
  memcpy(&bits, &t, sizeof bits);
  /* The low bits of t hold n + 0x400000; n + 127 in the exponent field is
   * 2^n, and for n = -127 the field is 0: +0. */
  bits = (bits + 127u - 0x400000u) << 23;
  float scale;
  memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}
#endif

#endif
