/* Softmax cross-entropy micro-kernels, f32, AVX-512 F+DQ+BW+VL (16 lanes).
 * Contracts in kernels/kernels.h; exp in avx512-math.h (<= 1 ULP).
 * Tails: the last m % 16 elements go through masked loads and stores
 * (masked-off lanes are never touched, so nothing past the row is read
 * or written); reductions fill masked lanes with the neutral element.
 * NaN: max ignores NaN (operand order of max_ps), sums carry it.
 * Follows the AVX2 file line for line.  Compiled a second time against SIMDe
 * (FL_AVX512_EMULATED, tests only) as fl_f32_xent_kernels__avx512_emulated. */
#include <float.h>
#include <math.h>

#include "avx512-math.h"
#include "kernels.h"

#define FL_UKERNEL_NAME(name) fl_f32_##name##_ukernel__avx512
#define W FL_AVX512_LANES
#ifdef FL_AVX512_EMULATED
#define FL_AVX512_TABLE fl_f32_xent_kernels__avx512_emulated
#else
#define FL_AVX512_TABLE fl_f32_xent_kernels__avx512
#endif

static float fl_f32_xent_rmax_ukernel__avx512(size_t m, const float *x) {
  __m512 max0 = _mm512_set1_ps(-INFINITY), max1 = max0, max2 = max0, max3 = max0;
  size_t j = 0;
  for (; j + 4 * W <= m; j += 4 * W) {
    max0 = _mm512_max_ps(_mm512_loadu_ps(x + j), max0);
    max1 = _mm512_max_ps(_mm512_loadu_ps(x + j + W), max1);
    max2 = _mm512_max_ps(_mm512_loadu_ps(x + j + 2 * W), max2);
    max3 = _mm512_max_ps(_mm512_loadu_ps(x + j + 3 * W), max3);
  }
  for (; j + W <= m; j += W) max0 = _mm512_max_ps(_mm512_loadu_ps(x + j), max0);
  if (j < m) {
    const __mmask16 mask = fl_avx512_tail_mask(m - j);
    const __m512 v = _mm512_mask_loadu_ps(_mm512_set1_ps(-INFINITY), mask, x + j);
    max1 = _mm512_max_ps(v, max1);
  }
  return fl_avx512_hmax(_mm512_max_ps(_mm512_max_ps(max0, max1), _mm512_max_ps(max2, max3)));
}

/* sum_j exp(x_j - max), stored to y unless y is NULL, and the max of
 * `next`: the body of rexpstore and rexpsum (inlined into each; in rexpsum
 * the NULL tests fold away).  The next row's loads go first in each step:
 * with next = x = y (in place) they read before the stores. */
static inline float fl_avx512_rexp(size_t m, const float *x, float max, float *y,
                                   const float *next, float *next_max) {
  const __m512 vmax = _mm512_set1_ps(max);
  __m512 sum0 = _mm512_setzero_ps(), sum1 = sum0;
  __m512 nmax0 = _mm512_set1_ps(-INFINITY), nmax1 = nmax0;
  size_t j = 0;
  for (; j + 2 * W <= m; j += 2 * W) {
    nmax0 = _mm512_max_ps(_mm512_loadu_ps(next + j), nmax0);
    nmax1 = _mm512_max_ps(_mm512_loadu_ps(next + j + W), nmax1);
    const __m512 e0 = fl_avx512_exp_nonpos(_mm512_sub_ps(_mm512_loadu_ps(x + j), vmax));
    const __m512 e1 = fl_avx512_exp_nonpos(_mm512_sub_ps(_mm512_loadu_ps(x + j + W), vmax));
    if (y != NULL) {
      _mm512_storeu_ps(y + j, e0);
      _mm512_storeu_ps(y + j + W, e1);
    }
    sum0 = _mm512_add_ps(sum0, e0);
    sum1 = _mm512_add_ps(sum1, e1);
  }
  for (; j + W <= m; j += W) {
    nmax0 = _mm512_max_ps(_mm512_loadu_ps(next + j), nmax0);
    const __m512 e = fl_avx512_exp_nonpos(_mm512_sub_ps(_mm512_loadu_ps(x + j), vmax));
    if (y != NULL) _mm512_storeu_ps(y + j, e);
    sum0 = _mm512_add_ps(sum0, e);
  }
  if (j < m) {
    const __mmask16 mask = fl_avx512_tail_mask(m - j);
    nmax1 = _mm512_max_ps(_mm512_mask_loadu_ps(_mm512_set1_ps(-INFINITY), mask, next + j), nmax1);
    const __m512 e = _mm512_maskz_mov_ps(
        mask, fl_avx512_exp_nonpos(_mm512_sub_ps(_mm512_maskz_loadu_ps(mask, x + j), vmax)));
    if (y != NULL) fl_avx512_store_tail(y + j, m - j, e);
    sum1 = _mm512_add_ps(sum1, e);
  }
  *next_max = fl_avx512_hmax(_mm512_max_ps(nmax0, nmax1));
  return fl_avx512_hsum(_mm512_add_ps(sum0, sum1));
}

