/* WGAN-GP gradient-penalty micro-kernels, f32, portable C.  Contracts are in
 * kernels/kernels.h.
 * norm: every float squared in double is exact and finite (at most 1.2e77)
 *   and nonzero for a nonzero float (at least 2e-90), so the sum of squares
 *   in double neither overflows nor underflows for any finite row: no
 *   rescaling pass.  Summed left to right; the square root in double.
 * scale: coef g, one rounding. */
#include <math.h>
#include <stddef.h>

#include "kernels.h"

#define FL_UKERNEL_NAME(name) fl_f32_##name##_ukernel__scalar

static double fl_f32_wgangp_norm_ukernel__scalar(size_t m, const float *g) {
  double sum = 0.0;
  for (size_t j = 0; j < m; j++) sum += (double)g[j] * (double)g[j];
  return sqrt(sum);
}

static void fl_f32_wgangp_scale_ukernel__scalar(size_t m, const float *g, float coef, float *out) {
  for (size_t j = 0; j < m; j++) out[j] = coef * g[j];
}

const fl_f32_wgangp_kernels fl_f32_wgangp_kernels__scalar = {
    FL_WGANGP_KERNELS(FL_KERNEL_ENTRY, float)};
