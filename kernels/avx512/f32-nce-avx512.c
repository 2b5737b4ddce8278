/* Sigmoid-logit micro-kernels of NCE and negative sampling, f32, AVX-512
 * F+DQ+BW+VL (16 lanes).  Contracts in kernels/kernels.h.
 * dots: tiles of 1 row x up to 8 columns or 2 rows x up to 6 columns, one
 *   accumulator per dot product in registers (enough independent FMA chains
 *   to hide their latency), each x chunk loaded once per tile; the tile's
 *   sums are folded to 8 lanes and finished together by one hadd tree.
 *   Float accumulation, so the error is about (d / 16 + 4) eps sum
 *   |x_j w_j|, against the double sums of the scalar baseline.
 * sigmoid: e = exp(-|y|) (avx512-math.h, <= 1 ULP), r = 1 / (1 + e) by true
 *   division, sigmoid(|y|) = r and sigmoid(-|y|) = e r: no overflow, no
 *   1 - x cancellation, a few ULP; the clamp of exp flushes the small one to
 *   0 (or a denormal) past |y| ~ 87.3.  NaN flows through both.
 * sigmoid_bce: the same sigmoid (bit for bit), then the clipped BCE term as
 *   in the scalar file (maths and error there): one fl_avx512_log per lane,
 *   of q where q <= 1/2 and of u = 1 - c, plus the exact correction
 *   (-c - (u - 1)) / u, where q > 1/2; the two clips blended in last.
 * gemv, ger: one FMA per element and coefficient; ger goes column by column,
 *   so a repeated row is loaded again after the previous update's store.
 * Tails: the last d % 16 (m % 16) elements go through masked loads and
 *   stores (masked-off lanes are never touched and load as 0, which adds
 *   nothing to a dot): nothing past a row is read or written.
 * Follows the AVX2 file line for line.  Compiled a second time against SIMDe
 * (FL_AVX512_EMULATED, tests only) as fl_f32_nce_kernels__avx512_emulated. */
#include <math.h>

#include "avx512-math.h"
#include "kernels.h"

#define FL_UKERNEL_NAME(name) fl_f32_##name##_ukernel__avx512
#define W FL_AVX512_LANES
#ifdef FL_AVX512_EMULATED
#define FL_AVX512_TABLE fl_f32_nce_kernels__avx512_emulated
#else
#define FL_AVX512_TABLE fl_f32_nce_kernels__avx512
#endif
/* Tile sizes must be constants, and the loops over them unrolled early
 * (the pragmas), for the accumulators to live in registers. */
#define FL_TILE_INLINE __attribute__((always_inline)) static inline

/* Widest tiles: as in the AVX2 file (one row, 8 accumulators; two rows, 12),
 * well inside the 32 registers. */
#define FL_DOTS_COLS1 8
#define FL_DOTS_COLS2 6

/* z[c] = sum of the lanes of acc[c] for c < cols <= 8. */
FL_TILE_INLINE void fl_avx512_store_sums(float *z, size_t cols, const __m512 acc[8]) {
  __m256 v[8];
#pragma GCC unroll 8
  for (size_t c = 0; c < 8; c++)
    v[c] = c < cols
               ? _mm256_add_ps(_mm512_castps512_ps256(acc[c]), _mm512_extractf32x8_ps(acc[c], 1))
               : _mm256_setzero_ps();
  /* hadd pairs lanes within 128-bit halves: after two rounds lane k of
   * each half holds a partial sum of v[k] (low half) or v[4 + k]. */
  const __m256 h01 = _mm256_hadd_ps(v[0], v[1]), h23 = _mm256_hadd_ps(v[2], v[3]);
  const __m256 h45 = _mm256_hadd_ps(v[4], v[5]), h67 = _mm256_hadd_ps(v[6], v[7]);
  const __m256 h0123 = _mm256_hadd_ps(h01, h23), h4567 = _mm256_hadd_ps(h45, h67);
  const __m256 low = _mm256_insertf128_ps(h0123, _mm256_castps256_ps128(h4567), 1);
  const __m256 high = _mm256_insertf128_ps(h4567, _mm256_extractf128_ps(h0123, 1), 0);
  fl_avx512_store_tail(z, cols, _mm512_castps256_ps512(_mm256_add_ps(low, high)));
}

