/* fastloss_xent_f32 and fastloss_xent_soft_f32: shapes n <= 24, m <= 70,
 * leading dimensions (sometimes too small), labels (sometimes out of range
 * or negative), every reduction (and a bad one), ignore_index, label
 * smoothing (sometimes outside [0, 1) or NaN), per-class weights, optional
 * outputs and the in-place gradient, on every kernel table against scalar.
 *
 * Tolerances (scalar vs another ISA), with M the largest finite |logit| of
 * the row, W the largest |weight| (1 without weights) and r the MEAN scale
 * (1 / summed weight of the counted rows; 1 otherwise):
 *   row_loss  6e-5 W (1 + M) abs + 2e-5 rel   (tests/test_xent.c: 6e-5, 2e-5)
 *   loss      the sum of the row bounds times r, + 2e-5 rel
 *   grad      r W (1e-6 + 2e-5 M) abs + 2e-4 rel  (test_xent.c: 1e-6, 2e-4)
 * NaN positions match exactly (the header defines where NaN goes for
 * non-finite logits) in rows whose finite values are below 1e30, and values are compared in rows
 * whose logits and target are finite and below 1e30 in size; with a weight infinite, NaN or above
 * 1e30 only the status is compared (w * 0 = NaN versus w * tiny = inf depends on rounding, so no
 * ISA is wrong there).  With soft targets, neither is compared in a row where m terms
 * t_j (lse - z_j) could pass FLT_MAX. */
#include <float.h>
#include <math.h>
#include <stdlib.h>

#include "fuzz.h"

enum { FZ_MAX_ISAS = 4 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fz_input in = {data, size};
  fz_xent_case c;
  fz_xent_decode(&in, &c, "xent");
  const fl_isa_kernels *isas[FZ_MAX_ISAS];
  const size_t n_isas = fz_isas(isas, FZ_MAX_ISAS);
  fz_xent_out out[FZ_MAX_ISAS];
  for (size_t a = 0; a < n_isas; a++) {
    fl_dispatch_force(isas[a]);
    fz_xent_run(&c, 0, &out[a], isas[a]->name);
  }

  /* The comparison scales. */
  float w_max;
  int w_finite;
  double r;
  fz_xent_scales(&c, &w_max, &w_finite, &r);
  const double wr = (w_max > 0.0f ? w_max : 1.0) * r;
  const size_t ldg = fz_xent_grad_ld(&c);
  int all_ok = 1, all_nan_ok = 1;
  double loss_tol = 0.0;
  for (size_t a = 1; a < n_isas; a++) {
    const fz_xent_out *s = &out[0], *v = &out[a];
    const float *srow = s->row, *vrow = v->row, *sgrad = s->grad, *vgrad = v->grad;
    const char *name = isas[a]->name;
    if (v->status != s->status)
      fz_fail("%s status %d, scalar %d", name, (int)v->status, (int)s->status);
    if (s->status != FASTLOSS_OK || !w_finite || w_max >= 1e30f) continue;
    for (size_t i = 0; i < c.n; i++) {
      float mz;
      double scale;
      int ok = fz_xent_row(&c, i, &mz, &scale);
      /* Huge finite logits overflow (lse - z) * w: inf - inf may round
       * either way, so only rows below 1e30 must agree on NaN. */
      int nan_ok = mz < 1e30f;
      /* An infinite soft target is no probability: inf * log(sum) is NaN or
       * inf depending on whether the row's sum rounds to exactly 1 (float
       * lanes) or not (scalar's double sum), so NaN positions are compared
       * only for finite targets (regressions/xent/soft-target-inf-sum-one). */
      if (c.soft)
        nan_ok = nan_ok && fz_all_finite(c.target + i * c.ld_target, c.m) &&
                 fz_max_abs(c.target + i * c.ld_target, c.m) < 1e30f;
      /* Soft targets far from probabilities: the terms t_j (lse - z_j) can
       * pass FLT_MAX (|lse - z_j| < 2 mz + log m + 1), and float lanes that
       * overflow a partial sum to +inf and another to -inf give NaN where
       * scalar's double sum gives inf, so neither values nor NaN positions
       * are compared unless m such terms stay finite in float
       * (regressions/xent/soft-target-huge-terms). */
      if (c.soft && (double)fz_max_abs(c.target + i * c.ld_target, c.m) *
                            (2.0 * (double)mz + log((double)c.m) + 1.0) * (double)c.m >=
                        (double)FLT_MAX)
        ok = nan_ok = 0;
      if (!ok) all_ok = 0;
      if (!nan_ok) all_nan_ok = 0;
      const double row_tol = 6e-5 * w_max * (1.0 + mz) * scale;
      if (a == 1) loss_tol += row_tol;
      if (c.want_row) {
        const double x = vrow[i], y = srow[i];
        if ((nan_ok && isnan(x) != isnan(y)) || (ok && !fz_close(x, y, row_tol, 2e-5)))
          fz_fail("%s row_loss[%zu] %.9g, scalar %.9g", name, i, x, y);
      }
      for (size_t j = 0; c.want_grad && j < c.m; j++) {
        const double x = vgrad[i * ldg + j], y = sgrad[i * ldg + j];
        if ((nan_ok && isnan(x) != isnan(y)) ||
            (ok && !fz_close(x, y, wr * scale * (1e-6 + 2e-5 * mz), 2e-4)))
          fz_fail("%s grad[%zu][%zu] %.9g, scalar %.9g", name, i, j, x, y);
      }
    }
    if (c.want_loss) {
      const double x = v->loss, y = s->loss;
      if ((all_nan_ok && isnan(x) != isnan(y)) || (all_ok && !fz_close(x, y, r * loss_tol, 2e-5)))
        fz_fail("%s loss %.17g, scalar %.17g", name, x, y);
    }
  }
  for (size_t a = 0; a < n_isas; a++) fz_xent_out_free(&out[a]);
  fz_xent_free(&c);
  return 0;
}
