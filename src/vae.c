/* VAELoss (numpy-ml): argument checks, the per-row calls of the micro-kernels,
 * OpenMP over row blocks and the deterministic reduction.
 *
 * A row is one vae_bce (or vae_bce_logits) call over its N outputs and one
 * vae_kl call over its T latents; each writes its gradients as it goes, so
 * the data are read once.  Before that, for probabilities, vae_outside scans
 * y_pred (read only): a bad value must be reported before anything is
 * written.
 *
 * Determinism: rows are grouped in blocks whose size depends only on N + T;
 * a block's row terms are summed in order in double and the block sums are
 * combined pairwise in a fixed order, so the thread count changes which
 * thread computes a block, never the arithmetic.
 *
 * The element-type-specific code is in vae-impl.h, included once for f32 and
 * once for f64. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "config.h"
#include "internal.h"

/* Block sums kept on the stack up to this many blocks. */
#define FL_VAE_STACK_BLOCKS 256

/* Rows per block: a few tens of KiB of inputs per block, at most 64 rows. */
static size_t fl_vae_block_rows(size_t N, size_t T) {
  size_t rows = 16384 / (N + T);
  if (rows < 1) rows = 1;
  if (rows > 64) rows = 64;
  return rows;
}

static size_t fl_vae_matrix_bytes(size_t n, size_t m, size_t ld, size_t elem) {
  return ((n - 1) * ld + m) * elem;
}

/* One buffer of a call, for the overlap checks. */
typedef struct fl_vae_region {
  const char *name;
  const void *ptr;
  size_t bytes;
  int in_place_of; /* index of the input this output may equal, or -1 */
} fl_vae_region;

/* Checks shared by the f32 and f64 entry points (elem = sizeof(element)):
 * shapes, pointers, strides, params and overlaps.  Sets *from_logits. */
static fastloss_status fl_vae_check(size_t n, size_t N, size_t T, const void *y, size_t ld_y,
                                    const void *y_pred, size_t ld_y_pred, const void *t_mean,
                                    const void *t_log_var, size_t ld_t,
                                    const fastloss_vae_params *params, const void *row_rec,
                                    const void *row_kl, const double *loss, const void *dY_pred,
                                    const void *dLogVar, const void *dMean, size_t elem,
                                    int *from_logits) {
  if (n == 0)
    return fl_fail(FASTLOSS_ERR_INVALID_SHAPE,
                   "n = 0: the loss is a mean over the rows and needs at least one");
  if (N == 0 || T == 0)
    return fl_fail(FASTLOSS_ERR_INVALID_SHAPE, "N = %zu, T = %zu: both must be at least 1", N, T);
  fastloss_status status = fl_check_matrix(y, "y", n, N, ld_y);
  if (status == FASTLOSS_OK) status = fl_check_matrix(y_pred, "y_pred", n, N, ld_y_pred);
  if (status == FASTLOSS_OK) status = fl_check_matrix(t_mean, "t_mean", n, T, ld_t);
  if (status == FASTLOSS_OK) status = fl_check_matrix(t_log_var, "t_log_var", n, T, ld_t);
  if (status != FASTLOSS_OK) return status;
  const fastloss_vae_params defaults = {0};
  if (params == NULL) params = &defaults;
  if (params->from_logits != 0 && params->from_logits != 1)
    return fl_fail(FASTLOSS_ERR_INVALID_ARGUMENT, "params->from_logits = %d is neither 0 nor 1",
                   params->from_logits);
  *from_logits = params->from_logits;

  const size_t y_bytes = fl_vae_matrix_bytes(n, N, ld_y, elem);
  const size_t yp_bytes = fl_vae_matrix_bytes(n, N, ld_y_pred, elem);
  const size_t t_bytes = fl_vae_matrix_bytes(n, T, ld_t, elem);
  /* Inputs first (in_place_of = -1), then the outputs. */
  const fl_vae_region regions[] = {
      {"y", y, y_bytes, -1},
      {"y_pred", y_pred, yp_bytes, -1},
      {"t_mean", t_mean, t_bytes, -1},
      {"t_log_var", t_log_var, t_bytes, -1},
      {"row_rec", row_rec, n * elem, -1},
      {"row_kl", row_kl, n * elem, -1},
      {"loss", loss, sizeof(double), -1},
      {"dY_pred", dY_pred, yp_bytes, 1},
      {"dLogVar", dLogVar, t_bytes, 3},
      {"dMean", dMean, t_bytes, 2},
  };
  const size_t inputs = 4, count = sizeof regions / sizeof regions[0];
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
#define FL_KERNELS f32_vae
#define FL_KERNEL_TABLE fl_f32_vae_kernels
#define FL_EPS FLT_EPSILON
#include "vae-impl.h"
#undef FL_T
#undef FL_SUFFIX
#undef FL_KERNELS
#undef FL_KERNEL_TABLE
#undef FL_EPS

#define FL_T double
#define FL_SUFFIX f64
#define FL_KERNELS f64_vae
#define FL_KERNEL_TABLE fl_f64_vae_kernels
#define FL_EPS DBL_EPSILON
#include "vae-impl.h"
