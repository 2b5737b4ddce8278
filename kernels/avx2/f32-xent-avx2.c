/* Softmax cross-entropy micro-kernels, f32, AVX2+FMA (8 lanes).
 * Contracts in kernels/kernels.h; exp in avx2-math.h (<= 1 ULP).
 * Tails: the last m % 8 elements go through masked loads (maskload never
 * touches masked-off lanes, so nothing past the row is read) and
 * fl_avx2_store_tail (nothing past the row is written); reductions fill
 * masked lanes with the neutral element.
 * NaN: max ignores NaN (operand order of max_ps), sums carry it.
 * The AVX-512 and NEON files follow this one line for line. */
#include <float.h>
#include <math.h>

#include "avx2-math.h"
#include "kernels.h"

#define FL_UKERNEL_NAME(name) fl_f32_##name##_ukernel__avx2
#define W FL_AVX2_LANES

static float fl_f32_xent_rmax_ukernel__avx2(size_t m, const float *x) {
  __m256 max0 = _mm256_set1_ps(-INFINITY), max1 = max0, max2 = max0, max3 = max0;
  size_t j = 0;
  for (; j + 4 * W <= m; j += 4 * W) {
    max0 = _mm256_max_ps(_mm256_loadu_ps(x + j), max0);
    max1 = _mm256_max_ps(_mm256_loadu_ps(x + j + W), max1);
    max2 = _mm256_max_ps(_mm256_loadu_ps(x + j + 2 * W), max2);
    max3 = _mm256_max_ps(_mm256_loadu_ps(x + j + 3 * W), max3);
  }
  for (; j + W <= m; j += W) max0 = _mm256_max_ps(_mm256_loadu_ps(x + j), max0);
  if (j < m) {
    const __m256i mask = fl_avx2_tail_mask(m - j);
    const __m256 v = _mm256_blendv_ps(_mm256_set1_ps(-INFINITY), _mm256_maskload_ps(x + j, mask),
                                      _mm256_castsi256_ps(mask));
    max1 = _mm256_max_ps(v, max1);
  }
  return fl_avx2_hmax(_mm256_max_ps(_mm256_max_ps(max0, max1), _mm256_max_ps(max2, max3)));
}

/* sum_j exp(x_j - max), stored to y unless y is NULL, and the max of
 * `next`: the body of rexpstore and rexpsum (inlined into each; in rexpsum
 * the NULL tests fold away).  The next row's loads go first in each step:
 * with next = x = y (in place) they read before the stores. */
static inline float fl_avx2_rexp(size_t m, const float *x, float max, float *y,
                                 const float *next, float *next_max) {
  const __m256 vmax = _mm256_set1_ps(max);
  __m256 sum0 = _mm256_setzero_ps(), sum1 = sum0;
  __m256 nmax0 = _mm256_set1_ps(-INFINITY), nmax1 = nmax0;
  size_t j = 0;
  for (; j + 2 * W <= m; j += 2 * W) {
    nmax0 = _mm256_max_ps(_mm256_loadu_ps(next + j), nmax0);
    nmax1 = _mm256_max_ps(_mm256_loadu_ps(next + j + W), nmax1);
    const __m256 e0 = fl_avx2_exp_nonpos(_mm256_sub_ps(_mm256_loadu_ps(x + j), vmax));
    const __m256 e1 = fl_avx2_exp_nonpos(_mm256_sub_ps(_mm256_loadu_ps(x + j + W), vmax));
    if (y != NULL) {
      _mm256_storeu_ps(y + j, e0);
      _mm256_storeu_ps(y + j + W, e1);
    }
    sum0 = _mm256_add_ps(sum0, e0);
    sum1 = _mm256_add_ps(sum1, e1);
  }
  for (; j + W <= m; j += W) {
    nmax0 = _mm256_max_ps(_mm256_loadu_ps(next + j), nmax0);
    const __m256 e = fl_avx2_exp_nonpos(_mm256_sub_ps(_mm256_loadu_ps(x + j), vmax));
    if (y != NULL) _mm256_storeu_ps(y + j, e);
    sum0 = _mm256_add_ps(sum0, e);
  }
  if (j < m) {
    const __m256i mask = fl_avx2_tail_mask(m - j);
    const __m256 v = _mm256_blendv_ps(_mm256_set1_ps(-INFINITY), _mm256_maskload_ps(next + j, mask),
                                      _mm256_castsi256_ps(mask));
    nmax1 = _mm256_max_ps(v, nmax1);
    const __m256 e = _mm256_and_ps(fl_avx2_exp_nonpos(_mm256_sub_ps(_mm256_maskload_ps(x + j, mask), vmax)),
                                   _mm256_castsi256_ps(mask));
    if (y != NULL) fl_avx2_store_tail(y + j, m - j, e);
    sum1 = _mm256_add_ps(sum1, e);
  }
  *next_max = fl_avx2_hmax(_mm256_max_ps(nmax0, nmax1));
  return fl_avx2_hsum(_mm256_add_ps(sum0, sum1));
}

