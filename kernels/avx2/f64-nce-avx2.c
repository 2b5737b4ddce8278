/* Sigmoid-logit micro-kernels of NCE and negative sampling, f64, AVX2+FMA
 * (4 lanes).  Contracts in kernels/kernels.h.
 * dots: tiles of 1 row x up to 8 columns or 2 rows x up to 6 columns, one
 *   accumulator per dot product in registers, each x chunk loaded once per
 *   tile, as in f32-nce-avx2.c; the sums of four accumulators are finished
 *   together (two hadds and a cross-lane add).  The error is about
 *   (d / 4 + 2) eps sum |x_j w_j|, against the scalar kernel's d eps.
 * sigmoid, sigmoid_bce: the portable code of f64-nce-sigmoid.h, the same on
 *   every ISA (that header says why).
 * gemv, ger: one FMA per element and coefficient; ger goes column by column,
 *   so a repeated row is loaded again after the previous update's store.
 * Tails: the last d % 4 elements go through masked loads and stores
 *   (masked-off lanes are never touched and load as 0, which adds nothing
 *   to a dot): nothing past a row is read or written.
 * The AVX-512 and NEON files follow this one line for line. */
#include <immintrin.h>
#include <stdint.h>

#include "f64-nce-sigmoid.h"
#include "kernels.h"

#define FL_UKERNEL_NAME(name) fl_f64_##name##_ukernel__avx2
#define W 4
#define FL_TILE_INLINE __attribute__((always_inline)) static inline

/* Widest tiles: one row, 8 accumulators + x + w; two rows, 12 accumulators
 * + 2 x + w, of the 16 registers. */
#define FL_DOTS_COLS1 8
#define FL_DOTS_COLS2 6

/* Lanes [0, count) set, count in [0, 4]. */
static inline __m256i fl_avx2_tail_mask_pd(size_t count) {
  return _mm256_cmpgt_epi64(_mm256_set1_epi64x((long long)count), _mm256_setr_epi64x(0, 1, 2, 3));
}

/* The lane sums of a, b, c, d in lanes 0, 1, 2, 3. */
FL_TILE_INLINE __m256d fl_avx2_sum4_pd(__m256d a, __m256d b, __m256d c, __m256d d) {
  const __m256d ab = _mm256_hadd_pd(a, b); /* a0+a1, b0+b1, a2+a3, b2+b3 */
  const __m256d cd = _mm256_hadd_pd(c, d);
  return _mm256_add_pd(_mm256_permute2f128_pd(ab, cd, 0x20), _mm256_permute2f128_pd(ab, cd, 0x31));
}

/* z[c] = sum of the lanes of acc[c] for c < cols <= 8. */
FL_TILE_INLINE void fl_avx2_store_sums_pd(double *z, size_t cols, const __m256d acc[8]) {
  __m256d v[8];
#pragma GCC unroll 8
  for (size_t c = 0; c < 8; c++) v[c] = c < cols ? acc[c] : _mm256_setzero_pd();
  const __m256d s0 = fl_avx2_sum4_pd(v[0], v[1], v[2], v[3]);
  if (cols >= W)
    _mm256_storeu_pd(z, s0);
  else
    _mm256_maskstore_pd(z, fl_avx2_tail_mask_pd(cols), s0);
  if (cols > W)
    _mm256_maskstore_pd(z + W, fl_avx2_tail_mask_pd(cols - W),
                        fl_avx2_sum4_pd(v[4], v[5], v[6], v[7]));
}

