/* Sigmoid-logit micro-kernels of NCE and negative sampling, f32, AArch64
 * AdvSIMD (4 lanes).  Contracts in kernels/kernels.h.
 * dots: tiles of 1 row x up to 8 columns or 2 rows x up to 6 columns, one
 *   accumulator per dot product in registers (enough independent FMA chains
 *   to hide their latency), each x chunk loaded once per tile; the tile's
 *   sums are finished together by a tree of pairwise adds.  Float
 *   accumulation, so the error is about (d / 4 + 2) eps sum |x_j w_j|,
 *   against the double sums of the scalar baseline.
 * sigmoid: e = exp(-|y|) (neon-math.h, <= 1 ULP), r = 1 / (1 + e) by true
 *   division, sigmoid(|y|) = r and sigmoid(-|y|) = e r: no overflow, no
 *   1 - x cancellation, a few ULP; the clamp of exp flushes the small one to
 *   0 (or a denormal) past |y| ~ 87.3.  NaN flows through both.
 * sigmoid_bce: the same sigmoid (bit for bit), then the clipped BCE term as
 *   in the scalar file (maths and error there): one fl_neon_log per lane, of
 *   q where q <= 1/2 and of u = 1 - c, plus the exact correction
 *   (-c - (u - 1)) / u, where q > 1/2; the two clips blended in last.
 * gemv, ger: one FMA per element and coefficient; ger goes column by column,
 *   so a repeated row is loaded again after the previous update's store.
 * Tails: the last d % 4 (m % 4) elements are copied through a 4-float stack
 *   buffer (neon-math.h; the lanes past the row read as 0, which adds
 *   nothing to a dot): nothing past a row is read or written.
 * Follows kernels/avx2/f32-nce-avx2.c line for line. */
#include <math.h>

#include "kernels.h"
#include "neon-math.h"

#define FL_UKERNEL_NAME(name) fl_f32_##name##_ukernel__neon
#define W FL_NEON_LANES
/* Tile sizes must be constants, and the loops over them unrolled early
 * (the pragmas), for the accumulators to live in registers. */
#define FL_TILE_INLINE __attribute__((always_inline)) static inline

/* Widest tiles: as in the AVX2 file (one row, 8 accumulators; two rows, 12),
 * well inside the 32 registers. */
#define FL_DOTS_COLS1 8
#define FL_DOTS_COLS2 6

/* z[c] = sum of the lanes of acc[c] for c < cols <= 8. */
FL_TILE_INLINE void fl_neon_store_sums(float *z, size_t cols, const float32x4_t acc[8]) {
  float32x4_t v[8];
#pragma GCC unroll 8
  for (size_t c = 0; c < 8; c++) v[c] = c < cols ? acc[c] : vdupq_n_f32(0.0f);
  /* Pairwise adds: after two rounds lane k holds the sum of v[k] (first
   * vector) or of v[4 + k] (second). */
  const float32x4_t h01 = vpaddq_f32(v[0], v[1]), h23 = vpaddq_f32(v[2], v[3]);
  const float32x4_t h45 = vpaddq_f32(v[4], v[5]), h67 = vpaddq_f32(v[6], v[7]);
  const float32x4_t h0123 = vpaddq_f32(h01, h23), h4567 = vpaddq_f32(h45, h67);
  fl_neon_store_tail(z, cols < W ? cols : W, h0123);
  if (cols > W) fl_neon_store_tail(z + W, cols - W, h4567);
}

/* One tile: z[r * ld_z + c] = x[r] . w[c] for r < rows (1 or 2), c < cols. */
FL_TILE_INLINE void fl_neon_dots_tile(size_t rows, size_t cols, size_t d, const float *const *x,
                                      const float *const *w, float *z, size_t ld_z) {
  float32x4_t acc[2][8];
#pragma GCC unroll 8
  for (size_t r = 0; r < rows; r++)
#pragma GCC unroll 8
    for (size_t c = 0; c < cols; c++) acc[r][c] = vdupq_n_f32(0.0f);
  size_t j = 0;
  for (; j + W <= d; j += W) {
    float32x4_t xv[2];
#pragma GCC unroll 8
    for (size_t r = 0; r < rows; r++) xv[r] = vld1q_f32(x[r] + j);
#pragma GCC unroll 8
    for (size_t c = 0; c < cols; c++) {
      const float32x4_t wv = vld1q_f32(w[c] + j);
#pragma GCC unroll 8
      for (size_t r = 0; r < rows; r++) acc[r][c] = vfmaq_f32(acc[r][c], xv[r], wv);
    }
  }
  if (j < d) {
    const size_t count = d - j;
    float32x4_t xv[2];
#pragma GCC unroll 8
    for (size_t r = 0; r < rows; r++) xv[r] = fl_neon_load_tail(x[r] + j, count, 0.0f);
#pragma GCC unroll 8
    for (size_t c = 0; c < cols; c++) {
      const float32x4_t wv = fl_neon_load_tail(w[c] + j, count, 0.0f);
#pragma GCC unroll 8
      for (size_t r = 0; r < rows; r++) acc[r][c] = vfmaq_f32(acc[r][c], xv[r], wv);
    }
  }
  fl_neon_store_sums(z, cols, acc[0]);
  if (rows == 2) fl_neon_store_sums(z + ld_z, cols, acc[1]);
}

