/* SquaredError micro-kernels, f32, AArch64 AdvSIMD (4 lanes).  Contracts in
 * kernels/kernels.h, maths in kernels/scalar/f32-sqerr-scalar.c.
 * sum: 4 floats widened to two vectors of 2 doubles, (p - y)^2 by FMA into
 *   two double accumulators: the squares are exact, nothing overflows.
 * act: one loop per activation kind and output combination (the kind and
 *   the flags are constants after inlining, so a call computes only what it
 *   stores); every kind computes act(z) and act'(z) on 4 lanes, both
 *   branches of a piecewise or two-range function evaluated and blended.
 *   GELU's erf form is fl_neon_gelu_erf (neon-math.h): Phi(-|z|) as
 *   e^{-z^2/2} r g(r), g a polynomial in r = 1 / (|z| + 3), branch-free.
 * Errors: measured per kind by tests/test_sqerr.c (a few ULP; the tanh
 *   GELU's far negative tail loses |v| eps, v = 2u; the erf GELU stays
 *   within 4.5 ULP, far negative tail included).
 * Tails: the last m % 4 elements are copied through a 4-float stack buffer
 *   (neon-math.h; the lanes past the row read as 0, whose results are never
 *   stored or summed): nothing past a row is read or written.  Every input
 *   of an element is loaded before its outputs are stored, so an output may
 *   be an input (in place).
 * Follows kernels/avx2/f32-sqerr-avx2.c line for line. */
#include <math.h>

#include "kernels.h"
#include "neon-math.h"

#define FL_UKERNEL_NAME(name) fl_f32_##name##_ukernel__neon
#define W FL_NEON_LANES
#define FL_TILE_INLINE __attribute__((always_inline)) static inline

#define FL_GELU_C1 1.59576912160573071175f
#define FL_GELU_C3 0.07135481627260024878f
#define FL_GELU_CLAMP 20.0f

static double fl_f32_sqerr_sum_ukernel__neon(size_t m, const float *y, const float *p) {
  float64x2_t acc0 = vdupq_n_f64(0.0), acc1 = vdupq_n_f64(0.0);
  size_t j = 0;
  for (; j < m; j += W) {
    float32x4_t yv, pv;
    if (j + W <= m) {
      yv = vld1q_f32(y + j), pv = vld1q_f32(p + j);
    } else {
      yv = fl_neon_load_tail(y + j, m - j, 0.0f), pv = fl_neon_load_tail(p + j, m - j, 0.0f);
    }
    const float64x2_t lo =
        vsubq_f64(vcvt_f64_f32(vget_low_f32(pv)), vcvt_f64_f32(vget_low_f32(yv)));
    const float64x2_t hi = vsubq_f64(vcvt_high_f64_f32(pv), vcvt_high_f64_f32(yv));
    acc0 = vfmaq_f64(acc0, lo, lo);
    acc1 = vfmaq_f64(acc1, hi, hi);
  }
  return vaddvq_f64(vaddq_f64(acc0, acc1));
}

/* The parameters, broadcast. */
typedef struct fl_neon_act_consts {
  float32x4_t alpha, scale, intercept, scale_alpha;
} fl_neon_act_consts;

