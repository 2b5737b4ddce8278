/* Softmax cross-entropy micro-kernels, f32, AArch64 AdvSIMD (4 lanes).
 * Contracts in kernels/kernels.h; exp in neon-math.h (<= 1 ULP).
 * Tails: the last m % 4 elements are copied through a 4-float stack buffer
 * (neon-math.h), so nothing past the row is read or written; reductions fill
 * the lanes past the row with the neutral element.
 * NaN: max ignores NaN (FMAXNM returns the number), sums carry it.
 * Follows kernels/avx2/f32-xent-avx2.c line for line. */
#include <float.h>
#include <math.h>

#include "kernels.h"
#include "neon-math.h"

#define FL_UKERNEL_NAME(name) fl_f32_##name##_ukernel__neon
#define W FL_NEON_LANES

static float fl_f32_xent_rmax_ukernel__neon(size_t m, const float *x) {
  float32x4_t max0 = vdupq_n_f32(-INFINITY), max1 = max0, max2 = max0, max3 = max0;
  size_t j = 0;
  for (; j + 4 * W <= m; j += 4 * W) {
    max0 = vmaxnmq_f32(vld1q_f32(x + j), max0);
    max1 = vmaxnmq_f32(vld1q_f32(x + j + W), max1);
    max2 = vmaxnmq_f32(vld1q_f32(x + j + 2 * W), max2);
    max3 = vmaxnmq_f32(vld1q_f32(x + j + 3 * W), max3);
  }
  for (; j + W <= m; j += W) max0 = vmaxnmq_f32(vld1q_f32(x + j), max0);
  if (j < m) {
    const size_t count = m - j;
    const float32x4_t v = fl_neon_load_tail(x + j, count, -INFINITY);
    max1 = vmaxnmq_f32(v, max1);
  }
  return fl_neon_hmax(vmaxnmq_f32(vmaxnmq_f32(max0, max1), vmaxnmq_f32(max2, max3)));
}

/* sum_j exp(x_j - max), stored to y unless y is NULL, and the max of
 * `next`: the body of rexpstore and rexpsum (inlined into each; in rexpsum
 * the NULL tests fold away).  The next row's loads go first in each step:
 * with next = x = y (in place) they read before the stores. */
static inline float fl_neon_rexp(size_t m, const float *x, float max, float *y,
                                 const float *next, float *next_max) {
  const float32x4_t vmax = vdupq_n_f32(max);
  float32x4_t sum0 = vdupq_n_f32(0.0f), sum1 = sum0;
  float32x4_t nmax0 = vdupq_n_f32(-INFINITY), nmax1 = nmax0;
  size_t j = 0;
  for (; j + 2 * W <= m; j += 2 * W) {
    nmax0 = vmaxnmq_f32(vld1q_f32(next + j), nmax0);
    nmax1 = vmaxnmq_f32(vld1q_f32(next + j + W), nmax1);
    const float32x4_t e0 = fl_neon_exp_nonpos(vsubq_f32(vld1q_f32(x + j), vmax));
    const float32x4_t e1 = fl_neon_exp_nonpos(vsubq_f32(vld1q_f32(x + j + W), vmax));
    if (y != NULL) {
      vst1q_f32(y + j, e0);
      vst1q_f32(y + j + W, e1);
    }
    sum0 = vaddq_f32(sum0, e0);
    sum1 = vaddq_f32(sum1, e1);
  }
  for (; j + W <= m; j += W) {
    nmax0 = vmaxnmq_f32(vld1q_f32(next + j), nmax0);
    const float32x4_t e = fl_neon_exp_nonpos(vsubq_f32(vld1q_f32(x + j), vmax));
    if (y != NULL) vst1q_f32(y + j, e);
    sum0 = vaddq_f32(sum0, e);
  }
  if (j < m) {
    const size_t count = m - j;
    nmax1 = vmaxnmq_f32(fl_neon_load_tail(next + j, count, -INFINITY), nmax1);
    const float32x4_t v = fl_neon_load_tail(x + j, count, 0.0f);
    const float32x4_t e =
        fl_neon_and_mask(fl_neon_exp_nonpos(vsubq_f32(v, vmax)), fl_neon_tail_mask(count));
    if (y != NULL) fl_neon_store_tail(y + j, count, e);
    sum1 = vaddq_f32(sum1, e);
  }
  *next_max = fl_neon_hmax(vmaxnmq_f32(nmax0, nmax1));
  return fl_neon_hsum(vaddq_f32(sum0, sum1));
}

