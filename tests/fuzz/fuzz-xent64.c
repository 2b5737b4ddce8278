/* fastloss_xent_f64 and fastloss_xent_soft_f64, decoded as fuzz-xent.c
 * decodes its input (shapes n <= 24, m <= 70, leading dimensions sometimes
 * too small, labels sometimes out of range, every reduction and a bad one,
 * ignore_index, label smoothing sometimes outside [0, 1) or NaN, per-class
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

enum { FZ_MAX_ISAS = 4 };

static size_t fz_extent(size_t rows, size_t cols, size_t ld) {
  return rows == 0 ? 0 : (rows - 1) * ld + cols;
}

static size_t fz_ld(fz_input *in, size_t m) {
  const uint8_t sel = fz_u8(in);
  if (sel < 6 && m > 0) return m - 1;
  return m + sel % 3;
}

typedef struct fz_case {
  size_t n, m, ld, ld_grad, ld_target;
  int soft, in_place, want_row, want_loss, want_grad, want_weights;
  fastloss_xent_params params;
  float *logits, *target, *weights;
  double *logits64, *target64, *weights64;
  int32_t *labels;
} fz_case;

typedef struct fz_out {
  fastloss_status status;
  double loss;
  double *row, *grad; /* f32 results widened, or the f64 ones */
} fz_out;

