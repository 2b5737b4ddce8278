/* SquaredError micro-kernels, f32, AVX-512 F+DQ+BW+VL (16 lanes).  Contracts in
 * kernels/kernels.h, maths in kernels/scalar/f32-sqerr-scalar.c.
 * sum: 16 floats widened to two vectors of 8 doubles, (p - y)^2 by FMA into
 *   two double accumulators: the squares are exact, nothing overflows.
 * act: one loop per activation kind and output combination (the kind and
 *   the flags are constants after inlining, so a call computes only what it
 *   stores); every kind computes act(z) and act'(z) on 16 lanes, both
 *   branches of a piecewise or two-range function evaluated and blended.
 *   GELU's erf form is fl_avx512_gelu_erf (avx512-math.h): Phi(-|z|) as
 *   e^{-z^2/2} r g(r), g a polynomial in r = 1 / (|z| + 3), branch-free.
 * Errors: measured per kind by tests/test_sqerr.c (a few ULP; the tanh
 *   GELU's far negative tail loses |v| eps, v = 2u; the erf GELU stays
 *   within 4.5 ULP, far negative tail included).
 * Tails: the last m % 16 elements go through masked loads (masked-off lanes
 *   read as 0, whose results are never stored or summed) and masked stores:
 *   nothing past a row is read or written.  Every input
 *   of an element is loaded before its outputs are stored, so an output may
 *   be an input (in place).
 * Follows the AVX2 file line for line.  Compiled a second time against SIMDe
 * (FL_AVX512_EMULATED, tests only) as fl_f32_sqerr_kernels__avx512_emulated. */
#include <math.h>

#include "avx512-math.h"
#include "kernels.h"

#define FL_UKERNEL_NAME(name) fl_f32_##name##_ukernel__avx512
#define W FL_AVX512_LANES
#ifdef FL_AVX512_EMULATED
#define FL_AVX512_TABLE fl_f32_sqerr_kernels__avx512_emulated
#else
#define FL_AVX512_TABLE fl_f32_sqerr_kernels__avx512
#endif
#define FL_TILE_INLINE __attribute__((always_inline)) static inline

#define FL_GELU_C1 1.59576912160573071175f
#define FL_GELU_C3 0.07135481627260024878f
#define FL_GELU_CLAMP 20.0f

static double fl_f32_sqerr_sum_ukernel__avx512(size_t m, const float *y, const float *p) {
  __m512d acc0 = _mm512_setzero_pd(), acc1 = _mm512_setzero_pd();
  size_t j = 0;
  for (; j < m; j += W) {
    __m512 yv, pv;
    if (j + W <= m) {
      yv = _mm512_loadu_ps(y + j), pv = _mm512_loadu_ps(p + j);
    } else {
      const __mmask16 mask = fl_avx512_tail_mask(m - j);
      yv = _mm512_maskz_loadu_ps(mask, y + j), pv = _mm512_maskz_loadu_ps(mask, p + j);
    }
    const __m512d lo = _mm512_sub_pd(_mm512_cvtps_pd(_mm512_castps512_ps256(pv)),
                                     _mm512_cvtps_pd(_mm512_castps512_ps256(yv)));
    const __m512d hi = _mm512_sub_pd(_mm512_cvtps_pd(_mm512_extractf32x8_ps(pv, 1)),
                                     _mm512_cvtps_pd(_mm512_extractf32x8_ps(yv, 1)));
    acc0 = _mm512_fmadd_pd(lo, lo, acc0);
    acc1 = _mm512_fmadd_pd(hi, hi, acc1);
  }
  return fl_avx512_hsum_pd(_mm512_add_pd(acc0, acc1));
}

/* The parameters, broadcast. */
typedef struct fl_avx512_act_consts {
  __m512 alpha, scale, intercept, scale_alpha;
} fl_avx512_act_consts;