/* One tile: z[r * ld_z + c] = x[r] . w[c] for r < rows (1 or 2), c < cols. */
FL_TILE_INLINE void fl_avx2_dots_tile_pd(size_t rows, size_t cols, size_t d, const double *const *x,
                                         const double *const *w, double *z, size_t ld_z) {
  __m256d acc[2][8];
#pragma GCC unroll 8
  for (size_t r = 0; r < rows; r++)
#pragma GCC unroll 8
    for (size_t c = 0; c < cols; c++) acc[r][c] = _mm256_setzero_pd();
  size_t j = 0;
  for (; j + W <= d; j += W) {
    __m256d xv[2];
#pragma GCC unroll 8
    for (size_t r = 0; r < rows; r++) xv[r] = _mm256_loadu_pd(x[r] + j);
#pragma GCC unroll 8
    for (size_t c = 0; c < cols; c++) {
      const __m256d wv = _mm256_loadu_pd(w[c] + j);
#pragma GCC unroll 8
      for (size_t r = 0; r < rows; r++) acc[r][c] = _mm256_fmadd_pd(xv[r], wv, acc[r][c]);
    }
  }
  if (j < d) {
    const __m256i mask = fl_avx2_tail_mask_pd(d - j);
    __m256d xv[2];
#pragma GCC unroll 8
    for (size_t r = 0; r < rows; r++) xv[r] = _mm256_maskload_pd(x[r] + j, mask);
#pragma GCC unroll 8
    for (size_t c = 0; c < cols; c++) {
      const __m256d wv = _mm256_maskload_pd(w[c] + j, mask);
#pragma GCC unroll 8
      for (size_t r = 0; r < rows; r++) acc[r][c] = _mm256_fmadd_pd(xv[r], wv, acc[r][c]);
    }
  }
  fl_avx2_store_sums_pd(z, cols, acc[0]);
  if (rows == 2) fl_avx2_store_sums_pd(z + ld_z, cols, acc[1]);
}

/* The tile for a run-time width, each width its own unrolled copy. */
static void fl_avx2_dots_tile_any_pd(size_t rows, size_t cols, size_t d, const double *const *x,
                                     const double *const *w, double *z, size_t ld_z) {
  if (rows == 2) {
    switch (cols) {
      case 1:
        fl_avx2_dots_tile_pd(2, 1, d, x, w, z, ld_z);
        break;
      case 2:
        fl_avx2_dots_tile_pd(2, 2, d, x, w, z, ld_z);
        break;
      case 3:
        fl_avx2_dots_tile_pd(2, 3, d, x, w, z, ld_z);
        break;
      case 4:
        fl_avx2_dots_tile_pd(2, 4, d, x, w, z, ld_z);
        break;
      case 5:
        fl_avx2_dots_tile_pd(2, 5, d, x, w, z, ld_z);
        break;
      default:
        fl_avx2_dots_tile_pd(2, 6, d, x, w, z, ld_z);
        break;
    }
    return;
  }
  switch (cols) {
    case 1:
      fl_avx2_dots_tile_pd(1, 1, d, x, w, z, ld_z);
      break;
    case 2:
      fl_avx2_dots_tile_pd(1, 2, d, x, w, z, ld_z);
      break;
    case 3:
      fl_avx2_dots_tile_pd(1, 3, d, x, w, z, ld_z);
      break;
    case 4:
      fl_avx2_dots_tile_pd(1, 4, d, x, w, z, ld_z);
      break;
    case 5:
      fl_avx2_dots_tile_pd(1, 5, d, x, w, z, ld_z);
      break;
    case 6:
      fl_avx2_dots_tile_pd(1, 6, d, x, w, z, ld_z);
      break;
    case 7:
      fl_avx2_dots_tile_pd(1, 7, d, x, w, z, ld_z);
      break;
    default:
      fl_avx2_dots_tile_pd(1, 8, d, x, w, z, ld_z);
      break;
  }
}

/* rows (1 or 2) rows against all columns, in tiles of as equal widths as
 * possible. */
static void fl_avx2_dots_rows_pd(size_t rows, size_t max_cols, size_t cols, size_t d,
                                 const double *const *x, const double *const *w, double *z,
                                 size_t ld_z) {
  const size_t tiles = (cols + max_cols - 1) / max_cols;
  size_t c = 0;
  for (size_t t = 0; t < tiles; t++) {
    const size_t width = (cols - c) / (tiles - t);
    fl_avx2_dots_tile_any_pd(rows, width, d, x, w + c, z + c, ld_z);
    c += width;
  }
}

static void fl_f64_nce_dots_ukernel__avx2(size_t rows, size_t cols, size_t d,
                                          const double *const *x, const double *const *w, double *z,
                                          size_t ld_z) {
  size_t r = 0;
  for (; r + 2 <= rows; r += 2)
    fl_avx2_dots_rows_pd(2, FL_DOTS_COLS2, cols, d, x + r, w, z + r * ld_z, ld_z);
  if (r < rows) fl_avx2_dots_rows_pd(1, FL_DOTS_COLS1, cols, d, x + r, w, z + r * ld_z, ld_z);
}

