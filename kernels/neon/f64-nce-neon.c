/* Sigmoid-logit micro-kernels of NCE and negative sampling, f64, AArch64
 * AdvSIMD (2 lanes).  Contracts in kernels/kernels.h.
 * dots: tiles of 1 row x up to 8 columns or 2 rows x up to 6 columns, one
 *   accumulator per dot product in registers, each x chunk loaded once per
 *   tile, as in f32-nce-neon.c; the sums are finished by pairwise adds.
 *   The error is about (d / 2 + 1) eps sum |x_j w_j|, against the scalar
 *   kernel's d eps.
 * sigmoid, sigmoid_bce: the portable code of f64-nce-sigmoid.h, the same on
 *   every ISA (that header says why).
 * gemv, ger: one FMA per element and coefficient; ger goes column by column,
 *   so a repeated row is loaded again after the previous update's store.
 * Tails: an odd d's last element is loaded into lane 0 of a zero vector and
 *   stored from lane 0 (the zero adds nothing to a dot): nothing past a row
 *   is read or written.
 * Follows kernels/avx2/f64-nce-avx2.c line for line. */
#include <arm_neon.h>
#include <stdint.h>

#include "f64-nce-sigmoid.h"
#include "kernels.h"

#define FL_UKERNEL_NAME(name) fl_f64_##name##_ukernel__neon
#define W 2
#define FL_TILE_INLINE __attribute__((always_inline)) static inline

/* Widest tiles: as in the AVX2 file (one row, 8 accumulators; two rows, 12),
 * well inside the 32 registers. */
#define FL_DOTS_COLS1 8
#define FL_DOTS_COLS2 6

/* p[0, count) in lanes [0, count), the other lanes 0; count in [0, 2]. */
static inline float64x2_t fl_neon_load_tail_f64(const double *p, size_t count) {
  if (count >= W) return vld1q_f64(p);
  return count ? vsetq_lane_f64(p[0], vdupq_n_f64(0.0), 0) : vdupq_n_f64(0.0);
}

/* Lanes [0, count) of v to p[0, count); count in [0, 2]. */
static inline void fl_neon_store_tail_f64(double *p, size_t count, float64x2_t v) {
  if (count >= W)
    vst1q_f64(p, v);
  else if (count)
    vst1q_lane_f64(p, v, 0);
}

/* z[c] = sum of the lanes of acc[c] for c < cols <= 8. */
FL_TILE_INLINE void fl_neon_store_sums_f64(double *z, size_t cols, const float64x2_t acc[8]) {
#pragma GCC unroll 4
  for (size_t c = 0; c < 8; c += W)
    if (c < cols)
      fl_neon_store_tail_f64(z + c, cols - c,
                             vpaddq_f64(acc[c], c + 1 < cols ? acc[c + 1] : acc[c]));
}

/* One tile: z[r * ld_z + c] = x[r] . w[c] for r < rows (1 or 2), c < cols. */
FL_TILE_INLINE void fl_neon_dots_tile_pd(size_t rows, size_t cols, size_t d, const double *const *x,
                                         const double *const *w, double *z, size_t ld_z) {
  float64x2_t acc[2][8];
#pragma GCC unroll 8
  for (size_t r = 0; r < rows; r++)
#pragma GCC unroll 8
    for (size_t c = 0; c < cols; c++) acc[r][c] = vdupq_n_f64(0.0);
  size_t j = 0;
  for (; j + W <= d; j += W) {
    float64x2_t xv[2];
#pragma GCC unroll 8
    for (size_t r = 0; r < rows; r++) xv[r] = vld1q_f64(x[r] + j);
#pragma GCC unroll 8
    for (size_t c = 0; c < cols; c++) {
      const float64x2_t wv = vld1q_f64(w[c] + j);
#pragma GCC unroll 8
      for (size_t r = 0; r < rows; r++) acc[r][c] = vfmaq_f64(acc[r][c], xv[r], wv);
    }
  }
  if (j < d) {
    float64x2_t xv[2];
#pragma GCC unroll 8
    for (size_t r = 0; r < rows; r++) xv[r] = fl_neon_load_tail_f64(x[r] + j, d - j);
#pragma GCC unroll 8
    for (size_t c = 0; c < cols; c++) {
      const float64x2_t wv = fl_neon_load_tail_f64(w[c] + j, d - j);
#pragma GCC unroll 8
      for (size_t r = 0; r < rows; r++) acc[r][c] = vfmaq_f64(acc[r][c], xv[r], wv);
    }
  }
  fl_neon_store_sums_f64(z, cols, acc[0]);
  if (rows == 2) fl_neon_store_sums_f64(z + ld_z, cols, acc[1]);
}

/* The tile for a run-time width, each width its own unrolled copy. */
static void fl_neon_dots_tile_any_pd(size_t rows, size_t cols, size_t d, const double *const *x,
                                     const double *const *w, double *z, size_t ld_z) {
  if (rows == 2) {
    switch (cols) {
      case 1:
        fl_neon_dots_tile_pd(2, 1, d, x, w, z, ld_z);
        break;
      case 2:
        fl_neon_dots_tile_pd(2, 2, d, x, w, z, ld_z);
        break;
      case 3:
        fl_neon_dots_tile_pd(2, 3, d, x, w, z, ld_z);
        break;
      case 4:
        fl_neon_dots_tile_pd(2, 4, d, x, w, z, ld_z);
        break;
      case 5:
        fl_neon_dots_tile_pd(2, 5, d, x, w, z, ld_z);
        break;
      default:
        fl_neon_dots_tile_pd(2, 6, d, x, w, z, ld_z);
        break;
    }
    return;
  }
  switch (cols) {
    case 1:
      fl_neon_dots_tile_pd(1, 1, d, x, w, z, ld_z);
      break;
    case 2:
      fl_neon_dots_tile_pd(1, 2, d, x, w, z, ld_z);
      break;
    case 3:
      fl_neon_dots_tile_pd(1, 3, d, x, w, z, ld_z);
      break;
    case 4:
      fl_neon_dots_tile_pd(1, 4, d, x, w, z, ld_z);
      break;
    case 5:
      fl_neon_dots_tile_pd(1, 5, d, x, w, z, ld_z);
      break;
    case 6:
      fl_neon_dots_tile_pd(1, 6, d, x, w, z, ld_z);
      break;
    case 7:
      fl_neon_dots_tile_pd(1, 7, d, x, w, z, ld_z);
      break;
    default:
      fl_neon_dots_tile_pd(1, 8, d, x, w, z, ld_z);
      break;
  }
}

