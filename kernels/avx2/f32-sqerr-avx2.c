/* SquaredError micro-kernels, f32, AVX2+FMA (8 lanes).  Contracts in
 * kernels/kernels.h, maths in kernels/scalar/f32-sqerr-scalar.c.
 * sum: 8 floats widened to two vectors of 4 doubles, (p - y)^2 by FMA into
 *   two double accumulators: the squares are exact, nothing overflows.
 * act: one loop per activation kind and output combination (the kind and
 *   the flags are constants after inlining, so a call computes only what it
 *   stores); every kind computes act(z) and act'(z) on 8 lanes, both
 *   branches of a piecewise or two-range function evaluated and blended.
 *   GELU's erf form is fl_avx2_gelu_erf (avx2-math.h): Phi(-|z|) as
 *   e^{-z^2/2} r g(r), g a polynomial in r = 1 / (|z| + 3), branch-free.
 * Errors: measured per kind by tests/test_sqerr.c (a few ULP; the tanh
 *   GELU's far negative tail loses |v| eps, v = 2u; the erf GELU stays
 *   within 4.5 ULP, far negative tail included).
 * Tails: the last m % 8 elements go through masked loads (masked-off lanes
 *   read as 0, whose results are never stored or summed) and
 *   fl_avx2_store_tail: nothing past a row is read or written.  Every input
 *   of an element is loaded before its outputs are stored, so an output may
 *   be an input (in place).
 * The AVX-512 and NEON files follow this one line for line. */
#include <math.h>

#include "avx2-math.h"
#include "kernels.h"

#define FL_UKERNEL_NAME(name) fl_f32_##name##_ukernel__avx2
#define W FL_AVX2_LANES
#define FL_TILE_INLINE __attribute__((always_inline)) static inline

#define FL_GELU_C1 1.59576912160573071175f
#define FL_GELU_C3 0.07135481627260024878f
#define FL_GELU_CLAMP 20.0f

static double fl_f32_sqerr_sum_ukernel__avx2(size_t m, const float *y, const float *p) {
  __m256d acc0 = _mm256_setzero_pd(), acc1 = _mm256_setzero_pd();
  size_t j = 0;
  for (; j < m; j += W) {
    __m256 yv, pv;
    if (j + W <= m) {
      yv = _mm256_loadu_ps(y + j), pv = _mm256_loadu_ps(p + j);
    } else {
      const __m256i mask = fl_avx2_tail_mask(m - j);
      yv = _mm256_maskload_ps(y + j, mask), pv = _mm256_maskload_ps(p + j, mask);
    }
    const __m256d lo = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(pv)),
                                     _mm256_cvtps_pd(_mm256_castps256_ps128(yv)));
    const __m256d hi = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(pv, 1)),
                                     _mm256_cvtps_pd(_mm256_extractf128_ps(yv, 1)));
    acc0 = _mm256_fmadd_pd(lo, lo, acc0);
    acc1 = _mm256_fmadd_pd(hi, hi, acc1);
  }
  return fl_avx2_hsum_pd(_mm256_add_pd(acc0, acc1));
}

/* The parameters, broadcast. */
typedef struct fl_avx2_act_consts {
  __m256 alpha, scale, intercept, scale_alpha;
} fl_avx2_act_consts;