static float fl_f32_xent_rexpstore_ukernel__avx2(size_t m, const float *x, float max, float *y,
                                                 const float *next, float *next_max) {
  return fl_avx2_rexp(m, x, max, y, next, next_max);
}

static float fl_f32_xent_rexpsum_ukernel__avx2(size_t m, const float *x, float max,
                                               const float *next, float *next_max) {
  return fl_avx2_rexp(m, x, max, NULL, next, next_max);
}

/* One step of the online softmax for lanes holding `block_max` as the max of
 * their new elements: rescales the running sums to the new max.  The max is
 * kept above -FLT_MAX so that all -inf lanes give exp(-inf) = 0, not NaN. */
static inline __m256 fl_avx2_online_rescale(__m256 *run_max, __m256 *run_sum, __m256 block_max) {
  const __m256 new_max = _mm256_max_ps(block_max, *run_max);
  const __m256 safe_max = _mm256_max_ps(new_max, _mm256_set1_ps(-FLT_MAX));
  *run_sum = _mm256_mul_ps(*run_sum, fl_avx2_exp_nonpos(_mm256_sub_ps(*run_max, safe_max)));
  *run_max = new_max;
  return safe_max;
}

#define FL_ONLINE_BLOCK (16 * W)

/* Milakov & Gimelshein's online softmax normaliser, blocked: per lane, the
 * max of a block of 16 vectors is found first (the block stays in L1), the
 * running sum is rescaled once per block, and every element is exp'd once. */
