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
 * Range: x < -87.336548 (below ln FLT_MIN) gives +0; x > 88.722839 gives
 * +inf; x in (88.376263, 88.722839] saturates at exp(88.376263) = 2.4e38
 * (the 2^n scale stops at 2^127); NaN gives NaN.
 *
 * With -Dexp=sleef (FASTLOSS_EXP_SLEEF) every kernel calls SLEEF's 1-ULP
 * Sleef_expf*_u10 instead. */
#ifndef FASTLOSS_SCALAR_MATH_H
#define FASTLOSS_SCALAR_MATH_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#define FL_EXPF_LO (-87.33654785156250f) /* ln(FLT_MIN), rounded up */
#define FL_EXPF_HI (88.37626266479492f)  /* 127.5 ln2: largest x with n <= 127 */
#define FL_EXPF_INF (88.72283935546875f) /* above: +inf */
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
static inline float fl_scalar_expf(float x) { return Sleef_expf_u10(x); }
#else
static inline float fl_scalar_expf(float x) {
  float xc = x < FL_EXPF_LO ? FL_EXPF_LO : x;
  xc = xc > FL_EXPF_HI ? FL_EXPF_HI : xc;
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
  /* The low bits of t hold n + 0x400000 (two's complement); n + 127 in the
   * exponent field is 2^n. */
  bits = (bits + 127u - 0x400000u) << 23;
  float scale;
  memcpy(&scale, &bits, sizeof scale);
  float y = p * scale;
  if (x < FL_EXPF_LO) y = 0.0f;
  if (x > FL_EXPF_INF) y = INFINITY;
  return y;
}
#endif

#endif