/* The tile for a run-time width, each width its own unrolled copy. */
static void fl_neon_dots_tile_any(size_t rows, size_t cols, size_t d, const float *const *x,
                                  const float *const *w, float *z, size_t ld_z) {
  if (rows == 2) {
    switch (cols) {
      case 1:
        fl_neon_dots_tile(2, 1, d, x, w, z, ld_z);
        break;
      case 2:
        fl_neon_dots_tile(2, 2, d, x, w, z, ld_z);
        break;
      case 3:
        fl_neon_dots_tile(2, 3, d, x, w, z, ld_z);
        break;
      case 4:
        fl_neon_dots_tile(2, 4, d, x, w, z, ld_z);
        break;
      case 5:
        fl_neon_dots_tile(2, 5, d, x, w, z, ld_z);
        break;
      default:
        fl_neon_dots_tile(2, 6, d, x, w, z, ld_z);
        break;
    }
    return;
  }
  switch (cols) {
    case 1:
      fl_neon_dots_tile(1, 1, d, x, w, z, ld_z);
      break;
    case 2:
      fl_neon_dots_tile(1, 2, d, x, w, z, ld_z);
      break;
    case 3:
      fl_neon_dots_tile(1, 3, d, x, w, z, ld_z);
      break;
    case 4:
      fl_neon_dots_tile(1, 4, d, x, w, z, ld_z);
      break;
    case 5:
      fl_neon_dots_tile(1, 5, d, x, w, z, ld_z);
      break;
    case 6:
      fl_neon_dots_tile(1, 6, d, x, w, z, ld_z);
      break;
    case 7:
      fl_neon_dots_tile(1, 7, d, x, w, z, ld_z);
      break;
    default:
      fl_neon_dots_tile(1, 8, d, x, w, z, ld_z);
      break;
  }
}

/* rows (1 or 2) rows against all columns, in tiles of as equal widths as
 * possible (9 columns as 4 + 5, not 6 + 3: every tile keeps enough FMA
 * chains). */
static void fl_neon_dots_rows(size_t rows, size_t max_cols, size_t cols, size_t d,
                              const float *const *x, const float *const *w, float *z, size_t ld_z) {
  const size_t tiles = (cols + max_cols - 1) / max_cols;
  size_t c = 0;
  for (size_t t = 0; t < tiles; t++) {
    const size_t width = (cols - c) / (tiles - t);
    fl_neon_dots_tile_any(rows, width, d, x, w + c, z + c, ld_z);
    c += width;
  }
}

static void fl_f32_nce_dots_ukernel__neon(size_t rows, size_t cols, size_t d, const float *const *x,
                                          const float *const *w, float *z, size_t ld_z) {
  size_t r = 0;
  for (; r + 2 <= rows; r += 2)
    fl_neon_dots_rows(2, FL_DOTS_COLS2, cols, d, x + r, w, z + r * ld_z, ld_z);
  if (r < rows) fl_neon_dots_rows(1, FL_DOTS_COLS1, cols, d, x + r, w, z + r * ld_z, ld_z);
}

/* q = sigmoid(y), c = sigmoid(-y), 8 lanes. */
FL_TILE_INLINE void fl_neon_sigmoid(float32x4_t y, float32x4_t *q, float32x4_t *c) {
  const float32x4_t e = fl_neon_exp_nonpos(vnegq_f32(vabsq_f32(y))); /* exp(-|y|) */
  const float32x4_t r = vdivq_f32(vdupq_n_f32(1.0f), vaddq_f32(vdupq_n_f32(1.0f), e));
  const float32x4_t small = vmulq_f32(e, r);
  /* Ordered compare: a NaN lane takes small, which is NaN too. */
  const uint32x4_t positive = vcgeq_f32(y, vdupq_n_f32(0.0f));
  *q = vbslq_f32(positive, r, small);
  *c = vbslq_f32(positive, small, r);
}

/* -log of q clipped to [eps, 1 - eps], from q and c = 1 - q, 4 lanes. */
FL_TILE_INLINE float32x4_t fl_neon_bce_term(float32x4_t q, float32x4_t c) {
  const uint32x4_t upper = vcgtq_f32(q, vdupq_n_f32(0.5f));
  const float32x4_t u = vsubq_f32(vdupq_n_f32(1.0f), c);
  const float32x4_t arg = vbslq_f32(upper, u, q);
  const float32x4_t excess = vaddq_f32(c, vsubq_f32(u, vdupq_n_f32(1.0f)));
  const float32x4_t correction = fl_neon_and_mask(vdivq_f32(vnegq_f32(excess), u), upper);
  float32x4_t t = vnegq_f32(vaddq_f32(fl_neon_log(arg), correction));
  t = vbslq_f32(vcltq_f32(c, vdupq_n_f32(FL_NCE_EPS)), vdupq_n_f32(FL_NCE_CLIP_HIGH), t);
  t = vbslq_f32(vcltq_f32(q, vdupq_n_f32(FL_NCE_EPS)), vdupq_n_f32(FL_NCE_CLIP_LOW), t);
  return t;
}