static float fl_f32_xent_rexpstore_ukernel__avx512(size_t m, const float *x, float max, float *y,
                                                   const float *next, float *next_max) {
  return fl_avx512_rexp(m, x, max, y, next, next_max);
}

static float fl_f32_xent_rexpsum_ukernel__avx512(size_t m, const float *x, float max,
                                                 const float *next, float *next_max) {
  return fl_avx512_rexp(m, x, max, NULL, next, next_max);
}

/* One step of the online softmax for lanes holding `block_max` as the max of
 * their new elements: rescales the running sums to the new max.  The max is
 * kept above -FLT_MAX so that all -inf lanes give exp(-inf) = 0, not NaN. */
FL_AVX512_INLINE __m512 fl_avx512_online_rescale(__m512 *run_max, __m512 *run_sum,
                                                 __m512 block_max) {
  const __m512 new_max = _mm512_max_ps(block_max, *run_max);
  const __m512 safe_max = _mm512_max_ps(new_max, _mm512_set1_ps(-FLT_MAX));
  *run_sum = _mm512_mul_ps(*run_sum, fl_avx512_exp_nonpos(_mm512_sub_ps(*run_max, safe_max)));
  *run_max = new_max;
  return safe_max;
}

#define FL_ONLINE_BLOCK (16 * W)

/* Milakov & Gimelshein's online softmax normaliser, blocked: per lane, the
 * max of a block of 16 vectors is found first (the block stays in L1), the
 * running sum is rescaled once per block, and every element is exp'd once. */
static void fl_f32_xent_ronline_ukernel__avx512(size_t m, const float *x, float *max_out,
                                                float *sum_out) {
  __m512 run_max = _mm512_set1_ps(-INFINITY), run_sum = _mm512_setzero_ps();
  size_t j = 0;
  for (; j + FL_ONLINE_BLOCK <= m; j += FL_ONLINE_BLOCK) {
    __m512 block_max0 = _mm512_set1_ps(-INFINITY), block_max1 = block_max0;
    for (size_t k = 0; k < FL_ONLINE_BLOCK; k += 2 * W) {
      block_max0 = _mm512_max_ps(_mm512_loadu_ps(x + j + k), block_max0);
      block_max1 = _mm512_max_ps(_mm512_loadu_ps(x + j + k + W), block_max1);
    }
    const __m512 safe_max =
        fl_avx512_online_rescale(&run_max, &run_sum, _mm512_max_ps(block_max0, block_max1));
    __m512 sum0 = _mm512_setzero_ps(), sum1 = sum0;
    for (size_t k = 0; k < FL_ONLINE_BLOCK; k += 2 * W) {
      sum0 =
          _mm512_add_ps(sum0, fl_avx512_exp_nonpos(_mm512_sub_ps(_mm512_loadu_ps(x + j + k), safe_max)));
      sum1 = _mm512_add_ps(sum1,
                           fl_avx512_exp_nonpos(_mm512_sub_ps(_mm512_loadu_ps(x + j + k + W), safe_max)));
    }
    run_sum = _mm512_add_ps(run_sum, _mm512_add_ps(sum0, sum1));
  }
  /* The whole vectors left (fewer than a block) as one short block. */
  const size_t rest = (m - j) / W * W;
  if (rest > 0) {
    __m512 block_max = _mm512_set1_ps(-INFINITY);
    for (size_t k = 0; k < rest; k += W) block_max = _mm512_max_ps(_mm512_loadu_ps(x + j + k), block_max);
    const __m512 safe_max = fl_avx512_online_rescale(&run_max, &run_sum, block_max);
    __m512 sum0 = _mm512_setzero_ps();
    for (size_t k = 0; k < rest; k += W)
      sum0 = _mm512_add_ps(sum0, fl_avx512_exp_nonpos(_mm512_sub_ps(_mm512_loadu_ps(x + j + k), safe_max)));
    run_sum = _mm512_add_ps(run_sum, sum0);
    j += rest;
  }
  for (; j < m; j += W) {
    const size_t count = m - j < W ? m - j : W;
    const __mmask16 mask = fl_avx512_tail_mask(count);
    const __m512 v = _mm512_mask_loadu_ps(_mm512_set1_ps(-INFINITY), mask, x + j);
    const __m512 safe_max = fl_avx512_online_rescale(&run_max, &run_sum, v);
    run_sum = _mm512_add_ps(run_sum, fl_avx512_exp_nonpos(_mm512_sub_ps(v, safe_max)));
  }
  /* Bring every lane to the overall max. */
  const float max = fl_avx512_hmax(run_max);
  const __m512 safe_max = _mm512_set1_ps(max > -FLT_MAX ? max : -FLT_MAX);
  run_sum = _mm512_mul_ps(run_sum, fl_avx512_exp_nonpos(_mm512_sub_ps(run_max, safe_max)));
  *max_out = max;
  *sum_out = fl_avx512_hsum(run_sum);
}

