/* WGAN-GP gradient-penalty micro-kernels, f32, AArch64 AdvSIMD (4 lanes).
 * Contracts in kernels/kernels.h.
 * norm: 4 floats widened to two vectors of 2 doubles and squared by FMA into
 *   two double accumulators: every square is exact and finite, so no
 *   rescaling pass is needed for any finite row (f32-wgangp-scalar.c).
 * scale: coef g, one rounding, the same bits as the scalar kernel.
 * Tails: through a 4-float stack buffer (neon-math.h; lanes past the row
 *   read as 0, adding 0); out may be g.
 * Follows kernels/avx2/f32-wgangp-avx2.c line for line. */
#include <math.h>

#include "kernels.h"
#include "neon-math.h"

#define FL_UKERNEL_NAME(name) fl_f32_##name##_ukernel__neon
#define W FL_NEON_LANES

static double fl_f32_wgangp_norm_ukernel__neon(size_t m, const float *g) {
  float64x2_t acc0 = vdupq_n_f64(0.0), acc1 = vdupq_n_f64(0.0);
  for (size_t j = 0; j < m; j += W) {
    const float32x4_t v = j + W <= m ? vld1q_f32(g + j) : fl_neon_load_tail(g + j, m - j, 0.0f);
    const float64x2_t lo = vcvt_f64_f32(vget_low_f32(v));
    const float64x2_t hi = vcvt_high_f64_f32(v);
    acc0 = vfmaq_f64(acc0, lo, lo);
    acc1 = vfmaq_f64(acc1, hi, hi);
  }
  return sqrt(vaddvq_f64(vaddq_f64(acc0, acc1)));
}

static void fl_f32_wgangp_scale_ukernel__neon(size_t m, const float *g, float coef, float *out) {
  const float32x4_t c = vdupq_n_f32(coef);
  size_t j = 0;
  for (; j + W <= m; j += W) vst1q_f32(out + j, vmulq_f32(c, vld1q_f32(g + j)));
  if (j < m)
    fl_neon_store_tail(out + j, m - j, vmulq_f32(c, fl_neon_load_tail(g + j, m - j, 0.0f)));
}

const fl_f32_wgangp_kernels fl_f32_wgangp_kernels__neon = {
    FL_WGANGP_KERNELS(FL_KERNEL_ENTRY, float)};