/* rows (1 or 2) rows against all columns, in tiles of as equal widths as
 * possible. */
static void fl_neon_dots_rows_pd(size_t rows, size_t max_cols, size_t cols, size_t d,
                                 const double *const *x, const double *const *w, double *z,
                                 size_t ld_z) {
  const size_t tiles = (cols + max_cols - 1) / max_cols;
  size_t c = 0;
  for (size_t t = 0; t < tiles; t++) {
    const size_t width = (cols - c) / (tiles - t);
    fl_neon_dots_tile_any_pd(rows, width, d, x, w + c, z + c, ld_z);
    c += width;
  }
}

static void fl_f64_nce_dots_ukernel__neon(size_t rows, size_t cols, size_t d,
                                          const double *const *x, const double *const *w, double *z,
                                          size_t ld_z) {
  size_t r = 0;
  for (; r + 2 <= rows; r += 2)
    fl_neon_dots_rows_pd(2, FL_DOTS_COLS2, cols, d, x + r, w, z + r * ld_z, ld_z);
  if (r < rows) fl_neon_dots_rows_pd(1, FL_DOTS_COLS1, cols, d, x + r, w, z + r * ld_z, ld_z);
}

static void fl_f64_nce_sigmoid_ukernel__neon(size_t m, const double *y, double *q, double *c) {
  fl_f64_sigmoid_rows(m, y, q, c, NULL);
}

static void fl_f64_nce_sigmoid_bce_ukernel__neon(size_t m, const double *y, double *q, double *c,
                                                 double *t) {
  fl_f64_sigmoid_rows(m, y, q, c, t);
}

/* Four chunks per step share each broadcast coefficient and keep four
 * independent FMA chains. */
static void fl_f64_nce_gemv_ukernel__neon(size_t cols, size_t d, const double *coef,
                                          const double *const *w, double *out) {
  size_t j = 0;
  for (; j + 4 * W <= d; j += 4 * W) {
    float64x2_t acc0 = vld1q_f64(out + j), acc1 = vld1q_f64(out + j + W);
    float64x2_t acc2 = vld1q_f64(out + j + 2 * W), acc3 = vld1q_f64(out + j + 3 * W);
    for (size_t c = 0; c < cols; c++) {
      const float64x2_t a = vdupq_n_f64(coef[c]);
      const double *wc = w[c] + j;
      acc0 = vfmaq_f64(acc0, a, vld1q_f64(wc));
      acc1 = vfmaq_f64(acc1, a, vld1q_f64(wc + W));
      acc2 = vfmaq_f64(acc2, a, vld1q_f64(wc + 2 * W));
      acc3 = vfmaq_f64(acc3, a, vld1q_f64(wc + 3 * W));
    }
    vst1q_f64(out + j, acc0);
    vst1q_f64(out + j + W, acc1);
    vst1q_f64(out + j + 2 * W, acc2);
    vst1q_f64(out + j + 3 * W, acc3);
  }
  for (; j < d; j += W) {
    const size_t count = d - j < W ? d - j : W;
    float64x2_t acc = fl_neon_load_tail_f64(out + j, count);
    for (size_t c = 0; c < cols; c++)
      acc = vfmaq_f64(acc, vdupq_n_f64(coef[c]), fl_neon_load_tail_f64(w[c] + j, d - j));
    fl_neon_store_tail_f64(out + j, count, acc);
  }
}

/* Column by column: every load of w[c] follows the stores of the earlier
 * columns, so a repeated row accumulates all its updates. */
static void fl_f64_nce_ger_ukernel__neon(size_t cols, size_t d, const double *coef, const double *x,
                                         double *const *w) {
  for (size_t c = 0; c < cols; c++) {
    double *wc = w[c];
    const float64x2_t a = vdupq_n_f64(coef[c]);
    size_t j = 0;
    for (; j + 2 * W <= d; j += 2 * W) {
      const float64x2_t w0 = vfmaq_f64(vld1q_f64(wc + j), a, vld1q_f64(x + j));
      const float64x2_t w1 = vfmaq_f64(vld1q_f64(wc + j + W), a, vld1q_f64(x + j + W));
      vst1q_f64(wc + j, w0);
      vst1q_f64(wc + j + W, w1);
    }
    for (; j < d; j += W) {
      const size_t count = d - j < W ? d - j : W;
      const float64x2_t v =
          vfmaq_f64(fl_neon_load_tail_f64(wc + j, count), a, fl_neon_load_tail_f64(x + j, count));
      fl_neon_store_tail_f64(wc + j, count, v);
    }
  }
}

const fl_f64_nce_kernels fl_f64_nce_kernels__neon = {FL_NCE_KERNELS(FL_KERNEL_ENTRY, double)};