static void fl_f32_xent_vexpscale_ukernel__avx512(size_t m, const float *x, float max, float scale,
                                                  float *y) {
  const __m512 vmax = _mm512_set1_ps(max), vscale = _mm512_set1_ps(scale);
  size_t j = 0;
  for (; j + 2 * W <= m; j += 2 * W) {
    const __m512 e0 = fl_avx512_exp_nonpos(_mm512_sub_ps(_mm512_loadu_ps(x + j), vmax));
    const __m512 e1 = fl_avx512_exp_nonpos(_mm512_sub_ps(_mm512_loadu_ps(x + j + W), vmax));
    _mm512_storeu_ps(y + j, _mm512_mul_ps(e0, vscale));
    _mm512_storeu_ps(y + j + W, _mm512_mul_ps(e1, vscale));
  }
  for (; j < m; j += W) {
    const __mmask16 mask = fl_avx512_tail_mask(m - j < W ? m - j : W);
    const __m512 e = fl_avx512_exp_nonpos(_mm512_sub_ps(_mm512_maskz_loadu_ps(mask, x + j), vmax));
    fl_avx512_store_tail(y + j, m - j < W ? m - j : W, _mm512_mul_ps(e, vscale));
  }
}

/* The target term (beta + gamma t) w of lanes [j, j + 16) under `mask`. */
FL_AVX512_INLINE __m512 fl_avx512_affine_target(size_t j, __mmask16 mask, __m512 beta, __m512 gamma,
                                                const float *t, const float *w) {
  __m512 target = beta;
  if (t != NULL) target = _mm512_fmadd_ps(gamma, _mm512_maskz_loadu_ps(mask, t + j), beta);
  if (w != NULL) target = _mm512_mul_ps(target, _mm512_maskz_loadu_ps(mask, w + j));
  return target;
}

static void fl_f32_xent_vaffine_ukernel__avx512(size_t m, float *y, float alpha, float beta,
                                                float gamma, const float *t, const float *w) {
  const __m512 valpha = _mm512_set1_ps(alpha), vbeta = _mm512_set1_ps(beta);
  const __m512 vgamma = _mm512_set1_ps(gamma);
  const __mmask16 all = fl_avx512_tail_mask(W);
  size_t j = 0;
  if (t == NULL && w == NULL) {
    /* The hot case: a plain scale (beta is 0 without label smoothing). */
    for (; j + 2 * W <= m; j += 2 * W) {
      _mm512_storeu_ps(y + j, _mm512_fmsub_ps(valpha, _mm512_loadu_ps(y + j), vbeta));
      _mm512_storeu_ps(y + j + W, _mm512_fmsub_ps(valpha, _mm512_loadu_ps(y + j + W), vbeta));
    }
  } else {
    for (; j + W <= m; j += W) {
      const __m512 target = fl_avx512_affine_target(j, all, vbeta, vgamma, t, w);
      _mm512_storeu_ps(y + j, _mm512_fmsub_ps(valpha, _mm512_loadu_ps(y + j), target));
    }
  }
  for (; j < m; j += W) {
    const __mmask16 mask = fl_avx512_tail_mask(m - j < W ? m - j : W);
    const __m512 target = fl_avx512_affine_target(j, mask, vbeta, vgamma, t, w);
    fl_avx512_store_tail(y + j, m - j < W ? m - j : W,
                         _mm512_fmsub_ps(valpha, _mm512_maskz_loadu_ps(mask, y + j), target));
  }
}

static float fl_f32_xent_rdot_ukernel__avx512(size_t m, const float *a, float shift, const float *b,
                                              const float *c) {
  const __m512 one = _mm512_set1_ps(1.0f), vshift = _mm512_set1_ps(shift);
  __m512 sum = _mm512_setzero_ps();
  for (size_t j = 0; j < m; j += W) {
    const __mmask16 mask = fl_avx512_tail_mask(m - j < W ? m - j : W);
    __m512 weight = one;
    if (b != NULL) weight = _mm512_maskz_loadu_ps(mask, b + j);
    if (c != NULL) weight = _mm512_mul_ps(weight, _mm512_maskz_loadu_ps(mask, c + j));
    /* Zero weights contribute 0 even where a is infinite; masked-off lanes
     * are cleared from keep the same way. */
    const __mmask16 keep =
        (__mmask16)(_mm512_cmp_ps_mask(weight, _mm512_setzero_ps(), _CMP_NEQ_UQ) & mask);
    const __m512 shifted = _mm512_sub_ps(_mm512_maskz_loadu_ps(mask, a + j), vshift);
    sum = _mm512_add_ps(sum, _mm512_maskz_mul_ps(keep, shifted, weight));
  }
  return fl_avx512_hsum(sum);
}

