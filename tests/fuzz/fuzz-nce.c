/* The NCELoss object (f32): fastloss_nce_create with fuzzed n_classes <= 24,
 * n_in <= 24, k <= 6 (0: an error), a noise sampler (sometimes of the wrong
 * size), optimizer, NCE or negative sampling and accidental-hit mode; then
 * fastloss_nce_loss_f32 on X (n_ex <= 6, n_c <= 4) with fuzzed targets and
 * given negatives (sometimes out of range), retained, and
 * fastloss_nce_grad_f32 with an update.  Every kernel table runs the same
 * sequence on an object created with the same seed; statuses must match,
 * and an error must leave loss, y_pred and dX untouched.  Tolerances, with
 * S = 1 + n_in max|X| (a logit's scale; only when X is finite, max|X| <
 * 1e6):  loss 1e-5 n_ex n_c (k + 1) S abs + 1e-5 rel;  y_pred 1e-5 S abs +
 * 1e-5 rel;  dX 1e-5 (k + 1) S abs + 1e-4 rel;  W after the update: SGD
 * only (adaptive optimizers divide by the gradient's own size, so a tiny
 * gradient's rounding can move W by lr), 1e-5 S abs + 1e-4 rel. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

enum { FZ_MAX_ISAS = 4 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fz_input in = {data, size};
  const uint8_t flags = fz_u8(&in);
  fastloss_nce_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.dtype = FASTLOSS_F32;
  cfg.n_classes = fz_range(&in, 0, 24);
  cfg.n_in = fz_range(&in, 0, 24);
  cfg.num_negative_samples = fz_range(&in, 0, 6);
  cfg.optimizer.kind = (fastloss_optimizer_kind)(fz_u8(&in) % 4);
  if (flags & 1) cfg.optimizer.lr = fz_double(&in);
  cfg.negative_sampling = (flags >> 1) & 1;
  cfg.accidental_hits = (fastloss_accidental_hits)((flags >> 2) % 3);
  cfg.init = (fastloss_init)((flags >> 4) % 4);
  cfg.seed = fz_u32(&in);
  const size_t classes = cfg.n_classes + (fz_u8(&in) < 8);
  double *w = fz_alloc_bytes((classes ? classes : 1) * sizeof(double));
  for (size_t c = 0; c < classes; c++) w[c] = 1.0 + fz_u8(&in);
  fastloss_sampler *noise = NULL;
  if (fastloss_sampler_create(&noise, w, classes, 0, 1, 5) != FASTLOSS_OK) noise = NULL;
  cfg.sampler = noise;
  const size_t n_ex = fz_range(&in, 0, 6), n_c = fz_range(&in, 0, 4), k = cfg.num_negative_samples;
  const size_t nx = n_ex * n_c * cfg.n_in;
  float *X = fz_alloc_f32(nx);
  fz_floats(&in, X, nx);
  int32_t *target = fz_alloc_bytes((n_ex + 1) * sizeof(int32_t));
  int32_t *neg = fz_alloc_bytes((k + 1) * sizeof(int32_t));
  const size_t nc = cfg.n_classes ? cfg.n_classes : 1;
  for (size_t i = 0; i < n_ex; i++) target[i] = fz_u8(&in) < 250 ? (int32_t)(fz_u8(&in) % nc) : -1;
  for (size_t s = 0; s < k; s++)
    neg[s] = fz_u8(&in) < 250 ? (int32_t)(fz_u8(&in) % nc) : (int32_t)nc;

  const fl_isa_kernels *isas[FZ_MAX_ISAS];
  const size_t n_isas = fz_isas(isas, FZ_MAX_ISAS);
  fastloss_status st[FZ_MAX_ISAS][3];
  double loss[FZ_MAX_ISAS];
  float *yp[FZ_MAX_ISAS], *dX[FZ_MAX_ISAS], *W[FZ_MAX_ISAS];
  size_t n_dx = 0;
  const size_t nw = cfg.n_classes * cfg.n_in;
  for (size_t a = 0; a < n_isas; a++) {
    fl_dispatch_force(isas[a]);
    const char *name = isas[a]->name;
    yp[a] = fz_alloc_f32(n_ex * n_c);
    dX[a] = fz_alloc_f32(nx);
    W[a] = fz_alloc_f32(nw);
    fz_sentinel_f32(yp[a], n_ex * n_c);
    fz_sentinel_f32(dX[a], nx);
    fz_sentinel_f32(W[a], nw);
    memset(&loss[a], 0x5a, sizeof loss[a]);
    const double before = loss[a];
    st[a][1] = st[a][2] = FASTLOSS_ERR_INVALID_STATE;
    fastloss_nce *nce = NULL;
    st[a][0] = fastloss_nce_create(&nce, &cfg);
    if (st[a][0] != FASTLOSS_OK) continue;
    st[a][1] = fastloss_nce_loss_f32(nce, n_ex, n_c, cfg.n_in, X, target,
                                     (flags & 0x40) ? NULL : neg, 1, &loss[a], yp[a]);
    if (st[a][1] != FASTLOSS_OK) {
      if (memcmp(&loss[a], &before, sizeof before)) fz_fail("%s: loss written on error", name);
      for (size_t j = 0; j < n_ex * n_c; j++)
        if (!fz_is_sentinel_f32(yp[a][j])) fz_fail("%s: y_pred written on error", name);
    }
    size_t calls = 0, elements = 0;
    if (fastloss_nce_pending(nce, &calls, &elements) != FASTLOSS_OK)
      fz_fail("%s: pending failed", name);
    if (elements > nx) fz_fail("%s: pending %zu dX elements, X has %zu", name, elements, nx);
    n_dx = elements;
    st[a][2] = fastloss_nce_grad_f32(nce, 1, 1, dX[a]);
    if (st[a][2] != FASTLOSS_OK)
      for (size_t j = 0; j < nx; j++)
        if (!fz_is_sentinel_f32(dX[a][j])) fz_fail("%s: dX written on error", name);
    void *pw = NULL, *pb = NULL, *pdw = NULL, *pdb = NULL;
    if (fastloss_nce_params(nce, &pw, &pb, &pdw, &pdb) == FASTLOSS_OK && pw != NULL)
      memcpy(W[a], pw, nw * sizeof(float));
    fastloss_nce_destroy(nce);
  }
  const float mx = fz_max_abs(X, nx);
  const double S = 1.0 + (double)cfg.n_in * mx;
  const int compare = fz_all_finite(X, nx) && mx < 1e6f;
  for (size_t a = 1; a < n_isas; a++) {
    const char *name = isas[a]->name;
    for (int c = 0; c < 3; c++)
      if (st[a][c] != st[0][c])
        fz_fail("%s call %d status %d, scalar %d", name, c, (int)st[a][c], (int)st[0][c]);
    if (st[0][1] != FASTLOSS_OK || !compare) continue;
    if (!fz_close(loss[a], loss[0], 1e-5 * (double)(n_ex * n_c * (k + 1)) * S, 1e-5))
      fz_fail("%s loss %.17g, scalar %.17g", name, loss[a], loss[0]);
    for (size_t j = 0; j < n_ex * n_c; j++)
      if (!fz_close(yp[a][j], yp[0][j], 1e-5 * S, 1e-5))
        fz_fail("%s y_pred[%zu] %.9g, scalar %.9g", name, j, yp[a][j], yp[0][j]);
    if (st[0][2] != FASTLOSS_OK) continue;
    for (size_t j = 0; j < n_dx; j++)
      if (!fz_close(dX[a][j], dX[0][j], 1e-5 * (double)(k + 1) * S, 1e-4))
        fz_fail("%s dX[%zu] %.9g, scalar %.9g", name, j, dX[a][j], dX[0][j]);
    if (cfg.optimizer.kind == FASTLOSS_OPT_SGD)
      for (size_t j = 0; j < nw; j++)
        if (!fz_close(W[a][j], W[0][j], 1e-5 * S, 1e-4))
          fz_fail("%s W[%zu] %.9g, scalar %.9g", name, j, W[a][j], W[0][j]);
  }
  for (size_t a = 0; a < n_isas; a++) {
    free(yp[a]);
    free(dX[a]);
    free(W[a]);
  }
  fastloss_sampler_destroy(noise);
  free(w);
  free(X);
  free(target);
  free(neg);
  return 0;
}
