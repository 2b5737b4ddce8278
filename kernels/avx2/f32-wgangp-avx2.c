/* WGAN-GP gradient-penalty micro-kernels, f32, AVX2+FMA (8 lanes).
 * Contracts in kernels/kernels.h.
 * norm: 8 floats widened to two vectors of 4 doubles and squared by FMA into
 *   two double accumulators: every square is exact and finite, so no
 *   rescaling pass is needed for any finite row (f32-wgangp-scalar.c).
 * scale: coef g, one rounding, the same bits as the scalar kernel.
 * Tails: masked loads (masked-off lanes read as 0, adding 0) and
 *   fl_avx2_store_tail; out may be g.
 * The AVX-512 and NEON files follow this one line for line. */
#include <math.h>

#include "avx2-math.h"
#include "kernels.h"

#define FL_UKERNEL_NAME(name) fl_f32_##name##_ukernel__avx2
#define W FL_AVX2_LANES

static double fl_f32_wgangp_norm_ukernel__avx2(size_t m, const float *g) {
  __m256d acc0 = _mm256_setzero_pd(), acc1 = _mm256_setzero_pd();
  for (size_t j = 0; j < m; j += W) {
    const __m256 v =
        j + W <= m ? _mm256_loadu_ps(g + j) : _mm256_maskload_ps(g + j, fl_avx2_tail_mask(m - j));
    const __m256d lo = _mm256_cvtps_pd(_mm256_castps256_ps128(v));
    const __m256d hi = _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1));
    acc0 = _mm256_fmadd_pd(lo, lo, acc0);
    acc1 = _mm256_fmadd_pd(hi, hi, acc1);
  }
  return sqrt(fl_avx2_hsum_pd(_mm256_add_pd(acc0, acc1)));
}

static void fl_f32_wgangp_scale_ukernel__avx2(size_t m, const float *g, float coef, float *out) {
  const __m256 c = _mm256_set1_ps(coef);
  size_t j = 0;
  for (; j + W <= m; j += W) _mm256_storeu_ps(out + j, _mm256_mul_ps(c, _mm256_loadu_ps(g + j)));
  if (j < m)
    fl_avx2_store_tail(out + j, m - j,
                       _mm256_mul_ps(c, _mm256_maskload_ps(g + j, fl_avx2_tail_mask(m - j))));
}

const fl_f32_wgangp_kernels fl_f32_wgangp_kernels__avx2 = {
    FL_WGANGP_KERNELS(FL_KERNEL_ENTRY, float)};