static void fl_f64_nce_sigmoid_ukernel__avx2(size_t m, const double *y, double *q, double *c) {
  fl_f64_sigmoid_rows(m, y, q, c, NULL);
}

static void fl_f64_nce_sigmoid_bce_ukernel__avx2(size_t m, const double *y, double *q, double *c,
                                                 double *t) {
  fl_f64_sigmoid_rows(m, y, q, c, t);
}

/* Four chunks per step share each broadcast coefficient and keep four
 * independent FMA chains. */
static void fl_f64_nce_gemv_ukernel__avx2(size_t cols, size_t d, const double *coef,
                                          const double *const *w, double *out) {
  size_t j = 0;
  for (; j + 4 * W <= d; j += 4 * W) {
    __m256d acc0 = _mm256_loadu_pd(out + j), acc1 = _mm256_loadu_pd(out + j + W);
    __m256d acc2 = _mm256_loadu_pd(out + j + 2 * W), acc3 = _mm256_loadu_pd(out + j + 3 * W);
    for (size_t c = 0; c < cols; c++) {
      const __m256d a = _mm256_set1_pd(coef[c]);
      const double *wc = w[c] + j;
      acc0 = _mm256_fmadd_pd(a, _mm256_loadu_pd(wc), acc0);
      acc1 = _mm256_fmadd_pd(a, _mm256_loadu_pd(wc + W), acc1);
      acc2 = _mm256_fmadd_pd(a, _mm256_loadu_pd(wc + 2 * W), acc2);
      acc3 = _mm256_fmadd_pd(a, _mm256_loadu_pd(wc + 3 * W), acc3);
    }
    _mm256_storeu_pd(out + j, acc0);
    _mm256_storeu_pd(out + j + W, acc1);
    _mm256_storeu_pd(out + j + 2 * W, acc2);
    _mm256_storeu_pd(out + j + 3 * W, acc3);
  }
  for (; j < d; j += W) {
    const size_t count = d - j < W ? d - j : W;
    const __m256i mask = fl_avx2_tail_mask_pd(count);
    __m256d acc = _mm256_maskload_pd(out + j, mask);
    for (size_t c = 0; c < cols; c++)
      acc = _mm256_fmadd_pd(_mm256_set1_pd(coef[c]), _mm256_maskload_pd(w[c] + j, mask), acc);
    _mm256_maskstore_pd(out + j, mask, acc);
  }
}

/* Column by column: every load of w[c] follows the stores of the earlier
 * columns, so a repeated row accumulates all its updates. */
static void fl_f64_nce_ger_ukernel__avx2(size_t cols, size_t d, const double *coef, const double *x,
                                         double *const *w) {
  for (size_t c = 0; c < cols; c++) {
    double *wc = w[c];
    const __m256d a = _mm256_set1_pd(coef[c]);
    size_t j = 0;
    for (; j + 2 * W <= d; j += 2 * W) {
      const __m256d w0 = _mm256_fmadd_pd(a, _mm256_loadu_pd(x + j), _mm256_loadu_pd(wc + j));
      const __m256d w1 =
          _mm256_fmadd_pd(a, _mm256_loadu_pd(x + j + W), _mm256_loadu_pd(wc + j + W));
      _mm256_storeu_pd(wc + j, w0);
      _mm256_storeu_pd(wc + j + W, w1);
    }
    for (; j < d; j += W) {
      const size_t count = d - j < W ? d - j : W;
      const __m256i mask = fl_avx2_tail_mask_pd(count);
      const __m256d v =
          _mm256_fmadd_pd(a, _mm256_maskload_pd(x + j, mask), _mm256_maskload_pd(wc + j, mask));
      _mm256_maskstore_pd(wc + j, mask, v);
    }
  }
}

const fl_f64_nce_kernels fl_f64_nce_kernels__avx2 = {FL_NCE_KERNELS(FL_KERNEL_ENTRY, double)};