static void fl_f32_xent_ronline_ukernel__avx2(size_t m, const float *x, float *max_out,
                                              float *sum_out) {
  __m256 run_max = _mm256_set1_ps(-INFINITY), run_sum = _mm256_setzero_ps();
  size_t j = 0;
  for (; j + FL_ONLINE_BLOCK <= m; j += FL_ONLINE_BLOCK) {
    __m256 block_max0 = _mm256_set1_ps(-INFINITY), block_max1 = block_max0;
    for (size_t k = 0; k < FL_ONLINE_BLOCK; k += 2 * W) {
      block_max0 = _mm256_max_ps(_mm256_loadu_ps(x + j + k), block_max0);
      block_max1 = _mm256_max_ps(_mm256_loadu_ps(x + j + k + W), block_max1);
    }
    const __m256 safe_max =
        fl_avx2_online_rescale(&run_max, &run_sum, _mm256_max_ps(block_max0, block_max1));
    __m256 sum0 = _mm256_setzero_ps(), sum1 = sum0;
    for (size_t k = 0; k < FL_ONLINE_BLOCK; k += 2 * W) {
      sum0 = _mm256_add_ps(sum0, fl_avx2_exp_nonpos(_mm256_sub_ps(_mm256_loadu_ps(x + j + k), safe_max)));
      sum1 = _mm256_add_ps(sum1, fl_avx2_exp_nonpos(_mm256_sub_ps(_mm256_loadu_ps(x + j + k + W), safe_max)));
    }
    run_sum = _mm256_add_ps(run_sum, _mm256_add_ps(sum0, sum1));
  }
  /* The whole vectors left (fewer than a block) as one short block. */
  const size_t rest = (m - j) / W * W;
  if (rest > 0) {
    __m256 block_max = _mm256_set1_ps(-INFINITY);
    for (size_t k = 0; k < rest; k += W) block_max = _mm256_max_ps(_mm256_loadu_ps(x + j + k), block_max);
    const __m256 safe_max = fl_avx2_online_rescale(&run_max, &run_sum, block_max);
    __m256 sum0 = _mm256_setzero_ps();
    for (size_t k = 0; k < rest; k += W)
      sum0 = _mm256_add_ps(sum0, fl_avx2_exp_nonpos(_mm256_sub_ps(_mm256_loadu_ps(x + j + k), safe_max)));
    run_sum = _mm256_add_ps(run_sum, sum0);
    j += rest;
  }
  for (; j < m; j += W) {
    const size_t count = m - j < W ? m - j : W;
    const __m256i mask = fl_avx2_tail_mask(count);
    const __m256 v = _mm256_blendv_ps(_mm256_set1_ps(-INFINITY), _mm256_maskload_ps(x + j, mask),
                                      _mm256_castsi256_ps(mask));
    const __m256 safe_max = fl_avx2_online_rescale(&run_max, &run_sum, v);
    run_sum = _mm256_add_ps(run_sum, fl_avx2_exp_nonpos(_mm256_sub_ps(v, safe_max)));
  }
  /* Bring every lane to the overall max. */
  const float max = fl_avx2_hmax(run_max);
  const __m256 safe_max = _mm256_set1_ps(max > -FLT_MAX ? max : -FLT_MAX);
  run_sum = _mm256_mul_ps(run_sum, fl_avx2_exp_nonpos(_mm256_sub_ps(run_max, safe_max)));
  *max_out = max;
  *sum_out = fl_avx2_hsum(run_sum);
}

static void fl_f32_xent_vexpscale_ukernel__avx2(size_t m, const float *x, float max, float scale,
                                                float *y) {
  const __m256 vmax = _mm256_set1_ps(max), vscale = _mm256_set1_ps(scale);
  size_t j = 0;
  for (; j + 2 * W <= m; j += 2 * W) {
    const __m256 e0 = fl_avx2_exp_nonpos(_mm256_sub_ps(_mm256_loadu_ps(x + j), vmax));
    const __m256 e1 = fl_avx2_exp_nonpos(_mm256_sub_ps(_mm256_loadu_ps(x + j + W), vmax));
    _mm256_storeu_ps(y + j, _mm256_mul_ps(e0, vscale));
    _mm256_storeu_ps(y + j + W, _mm256_mul_ps(e1, vscale));
  }
  for (; j < m; j += W) {
    const __m256i mask = fl_avx2_tail_mask(m - j < W ? m - j : W);
    const __m256 e = fl_avx2_exp_nonpos(_mm256_sub_ps(_mm256_maskload_ps(x + j, mask), vmax));
    fl_avx2_store_tail(y + j, m - j < W ? m - j : W, _mm256_mul_ps(e, vscale));
  }
}

/* The target term (beta + gamma t) w of lanes [j, j + 8) under `mask`. */
static inline __m256 fl_avx2_affine_target(size_t j, __m256i mask, __m256 beta, __m256 gamma,
                                           const float *t, const float *w) {
  __m256 target = beta;
  if (t != NULL) target = _mm256_fmadd_ps(gamma, _mm256_maskload_ps(t + j, mask), beta);
  if (w != NULL) target = _mm256_mul_ps(target, _mm256_maskload_ps(w + j, mask));
  return target;
}