/* The loop of both kernels: q and c, and the BCE terms when t is not NULL
 * (t may be y).  Inlined with t = NULL, the sigmoid kernel stores no terms. */
FL_TILE_INLINE void fl_neon_sigmoid_rows(size_t m, const float *y, float *q, float *c, float *t) {
  size_t j = 0;
  for (; j + W <= m; j += W) {
    float32x4_t qv, cv;
    fl_neon_sigmoid(vld1q_f32(y + j), &qv, &cv);
    vst1q_f32(q + j, qv);
    vst1q_f32(c + j, cv);
    if (t != NULL) vst1q_f32(t + j, fl_neon_bce_term(qv, cv));
  }
  if (j < m) {
    const size_t count = m - j;
    float32x4_t qv, cv;
    fl_neon_sigmoid(fl_neon_load_tail(y + j, count, 0.0f), &qv, &cv);
    fl_neon_store_tail(q + j, count, qv);
    fl_neon_store_tail(c + j, count, cv);
    if (t != NULL) fl_neon_store_tail(t + j, count, fl_neon_bce_term(qv, cv));
  }
}

static void fl_f32_nce_sigmoid_ukernel__neon(size_t m, const float *y, float *q, float *c) {
  fl_neon_sigmoid_rows(m, y, q, c, NULL);
}

static void fl_f32_nce_sigmoid_bce_ukernel__neon(size_t m, const float *y, float *q, float *c,
                                                 float *t) {
  fl_neon_sigmoid_rows(m, y, q, c, t);
}

/* Four chunks per step share each broadcast coefficient and keep four
 * independent FMA chains. */
static void fl_f32_nce_gemv_ukernel__neon(size_t cols, size_t d, const float *coef,
                                          const float *const *w, float *out) {
  size_t j = 0;
  for (; j + 4 * W <= d; j += 4 * W) {
    float32x4_t acc0 = vld1q_f32(out + j), acc1 = vld1q_f32(out + j + W);
    float32x4_t acc2 = vld1q_f32(out + j + 2 * W), acc3 = vld1q_f32(out + j + 3 * W);
    for (size_t c = 0; c < cols; c++) {
      const float32x4_t a = vdupq_n_f32(coef[c]);
      const float *wc = w[c] + j;
      acc0 = vfmaq_f32(acc0, a, vld1q_f32(wc));
      acc1 = vfmaq_f32(acc1, a, vld1q_f32(wc + W));
      acc2 = vfmaq_f32(acc2, a, vld1q_f32(wc + 2 * W));
      acc3 = vfmaq_f32(acc3, a, vld1q_f32(wc + 3 * W));
    }
    vst1q_f32(out + j, acc0);
    vst1q_f32(out + j + W, acc1);
    vst1q_f32(out + j + 2 * W, acc2);
    vst1q_f32(out + j + 3 * W, acc3);
  }
  for (; j < d; j += W) {
    const size_t count = d - j < W ? d - j : W;
    float32x4_t acc = fl_neon_load_tail(out + j, count, 0.0f);
    for (size_t c = 0; c < cols; c++)
      acc = vfmaq_f32(acc, vdupq_n_f32(coef[c]), fl_neon_load_tail(w[c] + j, count, 0.0f));
    fl_neon_store_tail(out + j, count, acc);
  }
}

/* Column by column: every load of w[c] follows the stores of the earlier
 * columns, so a repeated row accumulates all its updates. */
static void fl_f32_nce_ger_ukernel__neon(size_t cols, size_t d, const float *coef, const float *x,
                                         float *const *w) {
  for (size_t c = 0; c < cols; c++) {
    float *wc = w[c];
    const float32x4_t a = vdupq_n_f32(coef[c]);
    size_t j = 0;
    for (; j + 2 * W <= d; j += 2 * W) {
      const float32x4_t w0 = vfmaq_f32(vld1q_f32(wc + j), a, vld1q_f32(x + j));
      const float32x4_t w1 = vfmaq_f32(vld1q_f32(wc + j + W), a, vld1q_f32(x + j + W));
      vst1q_f32(wc + j, w0);
      vst1q_f32(wc + j + W, w1);
    }
    for (; j < d; j += W) {
      const size_t count = d - j < W ? d - j : W;
      const float32x4_t v = vfmaq_f32(fl_neon_load_tail(wc + j, count, 0.0f), a,
                                      fl_neon_load_tail(x + j, count, 0.0f));
      fl_neon_store_tail(wc + j, count, v);
    }
  }
}

const fl_f32_nce_kernels fl_f32_nce_kernels__neon = {FL_NCE_KERNELS(FL_KERNEL_ENTRY, float)};