/* act(z) and act'(z) on 4 lanes for a constant kind. */
FL_TILE_INLINE void fl_neon_act(fl_act_kind kind, const fl_neon_act_consts *c, float32x4_t z,
                                float32x4_t *f, float32x4_t *d) {
  const float32x4_t zero = vdupq_n_f32(0.0f), one = vdupq_n_f32(1.0f);
  switch (kind) {
    case FL_ACT_AFFINE:
      *f = vfmaq_f32(c->intercept, c->scale, z);
      *d = c->scale;
      return;
    case FL_ACT_SIGMOID: {
      const float32x4_t e = fl_neon_exp_nonpos(vnegq_f32(vabsq_f32(z)));
      const float32x4_t r = vdivq_f32(one, vaddq_f32(one, e));
      const float32x4_t er = vmulq_f32(e, r);
      *f = vbslq_f32(vcgeq_f32(z, zero), r, er);
      *d = vmulq_f32(er, r);
      return;
    }
    case FL_ACT_TANH:
      fl_neon_tanh(z, f, d);
      return;
    case FL_ACT_RELU:
      /* FMAX returns NaN when either operand is NaN. */
      *f = vmaxq_f32(zero, z);
      *d = fl_neon_keep_nan(fl_neon_and_mask(one, vcgtq_f32(z, zero)), z);
      return;
    case FL_ACT_LEAKY_RELU: {
      const uint32x4_t negative = vcltq_f32(z, zero);
      *f = vbslq_f32(negative, vmulq_f32(c->alpha, z), z);
      *d = fl_neon_keep_nan(vbslq_f32(negative, c->alpha, one), z);
      return;
    }
    case FL_ACT_ELU: {
      const uint32x4_t positive = vcgtq_f32(z, zero);
      const float32x4_t negative_part = vminq_f32(zero, z); /* NaN passes */
      *f = vbslq_f32(positive, vmulq_f32(c->scale, z),
                     vmulq_f32(c->scale_alpha, fl_neon_expm1_nonpos(negative_part)));
      *d = vbslq_f32(positive, c->scale,
                     vmulq_f32(c->scale_alpha, fl_neon_exp_nonpos(negative_part)));
      return;
    }
    case FL_ACT_EXPONENTIAL:
      *f = *d = fl_neon_exp(z);
      return;
    case FL_ACT_SOFTPLUS: {
      const float32x4_t e = fl_neon_exp_nonpos(vnegq_f32(vabsq_f32(z)));
      const float32x4_t u = vaddq_f32(one, e);
      const float32x4_t r = vdivq_f32(one, u);
      const float32x4_t lost = vsubq_f32(e, vsubq_f32(u, one));
      const float32x4_t log1p_e = vfmaq_f32(fl_neon_log(u), lost, r);
      *f = vaddq_f32(vmaxnmq_f32(z, zero), log1p_e);
      *d = vbslq_f32(vcgeq_f32(z, zero), r, vmulq_f32(e, r));
      return;
    }
    case FL_ACT_HARD_SIGMOID: {
      const float32x4_t x = vfmaq_f32(vdupq_n_f32(0.5f), vdupq_n_f32(0.2f), z);
      *f = vminq_f32(one, vmaxq_f32(zero, x)); /* NaN passes both */
      const uint32x4_t inside =
          vandq_u32(vcgeq_f32(z, vdupq_n_f32(-2.5f)), vcleq_f32(z, vdupq_n_f32(2.5f)));
      *d = fl_neon_keep_nan(fl_neon_and_mask(vdupq_n_f32(0.2f), inside), z);
      return;
    }
    case FL_ACT_GELU_TANH: {
      const float32x4_t zc =
          vminq_f32(vdupq_n_f32(FL_GELU_CLAMP), vmaxq_f32(vdupq_n_f32(-FL_GELU_CLAMP), z));
      const float32x4_t z2 = vmulq_f32(zc, zc);
      const float32x4_t v =
          vmulq_f32(zc, vfmaq_f32(vdupq_n_f32(FL_GELU_C1), vdupq_n_f32(FL_GELU_C3), z2));
      const float32x4_t dv = vfmaq_f32(vdupq_n_f32(FL_GELU_C1), vdupq_n_f32(3.0f * FL_GELU_C3), z2);
      const float32x4_t e = fl_neon_exp_nonpos(vnegq_f32(vabsq_f32(v)));
      const float32x4_t r = vdivq_f32(one, vaddq_f32(one, e));
      const float32x4_t er = vmulq_f32(e, r);
      const float32x4_t s = vbslq_f32(vcgeq_f32(v, zero), r, er);
      *f = vmulq_f32(z, s);
      *d = vfmaq_f32(s, vmulq_f32(zc, dv), vmulq_f32(er, r));
      return;
    }
    case FL_ACT_GELU_ERF:
      fl_neon_gelu_erf(z, f, d);
      return;
    case FL_ACT_KIND_COUNT:
      break;
  }
  *f = *d = vdupq_n_f32(NAN);
}

