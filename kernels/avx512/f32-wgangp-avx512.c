/* WGAN-GP gradient-penalty micro-kernels, f32, AVX-512 F+DQ+BW+VL (16 lanes).
 * Contracts in kernels/kernels.h.
 * norm: 16 floats widened to two vectors of 8 doubles and squared by FMA into
 *   two double accumulators: every square is exact and finite, so no
 *   rescaling pass is needed for any finite row (f32-wgangp-scalar.c).
 * scale: coef g, one rounding, the same bits as the scalar kernel.
 * Tails: masked loads (masked-off lanes read as 0, adding 0) and masked
 *   stores; out may be g.
 * Follows the AVX2 file line for line.  Compiled a second time against SIMDe
 * (FL_AVX512_EMULATED, tests only) as fl_f32_wgangp_kernels__avx512_emulated. */
#include <math.h>

#include "avx512-math.h"
#include "kernels.h"

#define FL_UKERNEL_NAME(name) fl_f32_##name##_ukernel__avx512
#define W FL_AVX512_LANES
#ifdef FL_AVX512_EMULATED
#define FL_AVX512_TABLE fl_f32_wgangp_kernels__avx512_emulated
#else
#define FL_AVX512_TABLE fl_f32_wgangp_kernels__avx512
#endif

static double fl_f32_wgangp_norm_ukernel__avx512(size_t m, const float *g) {
  __m512d acc0 = _mm512_setzero_pd(), acc1 = _mm512_setzero_pd();
  for (size_t j = 0; j < m; j += W) {
    const __m512 v = j + W <= m ? _mm512_loadu_ps(g + j)
                                : _mm512_maskz_loadu_ps(fl_avx512_tail_mask(m - j), g + j);
    const __m512d lo = _mm512_cvtps_pd(_mm512_castps512_ps256(v));
    const __m512d hi = _mm512_cvtps_pd(_mm512_extractf32x8_ps(v, 1));
    acc0 = _mm512_fmadd_pd(lo, lo, acc0);
    acc1 = _mm512_fmadd_pd(hi, hi, acc1);
  }
  return sqrt(fl_avx512_hsum_pd(_mm512_add_pd(acc0, acc1)));
}

static void fl_f32_wgangp_scale_ukernel__avx512(size_t m, const float *g, float coef, float *out) {
  const __m512 c = _mm512_set1_ps(coef);
  size_t j = 0;
  for (; j + W <= m; j += W) _mm512_storeu_ps(out + j, _mm512_mul_ps(c, _mm512_loadu_ps(g + j)));
  if (j < m)
    fl_avx512_store_tail(
        out + j, m - j, _mm512_mul_ps(c, _mm512_maskz_loadu_ps(fl_avx512_tail_mask(m - j), g + j)));
}

const fl_f32_wgangp_kernels FL_AVX512_TABLE = {FL_WGANGP_KERNELS(FL_KERNEL_ENTRY, float)};
