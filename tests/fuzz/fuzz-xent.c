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
 * ISA is wrong there). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

enum { FZ_MAX_ISAS = 4 };

typedef struct fz_xent_case {
  size_t n, m, ld, ld_grad, ld_target;
  int soft, in_place, want_row, want_loss, want_grad, want_weights;
  fastloss_xent_params params;
  float *logits, *target, *weights;
  int32_t *labels;
} fz_xent_case;

typedef struct fz_xent_out {
  fastloss_status status;
  float *row_loss, *grad;
  double loss;
} fz_xent_out;

static size_t fz_extent(size_t rows, size_t cols, size_t ld) {
  return rows == 0 ? 0 : (rows - 1) * ld + cols;
}

static size_t fz_ld(fz_input *in, size_t m) {
  const uint8_t sel = fz_u8(in);
  if (sel < 6 && m > 0) return m - 1; /* too small: an error */
  return m + sel % 3;
}

static void fz_run(const fz_xent_case *c, fz_xent_out *o) {
  const size_t n_grad =
      c->in_place ? fz_extent(c->n, c->m, c->ld) : fz_extent(c->n, c->m, c->ld_grad);
  o->row_loss = fz_alloc_f32(c->n);
  o->grad = fz_alloc_f32(n_grad);
  fz_sentinel_f32(o->row_loss, c->n);
  if (c->in_place)
    memcpy(o->grad, c->logits, n_grad * sizeof(float));
  else
    fz_sentinel_f32(o->grad, n_grad);
  memset(&o->loss, 0x5a, sizeof o->loss);
  const double loss_before = o->loss;
  const float *logits = c->in_place ? o->grad : c->logits;
  const size_t ld_grad = c->in_place ? c->ld : c->ld_grad;
  float *row = c->want_row ? o->row_loss : NULL;
  double *loss = c->want_loss ? &o->loss : NULL;
  float *grad = c->want_grad ? o->grad : NULL;
  if (c->soft)
    o->status = fastloss_xent_soft_f32(c->n, c->m, logits, c->ld, c->target, c->ld_target,
                                       &c->params, row, loss, grad, ld_grad);
  else
    o->status = fastloss_xent_f32(c->n, c->m, logits, c->ld, c->labels, &c->params, row, loss, grad,
                                  ld_grad);
  /* Untouched: everything on error; otherwise the outputs not asked for and
   * the gaps between gradient rows. */
  for (size_t i = 0; i < c->n; i++)
    if ((o->status != FASTLOSS_OK || !c->want_row) && !fz_is_sentinel_f32(o->row_loss[i]))
      fz_fail("%s: row_loss[%zu] written (status %d)", fl_kernels()->name, i, (int)o->status);
  if ((o->status != FASTLOSS_OK || !c->want_loss) && memcmp(&o->loss, &loss_before, sizeof o->loss))
    fz_fail("%s: loss written (status %d)", fl_kernels()->name, (int)o->status);
  for (size_t k = 0; k < n_grad; k++) {
    const int gap = ld_grad > c->m && k % ld_grad >= c->m;
    if (o->status == FASTLOSS_OK && c->want_grad && !gap) continue;
    const int same = c->in_place ? !memcmp(&o->grad[k], &c->logits[k], sizeof(float))
                                 : fz_is_sentinel_f32(o->grad[k]);
    if (!same) fz_fail("%s: grad[%zu] written (status %d)", fl_kernels()->name, k, (int)o->status);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fz_input in = {data, size};
  fz_xent_case c;
  memset(&c, 0, sizeof c);
  const uint8_t flags = fz_u8(&in);
  c.soft = flags & 1;
  c.in_place = (flags >> 1) & 1;
  c.want_row = !((flags >> 2) & 1);
  c.want_loss = !((flags >> 3) & 1);
  c.want_grad = !((flags >> 4) & 1);
  c.want_weights = (flags >> 5) & 1;
  c.params.use_ignore_index = (flags >> 6) & 1;
  c.n = fz_range(&in, 0, 24);
  c.m = fz_range(&in, 0, 70);
  c.ld = fz_ld(&in, c.m);
  c.ld_grad = fz_ld(&in, c.m);
  c.ld_target = fz_ld(&in, c.m);
  const uint8_t red = fz_u8(&in);
  c.params.reduction = (fastloss_reduction)(red < 250 ? red % 3 : red % 7);
  c.params.ignore_index = (int32_t)fz_range(&in, 0, c.m + 2) - 1;
  const uint8_t ls = fz_u8(&in);
  c.params.label_smoothing = ls < 128 ? 0.0 : ls < 200 ? (ls - 128) / 72.0 : fz_double(&in);

  c.logits = fz_alloc_f32(fz_extent(c.n, c.m, c.ld));
  fz_floats(&in, c.logits, fz_extent(c.n, c.m, c.ld));
  c.labels = fz_alloc_bytes((c.n ? c.n : 1) * sizeof(int32_t));
  for (size_t i = 0; i < c.n; i++) {
    const uint8_t sel = fz_u8(&in);
    c.labels[i] = sel < 240 ? (int32_t)(fz_u8(&in) % (c.m ? c.m : 1)) : (int32_t)fz_u32(&in);
  }
  c.target = fz_alloc_f32(fz_extent(c.n, c.m, c.ld_target));
  if (c.soft) fz_floats(&in, c.target, fz_extent(c.n, c.m, c.ld_target));
  c.weights = fz_alloc_f32(c.m);
  if (c.want_weights) {
    fz_floats(&in, c.weights, c.m);
    c.params.weight_f32 = c.weights;
  }

  if (getenv("FASTLOSS_FUZZ_VERBOSE") != NULL) {
    fprintf(stderr, "xent soft %d in_place %d n %zu m %zu ld %zu red %d ignore %d:%d ls %g\n",
            c.soft, c.in_place, c.n, c.m, c.ld, (int)c.params.reduction, c.params.use_ignore_index,
            (int)c.params.ignore_index, c.params.label_smoothing);
    for (size_t i = 0; i < c.n; i++) {
      fprintf(stderr, "row %zu label %d:", i, (int)c.labels[i]);
      for (size_t j = 0; j < c.m; j++) fprintf(stderr, " %g", c.logits[i * c.ld + j]);
      if (c.soft) {
        fprintf(stderr, "  target:");
        for (size_t j = 0; j < c.m; j++) fprintf(stderr, " %g", c.target[i * c.ld_target + j]);
      }
      fputc('\n', stderr);
    }
    if (c.want_weights)
      for (size_t j = 0; j < c.m; j++) fprintf(stderr, "w %g\n", c.weights[j]);
  }
  const fl_isa_kernels *isas[FZ_MAX_ISAS];
  const size_t n_isas = fz_isas(isas, FZ_MAX_ISAS);
  fz_xent_out out[FZ_MAX_ISAS];
  for (size_t a = 0; a < n_isas; a++) {
    fl_dispatch_force(isas[a]);
    fz_run(&c, &out[a]);
  }

  /* The comparison scales. */
  float w_max = 1.0f;
  int w_finite = 1;
  if (c.want_weights) {
    w_max = fz_max_abs(c.weights, c.m);
    w_finite = fz_all_finite(c.weights, c.m);
  }
  double r = 1.0;
  if (c.params.reduction == FASTLOSS_REDUCTION_MEAN) {
    double sum = 0.0;
    for (size_t i = 0; i < c.n; i++) {
      if (c.soft) {
        sum += 1.0;
        continue;
      }
      if (c.params.use_ignore_index && c.labels[i] == c.params.ignore_index) continue;
      if (c.labels[i] >= 0 && (size_t)c.labels[i] < c.m)
        sum += c.want_weights ? c.weights[c.labels[i]] : 1.0;
    }
    if (sum != 0.0 && isfinite(sum)) r = 1.0 / fabs(sum);
  }
  const double wr = (w_max > 0.0f ? w_max : 1.0) * r;
  int all_ok = 1, all_nan_ok = 1;
  double loss_tol = 0.0;
  for (size_t a = 1; a < n_isas; a++) {
    const fz_xent_out *s = &out[0], *v = &out[a];
    const char *name = isas[a]->name;
    if (v->status != s->status)
      fz_fail("%s status %d, scalar %d", name, (int)v->status, (int)s->status);
    if (s->status != FASTLOSS_OK || !w_finite || w_max >= 1e30f) continue;
    for (size_t i = 0; i < c.n; i++) {
      const float *z = c.logits + i * c.ld;
      const float mz = fz_max_abs(z, c.m);
      int ok = w_finite && fz_all_finite(z, c.m) && mz < 1e30f && w_max < 1e30f;
      if (c.soft) {
        const float *t = c.target + i * c.ld_target;
        ok = ok && fz_all_finite(t, c.m) && fz_max_abs(t, c.m) < 1e30f;
      }
      const double scale = c.soft ? (1.0 + fz_max_abs(c.target + i * c.ld_target, c.m)) * c.m : 1.0;
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
      if (!ok) all_ok = 0;
      if (!nan_ok) all_nan_ok = 0;
      const double row_tol = 6e-5 * w_max * (1.0 + mz) * scale;
      if (a == 1) loss_tol += row_tol;
      if (c.want_row) {
        const double x = v->row_loss[i], y = s->row_loss[i];
        if ((nan_ok && isnan(x) != isnan(y)) || (ok && !fz_close(x, y, row_tol, 2e-5)))
          fz_fail("%s row_loss[%zu] %.9g, scalar %.9g", name, i, x, y);
      }
      if (c.want_grad) {
        const size_t ldg = c.in_place ? c.ld : c.ld_grad;
        for (size_t j = 0; j < c.m; j++) {
          const double x = v->grad[i * ldg + j], y = s->grad[i * ldg + j];
          if ((nan_ok && isnan(x) != isnan(y)) ||
              (ok && !fz_close(x, y, wr * scale * (1e-6 + 2e-5 * mz), 2e-4)))
            fz_fail("%s grad[%zu][%zu] %.9g, scalar %.9g", name, i, j, x, y);
        }
      }
    }
    if (c.want_loss) {
      const double x = v->loss, y = s->loss;
      if ((all_nan_ok && isnan(x) != isnan(y)) || (all_ok && !fz_close(x, y, r * loss_tol, 2e-5)))
        fz_fail("%s loss %.17g, scalar %.17g", name, x, y);
    }
  }
  for (size_t a = 0; a < n_isas; a++) {
    free(out[a].row_loss);
    free(out[a].grad);
  }
  free(c.logits);
  free(c.labels);
  free(c.target);
  free(c.weights);
  return 0;
}