/* act(z) and act'(z) on 8 lanes for a constant kind. */
FL_TILE_INLINE void fl_avx2_act(fl_act_kind kind, const fl_avx2_act_consts *c, __m256 z, __m256 *f,
                                __m256 *d) {
  const __m256 zero = _mm256_setzero_ps(), one = _mm256_set1_ps(1.0f);
  const __m256 sign = _mm256_set1_ps(-0.0f);
  switch (kind) {
    case FL_ACT_AFFINE:
      *f = _mm256_fmadd_ps(c->scale, z, c->intercept);
      *d = c->scale;
      return;
    case FL_ACT_SIGMOID: {
      const __m256 e = fl_avx2_exp_nonpos(_mm256_or_ps(z, sign));
      const __m256 r = _mm256_div_ps(one, _mm256_add_ps(one, e));
      const __m256 er = _mm256_mul_ps(e, r);
      *f = _mm256_blendv_ps(er, r, _mm256_cmp_ps(z, zero, _CMP_GE_OQ));
      *d = _mm256_mul_ps(er, r);
      return;
    }
    case FL_ACT_TANH:
      fl_avx2_tanh(z, f, d);
      return;
    case FL_ACT_RELU:
      /* max returns its second operand when either is NaN. */
      *f = _mm256_max_ps(zero, z);
      *d = fl_avx2_keep_nan(_mm256_and_ps(_mm256_cmp_ps(z, zero, _CMP_GT_OQ), one), z);
      return;
    case FL_ACT_LEAKY_RELU: {
      const __m256 negative = _mm256_cmp_ps(z, zero, _CMP_LT_OQ);
      *f = _mm256_blendv_ps(z, _mm256_mul_ps(c->alpha, z), negative);
      *d = fl_avx2_keep_nan(_mm256_blendv_ps(one, c->alpha, negative), z);
      return;
    }
    case FL_ACT_ELU: {
      const __m256 positive = _mm256_cmp_ps(z, zero, _CMP_GT_OQ);
      const __m256 negative_part = _mm256_min_ps(zero, z); /* NaN passes */
      *f = _mm256_blendv_ps(_mm256_mul_ps(c->scale_alpha, fl_avx2_expm1_nonpos(negative_part)),
                            _mm256_mul_ps(c->scale, z), positive);
      *d = _mm256_blendv_ps(_mm256_mul_ps(c->scale_alpha, fl_avx2_exp_nonpos(negative_part)),
                            c->scale, positive);
      return;
    }
    case FL_ACT_EXPONENTIAL:
      *f = *d = fl_avx2_exp(z);
      return;
    case FL_ACT_SOFTPLUS: {
      const __m256 e = fl_avx2_exp_nonpos(_mm256_or_ps(z, sign));
      const __m256 u = _mm256_add_ps(one, e);
      const __m256 r = _mm256_div_ps(one, u);
      const __m256 lost = _mm256_sub_ps(e, _mm256_sub_ps(u, one));
      const __m256 log1p_e = _mm256_fmadd_ps(lost, r, fl_avx2_log(u));
      *f = _mm256_add_ps(_mm256_max_ps(z, zero), log1p_e);
      *d = _mm256_blendv_ps(_mm256_mul_ps(e, r), r, _mm256_cmp_ps(z, zero, _CMP_GE_OQ));
      return;
    }
    case FL_ACT_HARD_SIGMOID: {
      const __m256 x = _mm256_fmadd_ps(_mm256_set1_ps(0.2f), z, _mm256_set1_ps(0.5f));
      *f = _mm256_min_ps(one, _mm256_max_ps(zero, x)); /* NaN passes both */
      const __m256 inside = _mm256_and_ps(_mm256_cmp_ps(z, _mm256_set1_ps(-2.5f), _CMP_GE_OQ),
                                          _mm256_cmp_ps(z, _mm256_set1_ps(2.5f), _CMP_LE_OQ));
      *d = fl_avx2_keep_nan(_mm256_and_ps(inside, _mm256_set1_ps(0.2f)), z);
      return;
    }
    case FL_ACT_GELU_TANH: {
      const __m256 zc = _mm256_min_ps(_mm256_set1_ps(FL_GELU_CLAMP),
                                      _mm256_max_ps(_mm256_set1_ps(-FL_GELU_CLAMP), z));
      const __m256 z2 = _mm256_mul_ps(zc, zc);
      const __m256 v = _mm256_mul_ps(
          zc, _mm256_fmadd_ps(_mm256_set1_ps(FL_GELU_C3), z2, _mm256_set1_ps(FL_GELU_C1)));
      const __m256 dv =
          _mm256_fmadd_ps(_mm256_set1_ps(3.0f * FL_GELU_C3), z2, _mm256_set1_ps(FL_GELU_C1));
      const __m256 e = fl_avx2_exp_nonpos(_mm256_or_ps(v, sign));
      const __m256 r = _mm256_div_ps(one, _mm256_add_ps(one, e));
      const __m256 er = _mm256_mul_ps(e, r);
      const __m256 s = _mm256_blendv_ps(er, r, _mm256_cmp_ps(v, zero, _CMP_GE_OQ));
      *f = _mm256_mul_ps(z, s);
      *d = _mm256_fmadd_ps(_mm256_mul_ps(zc, dv), _mm256_mul_ps(er, r), s);
      return;
    }
    case FL_ACT_GELU_ERF:
      fl_avx2_gelu_erf(z, f, d);
      return;
    case FL_ACT_KIND_COUNT:
      break;
  }
  *f = *d = _mm256_set1_ps(NAN);
}