static float fl_f32_xent_rexpstore_ukernel__neon(size_t m, const float *x, float max, float *y,
                                                 const float *next, float *next_max) {
  return fl_neon_rexp(m, x, max, y, next, next_max);
}

static float fl_f32_xent_rexpsum_ukernel__neon(size_t m, const float *x, float max,
                                               const float *next, float *next_max) {
  return fl_neon_rexp(m, x, max, NULL, next, next_max);
}

/* One step of the online softmax for lanes holding `block_max` as the max of
 * their new elements: rescales the running sums to the new max.  The max is
 * kept above -FLT_MAX so that all -inf lanes give exp(-inf) = 0, not NaN. */
static inline float32x4_t fl_neon_online_rescale(float32x4_t *run_max, float32x4_t *run_sum,
                                                 float32x4_t block_max) {
  const float32x4_t new_max = vmaxnmq_f32(block_max, *run_max);
  const float32x4_t safe_max = vmaxnmq_f32(new_max, vdupq_n_f32(-FLT_MAX));
  *run_sum = vmulq_f32(*run_sum, fl_neon_exp_nonpos(vsubq_f32(*run_max, safe_max)));
  *run_max = new_max;
  return safe_max;
}

#define FL_ONLINE_BLOCK (16 * W)

/* Milakov & Gimelshein's online softmax normaliser, blocked: per lane, the
 * max of a block of 16 vectors is found first (the block stays in L1), the
 * running sum is rescaled once per block, and every element is exp'd once. */
static void fl_f32_xent_ronline_ukernel__neon(size_t m, const float *x, float *max_out,
                                              float *sum_out) {
  float32x4_t run_max = vdupq_n_f32(-INFINITY), run_sum = vdupq_n_f32(0.0f);
  size_t j = 0;
  for (; j + FL_ONLINE_BLOCK <= m; j += FL_ONLINE_BLOCK) {
    float32x4_t block_max0 = vdupq_n_f32(-INFINITY), block_max1 = block_max0;
    for (size_t k = 0; k < FL_ONLINE_BLOCK; k += 2 * W) {
      block_max0 = vmaxnmq_f32(vld1q_f32(x + j + k), block_max0);
      block_max1 = vmaxnmq_f32(vld1q_f32(x + j + k + W), block_max1);
    }
    const float32x4_t safe_max =
        fl_neon_online_rescale(&run_max, &run_sum, vmaxnmq_f32(block_max0, block_max1));
    float32x4_t sum0 = vdupq_n_f32(0.0f), sum1 = sum0;
    for (size_t k = 0; k < FL_ONLINE_BLOCK; k += 2 * W) {
      sum0 = vaddq_f32(sum0, fl_neon_exp_nonpos(vsubq_f32(vld1q_f32(x + j + k), safe_max)));
      sum1 = vaddq_f32(sum1, fl_neon_exp_nonpos(vsubq_f32(vld1q_f32(x + j + k + W), safe_max)));
    }
    run_sum = vaddq_f32(run_sum, vaddq_f32(sum0, sum1));
  }
  /* The whole vectors left (fewer than a block) as one short block. */
  const size_t rest = (m - j) / W * W;
  if (rest > 0) {
    float32x4_t block_max = vdupq_n_f32(-INFINITY);
    for (size_t k = 0; k < rest; k += W) block_max = vmaxnmq_f32(vld1q_f32(x + j + k), block_max);
    const float32x4_t safe_max = fl_neon_online_rescale(&run_max, &run_sum, block_max);
    float32x4_t sum0 = vdupq_n_f32(0.0f);
    for (size_t k = 0; k < rest; k += W)
      sum0 = vaddq_f32(sum0, fl_neon_exp_nonpos(vsubq_f32(vld1q_f32(x + j + k), safe_max)));
    run_sum = vaddq_f32(run_sum, sum0);
    j += rest;
  }
  for (; j < m; j += W) {
    const size_t count = m - j < W ? m - j : W;
    const float32x4_t v = fl_neon_load_tail(x + j, count, -INFINITY);
    const float32x4_t safe_max = fl_neon_online_rescale(&run_max, &run_sum, v);
    run_sum = vaddq_f32(run_sum, fl_neon_exp_nonpos(vsubq_f32(v, safe_max)));
  }
  /* Bring every lane to the overall max. */
  const float max = fl_neon_hmax(run_max);
  const float32x4_t safe_max = vdupq_n_f32(max > -FLT_MAX ? max : -FLT_MAX);
  run_sum = vmulq_f32(run_sum, fl_neon_exp_nonpos(vsubq_f32(run_max, safe_max)));
  *max_out = max;
  *sum_out = fl_neon_hsum(run_sum);
}