static void fl_f32_xent_vaffine_ukernel__avx2(size_t m, float *y, float alpha, float beta,
                                              float gamma, const float *t, const float *w) {
  const __m256 valpha = _mm256_set1_ps(alpha), vbeta = _mm256_set1_ps(beta);
  const __m256 vgamma = _mm256_set1_ps(gamma);
  const __m256i all = fl_avx2_tail_mask(W);
  size_t j = 0;
  if (t == NULL && w == NULL) {
    /* The hot case: a plain scale (beta is 0 without label smoothing). */
    for (; j + 2 * W <= m; j += 2 * W) {
      _mm256_storeu_ps(y + j, _mm256_fmsub_ps(valpha, _mm256_loadu_ps(y + j), vbeta));
      _mm256_storeu_ps(y + j + W, _mm256_fmsub_ps(valpha, _mm256_loadu_ps(y + j + W), vbeta));
    }
  } else {
    for (; j + W <= m; j += W) {
      const __m256 target = fl_avx2_affine_target(j, all, vbeta, vgamma, t, w);
      _mm256_storeu_ps(y + j, _mm256_fmsub_ps(valpha, _mm256_loadu_ps(y + j), target));
    }
  }
  for (; j < m; j += W) {
    const __m256i mask = fl_avx2_tail_mask(m - j < W ? m - j : W);
    const __m256 target = fl_avx2_affine_target(j, mask, vbeta, vgamma, t, w);
    fl_avx2_store_tail(y + j, m - j < W ? m - j : W,
                       _mm256_fmsub_ps(valpha, _mm256_maskload_ps(y + j, mask), target));
  }
}

static float fl_f32_xent_rdot_ukernel__avx2(size_t m, const float *a, float shift, const float *b,
                                            const float *c) {
  const __m256 one = _mm256_set1_ps(1.0f), vshift = _mm256_set1_ps(shift);
  __m256 sum = _mm256_setzero_ps();
  for (size_t j = 0; j < m; j += W) {
    const __m256i mask = fl_avx2_tail_mask(m - j < W ? m - j : W);
    __m256 weight = one;
    if (b != NULL) weight = _mm256_maskload_ps(b + j, mask);
    if (c != NULL) weight = _mm256_mul_ps(weight, _mm256_maskload_ps(c + j, mask));
    /* Zero weights contribute 0 even where a is infinite; masked lanes
     * load 0 and drop out the same way. */
    const __m256 keep = _mm256_and_ps(_mm256_cmp_ps(weight, _mm256_setzero_ps(), _CMP_NEQ_UQ),
                                      _mm256_castsi256_ps(mask));
    const __m256 shifted = _mm256_sub_ps(_mm256_maskload_ps(a + j, mask), vshift);
    sum = _mm256_add_ps(sum, _mm256_and_ps(_mm256_mul_ps(shifted, weight), keep));
  }
  return fl_avx2_hsum(sum);
}

/* Rows across lanes: lane r holds row r.  Each group of 8 rows is loaded
 * as 8 x 8 blocks, transposed into one vector per class, computed class by
 * class, and transposed back for the gradient's stores.  Rows of 8 to 16
 * classes take blocks of full columns, [0, 8) and [m - 8, m), which overlap
 * below 16 classes (the shared classes are loaded twice and stored twice,
 * the same values), so nothing is masked and nothing outside a row is
 * touched; rows of fewer than 8 classes take one masked block.  The label
 * term: the rows' labels, one per lane, compared with each class index. */