/* One row for a constant kind and constant output flags. */
FL_TILE_INLINE void fl_neon_act_row(fl_act_kind kind, const fl_neon_act_consts *c, size_t m,
                                    const float *z, const float *y, const float *p, float *f,
                                    float *d, const int want_f, const int want_d,
                                    const int residual) {
  float32x4_t fv, dv;
  size_t j = 0;
  for (; j + W <= m; j += W) {
    fl_neon_act(kind, c, vld1q_f32(z + j), &fv, &dv);
    if (residual) dv = vmulq_f32(dv, vsubq_f32(vld1q_f32(p + j), vld1q_f32(y + j)));
    if (want_f) vst1q_f32(f + j, fv);
    if (want_d) vst1q_f32(d + j, dv);
  }
  if (j < m) {
    const size_t count = m - j;
    fl_neon_act(kind, c, fl_neon_load_tail(z + j, count, 0.0f), &fv, &dv);
    if (residual)
      dv = vmulq_f32(dv, vsubq_f32(fl_neon_load_tail(p + j, count, 0.0f),
                                   fl_neon_load_tail(y + j, count, 0.0f)));
    if (want_f) fl_neon_store_tail(f + j, count, fv);
    if (want_d) fl_neon_store_tail(d + j, count, dv);
  }
}

/* The output combinations of one kind. */
FL_TILE_INLINE void fl_neon_act_modes(fl_act_kind kind, const fl_neon_act_consts *c, size_t m,
                                      const float *z, const float *y, const float *p, float *f,
                                      float *d) {
  if (d == NULL)
    fl_neon_act_row(kind, c, m, z, y, p, f, d, 1, 0, 0);
  else if (y == NULL)
    f == NULL ? fl_neon_act_row(kind, c, m, z, y, p, f, d, 0, 1, 0)
              : fl_neon_act_row(kind, c, m, z, y, p, f, d, 1, 1, 0);
  else
    f == NULL ? fl_neon_act_row(kind, c, m, z, y, p, f, d, 0, 1, 1)
              : fl_neon_act_row(kind, c, m, z, y, p, f, d, 1, 1, 1);
}

static void fl_f32_sqerr_act_ukernel__neon(size_t m, const fl_act_args *act, const float *z,
                                           const float *y, const float *p, float *f, float *d) {
  if (f == NULL && d == NULL) return;
  const fl_neon_act_consts c = {vdupq_n_f32((float)act->alpha), vdupq_n_f32((float)act->scale),
                                vdupq_n_f32((float)act->intercept),
                                vdupq_n_f32((float)(act->scale * act->alpha))};
  switch (act->kind) {
#define FL_ACT_CASE(kind)                          \
  case kind:                                       \
    fl_neon_act_modes(kind, &c, m, z, y, p, f, d); \
    return;
    FL_ACT_CASE(FL_ACT_AFFINE)
    FL_ACT_CASE(FL_ACT_SIGMOID)
    FL_ACT_CASE(FL_ACT_TANH)
    FL_ACT_CASE(FL_ACT_RELU)
    FL_ACT_CASE(FL_ACT_LEAKY_RELU)
    FL_ACT_CASE(FL_ACT_ELU)
    FL_ACT_CASE(FL_ACT_EXPONENTIAL)
    FL_ACT_CASE(FL_ACT_SOFTPLUS)
    FL_ACT_CASE(FL_ACT_HARD_SIGMOID)
    FL_ACT_CASE(FL_ACT_GELU_TANH)
    FL_ACT_CASE(FL_ACT_GELU_ERF)
#undef FL_ACT_CASE
    case FL_ACT_KIND_COUNT:
      return;
  }
}

const fl_f32_sqerr_kernels fl_f32_sqerr_kernels__neon = {FL_SQERR_KERNELS(FL_KERNEL_ENTRY, float)};