static void fl_f32_xent_vexpscale_ukernel__neon(size_t m, const float *x, float max, float scale,
                                                float *y) {
  const float32x4_t vmax = vdupq_n_f32(max), vscale = vdupq_n_f32(scale);
  size_t j = 0;
  for (; j + 2 * W <= m; j += 2 * W) {
    const float32x4_t e0 = fl_neon_exp_nonpos(vsubq_f32(vld1q_f32(x + j), vmax));
    const float32x4_t e1 = fl_neon_exp_nonpos(vsubq_f32(vld1q_f32(x + j + W), vmax));
    vst1q_f32(y + j, vmulq_f32(e0, vscale));
    vst1q_f32(y + j + W, vmulq_f32(e1, vscale));
  }
  for (; j < m; j += W) {
    const size_t count = m - j < W ? m - j : W;
    const float32x4_t e = fl_neon_exp_nonpos(vsubq_f32(fl_neon_load_tail(x + j, count, 0.0f), vmax));
    fl_neon_store_tail(y + j, count, vmulq_f32(e, vscale));
  }
}

/* The target term (beta + gamma t) w of lanes [j, j + count). */
static inline float32x4_t fl_neon_affine_target(size_t j, size_t count, float32x4_t beta,
                                                float32x4_t gamma, const float *t, const float *w) {
  float32x4_t target = beta;
  if (t != NULL) target = vfmaq_f32(beta, gamma, fl_neon_load_tail(t + j, count, 0.0f));
  if (w != NULL) target = vmulq_f32(target, fl_neon_load_tail(w + j, count, 0.0f));
  return target;
}

static void fl_f32_xent_vaffine_ukernel__neon(size_t m, float *y, float alpha, float beta,
                                              float gamma, const float *t, const float *w) {
  const float32x4_t valpha = vdupq_n_f32(alpha), vbeta = vdupq_n_f32(beta);
  const float32x4_t vgamma = vdupq_n_f32(gamma);
  const size_t all = W;
  size_t j = 0;
  if (t == NULL && w == NULL) {
    /* The hot case: a plain scale (beta is 0 without label smoothing). */
    for (; j + 2 * W <= m; j += 2 * W) {
      vst1q_f32(y + j, fl_neon_fmsub(valpha, vld1q_f32(y + j), vbeta));
      vst1q_f32(y + j + W, fl_neon_fmsub(valpha, vld1q_f32(y + j + W), vbeta));
    }
  } else {
    for (; j + W <= m; j += W) {
      const float32x4_t target = fl_neon_affine_target(j, all, vbeta, vgamma, t, w);
      vst1q_f32(y + j, fl_neon_fmsub(valpha, vld1q_f32(y + j), target));
    }
  }
  for (; j < m; j += W) {
    const size_t count = m - j < W ? m - j : W;
    const float32x4_t target = fl_neon_affine_target(j, count, vbeta, vgamma, t, w);
    const float32x4_t v = fl_neon_load_tail(y + j, count, 0.0f);
    fl_neon_store_tail(y + j, count, fl_neon_fmsub(valpha, v, target));
  }
}

static float fl_f32_xent_rdot_ukernel__neon(size_t m, const float *a, float shift, const float *b,
                                            const float *c) {
  const float32x4_t one = vdupq_n_f32(1.0f), vshift = vdupq_n_f32(shift);
  float32x4_t sum = vdupq_n_f32(0.0f);
  for (size_t j = 0; j < m; j += W) {
    const size_t count = m - j < W ? m - j : W;
    float32x4_t weight = one;
    if (b != NULL) weight = fl_neon_load_tail(b + j, count, 0.0f);
    if (c != NULL) weight = vmulq_f32(weight, fl_neon_load_tail(c + j, count, 0.0f));
    /* Zero weights contribute 0 even where a is infinite; lanes past the
     * row load 0 and drop out the same way. */
    const uint32x4_t keep = vandq_u32(vmvnq_u32(vceqq_f32(weight, vdupq_n_f32(0.0f))),
                                      fl_neon_tail_mask(count));
    const float32x4_t shifted = vsubq_f32(fl_neon_load_tail(a + j, count, 0.0f), vshift);
    sum = vaddq_f32(sum, fl_neon_and_mask(vmulq_f32(shifted, weight), keep));
  }
  return fl_neon_hsum(sum);
}