/* act(z) and act'(z) on 16 lanes for a constant kind. */
FL_TILE_INLINE void fl_avx512_act(fl_act_kind kind, const fl_avx512_act_consts *c, __m512 z,
                                  __m512 *f, __m512 *d) {
  const __m512 zero = _mm512_setzero_ps(), one = _mm512_set1_ps(1.0f);
  const __m512 sign = _mm512_set1_ps(-0.0f);
  switch (kind) {
    case FL_ACT_AFFINE:
      *f = _mm512_fmadd_ps(c->scale, z, c->intercept);
      *d = c->scale;
      return;
    case FL_ACT_SIGMOID: {
      const __m512 e = fl_avx512_exp_nonpos(_mm512_or_ps(z, sign));
      const __m512 r = _mm512_div_ps(one, _mm512_add_ps(one, e));
      const __m512 er = _mm512_mul_ps(e, r);
      *f = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(z, zero, _CMP_GE_OQ), er, r);
      *d = _mm512_mul_ps(er, r);
      return;
    }
    case FL_ACT_TANH:
      fl_avx512_tanh(z, f, d);
      return;
    case FL_ACT_RELU:
      /* max returns its second operand when either is NaN. */
      *f = _mm512_max_ps(zero, z);
      *d = fl_avx512_keep_nan(_mm512_maskz_mov_ps(_mm512_cmp_ps_mask(z, zero, _CMP_GT_OQ), one), z);
      return;
    case FL_ACT_LEAKY_RELU: {
      const __mmask16 negative = _mm512_cmp_ps_mask(z, zero, _CMP_LT_OQ);
      *f = _mm512_mask_blend_ps(negative, z, _mm512_mul_ps(c->alpha, z));
      *d = fl_avx512_keep_nan(_mm512_mask_blend_ps(negative, one, c->alpha), z);
      return;
    }
    case FL_ACT_ELU: {
      const __mmask16 positive = _mm512_cmp_ps_mask(z, zero, _CMP_GT_OQ);
      const __m512 negative_part = _mm512_min_ps(zero, z); /* NaN passes */
      *f = _mm512_mask_blend_ps(
          positive, _mm512_mul_ps(c->scale_alpha, fl_avx512_expm1_nonpos(negative_part)),
          _mm512_mul_ps(c->scale, z));
      *d = _mm512_mask_blend_ps(
          positive, _mm512_mul_ps(c->scale_alpha, fl_avx512_exp_nonpos(negative_part)), c->scale);
      return;
    }
    case FL_ACT_EXPONENTIAL:
      *f = *d = fl_avx512_exp(z);
      return;
    case FL_ACT_SOFTPLUS: {
      const __m512 e = fl_avx512_exp_nonpos(_mm512_or_ps(z, sign));
      const __m512 u = _mm512_add_ps(one, e);
      const __m512 r = _mm512_div_ps(one, u);
      const __m512 lost = _mm512_sub_ps(e, _mm512_sub_ps(u, one));
      const __m512 log1p_e = _mm512_fmadd_ps(lost, r, fl_avx512_log(u));
      *f = _mm512_add_ps(_mm512_max_ps(z, zero), log1p_e);
      *d = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(z, zero, _CMP_GE_OQ), _mm512_mul_ps(e, r), r);
      return;
    }
    case FL_ACT_HARD_SIGMOID: {
      const __m512 x = _mm512_fmadd_ps(_mm512_set1_ps(0.2f), z, _mm512_set1_ps(0.5f));
      *f = _mm512_min_ps(one, _mm512_max_ps(zero, x)); /* NaN passes both */
      const __mmask16 inside =
          (__mmask16)(_mm512_cmp_ps_mask(z, _mm512_set1_ps(-2.5f), _CMP_GE_OQ) &
                      _mm512_cmp_ps_mask(z, _mm512_set1_ps(2.5f), _CMP_LE_OQ));
      *d = fl_avx512_keep_nan(_mm512_maskz_mov_ps(inside, _mm512_set1_ps(0.2f)), z);
      return;
    }
    case FL_ACT_GELU_TANH: {
      const __m512 zc = _mm512_min_ps(_mm512_set1_ps(FL_GELU_CLAMP),
                                      _mm512_max_ps(_mm512_set1_ps(-FL_GELU_CLAMP), z));
      const __m512 z2 = _mm512_mul_ps(zc, zc);
      const __m512 v = _mm512_mul_ps(
          zc, _mm512_fmadd_ps(_mm512_set1_ps(FL_GELU_C3), z2, _mm512_set1_ps(FL_GELU_C1)));
      const __m512 dv =
          _mm512_fmadd_ps(_mm512_set1_ps(3.0f * FL_GELU_C3), z2, _mm512_set1_ps(FL_GELU_C1));
      const __m512 e = fl_avx512_exp_nonpos(_mm512_or_ps(v, sign));
      const __m512 r = _mm512_div_ps(one, _mm512_add_ps(one, e));
      const __m512 er = _mm512_mul_ps(e, r);
      const __m512 s = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(v, zero, _CMP_GE_OQ), er, r);
      *f = _mm512_mul_ps(z, s);
      *d = _mm512_fmadd_ps(_mm512_mul_ps(zc, dv), _mm512_mul_ps(er, r), s);
      return;
    }
    case FL_ACT_GELU_ERF:
      fl_avx512_gelu_erf(z, f, d);
      return;
    case FL_ACT_KIND_COUNT:
      break;
  }
  *f = *d = _mm512_set1_ps(NAN);
}