/* One tile: z[r * ld_z + c] = x[r] . w[c] for r < rows (1 or 2), c < cols. */
FL_TILE_INLINE void fl_avx512_dots_tile(size_t rows, size_t cols, size_t d, const float *const *x,
                                        const float *const *w, float *z, size_t ld_z) {
  __m512 acc[2][8];
#pragma GCC unroll 8
  for (size_t r = 0; r < rows; r++)
#pragma GCC unroll 8
    for (size_t c = 0; c < cols; c++) acc[r][c] = _mm512_setzero_ps();
  size_t j = 0;
  for (; j + W <= d; j += W) {
    __m512 xv[2];
#pragma GCC unroll 8
    for (size_t r = 0; r < rows; r++) xv[r] = _mm512_loadu_ps(x[r] + j);
#pragma GCC unroll 8
    for (size_t c = 0; c < cols; c++) {
      const __m512 wv = _mm512_loadu_ps(w[c] + j);
#pragma GCC unroll 8
      for (size_t r = 0; r < rows; r++) acc[r][c] = _mm512_fmadd_ps(xv[r], wv, acc[r][c]);
    }
  }
  if (j < d) {
    const __mmask16 mask = fl_avx512_tail_mask(d - j);
    __m512 xv[2];
#pragma GCC unroll 8
    for (size_t r = 0; r < rows; r++) xv[r] = _mm512_maskz_loadu_ps(mask, x[r] + j);
#pragma GCC unroll 8
    for (size_t c = 0; c < cols; c++) {
      const __m512 wv = _mm512_maskz_loadu_ps(mask, w[c] + j);
#pragma GCC unroll 8
      for (size_t r = 0; r < rows; r++) acc[r][c] = _mm512_fmadd_ps(xv[r], wv, acc[r][c]);
    }
  }
  fl_avx512_store_sums(z, cols, acc[0]);
  if (rows == 2) fl_avx512_store_sums(z + ld_z, cols, acc[1]);
}

/* The tile for a run-time width, each width its own unrolled copy. */
static void fl_avx512_dots_tile_any(size_t rows, size_t cols, size_t d, const float *const *x,
                                    const float *const *w, float *z, size_t ld_z) {
  if (rows == 2) {
    switch (cols) {
      case 1:
        fl_avx512_dots_tile(2, 1, d, x, w, z, ld_z);
        break;
      case 2:
        fl_avx512_dots_tile(2, 2, d, x, w, z, ld_z);
        break;
      case 3:
        fl_avx512_dots_tile(2, 3, d, x, w, z, ld_z);
        break;
      case 4:
        fl_avx512_dots_tile(2, 4, d, x, w, z, ld_z);
        break;
      case 5:
        fl_avx512_dots_tile(2, 5, d, x, w, z, ld_z);
        break;
      default:
        fl_avx512_dots_tile(2, 6, d, x, w, z, ld_z);
        break;
    }
    return;
  }
  switch (cols) {
    case 1:
      fl_avx512_dots_tile(1, 1, d, x, w, z, ld_z);
      break;
    case 2:
      fl_avx512_dots_tile(1, 2, d, x, w, z, ld_z);
      break;
    case 3:
      fl_avx512_dots_tile(1, 3, d, x, w, z, ld_z);
      break;
    case 4:
      fl_avx512_dots_tile(1, 4, d, x, w, z, ld_z);
      break;
    case 5:
      fl_avx512_dots_tile(1, 5, d, x, w, z, ld_z);
      break;
    case 6:
      fl_avx512_dots_tile(1, 6, d, x, w, z, ld_z);
      break;
    case 7:
      fl_avx512_dots_tile(1, 7, d, x, w, z, ld_z);
      break;
    default:
      fl_avx512_dots_tile(1, 8, d, x, w, z, ld_z);
      break;
  }
}

/* rows (1 or 2) rows against all columns, in tiles of as equal widths as
 * possible (9 columns as 4 + 5, not 6 + 3: every tile keeps enough FMA
 * chains). */