/* One row for a constant kind and constant output flags. */
FL_TILE_INLINE void fl_avx2_act_row(fl_act_kind kind, const fl_avx2_act_consts *c, size_t m,
                                    const float *z, const float *y, const float *p, float *f,
                                    float *d, const int want_f, const int want_d,
                                    const int residual) {
  __m256 fv, dv;
  size_t j = 0;
  for (; j + W <= m; j += W) {
    fl_avx2_act(kind, c, _mm256_loadu_ps(z + j), &fv, &dv);
    if (residual)
      dv = _mm256_mul_ps(dv, _mm256_sub_ps(_mm256_loadu_ps(p + j), _mm256_loadu_ps(y + j)));
    if (want_f) _mm256_storeu_ps(f + j, fv);
    if (want_d) _mm256_storeu_ps(d + j, dv);
  }
  if (j < m) {
    const size_t count = m - j;
    const __m256i mask = fl_avx2_tail_mask(count);
    fl_avx2_act(kind, c, _mm256_maskload_ps(z + j, mask), &fv, &dv);
    if (residual)
      dv = _mm256_mul_ps(
          dv, _mm256_sub_ps(_mm256_maskload_ps(p + j, mask), _mm256_maskload_ps(y + j, mask)));
    if (want_f) fl_avx2_store_tail(f + j, count, fv);
    if (want_d) fl_avx2_store_tail(d + j, count, dv);
  }
}

/* The output combinations of one kind. */
FL_TILE_INLINE void fl_avx2_act_modes(fl_act_kind kind, const fl_avx2_act_consts *c, size_t m,
                                      const float *z, const float *y, const float *p, float *f,
                                      float *d) {
  if (d == NULL)
    fl_avx2_act_row(kind, c, m, z, y, p, f, d, 1, 0, 0);
  else if (y == NULL)
    f == NULL ? fl_avx2_act_row(kind, c, m, z, y, p, f, d, 0, 1, 0)
              : fl_avx2_act_row(kind, c, m, z, y, p, f, d, 1, 1, 0);
  else
    f == NULL ? fl_avx2_act_row(kind, c, m, z, y, p, f, d, 0, 1, 1)
              : fl_avx2_act_row(kind, c, m, z, y, p, f, d, 1, 1, 1);
}

static void fl_f32_sqerr_act_ukernel__avx2(size_t m, const fl_act_args *act, const float *z,
                                           const float *y, const float *p, float *f, float *d) {
  if (f == NULL && d == NULL) return;
  const fl_avx2_act_consts c = {
      _mm256_set1_ps((float)act->alpha), _mm256_set1_ps((float)act->scale),
      _mm256_set1_ps((float)act->intercept), _mm256_set1_ps((float)(act->scale * act->alpha))};
  switch (act->kind) {
#define FL_ACT_CASE(kind)                          \
  case kind:                                       \
    fl_avx2_act_modes(kind, &c, m, z, y, p, f, d); \
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

const fl_f32_sqerr_kernels fl_f32_sqerr_kernels__avx2 = {FL_SQERR_KERNELS(FL_KERNEL_ENTRY, float)};