/* One row for a constant kind and constant output flags. */
FL_TILE_INLINE void fl_avx512_act_row(fl_act_kind kind, const fl_avx512_act_consts *c, size_t m,
                                      const float *z, const float *y, const float *p, float *f,
                                      float *d, const int want_f, const int want_d,
                                      const int residual) {
  __m512 fv, dv;
  size_t j = 0;
  for (; j + W <= m; j += W) {
    fl_avx512_act(kind, c, _mm512_loadu_ps(z + j), &fv, &dv);
    if (residual)
      dv = _mm512_mul_ps(dv, _mm512_sub_ps(_mm512_loadu_ps(p + j), _mm512_loadu_ps(y + j)));
    if (want_f) _mm512_storeu_ps(f + j, fv);
    if (want_d) _mm512_storeu_ps(d + j, dv);
  }
  if (j < m) {
    const size_t count = m - j;
    const __mmask16 mask = fl_avx512_tail_mask(count);
    fl_avx512_act(kind, c, _mm512_maskz_loadu_ps(mask, z + j), &fv, &dv);
    if (residual)
      dv = _mm512_mul_ps(dv, _mm512_sub_ps(_mm512_maskz_loadu_ps(mask, p + j),
                                           _mm512_maskz_loadu_ps(mask, y + j)));
    if (want_f) fl_avx512_store_tail(f + j, count, fv);
    if (want_d) fl_avx512_store_tail(d + j, count, dv);
  }
}

/* The output combinations of one kind. */
FL_TILE_INLINE void fl_avx512_act_modes(fl_act_kind kind, const fl_avx512_act_consts *c, size_t m,
                                        const float *z, const float *y, const float *p, float *f,
                                        float *d) {
  if (d == NULL)
    fl_avx512_act_row(kind, c, m, z, y, p, f, d, 1, 0, 0);
  else if (y == NULL)
    f == NULL ? fl_avx512_act_row(kind, c, m, z, y, p, f, d, 0, 1, 0)
              : fl_avx512_act_row(kind, c, m, z, y, p, f, d, 1, 1, 0);
  else
    f == NULL ? fl_avx512_act_row(kind, c, m, z, y, p, f, d, 0, 1, 1)
              : fl_avx512_act_row(kind, c, m, z, y, p, f, d, 1, 1, 1);
}

static void fl_f32_sqerr_act_ukernel__avx512(size_t m, const fl_act_args *act, const float *z,
                                             const float *y, const float *p, float *f, float *d) {
  if (f == NULL && d == NULL) return;
  const fl_avx512_act_consts c = {
      _mm512_set1_ps((float)act->alpha), _mm512_set1_ps((float)act->scale),
      _mm512_set1_ps((float)act->intercept), _mm512_set1_ps((float)(act->scale * act->alpha))};
  switch (act->kind) {
#define FL_ACT_CASE(kind)                            \
  case kind:                                         \
    fl_avx512_act_modes(kind, &c, m, z, y, p, f, d); \
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

const fl_f32_sqerr_kernels FL_AVX512_TABLE = {FL_SQERR_KERNELS(FL_KERNEL_ENTRY, float)};
