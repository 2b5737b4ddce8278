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
/* The core shared by fl_scalar_exp_nonpos and fl_scalar_exp: t = xc log2(e) plus the
 * rounding magic (n = round(xc / ln2) in its low bits) and the polynomial
 * p(r) ~ exp(r), r = xc - n ln2; each caller scales by its power of two. */
static inline float fl_scalar_exp_core(float xc, float *t_out) {
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
  *t_out = t;
  return p;
}

static inline float fl_scalar_exp_nonpos(float x) {
  const float xc = x < FL_EXPF_CLAMP ? FL_EXPF_CLAMP : x;
  float t;
  const float p = fl_scalar_exp_core(xc, &t);
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

/* The clip of NCE's binary cross-entropy terms (nce_sigmoid_bce): eps =
 * FLT_EPSILON, -log(eps) = 23 ln 2 and -log1p(-eps) = eps + eps^2 / 2 +
 * eps^3 / 3 + ..., each rounded to float (the decimals are the values to
 * 40 digits). */
#define FL_NCE_EPS 0x1p-23f
#define FL_NCE_CLIP_LOW 15.94238515287874211659633879353806106574f
#define FL_NCE_CLIP_HIGH 1.192092966562091722896838486808843580911e-7f

/* ------------------------------------------------------ full-range exp, log
 * Added for the VAE kernels (the KL term takes exp of a log-variance, which
 * may be positive; the Bernoulli term takes logs).
 *
 * fl_scalar_exp: exp(x) for every x.  The reduction and polynomial of
 * exp_nonpos, with x clamped to [-88, 88.75] (NaN passes the clamps) and
 * 2^n applied as (2 p) * 2^(n - 1): 2^(n - 1) stays a normal float up to
 * n = 128, so results up to FLT_MAX are finite and anything past ln(FLT_MAX)
 * = 88.72 overflows to +inf, the true value, never NaN.  For n <= -126
 * (x < -87.0) the exponent field would go negative: the scale is then +0
 * and the result is flushed (absolute error < 2^-125).  Same ULP bound as
 * exp_nonpos (1 with FMA, 2 without) over the normal range.
 *
 * fl_scalar_log: log(x) for positive normal x (the kernels only take logs
 * of clipped probabilities in [eps32, 1 - eps32] and of 1 + e, e in [0, 1]);
 * NaN gives NaN, other inputs give unspecified values.  x = 2^k m with m in
 * [sqrt(1/2), sqrt(2)), found by integer arithmetic on the bits (no frexp,
 * no conversion instruction: AVX-512's cvtepi32_ps is missing from SIMDe),
 * f = m - 1 exact (Sterbenz), log(x) = k ln2 + f + f^2 q(f) with q of
 * degree 7 fitted here (weighted least squares, Lawson iterations, for
 * minimax error relative to log1p(f) over [sqrt(1/2) - 1, sqrt(2) - 1]:
 * 0.50 ULP before rounding; degree 6 was 3.0).  k ln2 is split as for exp
 * (k ln2_hi is exact for |k| < 2^12).  Measured over every positive normal
 * float against the double log: 1.14 ULP with FMA, 1.22 without;
 * tests/test_vae.c checks 1.25 on every ISA.  No lookup tables.
 *
 * With FASTLOSS_EXP_SLEEF both come from SLEEF (u10). */
#define FL_EXPF_MAX 88.75f /* n = 128: still finite through 2^(n - 1) */
#define FL_LOG_SQRT_HALF_BITS 0x3f3504f3u /* bits of sqrt(1/2) */
#define FL_LOG_EXP_OFFSET 0x40000000u     /* makes (bits - sqrt(1/2) bits) + offset >= 0 */
#define FL_LOG_EXP_MAGIC 12583040.0f       /* FL_ROUND_MAGIC + 128: k + 128 as integer bits */
#define FL_LOG_C0 -0.499999911f
#define FL_LOG_C1 0.333339512f
#define FL_LOG_C2 -0.250017554f
#define FL_LOG_C3 0.199620724f
#define FL_LOG_C4 -0.165705085f
#define FL_LOG_C5 0.149179742f
#define FL_LOG_C6 -0.143075183f
#define FL_LOG_C7 0.0873483643f

#ifdef FASTLOSS_EXP_SLEEF
static inline float fl_scalar_exp(float x) { return Sleef_expf_u10(x); }
static inline float fl_scalar_log(float x) { return Sleef_logf_u10(x); }
#else
static inline float fl_scalar_exp(float x) {
  float xc = x > FL_EXPF_MAX ? FL_EXPF_MAX : x;
  xc = xc < FL_EXPF_CLAMP ? FL_EXPF_CLAMP : xc;
  float t;
  const float p = fl_scalar_exp_core(xc, &t);
  uint32_t bits;
  memcpy(&bits, &t, sizeof bits);
  /* n - 1 + 127 in the exponent field; for n = -127 the field is -1 and
   * the pattern reads as -inf, which the max turns into +0. */
  bits = (bits + 126u - 0x400000u) << 23;
  float scale;
  memcpy(&scale, &bits, sizeof scale);
  scale = scale > 0.0f ? scale : 0.0f;
  return (p * 2.0f) * scale;
}

static inline float fl_scalar_log(float x) {
  uint32_t bits;
  memcpy(&bits, &x, sizeof bits);
  const uint32_t offset = bits - FL_LOG_SQRT_HALF_BITS;
  /* k + 128 from the exponent field, converted to float through the
   * round-to-integer magic (exact for |k| < 2^22). */
  const uint32_t k_bits = ((offset + FL_LOG_EXP_OFFSET) >> 23) + 0x4B400000u;
  const uint32_t m_bits = (offset & 0x7fffffu) + FL_LOG_SQRT_HALF_BITS;
  float k, m;
  memcpy(&k, &k_bits, sizeof k);
  memcpy(&m, &m_bits, sizeof m);
  k -= FL_LOG_EXP_MAGIC;
  const float f = m - 1.0f;
  float q = FL_FMAF(FL_LOG_C7, f, FL_LOG_C6);
  q = FL_FMAF(q, f, FL_LOG_C5);
  q = FL_FMAF(q, f, FL_LOG_C4);
  q = FL_FMAF(q, f, FL_LOG_C3);
  q = FL_FMAF(q, f, FL_LOG_C2);
  q = FL_FMAF(q, f, FL_LOG_C1);
  q = FL_FMAF(q, f, FL_LOG_C0);
  const float low = FL_FMAF(k, FL_LN2_LO, FL_FMAF(f * f, q, f));
  /* x - x is 0, or NaN for NaN x: the bit manipulations above lose NaN. */
  return FL_FMAF(k, FL_LN2_HI, low) + (x - x);
}
#endif

/* ------------------------------------------------ expm1, tanh, GELU (erf)
 * Added for the SquaredError activations (ELU, SELU, Tanh, GELU).
 *
 * fl_scalar_expm1_nonpos: e^x - 1 for x <= 0 (and NaN), accurate relative
 * to the result near 0, where exp(x) - 1 would cancel.  For x < -ln2,
 * exp(x) <= 1/2 and exp_nonpos(x) - 1 loses nothing (the result is in
 * [-1, -1/2] and exp's error is at most half an ULP of it).  On [-ln2, 0]
 * the Taylor series x + x^2 (1/2! + x/3! + ... + x^8/10!): the first term
 * left out, x^11/11!, is under 2.6e-8 of |e^x - 1| there.
 *
 * fl_scalar_tanh: tanh(x), odd.  For |x| < 0.55 the Taylor series x + x^3
 * P(x^2) to x^19 (the first term left out, 9.7e-5 x^21, is under 7e-10 of
 * tanh x), with no cancellation; beyond, (1 - e) / (1 + e) with e =
 * exp(-2|x|) <= 0.333, so 1 - e >= 0.667 and exp's error shrinks by e in
 * the result.  The derivative 1 - tanh^2 is 4e / (1 + e)^2 there, exact in
 * the tail where 1 - t^2 would cancel to 0 (t rounds to 1 past |x| = 9).
 * tests/test_sqerr.c measures both on every ISA.
 *
 * fl_scalar_gelu_erf: z Phi(z) and Phi(z) + z phi(z) in double through
 * libm's erfc and exp (Phi(z) = erfc(-z / sqrt 2) / 2 keeps the negative
 * tail's relative accuracy, which 1 + erf would cancel): correctly rounded
 * to float but for double rounding.  The kernels now use the float
 * version at the end of this header (fl_scalar_gelu_erf_f32, vectorised
 * in the SIMD headers); this one stays as a double-precision reference. */
#define FL_LN2 0.693147180559945309f
#define FL_EXPM1_C2 0.5f
#define FL_EXPM1_C3 0.166666666666666667f    /* 1/3! */
#define FL_EXPM1_C4 0.0416666666666666667f   /* 1/4! */
#define FL_EXPM1_C5 0.00833333333333333333f  /* 1/5! */
#define FL_EXPM1_C6 0.00138888888888888889f  /* 1/6! */
#define FL_EXPM1_C7 1.98412698412698413e-4f  /* 1/7! */
#define FL_EXPM1_C8 2.48015873015873016e-5f  /* 1/8! */
#define FL_EXPM1_C9 2.75573192239858907e-6f  /* 1/9! */
#define FL_EXPM1_C10 2.75573192239858907e-7f /* 1/10! */
#define FL_TANH_SMALL 0.55f
#define FL_TANH_C3 -0.333333333333333333f    /* -1/3 */
#define FL_TANH_C5 0.133333333333333333f     /* 2/15 */
#define FL_TANH_C7 -0.0539682539682539683f   /* -17/315 */
#define FL_TANH_C9 0.0218694885361552028f    /* 62/2835 */
#define FL_TANH_C11 -0.00886323552990219657f /* -1382/155925 */
#define FL_TANH_C13 0.00359212803657248102f  /* 21844/6081075 */
#define FL_TANH_C15 -0.00145583438705131827f /* -929569/638512875 */
#define FL_TANH_C17 5.90027440945585799e-4f  /* 6404582/10854718875 */
#define FL_TANH_C19 -2.39129114243552481e-4f /* -443861162/1856156927625 */

/* x + x^2 (1/2 + x/6 + ... + x^8/10!), the small-|x| branch of expm1. */
static inline float fl_scalar_expm1_poly(float x) {
  float q = FL_FMAF(FL_EXPM1_C10, x, FL_EXPM1_C9);
  q = FL_FMAF(q, x, FL_EXPM1_C8);
  q = FL_FMAF(q, x, FL_EXPM1_C7);
  q = FL_FMAF(q, x, FL_EXPM1_C6);
  q = FL_FMAF(q, x, FL_EXPM1_C5);
  q = FL_FMAF(q, x, FL_EXPM1_C4);
  q = FL_FMAF(q, x, FL_EXPM1_C3);
  q = FL_FMAF(q, x, FL_EXPM1_C2);
  return FL_FMAF(x * x, q, x);
}

static inline float fl_scalar_expm1_nonpos(float x) {
  return x < -FL_LN2 ? fl_scalar_exp_nonpos(x) - 1.0f : fl_scalar_expm1_poly(x);
}

/* x + x^3 P(x^2), the small-|x| branch of tanh. */
static inline float fl_scalar_tanh_poly(float x) {
  const float s = x * x;
  float p = FL_FMAF(FL_TANH_C19, s, FL_TANH_C17);
  p = FL_FMAF(p, s, FL_TANH_C15);
  p = FL_FMAF(p, s, FL_TANH_C13);
  p = FL_FMAF(p, s, FL_TANH_C11);
  p = FL_FMAF(p, s, FL_TANH_C9);
  p = FL_FMAF(p, s, FL_TANH_C7);
  p = FL_FMAF(p, s, FL_TANH_C5);
  p = FL_FMAF(p, s, FL_TANH_C3);
  return FL_FMAF(x * s, p, x);
}

/* tanh(x) and its derivative 1 - tanh(x)^2. */
static inline void fl_scalar_tanh(float x, float *t, float *d) {
  const float a = fabsf(x);
  if (a < FL_TANH_SMALL) {
    const float p = fl_scalar_tanh_poly(x);
    *t = p;
    *d = FL_FMAF(-p, p, 1.0f);
    return;
  }
  const float e = fl_scalar_exp_nonpos(-2.0f * a);
  const float u = 1.0f + e;
  *t = copysignf((1.0f - e) / u, x);
  *d = (4.0f * e) / (u * u);
}

#define FL_SQRT_HALF 0.70710678118654752440
#define FL_INV_SQRT_2PI 0.39894228040143267794

static inline void fl_scalar_gelu_erf(float z, float *f, float *d) {
  const double x = z;
  const double phi_cdf = 0.5 * erfc(-x * FL_SQRT_HALF);
  /* Past |x| = 40 the density is 0 in double; the clamp keeps inf * 0 out. */
  const double xc = x < -40.0 ? -40.0 : (x > 40.0 ? 40.0 : x);
  const double density = FL_INV_SQRT_2PI * exp(-0.5 * xc * xc);
  *f = (float)(x < -40.0 ? -0.0 : x * phi_cdf);
  *d = (float)(phi_cdf + xc * density);
}

/* ------------------------------------------------ GELU (erf) in float
 * Added to vectorise GELU's exact form: fl_scalar_gelu_erf_f32 is the
 * algorithm of fl_avx2_gelu_erf, fl_avx512_gelu_erf and fl_neon_gelu_erf
 * (same constants, same operations), so the scalar kernel differs from
 * them only where it lacks FMA.  (fl_scalar_gelu_erf above, in double
 * through libm, is what every ISA ran before.)
 *
 * GELU(z) = z Phi(z), GELU'(z) = Phi(z) + z phi(z), phi(x) = e^{-x^2/2} /
 * sqrt(2 pi).  With a = |z|, everything comes from Q = Phi(-a), the lower
 * tail, which is small and never formed as 1 - something:
 *   Q = e^{-a^2/2} R(a),   R(a) = Phi(-a) e^{a^2/2} (Mills' ratio / sqrt 2pi)
 *   z < 0:  Phi = Q,     GELU' = e^{-a^2/2} (R - a / sqrt 2pi)
 *   z >= 0: Phi = 1 - Q, GELU' = 1 - e^{-a^2/2} (R - a / sqrt 2pi)
 * so the far negative tail keeps its relative accuracy (no 1 + erf), and
 * both signs are one fma with the sign of the exponential flipped.
 * - e^{-a^2/2}: a = hi + lo with hi the top 12 bits of a, so hi^2 / 2 is
 *   exact and exp (of this header) sees an exact argument; the rest,
 *   l = lo (hi + a) / 2 <= 2^-11 a^2 (under 0.11), becomes the factor
 *   1 + eps, eps = e^{-l} - 1 = -l + l^2/2 - ... - l^5/120 (the first term
 *   left out, l^6/720, is under 3e-9).  Rounding a^2 / 2 instead would cost
 *   a^2 / 2 * 2^-24 of relative error: 64 ULP at a = 12.
 * - R(a) = r g(r), r = 1 / (a + 3) in [1/18, 1/3]: g is smooth on that
 *   interval (a = 0..15) and a degree-10 polynomial in r fits it to 3e-9
 *   relative (Chebyshev interpolation of g, fitted here in long double
 *   against erfcl, coefficients rounded to float; g in [0.46, 1.5], and
 *   Horner's sum cancels at most by a factor 3, at a = 0).  R is
 *   sensitive to the rounding of r (d ln R / d ln r reaches 2.4 at a = 0),
 *   so a + 3 is split exactly (two-sum), the division's residual taken by
 *   fma, 1 / (a + 3) = r (1 + rho), and R corrected to first order by
 *   rho (a + 3) (1 / sqrt 2pi - a R), its derivative in r.  The correction
 *   and the factor 1 + eps join g r in one fma.  (Without FMA, in the
 *   baseline scalar build, rho is only the rounding of 1 - s r, which is
 *   where that build loses its extra ULPs.)
 * - a is clamped to 15 (NaN passes): Q underflows to 0 there (exp's
 *   argument -112.5 is below its flush point and SLEEF's), so GELU(-inf) =
 *   -0 (z is clamped to -15 in the product), GELU'(-inf) = 0, GELU(+inf) =
 *   +inf, GELU'(+inf) = 1, with no inf * 0; NaN propagates.
 * Measured against the double reference (libm erfc, exp) over [-14, 14]
 * in steps of 3e-6 and [-0.2, 0.2] in steps of 1e-7, with FMA: value
 * 4.1 ULP, derivative 4.0 ULP (in ULPs of Phi + |z phi| near the
 * derivative's zero at z = -0.75), the maxima near z = 0, where R is most
 * sensitive to r; 3.9 and 3.4 for |z| > 0.2, the far negative tail
 * included.  Without FMA 6.0 and 6.3.  Results below about 1e-38
 * (z < -13.2) are flushed as exp flushes.  tests/test_sqerr.c checks
 * 4.5 ULP (7 without FMA) on every ISA and prints the maxima. */
#define FL_GELU_ERF_CLAMP 15.0f
#define FL_GELU_ERF_HIGH_MASK 0xfffff000u /* the top 12 bits of a float */
#define FL_GELU_ERF_SHIFT 3.0f            /* r = 1 / (a + 3) */
#define FL_GELU_ERF_INV_SQRT_2PI 0.398942280401432677940f
#define FL_GELU_ERF_E5 -8.33333333333333333e-3f /* -1/5! */
#define FL_GELU_ERF_E4 4.16666666666666667e-2f  /* 1/4! */
#define FL_GELU_ERF_E3 -0.166666666666666667f   /* -1/3! */
#define FL_GELU_ERF_E2 0.5f
#define FL_GELU_ERF_G10 3.267870156e+03f
#define FL_GELU_ERF_G9 -6.764629677e+03f
#define FL_GELU_ERF_G8 5.651997034e+03f
#define FL_GELU_ERF_G7 -2.297993735e+03f
#define FL_GELU_ERF_G6 4.339677605e+02f
#define FL_GELU_ERF_G5 -6.122575382e+01f
#define FL_GELU_ERF_G4 1.862796040e+01f
#define FL_GELU_ERF_G3 6.749657750e+00f
#define FL_GELU_ERF_G2 3.209311507e+00f
#define FL_GELU_ERF_G1 1.196406569e+00f
#define FL_GELU_ERF_G0 3.989466060e-01f

/* GELU(z) in *f and GELU'(z) in *d, GELU's exact (erf) form, in float. */
static inline void fl_scalar_gelu_erf_f32(float z, float *f, float *d) {
  const float a = fabsf(z);
  const float ac = a > FL_GELU_ERF_CLAMP ? FL_GELU_ERF_CLAMP : a; /* NaN passes */
  uint32_t bits;
  memcpy(&bits, &ac, sizeof bits);
  bits &= FL_GELU_ERF_HIGH_MASK;
  float hi;
  memcpy(&hi, &bits, sizeof hi);
  const float lo = ac - hi;
  const float l = (0.5f * lo) * (hi + ac);
  float q = FL_FMAF(FL_GELU_ERF_E5, l, FL_GELU_ERF_E4);
  q = FL_FMAF(q, l, FL_GELU_ERF_E3);
  q = FL_FMAF(q, l, FL_GELU_ERF_E2);
  q = FL_FMAF(q, l, -1.0f);
  const float eps = q * l; /* e^{-l} - 1 */
  const float e = fl_scalar_exp_nonpos(-(0.5f * (hi * hi)));
  const float s = ac + FL_GELU_ERF_SHIFT;
  const float r = 1.0f / s;
  const float back = s - ac;
  const float s_err = (ac - (s - back)) + (FL_GELU_ERF_SHIFT - back); /* a + 3 = s + s_err */
  const float rho = FL_FMAF(-s_err, r, FL_FMAF(-s, r, 1.0f));
  float g = FL_FMAF(FL_GELU_ERF_G10, r, FL_GELU_ERF_G9);
  g = FL_FMAF(g, r, FL_GELU_ERF_G8);
  g = FL_FMAF(g, r, FL_GELU_ERF_G7);
  g = FL_FMAF(g, r, FL_GELU_ERF_G6);
  g = FL_FMAF(g, r, FL_GELU_ERF_G5);
  g = FL_FMAF(g, r, FL_GELU_ERF_G4);
  g = FL_FMAF(g, r, FL_GELU_ERF_G3);
  g = FL_FMAF(g, r, FL_GELU_ERF_G2);
  g = FL_FMAF(g, r, FL_GELU_ERF_G1);
  g = FL_FMAF(g, r, FL_GELU_ERF_G0);
  /* R e^{-l} = g r (1 + eps) + the division's correction, one rounding. */
  const float r_times_g = g * r;
  const float correction =
      FL_FMAF(r_times_g, eps, (rho * s) * FL_FMAF(-ac, r_times_g, FL_GELU_ERF_INV_SQRT_2PI));
  const float mills = FL_FMAF(g, r, correction);
  /* e^{-l} (R - a / sqrt 2pi) */
  const float a_density = ac * FL_GELU_ERF_INV_SQRT_2PI;
  const float slope = FL_FMAF(-a_density, eps, FL_FMAF(-ac, FL_GELU_ERF_INV_SQRT_2PI, mills));
  /* Phi = k + e' R e^{-l} and GELU' = k + e' e^{-l} (R - a / sqrt 2pi), with
   * k = 0, e' = e^{-hi^2/2} for z < 0 and k = 1, e' = -e^{-hi^2/2} else. */
  const float k = z >= 0.0f ? 1.0f : 0.0f;
  const float signed_e = z >= 0.0f ? -e : e;
  const float cdf = FL_FMAF(signed_e, mills, k);
  *d = FL_FMAF(signed_e, slope, k);
  *f = (z < -FL_GELU_ERF_CLAMP ? -FL_GELU_ERF_CLAMP : z) * cdf;
}

#endif