static void fl_avx512_dots_rows(size_t rows, size_t max_cols, size_t cols, size_t d,
                                const float *const *x, const float *const *w, float *z,
                                size_t ld_z) {
  const size_t tiles = (cols + max_cols - 1) / max_cols;
  size_t c = 0;
  for (size_t t = 0; t < tiles; t++) {
    const size_t width = (cols - c) / (tiles - t);
    fl_avx512_dots_tile_any(rows, width, d, x, w + c, z + c, ld_z);
    c += width;
  }
}

static void fl_f32_nce_dots_ukernel__avx512(size_t rows, size_t cols, size_t d,
                                            const float *const *x, const float *const *w, float *z,
                                            size_t ld_z) {
  size_t r = 0;
  for (; r + 2 <= rows; r += 2)
    fl_avx512_dots_rows(2, FL_DOTS_COLS2, cols, d, x + r, w, z + r * ld_z, ld_z);
  if (r < rows) fl_avx512_dots_rows(1, FL_DOTS_COLS1, cols, d, x + r, w, z + r * ld_z, ld_z);
}

/* q = sigmoid(y), c = sigmoid(-y), 8 lanes. */
FL_TILE_INLINE void fl_avx512_sigmoid(__m512 y, __m512 *q, __m512 *c) {
  const __m512 e = fl_avx512_exp_nonpos(_mm512_or_ps(y, _mm512_set1_ps(-0.0f))); /* exp(-|y|) */
  const __m512 r = _mm512_div_ps(_mm512_set1_ps(1.0f), _mm512_add_ps(_mm512_set1_ps(1.0f), e));
  const __m512 small = _mm512_mul_ps(e, r);
  /* Ordered compare: a NaN lane takes small, which is NaN too. */
  const __mmask16 positive = _mm512_cmp_ps_mask(y, _mm512_setzero_ps(), _CMP_GE_OQ);
  *q = _mm512_mask_blend_ps(positive, small, r);
  *c = _mm512_mask_blend_ps(positive, r, small);
}

/* -log of q clipped to [eps, 1 - eps], from q and c = 1 - q, 16 lanes. */
FL_TILE_INLINE __m512 fl_avx512_bce_term(__m512 q, __m512 c) {
  const __mmask16 upper = _mm512_cmp_ps_mask(q, _mm512_set1_ps(0.5f), _CMP_GT_OQ);
  const __m512 u = _mm512_sub_ps(_mm512_set1_ps(1.0f), c);
  const __m512 arg = _mm512_mask_blend_ps(upper, q, u);
  const __m512 excess = _mm512_add_ps(c, _mm512_sub_ps(u, _mm512_set1_ps(1.0f)));
  const __m512 correction = _mm512_mask_blend_ps(
      upper, _mm512_setzero_ps(), _mm512_div_ps(_mm512_xor_ps(excess, _mm512_set1_ps(-0.0f)), u));
  __m512 t = _mm512_xor_ps(_mm512_add_ps(fl_avx512_log(arg), correction), _mm512_set1_ps(-0.0f));
  t = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(c, _mm512_set1_ps(FL_NCE_EPS), _CMP_LT_OQ), t,
                           _mm512_set1_ps(FL_NCE_CLIP_HIGH));
  t = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(q, _mm512_set1_ps(FL_NCE_EPS), _CMP_LT_OQ), t,
                           _mm512_set1_ps(FL_NCE_CLIP_LOW));
  return t;
}

/* The loop of both kernels: q and c, and the BCE terms when t is not NULL
 * (t may be y).  Inlined with t = NULL, the sigmoid kernel stores no terms. */
FL_TILE_INLINE void fl_avx512_sigmoid_rows(size_t m, const float *y, float *q, float *c, float *t) {
  size_t j = 0;
  for (; j + W <= m; j += W) {
    __m512 qv, cv;
    fl_avx512_sigmoid(_mm512_loadu_ps(y + j), &qv, &cv);
    _mm512_storeu_ps(q + j, qv);
    _mm512_storeu_ps(c + j, cv);
    if (t != NULL) _mm512_storeu_ps(t + j, fl_avx512_bce_term(qv, cv));
  }
  if (j < m) {
    const size_t count = m - j;
    __m512 qv, cv;
    fl_avx512_sigmoid(_mm512_maskz_loadu_ps(fl_avx512_tail_mask(count), y + j), &qv, &cv);
    fl_avx512_store_tail(q + j, count, qv);
    fl_avx512_store_tail(c + j, count, cv);
    if (t != NULL) fl_avx512_store_tail(t + j, count, fl_avx512_bce_term(qv, cv));
  }
}