/* Rows across lanes: lane r holds row r.  Each group of 4 rows is loaded
 * as 4 x 4 blocks, transposed into one vector per class, computed class by
 * class, and transposed back for the gradient's stores.  Rows of 4 to 16
 * classes take blocks of full columns, [0, 4), [4, 8), ... and last
 * [m - 4, m), which overlaps the one before when 4 does not divide m (the
 * shared classes are loaded twice and stored twice, the same values), so no
 * tail goes through a stack buffer and nothing outside a row is touched;
 * rows of fewer than 4 classes take one block cut to the row.  The label
 * term: the rows' labels, one per lane, compared with each class index (the
 * masks kept for the gradient). */
static void fl_f32_xent_smallrows_ukernel__neon(size_t rows, size_t m, const float *z, size_t ld_z,
                                                const int32_t *labels, const float *alpha,
                                                const float *beta, const float *label_coef,
                                                float *grad, size_t ld_grad, float *row_max,
                                                float *row_logsum, float *row_zsum, float *row_zy) {
  float32x4_t tile[FL_XENT_SMALL_M];
  uint32x4_t is_label[FL_XENT_SMALL_M];
  const size_t blocks = (m + W - 1) / W;
  const int32x4_t one = vdupq_n_s32(1);
  for (size_t first = 0; first < rows; first += W) {
    const size_t count = rows - first < W ? rows - first : W;
    for (size_t b = 0; b < blocks; b++) {
      const size_t c = m < W ? 0 : (b + 1) * W <= m ? b * W : m - W;
      float32x4_t block[W];
      for (size_t r = 0; r < W; r++)
        block[r] = r >= count ? vdupq_n_f32(0.0f)
                   : m >= W   ? vld1q_f32(z + (first + r) * ld_z + c)
                              : fl_neon_load_tail(z + (first + r) * ld_z, m, 0.0f);
      fl_neon_transpose(block, tile + c); /* c + 4 <= FL_XENT_SMALL_M */
    }
    /* Lanes past `count` hold -1, which matches no class, and are never stored. */
    int32_t tail[W];
    for (size_t r = 0; r < W; r++) tail[r] = r < count ? labels[first + r] : -1;
    const int32x4_t y = vld1q_s32(count == W ? labels + first : tail);
    float32x4_t max = vdupq_n_f32(-INFINITY), zsum = vdupq_n_f32(0.0f), sum = vdupq_n_f32(0.0f);
    float32x4_t zy = vdupq_n_f32(0.0f);
    int32x4_t j_vec = vdupq_n_s32(0);
    for (size_t j = 0; j < m; j++) max = vmaxnmq_f32(tile[j], max);
    const float32x4_t shift = vmaxnmq_f32(max, vdupq_n_f32(-FLT_MAX));
    for (size_t j = 0; j < m; j++) {
      is_label[j] = vceqq_s32(y, j_vec);
      zy = vbslq_f32(is_label[j], tile[j], zy);
      j_vec = vaddq_s32(j_vec, one);
      zsum = vaddq_f32(zsum, vsubq_f32(tile[j], shift));
      tile[j] = fl_neon_exp_nonpos(vsubq_f32(tile[j], max));
      sum = vaddq_f32(sum, tile[j]);
    }
    fl_neon_store_tail(row_max + first, count, max);
    fl_neon_store_tail(row_logsum + first, count, fl_neon_log(sum));
    if (row_zsum != NULL) fl_neon_store_tail(row_zsum + first, count, zsum);
    fl_neon_store_tail(row_zy + first, count, zy);
    if (grad == NULL) continue;
    const float32x4_t scale = vdivq_f32(fl_neon_load_tail(alpha + first, count, 0.0f), sum);
    const float32x4_t offset = fl_neon_load_tail(beta + first, count, 0.0f);
    const float32x4_t lcoef = fl_neon_load_tail(label_coef + first, count, 0.0f);
    /* Each class once (the overlapping blocks share them); below 4 classes
     * the columns past m keep the loads' zeros, never stored. */
    for (size_t j = 0; j < m; j++)
      tile[j] =
          vsubq_f32(fl_neon_fmsub(tile[j], scale, offset), fl_neon_and_mask(lcoef, is_label[j]));
    for (size_t b = 0; b < blocks; b++) {
      const size_t c = m < W ? 0 : (b + 1) * W <= m ? b * W : m - W;
      float32x4_t block[W];
      fl_neon_transpose(tile + c, block);
      for (size_t r = 0; r < count; r++) {
        float *g = grad + (first + r) * ld_grad + c;
        if (m >= W)
          vst1q_f32(g, block[r]);
        else
          fl_neon_store_tail(g, m, block[r]);
      }
    }
  }
}

const fl_f32_xent_kernels fl_f32_xent_kernels__neon = {FL_XENT_KERNELS(FL_KERNEL_ENTRY, float)};
