/* fastloss_xent_f64 and fastloss_xent_soft_f64 on the cases fuzz-xent.c
 * decodes (fz_xent_decode: shapes n <= 24, m <= 70, leading dimensions
 * sometimes too small, labels sometimes out of range, every reduction and
 * a bad one, ignore_index, label smoothing sometimes outside [0, 1) or NaN, per-class
 * weights, optional outputs, the in-place gradient): the f64 calls run on
 * the values widened (weight_f64), on every kernel table (they are scalar
 * on every table: bit-identical results), with nothing written on error and
 * nothing outside the outputs asked for; and against the f32 call on the
 * same values (scalar): the same status, and the f64 results, rounded to
 * float, within fuzz-xent.c's tolerances of f32's (the f64 result stands
 * for the exact one):
 *   row_loss  6e-5 W (1 + M) abs + 2e-5 rel;  loss the row bounds summed,
 *   times r, + 2e-5 rel;  grad r W (1e-6 + 2e-5 M) abs + 2e-4 rel,
 * (M the largest finite |logit| of the row, W the largest |weight|, r the
 * MEAN scale), in rows whose logits (and targets) are finite and below 1e30,
 * weights finite, and W (1 + M) (1 + max|target|) m (soft) below 1e30, so
 * that no f32 term comes near FLT_MAX; NaN positions too in those rows.  Every
 * bound has 1e-44 more: f32 values below FLT_MIN keep only a few bits. */
#include <float.h>
#include <math.h>
#include <string.h>

#include "fuzz.h"

enum { FZ_MAX_ISAS = 4 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fz_input in = {data, size};
  fz_xent_case c;
  fz_xent_decode(&in, &c, "xent64");
  fz_xent_widen(&c);
  const fl_isa_kernels *isas[FZ_MAX_ISAS];
  const size_t n_isas = fz_isas(isas, FZ_MAX_ISAS);
  fz_xent_out o64[FZ_MAX_ISAS], o32;
  for (size_t a = 0; a < n_isas; a++) {
    fl_dispatch_force(isas[a]);
    fz_xent_run(&c, 1, &o64[a], isas[a]->name);
  }
  fl_dispatch_force(isas[0]);
  fz_xent_run(&c, 0, &o32, isas[0]->name);
  const size_t ldg = fz_xent_grad_ld(&c);
  const size_t n_grad = fz_extent(c.n, c.m, ldg);
  for (size_t a = 1; a < n_isas; a++)
    if (o64[a].status != o64[0].status ||
        (o64[0].status == FASTLOSS_OK && c.want_loss &&
         memcmp(&o64[a].loss, &o64[0].loss, sizeof(double))) ||
        memcmp(o64[a].row, o64[0].row, c.n * sizeof(double)) ||
        memcmp(o64[a].grad, o64[0].grad, n_grad * sizeof(double)))
      fz_fail("%s: f64 results differ from scalar's", isas[a]->name);
  /* fastloss.h: MEAN over hard labels whose summed weight is positive but
   * below 1 / FLT_MAX is an error in f32 (the gradient's scale would
   * overflow float), not in f64. */
  int f32_mean_too_small = 0, mean_zero_sum = 0;
  if (!c.soft && c.params.reduction == FASTLOSS_REDUCTION_MEAN && o64[0].status == FASTLOSS_OK) {
    double sum = 0.0;
    for (size_t i = 0; i < c.n; i++)
      if (!(c.params.use_ignore_index && c.labels[i] == c.params.ignore_index))
        sum += c.want_weights ? (double)c.weights[c.labels[i]] : 1.0;
    f32_mean_too_small = sum > 0.0 && !(1.0 / sum <= FLT_MAX);
    /* A summed weight of exactly 0 is allowed (fastloss.h): the loss and
     * gradient divide by it, giving inf where the numerator is not 0 and
     * NaN where it is, and a numerator that is tiny in f64 can be 0 in f32
     * (lse - z below float's resolution).  Then both losses must be
     * non-finite and the gradients are not compared; the row losses, which
     * do not divide, still are. */
    mean_zero_sum = sum == 0.0;
  }
  if (f32_mean_too_small) {
    if (o32.status != FASTLOSS_ERR_INVALID_ARGUMENT)
      fz_fail("f32 MEAN with a summed weight below 1 / FLT_MAX: status %d, want %d",
              (int)o32.status, (int)FASTLOSS_ERR_INVALID_ARGUMENT);
  } else if (o64[0].status != o32.status) {
    fz_fail("f64 status %d, f32 %d (%s)", (int)o64[0].status, (int)o32.status,
            fastloss_last_error());
  }

  if (o32.status == FASTLOSS_OK) {
    const double *row64 = o64[0].row, *grad64 = o64[0].grad;
    const float *row32 = o32.row, *grad32 = o32.grad;
    float w_max;
    int w_finite;
    double r;
    fz_xent_scales(&c, &w_max, &w_finite, &r);
    const double wr = (w_max > 0.0f ? w_max : 1.0) * r;
    int all_ok = w_finite && w_max < 1e30f;
    double loss_tol = 0.0;
    for (size_t i = 0; i < c.n && w_finite && w_max < 1e30f; i++) {
      float mz;
      double scale;
      const int ok = fz_xent_row(&c, i, &mz, &scale);
      /* f32 forms w_c t_c and w (lse - z) in float: past FLT_MAX they are inf
       * (and inf * 0, inf - inf NaN) where f64 is finite, a difference of
       * dtype; only rows whose terms stay far below it are compared. */
      if (!ok || (double)w_max * (1.0 + mz) * scale >= 1e30) {
        all_ok = 0;
        continue;
      }
      /* + FLT_TRUE_MIN (1 + M) m: f32 terms below FLT_MIN (a tiny weight
       * times a smoothing share) keep only a few bits, each off by up to
       * FLT_TRUE_MIN before (lse - z) scales it
       * (regressions/xent64/subnormal-terms-row-loss). */
      const double row_tol =
          6e-5 * w_max * (1.0 + mz) * scale + FLT_TRUE_MIN * (1.0 + mz) * (double)c.m;
      loss_tol += row_tol;
      if (c.want_row) {
        const double x = (float)row64[i], y = row32[i];
        if (isnan(x) != isnan(y) || !fz_close(x, y, row_tol, 2e-5))
          fz_fail("f64 row_loss[%zu] %.17g, f32 %.9g", i, row64[i], y);
      }
      for (size_t j = 0; c.want_grad && !mean_zero_sum && j < c.m; j++) {
        const double x = (float)grad64[i * ldg + j], y = grad32[i * ldg + j];
        if (isnan(x) != isnan(y) || !fz_close(x, y, wr * scale * (1e-6 + 2e-5 * mz) + 1e-44, 2e-4))
          fz_fail("f64 grad[%zu][%zu] %.17g, f32 %.9g", i, j, grad64[i * ldg + j], y);
      }
    }
    if (c.want_loss && mean_zero_sum) {
      if (isfinite(o64[0].loss) || isfinite(o32.loss))
        fz_fail("MEAN over a summed weight of 0: f64 loss %.17g, f32 %.17g, want both non-finite",
                o64[0].loss, o32.loss);
    } else if (c.want_loss && all_ok && !fz_close(o64[0].loss, o32.loss, r * loss_tol, 2e-5)) {
      fz_fail("f64 loss %.17g, f32 %.17g", o64[0].loss, o32.loss);
    }
  }
  for (size_t a = 0; a < n_isas; a++) fz_xent_out_free(&o64[a]);
  fz_xent_out_free(&o32);
  fz_xent_free(&c);
  return 0;
}