static void fl_f32_xent_smallrows_ukernel__avx2(size_t rows, size_t m, const float *z, size_t ld_z,
                                                const int32_t *labels, const float *alpha,
                                                const float *beta, const float *label_coef,
                                                float *grad, size_t ld_grad, float *row_max,
                                                float *row_logsum, float *row_zsum, float *row_zy) {
  __m256 tile[FL_XENT_SMALL_M], is_label[FL_XENT_SMALL_M];
  const size_t blocks = m > W ? 2 : 1;
  const size_t last = m > W ? m - W : 0; /* the second block's first column */
  const __m256i cmask = fl_avx2_tail_mask(m < W ? m : W);
  const __m256i one = _mm256_set1_epi32(1);
  for (size_t first = 0; first < rows; first += W) {
    const size_t count = rows - first < W ? rows - first : W;
    const __m256i mask = fl_avx2_tail_mask(count);
    for (size_t b = 0; b < blocks; b++) {
      const size_t c = b == 0 ? 0 : last;
      __m256 block[W];
      for (size_t r = 0; r < W; r++)
        block[r] = r >= count ? _mm256_setzero_ps()
                   : m >= W   ? _mm256_loadu_ps(z + (first + r) * ld_z + c)
                              : _mm256_maskload_ps(z + (first + r) * ld_z, cmask);
      fl_avx2_transpose(block, tile + c); /* c + 8 <= FL_XENT_SMALL_M */
    }
    /* Lanes past `count` load 0 and match class 0, and are never stored. */
    const __m256i y = count == W ? _mm256_loadu_si256((const __m256i *)(labels + first))
                                 : _mm256_maskload_epi32((const int *)(labels + first), mask);
    __m256 max = _mm256_set1_ps(-INFINITY), zsum = _mm256_setzero_ps(), sum = _mm256_setzero_ps();
    __m256 zy = _mm256_setzero_ps();
    __m256i j_vec = _mm256_setzero_si256();
    for (size_t j = 0; j < m; j++) max = _mm256_max_ps(tile[j], max);
    const __m256 shift = _mm256_max_ps(max, _mm256_set1_ps(-FLT_MAX));
    for (size_t j = 0; j < m; j++) {
      is_label[j] = _mm256_castsi256_ps(_mm256_cmpeq_epi32(y, j_vec));
      zy = _mm256_blendv_ps(zy, tile[j], is_label[j]);
      j_vec = _mm256_add_epi32(j_vec, one);
      zsum = _mm256_add_ps(zsum, _mm256_sub_ps(tile[j], shift));
      tile[j] = fl_avx2_exp_nonpos(_mm256_sub_ps(tile[j], max));
      sum = _mm256_add_ps(sum, tile[j]);
    }
    fl_avx2_store_tail(row_max + first, count, max);
    fl_avx2_store_tail(row_logsum + first, count, fl_avx2_log(sum));
    if (row_zsum != NULL) fl_avx2_store_tail(row_zsum + first, count, zsum);
    fl_avx2_store_tail(row_zy + first, count, zy);
    if (grad == NULL) continue;
    const __m256 scale = _mm256_div_ps(_mm256_maskload_ps(alpha + first, mask), sum);
    const __m256 offset = _mm256_maskload_ps(beta + first, mask);
    const __m256 lcoef = _mm256_maskload_ps(label_coef + first, mask);
    /* Each class once (the overlapping blocks share them); below 8 classes
     * the columns past m keep the masked loads' zeros, never stored. */
    for (size_t j = 0; j < m; j++)
      tile[j] =
          _mm256_sub_ps(_mm256_fmsub_ps(tile[j], scale, offset), _mm256_and_ps(is_label[j], lcoef));
    for (size_t b = 0; b < blocks; b++) {
      const size_t c = b == 0 ? 0 : last;
      __m256 block[W];
      fl_avx2_transpose(tile + c, block);
      for (size_t r = 0; r < count; r++) {
        float *g = grad + (first + r) * ld_grad + c;
        if (m >= W)
          _mm256_storeu_ps(g, block[r]);
        else
          fl_avx2_store_tail(g, m, block[r]);
      }
    }
  }
}

const fl_f32_xent_kernels fl_f32_xent_kernels__avx2 = {FL_XENT_KERNELS(FL_KERNEL_ENTRY, float)};