/* Rows across lanes: lane r holds row r.  Each group of 16 rows is loaded
 * as 16 x 16 blocks (masked to the row's m columns), transposed into one
 * vector per class, computed class by class, and transposed back for the
 * gradient's masked stores (native masked stores are fast: no overlapping
 * blocks as in the AVX2 file).  The label term: the rows' labels, one per
 * lane, compared with each class index (the masks kept for the gradient). */
static void fl_f32_xent_smallrows_ukernel__avx512(size_t rows, size_t m, const float *z,
                                                  size_t ld_z, const int32_t *labels,
                                                  const float *alpha, const float *beta,
                                                  const float *label_coef, float *grad,
                                                  size_t ld_grad, float *row_max, float *row_logsum,
                                                  float *row_zsum, float *row_zy) {
  __m512 tile[FL_XENT_SMALL_M];
  __mmask16 is_label[FL_XENT_SMALL_M];
  const __m512i one = _mm512_set1_epi32(1);
  for (size_t first = 0; first < rows; first += W) {
    const size_t count = rows - first < W ? rows - first : W;
    const __mmask16 mask = fl_avx512_tail_mask(count);
    for (size_t c = 0; c < m; c += W) {
      const __mmask16 cmask = fl_avx512_tail_mask(m - c < W ? m - c : W);
      __m512 block[W];
      for (size_t r = 0; r < W; r++)
        block[r] = r < count ? _mm512_maskz_loadu_ps(cmask, z + (first + r) * ld_z + c) : _mm512_setzero_ps();
      fl_avx512_transpose(block, tile + c); /* c + 16 <= FL_XENT_SMALL_M */
    }
    /* Lanes past `count` hold -1, which matches no class, and are never stored. */
    int32_t tail[W];
    for (size_t r = 0; r < W; r++) tail[r] = r < count ? labels[first + r] : -1;
    const __m512i y = _mm512_loadu_si512(count == W ? labels + first : tail);
    __m512 max = _mm512_set1_ps(-INFINITY), zsum = _mm512_setzero_ps(), sum = _mm512_setzero_ps();
    __m512 zy = _mm512_setzero_ps();
    __m512i j_vec = _mm512_setzero_si512();
    for (size_t j = 0; j < m; j++) max = _mm512_max_ps(tile[j], max);
    const __m512 shift = _mm512_max_ps(max, _mm512_set1_ps(-FLT_MAX));
    for (size_t j = 0; j < m; j++) {
      is_label[j] = _mm512_cmpeq_epi32_mask(y, j_vec);
      zy = _mm512_mask_mov_ps(zy, is_label[j], tile[j]);
      j_vec = _mm512_add_epi32(j_vec, one);
      zsum = _mm512_add_ps(zsum, _mm512_sub_ps(tile[j], shift));
      tile[j] = fl_avx512_exp_nonpos(_mm512_sub_ps(tile[j], max));
      sum = _mm512_add_ps(sum, tile[j]);
    }
    fl_avx512_store_tail(row_max + first, count, max);
    fl_avx512_store_tail(row_logsum + first, count, fl_avx512_log(sum));
    if (row_zsum != NULL) fl_avx512_store_tail(row_zsum + first, count, zsum);
    fl_avx512_store_tail(row_zy + first, count, zy);
    if (grad == NULL) continue;
    const __m512 scale = _mm512_div_ps(_mm512_maskz_loadu_ps(mask, alpha + first), sum);
    const __m512 offset = _mm512_maskz_loadu_ps(mask, beta + first);
    const __m512 lcoef = _mm512_maskz_loadu_ps(mask, label_coef + first);
    /* The columns past m keep the masked loads' zeros, never stored. */
    for (size_t j = 0; j < m; j++) {
      const __m512 g = _mm512_fmsub_ps(tile[j], scale, offset);
      tile[j] = _mm512_mask_sub_ps(g, is_label[j], g, lcoef);
    }
    for (size_t c = 0; c < m; c += W) {
      const size_t cols = m - c < W ? m - c : W;
      __m512 block[W];
      fl_avx512_transpose(tile + c, block);
      for (size_t r = 0; r < count; r++) fl_avx512_store_tail(grad + (first + r) * ld_grad + c, cols, block[r]);
    }
  }
}

const fl_f32_xent_kernels FL_AVX512_TABLE = {FL_XENT_KERNELS(FL_KERNEL_ENTRY, float)};
