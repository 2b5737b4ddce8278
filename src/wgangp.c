/* WGAN_GPLoss (numpy-ml): argument checks, OpenMP over row blocks of the
 * gradient penalty and the deterministic reduction.
 *
 * A row of gradInterp is one wgangp_norm call (scale-safe) and, when its
 * gradient is wanted, one wgangp_scale call: the coefficient
 * (2 lambda / n) (||g|| - 1) / (||g|| + eps64) is formed in double.  Rows are
 * grouped in blocks whose size depends only on n_feats; a block's penalty
 * terms are summed in order in double and the block sums combined pairwise,
 * so the thread count never changes the arithmetic.  The means of Y_fake and
 * Y_real are plain sums in double, in order, on the calling thread.
 *
 * The element-type-specific code is in wgangp-impl.h, included once for f32
 * and once for f64. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "config.h"
#include "internal.h"

#define FL_WGANGP_EPS64 2.220446049250313e-16
#define FL_WGANGP_DEFAULT_LAMBDA 10.0
#define FL_WGANGP_STACK_BLOCKS 256

/* Rows per block: about 16K elements, at most 64 rows. */
static size_t fl_wgangp_block_rows(size_t n_feats) {
  size_t rows = 16384 / n_feats;
  if (rows < 1) rows = 1;
  if (rows > 64) rows = 64;
  return rows;
}

/* One buffer of a call, for the overlap checks. */
typedef struct fl_wgangp_region {
  const char *name;
  const void *ptr;
  size_t bytes;
  int in_place_of; /* index of the input this output may equal, or -1 */
} fl_wgangp_region;

/* Checks shared by the f32 and f64 entry points (elem = sizeof(element)).
 * Sets *critic and *lambda. */
static fastloss_status fl_wgangp_check(int module, size_t n_fake, const void *Y_fake, size_t n_real,
                                       const void *Y_real, size_t n, size_t n_feats,
                                       const void *gradInterp, size_t ld_grad,
                                       const fastloss_wgangp_params *params, const double *loss,
                                       const void *dY_fake, const void *dY_real,
                                       const void *dGradInterp, size_t elem, int *critic,
                                       double *lambda) {
  if (module != FASTLOSS_WGANGP_CRITIC && module != FASTLOSS_WGANGP_GENERATOR) {
    if (module > 32 && module < 127)
      return fl_fail(FASTLOSS_ERR_INVALID_ARGUMENT,
                     "module = '%c' is neither 'C' (critic) nor 'G' (generator)", module);
    return fl_fail(FASTLOSS_ERR_INVALID_ARGUMENT,
                   "module = %d is neither 'C' (critic) nor 'G' (generator)", module);
  }
  *critic = module == FASTLOSS_WGANGP_CRITIC;
  const fastloss_wgangp_params defaults = {0};
  if (params == NULL) params = &defaults;
  if (params->use_lambda != 0 && params->use_lambda != 1)
    return fl_fail(FASTLOSS_ERR_INVALID_ARGUMENT, "params->use_lambda = %d is neither 0 nor 1",
                   params->use_lambda);
  if (!(params->lambda >= 0.0 && params->lambda <= DBL_MAX))
    return fl_fail(FASTLOSS_ERR_INVALID_ARGUMENT,
                   "params->lambda = %g: the penalty coefficient must be finite and >= 0",
                   params->lambda);
  *lambda =
      params->lambda == 0.0 && !params->use_lambda ? FL_WGANGP_DEFAULT_LAMBDA : params->lambda;
  if (n_fake == 0)
    return fl_fail(FASTLOSS_ERR_INVALID_SHAPE, "n_fake = 0: mean(Y_fake) needs an element");
  fastloss_status status = fl_check_matrix(Y_fake, "Y_fake", 1, n_fake, n_fake);
  if (status != FASTLOSS_OK) return status;
  if (!*critic) {
    if (dY_fake != NULL && dY_fake != Y_fake &&
        fl_ranges_overlap(dY_fake, n_fake * elem, Y_fake, n_fake * elem))
      return fl_fail(FASTLOSS_ERR_OVERLAP, "dY_fake overlaps Y_fake without being the same buffer");
    if (dY_fake != NULL && fl_ranges_overlap(dY_fake, n_fake * elem, loss, sizeof(double)))
      return fl_fail(FASTLOSS_ERR_OVERLAP, "dY_fake overlaps loss");
    return FASTLOSS_OK;
  }
  if (n_real == 0)
    return fl_fail(FASTLOSS_ERR_INVALID_SHAPE, "n_real = 0: mean(Y_real) needs an element");
  if (n == 0)
    return fl_fail(FASTLOSS_ERR_INVALID_SHAPE,
                   "n = 0: the gradient penalty is a mean over the rows of gradInterp");
  if (n_feats == 0) return fl_fail(FASTLOSS_ERR_INVALID_SHAPE, "n_feats = 0: must be at least 1");
  status = fl_check_matrix(Y_real, "Y_real", 1, n_real, n_real);
  if (status == FASTLOSS_OK)
    status = fl_check_matrix(gradInterp, "gradInterp", n, n_feats, ld_grad);
  if (status != FASTLOSS_OK) return status;
  const size_t g_bytes = ((n - 1) * ld_grad + n_feats) * elem;
  /* Inputs first (in_place_of = -1), then the outputs. */
  const fl_wgangp_region regions[] = {
      {"Y_fake", Y_fake, n_fake * elem, -1},    {"Y_real", Y_real, n_real * elem, -1},
      {"gradInterp", gradInterp, g_bytes, -1},  {"loss", loss, sizeof(double), -1},
      {"dY_fake", dY_fake, n_fake * elem, 0},   {"dY_real", dY_real, n_real * elem, 1},
      {"dGradInterp", dGradInterp, g_bytes, 2},
  };
  const size_t inputs = 3, count = sizeof regions / sizeof regions[0];
  for (size_t a = inputs; a < count; a++) {
    if (regions[a].ptr == NULL) continue;
    for (size_t b = 0; b < a; b++) {
      if (regions[b].ptr == NULL) continue;
      if ((int)b == regions[a].in_place_of && regions[a].ptr == regions[b].ptr) continue;
      if (fl_ranges_overlap(regions[a].ptr, regions[a].bytes, regions[b].ptr, regions[b].bytes))
        return fl_fail(FASTLOSS_ERR_OVERLAP, "%s overlaps %s%s", regions[a].name, regions[b].name,
                       regions[a].in_place_of == (int)b ? " without being the same buffer" : "");
    }
  }
  return FASTLOSS_OK;
}

#define FL_T float
#define FL_SUFFIX f32
#define FL_KERNELS f32_wgangp
#define FL_KERNEL_TABLE fl_f32_wgangp_kernels
#include "wgangp-impl.h"
#undef FL_T
#undef FL_SUFFIX
#undef FL_KERNELS
#undef FL_KERNEL_TABLE

#define FL_T double
#define FL_SUFFIX f64
#define FL_KERNELS f64_wgangp
#define FL_KERNEL_TABLE fl_f64_wgangp_kernels
#include "wgangp-impl.h"