/* One call, f32 (f64 = 0) or f64, with the canary checks. */
static void fz_run(const fz_case *c, int f64, fz_out *o, const char *name) {
  const size_t ld_grad = c->in_place ? c->ld : c->ld_grad;
  const size_t n_grad = fz_extent(c->n, c->m, ld_grad);
  const size_t elem = f64 ? sizeof(double) : sizeof(float);
  void *row = fz_alloc_bytes((c->n ? c->n : 1) * elem);
  void *grad = fz_alloc_bytes((n_grad ? n_grad : 1) * elem);
  const void *orig = f64 ? (const void *)c->logits64 : (const void *)c->logits;
  if (f64) {
    fz_sentinel_f64(row, c->n);
    if (c->in_place) memcpy(grad, orig, n_grad * elem);
    else fz_sentinel_f64(grad, n_grad);
  } else {
    fz_sentinel_f32(row, c->n);
    if (c->in_place) memcpy(grad, orig, n_grad * elem);
    else fz_sentinel_f32(grad, n_grad);
  }
  memset(&o->loss, 0x5a, sizeof o->loss);
  const double before = o->loss;
  fastloss_xent_params p = c->params;
  p.weight_f32 = c->want_weights ? c->weights : NULL;
  p.weight_f64 = c->want_weights ? c->weights64 : NULL;
  double *loss = c->want_loss ? &o->loss : NULL;
  if (f64) {
    const double *z = c->in_place ? grad : c->logits64;
    double *r = c->want_row ? row : NULL, *g = c->want_grad ? grad : NULL;
    o->status = c->soft ? fastloss_xent_soft_f64(c->n, c->m, z, c->ld, c->target64, c->ld_target,
                                                 &p, r, loss, g, ld_grad)
                        : fastloss_xent_f64(c->n, c->m, z, c->ld, c->labels, &p, r, loss, g,
                                            ld_grad);
  } else {
    const float *z = c->in_place ? grad : c->logits;
    float *r = c->want_row ? row : NULL, *g = c->want_grad ? grad : NULL;
    o->status = c->soft ? fastloss_xent_soft_f32(c->n, c->m, z, c->ld, c->target, c->ld_target,
                                                 &p, r, loss, g, ld_grad)
                        : fastloss_xent_f32(c->n, c->m, z, c->ld, c->labels, &p, r, loss, g,
                                            ld_grad);
  }
  const int ok = o->status == FASTLOSS_OK;
  for (size_t i = 0; i < c->n; i++) {
    const int sent = f64 ? fz_is_sentinel_f64(((double *)row)[i])
                         : fz_is_sentinel_f32(((float *)row)[i]);
    if ((!ok || !c->want_row) && !sent)
      fz_fail("%s %s: row_loss[%zu] written (status %d)", name, f64 ? "f64" : "f32", i,
              (int)o->status);
  }
  if ((!ok || !c->want_loss) && memcmp(&o->loss, &before, sizeof before))
    fz_fail("%s %s: loss written (status %d)", name, f64 ? "f64" : "f32", (int)o->status);
  for (size_t k = 0; k < n_grad; k++) {
    const int gap = ld_grad > c->m && k % ld_grad >= c->m;
    if (ok && c->want_grad && !gap) continue;
    const char *gk = (const char *)grad + k * elem;
    const int same = c->in_place ? !memcmp(gk, (const char *)orig + k * elem, elem)
                     : f64       ? fz_is_sentinel_f64(*(const double *)(const void *)gk)
                                 : fz_is_sentinel_f32(*(const float *)(const void *)gk);
    if (!same)
      fz_fail("%s %s: grad[%zu] written (status %d)", name, f64 ? "f64" : "f32", k,
              (int)o->status);
  }
  o->row = fz_alloc_f64(c->n);
  o->grad = fz_alloc_f64(n_grad);
  for (size_t i = 0; i < c->n; i++)
    o->row[i] = f64 ? ((double *)row)[i] : ((float *)row)[i];
  for (size_t k = 0; k < n_grad; k++)
    o->grad[k] = f64 ? ((double *)grad)[k] : ((float *)grad)[k];
  free(row);
  free(grad);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fz_input in = {data, size};
  fz_case c;
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
  const size_t nz = fz_extent(c.n, c.m, c.ld), nt = fz_extent(c.n, c.m, c.ld_target);
  c.logits = fz_alloc_f32(nz);
  fz_floats(&in, c.logits, nz);
  c.labels = fz_alloc_bytes((c.n ? c.n : 1) * sizeof(int32_t));
  for (size_t i = 0; i < c.n; i++) {
    const uint8_t sel = fz_u8(&in);
    c.labels[i] = sel < 240 ? (int32_t)(fz_u8(&in) % (c.m ? c.m : 1)) : (int32_t)fz_u32(&in);
  }
  c.target = fz_alloc_f32(nt);
  if (c.soft) fz_floats(&in, c.target, nt);
  c.weights = fz_alloc_f32(c.m);
  if (c.want_weights) fz_floats(&in, c.weights, c.m);
  c.logits64 = fz_alloc_f64(nz);
  c.target64 = fz_alloc_f64(nt);
  c.weights64 = fz_alloc_f64(c.m);
  for (size_t k = 0; k < nz; k++) c.logits64[k] = c.logits[k];
  for (size_t k = 0; k < nt; k++) c.target64[k] = c.soft ? c.target[k] : 0.0;
  for (size_t k = 0; k < c.m; k++) c.weights64[k] = c.want_weights ? c.weights[k] : 0.0;
  if (!c.soft) memset(c.target, 0, nt * sizeof(float));
  if (!c.want_weights) memset(c.weights, 0, c.m * sizeof(float));

  if (getenv("FASTLOSS_FUZZ_VERBOSE") != NULL)
    fprintf(stderr, "xent64 soft %d in_place %d n %zu m %zu ld %zu red %d ignore %d:%d ls %g\n",
            c.soft, c.in_place, c.n, c.m, c.ld, (int)c.params.reduction,
            c.params.use_ignore_index, (int)c.params.ignore_index, c.params.label_smoothing);
  if (getenv("FASTLOSS_FUZZ_VERBOSE") != NULL) {
    for (size_t i = 0; i < c.n; i++) {
      fprintf(stderr, "row %zu label %d:", i, (int)c.labels[i]);
      for (size_t j = 0; j < c.m; j++) fprintf(stderr, " %g", c.logits[i * c.ld + j]);
      fputc('\n', stderr);
    }
    for (size_t j = 0; j < c.m && c.want_weights; j++) fprintf(stderr, "w %g\n", c.weights[j]);
  }
  const fl_isa_kernels *isas[FZ_MAX_ISAS];
  const size_t n_isas = fz_isas(isas, FZ_MAX_ISAS);
  fz_out o64[FZ_MAX_ISAS], o32;
  for (size_t a = 0; a < n_isas; a++) {
    fl_dispatch_force(isas[a]);
    fz_run(&c, 1, &o64[a], isas[a]->name);
  }
  fl_dispatch_force(isas[0]);
  fz_run(&c, 0, &o32, isas[0]->name);
  const size_t n_grad = fz_extent(c.n, c.m, c.in_place ? c.ld : c.ld_grad);
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
  int f32_mean_too_small = 0;
  if (!c.soft && c.params.reduction == FASTLOSS_REDUCTION_MEAN && o64[0].status == FASTLOSS_OK) {
    double sum = 0.0;
    for (size_t i = 0; i < c.n; i++)
      if (!(c.params.use_ignore_index && c.labels[i] == c.params.ignore_index))
        sum += c.want_weights ? (double)c.weights[c.labels[i]] : 1.0;
    f32_mean_too_small = sum > 0.0 && !(1.0 / sum <= FLT_MAX);
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
    int all_ok = w_finite && w_max < 1e30f;
    double loss_tol = 0.0;
    const size_t ldg = c.in_place ? c.ld : c.ld_grad;
    for (size_t i = 0; i < c.n && w_finite && w_max < 1e30f; i++) {
      const float *z = c.logits + i * c.ld;
      const float mz = fz_max_abs(z, c.m);
      int ok = fz_all_finite(z, c.m) && mz < 1e30f;
      double scale = 1.0;
      if (c.soft) {
        const float *t = c.target + i * c.ld_target;
        ok = ok && fz_all_finite(t, c.m) && fz_max_abs(t, c.m) < 1e30f;
        scale = (1.0 + fz_max_abs(t, c.m)) * (double)c.m;
      }
      /* f32 forms w_c t_c and w (lse - z) in float: past FLT_MAX they are inf
       * (and inf * 0, inf - inf NaN) where f64 is finite, a difference of
       * dtype; only rows whose terms stay far below it are compared. */
      if (!ok || (double)w_max * (1.0 + mz) * scale >= 1e30) {
        all_ok = 0;
        continue;
      }
      /* + 1e-44: f32 results below FLT_MIN keep only a few bits. */
      const double row_tol = 6e-5 * w_max * (1.0 + mz) * scale + 1e-44;
      loss_tol += row_tol;
      if (c.want_row) {
        const double x = (float)o64[0].row[i], y = o32.row[i];
        if (isnan(x) != isnan(y) || !fz_close(x, y, row_tol, 2e-5))
          fz_fail("f64 row_loss[%zu] %.17g, f32 %.9g", i, o64[0].row[i], y);
      }
      for (size_t j = 0; c.want_grad && j < c.m; j++) {
        const double x = (float)o64[0].grad[i * ldg + j], y = o32.grad[i * ldg + j];
        if (isnan(x) != isnan(y) || !fz_close(x, y, wr * scale * (1e-6 + 2e-5 * mz) + 1e-44, 2e-4))
          fz_fail("f64 grad[%zu][%zu] %.17g, f32 %.9g", i, j, o64[0].grad[i * ldg + j], y);
      }
    }
    if (c.want_loss && all_ok && !fz_close(o64[0].loss, o32.loss, r * loss_tol, 2e-5))
      fz_fail("f64 loss %.17g, f32 %.17g", o64[0].loss, o32.loss);
  }
  for (size_t a = 0; a < n_isas; a++) {
    free(o64[a].row);
    free(o64[a].grad);
  }
  free(o32.row);
  free(o32.grad);
  free(c.logits);
  free(c.target);
  free(c.weights);
  free(c.logits64);
  free(c.target64);
  free(c.weights64);
  free(c.labels);
  return 0;
}