static void fl_f32_nce_sigmoid_ukernel__avx512(size_t m, const float *y, float *q, float *c) {
  fl_avx512_sigmoid_rows(m, y, q, c, NULL);
}

static void fl_f32_nce_sigmoid_bce_ukernel__avx512(size_t m, const float *y, float *q, float *c,
                                                   float *t) {
  fl_avx512_sigmoid_rows(m, y, q, c, t);
}

/* Four chunks per step share each broadcast coefficient and keep four
 * independent FMA chains. */
static void fl_f32_nce_gemv_ukernel__avx512(size_t cols, size_t d, const float *coef,
                                            const float *const *w, float *out) {
  size_t j = 0;
  for (; j + 4 * W <= d; j += 4 * W) {
    __m512 acc0 = _mm512_loadu_ps(out + j), acc1 = _mm512_loadu_ps(out + j + W);
    __m512 acc2 = _mm512_loadu_ps(out + j + 2 * W), acc3 = _mm512_loadu_ps(out + j + 3 * W);
    for (size_t c = 0; c < cols; c++) {
      const __m512 a = _mm512_set1_ps(coef[c]);
      const float *wc = w[c] + j;
      acc0 = _mm512_fmadd_ps(a, _mm512_loadu_ps(wc), acc0);
      acc1 = _mm512_fmadd_ps(a, _mm512_loadu_ps(wc + W), acc1);
      acc2 = _mm512_fmadd_ps(a, _mm512_loadu_ps(wc + 2 * W), acc2);
      acc3 = _mm512_fmadd_ps(a, _mm512_loadu_ps(wc + 3 * W), acc3);
    }
    _mm512_storeu_ps(out + j, acc0);
    _mm512_storeu_ps(out + j + W, acc1);
    _mm512_storeu_ps(out + j + 2 * W, acc2);
    _mm512_storeu_ps(out + j + 3 * W, acc3);
  }
  for (; j < d; j += W) {
    const size_t count = d - j < W ? d - j : W;
    const __mmask16 mask = fl_avx512_tail_mask(count);
    __m512 acc = _mm512_maskz_loadu_ps(mask, out + j);
    for (size_t c = 0; c < cols; c++)
      acc = _mm512_fmadd_ps(_mm512_set1_ps(coef[c]), _mm512_maskz_loadu_ps(mask, w[c] + j), acc);
    fl_avx512_store_tail(out + j, count, acc);
  }
}

/* Column by column: every load of w[c] follows the stores of the earlier
 * columns, so a repeated row accumulates all its updates. */
static void fl_f32_nce_ger_ukernel__avx512(size_t cols, size_t d, const float *coef, const float *x,
                                           float *const *w) {
  for (size_t c = 0; c < cols; c++) {
    float *wc = w[c];
    const __m512 a = _mm512_set1_ps(coef[c]);
    size_t j = 0;
    for (; j + 2 * W <= d; j += 2 * W) {
      const __m512 w0 = _mm512_fmadd_ps(a, _mm512_loadu_ps(x + j), _mm512_loadu_ps(wc + j));
      const __m512 w1 = _mm512_fmadd_ps(a, _mm512_loadu_ps(x + j + W), _mm512_loadu_ps(wc + j + W));
      _mm512_storeu_ps(wc + j, w0);
      _mm512_storeu_ps(wc + j + W, w1);
    }
    for (; j < d; j += W) {
      const size_t count = d - j < W ? d - j : W;
      const __mmask16 mask = fl_avx512_tail_mask(count);
      const __m512 v = _mm512_fmadd_ps(a, _mm512_maskz_loadu_ps(mask, x + j),
                                       _mm512_maskz_loadu_ps(mask, wc + j));
      fl_avx512_store_tail(wc + j, count, v);
    }
  }
}

const fl_f32_nce_kernels FL_AVX512_TABLE = {FL_NCE_KERNELS(FL_KERNEL_ENTRY, float)};
