/* Multi-step NCELoss training with every optimizer: fastloss_nce_create
 * (n_classes, n_in <= 12, k <= 4) with a fuzzed optimizer (SGD with momentum
 * and clip_norm, AdaGrad, RMSProp, Adam; dense or lazy; lr, momentum,
 * clip_norm, decays and eps defaulted, picked or fuzzed: sometimes invalid,
 * an error), then up to 4 steps, each one or two retained loss calls
 * (n_ex <= 3, n_c <= 3; given negatives or drawn ones; targets sometimes
 * out of range, an error) and a grad with the update, or a grad without it
 * and fastloss_nce_update.  Runs on every kernel table (f32), on the f64
 * object (its W and b set to the f32 object's initial values, X widened),
 * and on scalar f32 with lazy flipped.  Checks:
 *   - statuses equal everywhere; an error leaves loss, y_pred and dX
 *     untouched;
 *   - rows of W and entries of b of classes no call used (given negatives
 *     only) keep their initial bits, for every optimizer, dense or lazy;
 *   - each table and f64 against scalar f32: step 1 (W as created) with
 *     fuzz-nce.c's tolerances (loss 1e-5 n_ex n_c (k + 1) S abs + 1e-5 rel,
 *     y_pred 1e-5 S abs + 1e-5 rel, S = 1 + n_in max|X|); later steps and
 *     W, b after each update within D_s, a bound on how far two runs whose
 *     gradients differ by rounding can drift: for AdaGrad, RMSProp and Adam
 *     2 lr sum_t B_t, B_t the largest |step| / lr the optimizer can take at
 *     step t (1; 1 / sqrt(1 - decay); Adam's (1 - b1) / sqrt(1 - b2)
 *     sqrt(sum_j<t (b1^2 / b2)^j) sqrt(1 - b2^t) / (1 - b1^t)); for SGD the
 *     recurrence of the rounding 1e-5 S (k + 1) n_ex n_c (1 + max|X|)
 *     through the gradient's Lipschitz constant 0.25 N n_in max|X|^2 (N the
 *     logits of a step), the momentum and clipping (x2); later losses within
 *     N (n_in max|X| D + D) more.  Values are compared only while X is
 *     finite with max|X| <= 1e3 and the scalar W finite below 1e6;
 *   - lazy against dense (scalar): bit-identical for SGD without momentum
 *     (fastloss.h: both settings agree), and after the first update within
 *     1e-6 rel + 1e-6 lr (the state is still zero then) for every optimizer.
 * freeze / unfreeze / flush_gradients: appended after everything above, a
 * byte (>= 192: the blocks run) and one byte per step (0, none, when the
 * input ends before it) add, on every run, with bit 0, between the step's
 * loss calls and its grad: freeze
 * (OK); grad, update and flush_gradients must then give
 * FASTLOSS_ERR_INVALID_STATE and write nothing (dX keeps its sentinel); a
 * loss call (the step's first, retained, its negatives given or drawn) on
 * the frozen loss keeps no call (pending unchanged) and draws nothing; W,
 * b, dW, db and pending are bit-for-bit as before the freeze; unfreeze (OK)
 * and the step goes on.  With bit 1, after the step: a retained loss call
 * (the first call's ids, negatives given), a grad without the update
 * (skipped with bit 2, so flush drops a retained call), then
 * flush_gradients (OK): pending 0, every element of dW and db +0, W and b
 * unchanged.  Neither block changes what training does (the frozen call
 * draws no negatives, the flushed gradients are never applied), so when
 * any byte is set the scalar f32 run is repeated without them and must
 * give bit-identical statuses, losses, y_pred, W and b (unfreeze restores
 * the loss as it was); the blocks' own statuses must match on every run. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

enum { FZ_MAX_ISAS = 4, FZ_STEPS = 4, FZ_CALLS = 2, FZ_MAX_C = 12, FZ_MAX_IN = 12 };
/* Runs: the kernel tables, then f64, then scalar with lazy flipped. */
enum { FZ_RUNS = FZ_MAX_ISAS + 2 };

typedef struct fz_call {
  size_t n_ex, n_c;
  float X[3 * 3 * FZ_MAX_IN];
  int32_t target[3];
  int32_t neg[4];
  int given;
} fz_call;

typedef struct fz_step {
  size_t calls;
  fz_call call[FZ_CALLS];
  int separate_update;
} fz_step;

typedef struct fz_result {
  fastloss_status create;
  fastloss_status st[FZ_STEPS][FZ_CALLS + 2];
  double loss[FZ_STEPS][FZ_CALLS];
  double yp[FZ_STEPS][FZ_CALLS][9];
  double W[FZ_STEPS + 1][FZ_MAX_C * FZ_MAX_IN];
  double b[FZ_STEPS + 1][FZ_MAX_C];
  size_t done; /* updates done */
  /* The appended blocks: the frozen loss call; the flush block's loss
   * call, grad and flush (FASTLOSS_ERR_INVALID_STATE where not run). */
  fastloss_status xst[FZ_STEPS][4];
} fz_result;

/* The bytes of W, b, dW, db, for the frozen-loss checks. */
typedef struct fz_state {
  unsigned char *bytes;
  size_t size;
} fz_state;

static void fz_state_take(fz_state *st, const void *pw, const void *pb, const void *pdw,
                          const void *pdb, size_t nw, size_t nb, size_t elem) {
  st->size = 2 * (nw + nb) * elem;
  st->bytes = fz_alloc_bytes(st->size);
  unsigned char *q = st->bytes;
  memcpy(q, pw, nw * elem);
  memcpy(q + nw * elem, pb, nb * elem);
  memcpy(q + (nw + nb) * elem, pdw, nw * elem);
  memcpy(q + (2 * nw + nb) * elem, pdb, nb * elem);
}

static int fz_state_same(const fz_state *st, const void *pw, const void *pb, const void *pdw,
                         const void *pdb, size_t nw, size_t nb, size_t elem) {
  const unsigned char *q = st->bytes;
  return !memcmp(q, pw, nw * elem) && !memcmp(q + nw * elem, pb, nb * elem) &&
         !memcmp(q + (nw + nb) * elem, pdw, nw * elem) &&
         !memcmp(q + (2 * nw + nb) * elem, pdb, nb * elem);
}

/* One retained fastloss_nce_loss call of `call` with negatives `neg`, on
 * the f64 entry point (X widened into X64, which must stay valid until the
 * grad that uses it) or the f32 one.  An error must write neither the loss
 * nor y_pred; on success *loss and yp[0 .. n_ex n_c) are its outputs. */
static fastloss_status fz_loss_call(fastloss_nce *nce, int dtype64, const fz_call *call,
                                    size_t n_in, const int32_t *neg, double *X64, double *loss,
                                    double yp[9], const char *name, const char *what) {
  const size_t nx = call->n_ex * call->n_c * n_in;
  double yp64[9], l;
  float yp32[9];
  for (size_t j = 0; j < nx; j++) X64[j] = call->X[j];
  fz_sentinel_f64(yp64, 9);
  fz_sentinel_f32(yp32, 9);
  memset(&l, 0x5a, sizeof l);
  const double before = l;
  const fastloss_status status =
      dtype64 ? fastloss_nce_loss_f64(nce, call->n_ex, call->n_c, n_in, X64, call->target, neg, 1,
                                      &l, yp64)
              : fastloss_nce_loss_f32(nce, call->n_ex, call->n_c, n_in, call->X, call->target, neg,
                                      1, &l, yp32);
  if (status != FASTLOSS_OK) {
    if (memcmp(&l, &before, sizeof l)) fz_fail("%s: %s wrote the loss on error", name, what);
    for (size_t j = 0; j < 9; j++)
      if (dtype64 ? !fz_is_sentinel_f64(yp64[j]) : !fz_is_sentinel_f32(yp32[j]))
        fz_fail("%s: %s wrote y_pred on error", name, what);
    return status;
  }
  *loss = l;
  for (size_t j = 0; j < 9; j++) yp[j] = dtype64 ? yp64[j] : yp32[j];
  return status;
}

/* The frozen block (ops bit 0), between a step's loss calls and its grad. */
static void fz_frozen_block(fastloss_nce *nce, int dtype64, const fz_call *call, size_t n_in,
                            void *pw, void *pb, void *pdw, void *pdb, size_t nw, size_t nb,
                            fastloss_status *fst, const char *name) {
  const size_t elem = dtype64 ? sizeof(double) : sizeof(float);
  size_t pc = 0, pe = 0, pc2 = 0, pe2 = 0;
  if (fastloss_nce_pending(nce, &pc, &pe) != FASTLOSS_OK) fz_fail("%s: pending failed", name);
  fz_state st;
  fz_state_take(&st, pw, pb, pdw, pdb, nw, nb, elem);
  fastloss_status r = fastloss_nce_freeze(nce);
  if (r != FASTLOSS_OK) fz_fail("%s: freeze status %d", name, (int)r);
  double *dX64 = fz_alloc_f64(pe + 1);
  float *dX32 = fz_alloc_f32(pe + 1);
  fz_sentinel_f64(dX64, pe + 1);
  fz_sentinel_f32(dX32, pe + 1);
  r = dtype64 ? fastloss_nce_grad_f64(nce, 1, 1, dX64) : fastloss_nce_grad_f32(nce, 1, 1, dX32);
  if (r != FASTLOSS_ERR_INVALID_STATE)
    fz_fail("%s: grad on a frozen loss: status %d", name, (int)r);
  for (size_t j = 0; j < pe + 1; j++)
    if (dtype64 ? !fz_is_sentinel_f64(dX64[j]) : !fz_is_sentinel_f32(dX32[j]))
      fz_fail("%s: grad on a frozen loss wrote dX[%zu]", name, j);
  free(dX64);
  free(dX32);
  r = fastloss_nce_update(nce);
  if (r != FASTLOSS_ERR_INVALID_STATE)
    fz_fail("%s: update on a frozen loss: status %d", name, (int)r);
  r = fastloss_nce_flush_gradients(nce);
  if (r != FASTLOSS_ERR_INVALID_STATE)
    fz_fail("%s: flush_gradients on a frozen loss: status %d", name, (int)r);
  /* Evaluation: allowed, keeps nothing for grad. */
  double X64[3 * 3 * FZ_MAX_IN], yp[9], loss;
  fst[0] = fz_loss_call(nce, dtype64, call, n_in, call->given ? call->neg : NULL, X64, &loss, yp,
                        name, "a loss call on a frozen loss");
  if (fastloss_nce_pending(nce, &pc2, &pe2) != FASTLOSS_OK) fz_fail("%s: pending failed", name);
  if (pc2 != pc || pe2 != pe)
    fz_fail("%s: frozen loss call changed pending (%zu, %zu) -> (%zu, %zu)", name, pc, pe, pc2,
            pe2);
  if (!fz_state_same(&st, pw, pb, pdw, pdb, nw, nb, elem))
    fz_fail("%s: W, b, dW or db changed while frozen", name);
  r = fastloss_nce_unfreeze(nce);
  if (r != FASTLOSS_OK) fz_fail("%s: unfreeze status %d", name, (int)r);
  free(st.bytes);
}

/* The flush block (ops bit 1; bit 2 skips the grad), after a step. */
static void fz_flush_block(fastloss_nce *nce, int dtype64, const fz_call *call, size_t n_in,
                           int skip_grad, void *pw, void *pb, void *pdw, void *pdb, size_t nw,
                           size_t nb, fastloss_status *fst, const char *name) {
  const size_t elem = dtype64 ? sizeof(double) : sizeof(float);
  unsigned char *wb = fz_alloc_bytes((nw + nb) * elem);
  memcpy(wb, pw, nw * elem);
  memcpy(wb + nw * elem, pb, nb * elem);
  static double X64[3 * 3 * FZ_MAX_IN]; /* valid until the grad below */
  double yp[9], loss;
  fst[1] = fz_loss_call(nce, dtype64, call, n_in, call->neg, X64, &loss, yp, name,
                        "the flush block's loss call");
  if (fst[1] == FASTLOSS_OK && !skip_grad) {
    size_t pc = 0, pe = 0;
    if (fastloss_nce_pending(nce, &pc, &pe) != FASTLOSS_OK) fz_fail("%s: pending failed", name);
    double *dX64 = fz_alloc_f64(pe + 1);
    float *dX32 = fz_alloc_f32(pe + 1);
    fst[2] =
        dtype64 ? fastloss_nce_grad_f64(nce, 1, 0, dX64) : fastloss_nce_grad_f32(nce, 1, 0, dX32);
    free(dX64);
    free(dX32);
  }
  fst[3] = fastloss_nce_flush_gradients(nce);
  if (fst[3] != FASTLOSS_OK) fz_fail("%s: flush_gradients status %d", name, (int)fst[3]);
  size_t pc = 1, pe = 1;
  if (fastloss_nce_pending(nce, &pc, &pe) != FASTLOSS_OK) fz_fail("%s: pending failed", name);
  if (pc != 0 || pe != 0)
    fz_fail("%s: after flush %zu calls, %zu dX elements pending", name, pc, pe);
  const unsigned char *g = pdw;
  for (size_t j = 0; j < nw * elem; j++)
    if (g[j] != 0) fz_fail("%s: after flush dW byte %zu is %u", name, j, g[j]);
  g = pdb;
  for (size_t j = 0; j < nb * elem; j++)
    if (g[j] != 0) fz_fail("%s: after flush db byte %zu is %u", name, j, g[j]);
  if (memcmp(wb, pw, nw * elem) || memcmp(wb + nw * elem, pb, nb * elem))
    fz_fail("%s: flush_gradients (or a grad without update) changed W or b", name);
  free(wb);
}

static float fz_xval(fz_input *in) {
  /* Moderate values mostly: training on huge X only saturates. */
  const uint8_t sel = fz_u8(in);
  if (sel < 224) return (float)(int8_t)fz_u8(in) / 32.0f;
  return fz_float(in);
}

static void fz_train(const fastloss_nce_config *cfg, int dtype64, const fz_step *steps,
                     size_t n_steps, const uint8_t *ops, const float *W0, const float *b0,
                     fz_result *r, const char *name) {
  memset(r, 0, sizeof *r);
  for (size_t s = 0; s < FZ_STEPS; s++) {
    for (size_t c = 0; c < FZ_CALLS + 2; c++) r->st[s][c] = FASTLOSS_ERR_INVALID_STATE;
    for (size_t c = 0; c < 4; c++) r->xst[s][c] = FASTLOSS_ERR_INVALID_STATE;
  }
  fastloss_nce_config c = *cfg;
  c.dtype = dtype64 ? FASTLOSS_F64 : FASTLOSS_F32;
  fastloss_nce *nce = NULL;
  r->create = fastloss_nce_create(&nce, &c);
  if (r->create != FASTLOSS_OK) return;
  const size_t nw = c.n_classes * c.n_in;
  void *pw = NULL, *pb = NULL, *pdw = NULL, *pdb = NULL;
  if (fastloss_nce_params(nce, &pw, &pb, &pdw, &pdb) != FASTLOSS_OK || pw == NULL || pb == NULL)
    fz_fail("%s: nce_params failed", name);
  if (dtype64 && W0 != NULL) {
    for (size_t j = 0; j < nw; j++) ((double *)pw)[j] = W0[j];
    for (size_t j = 0; j < c.n_classes; j++) ((double *)pb)[j] = b0[j];
  }
#define FZ_SNAP(t)                                                                                 \
  for (size_t j = 0; j < nw; j++)                                                                  \
    r->W[t][j] = dtype64 ? ((double *)pw)[j] : ((float *)pw)[j];                                   \
  for (size_t j = 0; j < c.n_classes; j++)                                                         \
    r->b[t][j] = dtype64 ? ((double *)pb)[j] : ((float *)pb)[j];
  FZ_SNAP(0)
  for (size_t s = 0; s < n_steps; s++) {
    const fz_step *st = &steps[s];
    size_t total = 0;
    int failed = 0;
    for (size_t k = 0; k < st->calls; k++) {
      const fz_call *call = &st->call[k];
      const size_t nx = call->n_ex * call->n_c * c.n_in, ny = call->n_ex * call->n_c;
      /* X must stay valid until grad(): call->X and keep64 do. */
      static double keep64[FZ_CALLS][3 * 3 * FZ_MAX_IN];
      double yp[9], loss;
      r->st[s][k] = fz_loss_call(nce, dtype64, call, c.n_in, call->given ? call->neg : NULL,
                                 keep64[k], &loss, yp, name, "a loss call");
      if (r->st[s][k] != FASTLOSS_OK) {
        failed = 1;
        continue;
      }
      r->loss[s][k] = loss;
      for (size_t j = 0; j < ny; j++) r->yp[s][k][j] = yp[j];
      total += nx;
    }
    if (ops != NULL && (ops[s] & 1))
      fz_frozen_block(nce, dtype64, &st->call[0], c.n_in, pw, pb, pdw, pdb, nw, c.n_classes,
                      r->xst[s], name);
    size_t calls = 0, elements = 0;
    if (fastloss_nce_pending(nce, &calls, &elements) != FASTLOSS_OK)
      fz_fail("%s: pending failed", name);
    if (elements != total) fz_fail("%s: pending %zu dX elements, want %zu", name, elements, total);
    double *dX64 = fz_alloc_f64(total + 1);
    float *dX32 = fz_alloc_f32(total + 1);
    fz_sentinel_f64(dX64, total + 1);
    fz_sentinel_f32(dX32, total + 1);
    const int update = !st->separate_update;
    r->st[s][FZ_CALLS] = dtype64 ? fastloss_nce_grad_f64(nce, 1, update, dX64)
                                 : fastloss_nce_grad_f32(nce, 1, update, dX32);
    /* Nothing past the pending elements, nothing at all on error. */
    const size_t from = r->st[s][FZ_CALLS] == FASTLOSS_OK ? total : 0;
    for (size_t j = from; j < total + 1; j++)
      if (dtype64 ? !fz_is_sentinel_f64(dX64[j]) : !fz_is_sentinel_f32(dX32[j]))
        fz_fail("%s: dX[%zu] written (status %d, %zu pending)", name, j,
                (int)r->st[s][FZ_CALLS], total);
    free(dX64);
    free(dX32);
    if (!update) r->st[s][FZ_CALLS + 1] = fastloss_nce_update(nce);
    (void)failed;
    if (ops != NULL && (ops[s] & 2))
      fz_flush_block(nce, dtype64, &st->call[0], c.n_in, (ops[s] >> 2) & 1, pw, pb, pdw, pdb, nw,
                     c.n_classes, r->xst[s], name);
    r->done = s + 1;
    FZ_SNAP(s + 1)
  }
#undef FZ_SNAP
  fastloss_nce_destroy(nce);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fz_input in = {data, size};
  const uint8_t flags = fz_u8(&in), flags2 = fz_u8(&in);
  fastloss_nce_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.n_classes = fz_range(&in, 1, FZ_MAX_C);
  cfg.n_in = fz_range(&in, 1, FZ_MAX_IN);
  cfg.num_negative_samples = fz_range(&in, 1, 4);
  fastloss_optimizer *o = &cfg.optimizer;
  o->kind = (fastloss_optimizer_kind)(flags % 4);
  o->lazy = (flags >> 2) & 1;
  cfg.negative_sampling = (flags >> 3) & 1;
  cfg.accidental_hits = (fastloss_accidental_hits)((flags >> 4) % 3);
  cfg.init = (fastloss_init)((flags >> 6) % 4);
  const double lrs[] = {0.0, 0.001, 0.01, 0.1, 0.5, 2.0};
  const uint8_t lsel = fz_u8(&in);
  o->lr = lsel < 252 ? lrs[lsel % 6] : fz_double(&in);
  const uint8_t osel = fz_u8(&in);
  const double moms[] = {0.0, 0.0, 0.5, 0.9};
  o->momentum = moms[osel % 4];
  const double clips[] = {0.0, 0.0, 0.1, 1.0};
  o->clip_norm = clips[(osel >> 2) % 4];
  const double decays[] = {0.0, 0.5, 0.9, 0.99};
  o->decay = decays[(osel >> 4) % 4];
  o->decay1 = decays[(osel >> 6) % 4];
  const uint8_t osel2 = fz_u8(&in);
  o->decay2 = decays[osel2 % 4];
  const double epss[] = {0.0, 1e-8, 1e-3, 0.0};
  o->eps = epss[(osel2 >> 2) % 4];
  if (osel2 >= 250) { /* a fuzzed (maybe invalid) field */
    const double v = fz_double(&in);
    switch (osel2 % 6) {
      case 0: o->momentum = v; break;
      case 1: o->clip_norm = v; break;
      case 2: o->decay = v; break;
      case 3: o->decay1 = v; break;
      case 4: o->decay2 = v; break;
      default: o->eps = v; break;
    }
  }
  cfg.seed = fz_u32(&in);
  const size_t k = cfg.num_negative_samples, n_in = cfg.n_in, C = cfg.n_classes;
  double *w = fz_alloc_bytes(C * sizeof(double));
  for (size_t c = 0; c < C; c++) w[c] = 1.0 + fz_u8(&in);
  fastloss_sampler *noise = NULL;
  if (fastloss_sampler_create(&noise, w, C, 0, 1, 5) != FASTLOSS_OK) noise = NULL;
  cfg.sampler = noise;

  fz_step steps[FZ_STEPS];
  memset(steps, 0, sizeof steps);
  const size_t n_steps = fz_range(&in, 1, FZ_STEPS);
  int used[FZ_MAX_C] = {0}, all_given = 1;
  float mx = 0.0f;
  int x_finite = 1;
  for (size_t s = 0; s < n_steps; s++) {
    const uint8_t ssel = fz_u8(&in);
    steps[s].calls = 1 + (ssel & 1);
    steps[s].separate_update = (ssel >> 1) & 1;
    for (size_t q = 0; q < steps[s].calls; q++) {
      fz_call *call = &steps[s].call[q];
      call->n_ex = fz_range(&in, 1, 3);
      call->n_c = fz_range(&in, 1, 3);
      call->given = !((ssel >> (2 + q)) & 1);
      all_given = all_given && call->given;
      for (size_t j = 0; j < call->n_ex * call->n_c * n_in; j++) {
        call->X[j] = fz_xval(&in);
        x_finite = x_finite && isfinite(call->X[j]);
        if (isfinite(call->X[j]) && fabsf(call->X[j]) > mx) mx = fabsf(call->X[j]);
      }
      for (size_t i = 0; i < call->n_ex; i++) {
        const uint8_t t = fz_u8(&in);
        call->target[i] = t < 252 ? (int32_t)(fz_u8(&in) % C) : (int32_t)C;
        if (call->target[i] < (int32_t)C) used[call->target[i]] = 1;
      }
      for (size_t j = 0; j < k; j++) {
        call->neg[j] = (int32_t)(fz_u8(&in) % C);
        if (call->given) used[call->neg[j]] = 1;
      }
    }
  }
  /* Appended: a byte turning the blocks on (>= 192), then the freeze /
   * flush blocks of each step (0: none).  Rare, as each input with a block
   * also trains once more (the run without them). */
  uint8_t ops[FZ_STEPS] = {0};
  int any_ops = 0;
  const int blocks = fz_u8(&in) >= 192;
  for (size_t s = 0; s < n_steps && blocks; s++) {
    ops[s] = fz_u8(&in) & 7;
    any_ops = any_ops || ops[s] != 0;
  }
  const int verbose = getenv("FASTLOSS_FUZZ_VERBOSE") != NULL;
  if (verbose)
    fprintf(stderr,
            "nce-steps classes %zu n_in %zu k %zu opt %d lazy %d lr %g mom %g clip %g decay %g "
            "%g %g eps %g steps %zu ns %d hits %d\n",
            C, n_in, k, (int)o->kind, o->lazy, o->lr, o->momentum, o->clip_norm, o->decay,
            o->decay1, o->decay2, o->eps, n_steps, cfg.negative_sampling,
            (int)cfg.accidental_hits);

  const fl_isa_kernels *isas[FZ_MAX_ISAS];
  const size_t n_isas = fz_isas(isas, FZ_MAX_ISAS);
  static fz_result res[FZ_RUNS], plain;
  float W0[FZ_MAX_C * FZ_MAX_IN], b0[FZ_MAX_C];
  for (size_t a = 0; a < n_isas; a++) {
    fl_dispatch_force(isas[a]);
    fz_train(&cfg, 0, steps, n_steps, ops, NULL, NULL, &res[a], isas[a]->name);
  }
  for (size_t j = 0; j < C * n_in; j++) W0[j] = (float)res[0].W[0][j];
  for (size_t j = 0; j < C; j++) b0[j] = (float)res[0].b[0][j];
  fl_dispatch_force(isas[0]);
  const size_t r64 = n_isas, rflip = n_isas + 1;
  fz_train(&cfg, 1, steps, n_steps, ops, W0, b0, &res[r64], "f64");
  fastloss_nce_config flipped = cfg;
  flipped.optimizer.lazy = !cfg.optimizer.lazy;
  fz_train(&flipped, 0, steps, n_steps, ops, NULL, NULL, &res[rflip], "lazy-flipped");
  const fz_result *s0 = &res[0];
  if (any_ops) { /* the blocks change nothing that training does */
    fz_train(&cfg, 0, steps, n_steps, NULL, NULL, NULL, &plain, "scalar without the blocks");
    if (plain.create != s0->create || plain.done != s0->done ||
        memcmp(plain.st, s0->st, sizeof plain.st) ||
        memcmp(plain.loss, s0->loss, sizeof plain.loss) ||
        memcmp(plain.yp, s0->yp, sizeof plain.yp) || memcmp(plain.W, s0->W, sizeof plain.W) ||
        memcmp(plain.b, s0->b, sizeof plain.b))
      fz_fail("freeze/flush blocks (ops %u %u %u %u) changed the training run", ops[0], ops[1],
              ops[2], ops[3]);
  }

  /* Statuses. */
  for (size_t a = 1; a <= rflip; a++) {
    const char *name = a < n_isas ? isas[a]->name : a == r64 ? "f64" : "lazy-flipped";
    if (res[a].create != s0->create)
      fz_fail("%s create status %d, scalar %d", name, (int)res[a].create, (int)s0->create);
    for (size_t s = 0; s < n_steps; s++)
      for (size_t c = 0; c < FZ_CALLS + 2; c++)
        if (res[a].st[s][c] != s0->st[s][c])
          fz_fail("%s step %zu call %zu status %d, scalar %d (%s)", name, s, c,
                  (int)res[a].st[s][c], (int)s0->st[s][c], fastloss_last_error());
    for (size_t s = 0; s < n_steps; s++)
      for (size_t c = 0; c < 4; c++)
        if (res[a].xst[s][c] != s0->xst[s][c])
          fz_fail("%s step %zu freeze/flush block call %zu status %d, scalar %d", name, s, c,
                  (int)res[a].xst[s][c], (int)s0->xst[s][c]);
  }
  if (s0->create != FASTLOSS_OK) goto done;
  /* The resolved optimizer, for the drift bounds. */
  const int kind = (int)o->kind;
  const double lr = o->lr != 0.0 ? o->lr : kind <= 1 ? 0.01 : 0.001;
  const double mom = o->momentum, dec = o->decay != 0.0 ? o->decay : 0.9;
  const double b1 = o->decay1 != 0.0 ? o->decay1 : 0.9, b2 = o->decay2 != 0.0 ? o->decay2 : 0.999;
  const double S = 1.0 + (double)n_in * mx;
  const double N = 3.0 * 3.0 * FZ_CALLS * (double)(k + 1); /* logits of a step, at most */
  const double round = 1e-5 * S * N * (1.0 + mx);
  const double lip = 0.25 * N * ((double)n_in * mx * mx + 1.0);
  double D[FZ_STEPS + 1] = {0.0}, u = 0.0, adam = 0.0;
  for (size_t s = 1; s <= n_steps; s++) {
    if (kind == FASTLOSS_OPT_SGD) {
      const double dg = 2.0 * (round + lip * D[s - 1]);
      u = mom * u + lr * dg;
      D[s] = D[s - 1] + u;
    } else {
      double B = 1.0;
      if (kind == FASTLOSS_OPT_RMSPROP) B = 1.0 / sqrt(1.0 - dec);
      if (kind == FASTLOSS_OPT_ADAM) {
        adam = adam * (b1 * b1 / b2) + 1.0;
        B = (1.0 - b1) / sqrt(1.0 - b2) * sqrt(adam) * sqrt(1.0 - pow(b2, (double)s)) /
            (1.0 - pow(b1, (double)s));
      }
      /* Lazy rows count their own steps: any t <= s may apply. */
      D[s] = D[s - 1] + 2.0 * lr * B * (double)s;
    }
  }
  int compare = x_finite && mx <= 1e3f;
  for (size_t s = 0; s <= s0->done && compare; s++)
    compare = fz_all_finite_f64(s0->W[s], C * n_in) && fz_max_abs_f64(s0->W[s], C * n_in) < 1e6 &&
              fz_all_finite_f64(s0->b[s], C) && fz_max_abs_f64(s0->b[s], C) < 1e6;
  /* f64 clips probabilities at DBL_EPSILON, f32 at FLT_EPSILON: a logit
   * beyond ~15.9 gives losses that legitimately differ by up to 20 per term,
   * so f64 is compared at the first step (and the first update) only, and
   * only when no logit can come near that: |x . W0[c] + b0[c]| < 6 for
   * every row of the first step's X and every class (the NCE correction
   * |log(k Q)| is below 9.5 with these weights, k <= 4, at most 12 classes). */
  int f64_ok = compare;
  for (size_t q = 0; q < steps[0].calls && f64_ok; q++) {
    const fz_call *call = &steps[0].call[q];
    for (size_t row = 0; row < call->n_ex * call->n_c && f64_ok; row++)
      for (size_t c = 0; c < C && f64_ok; c++) {
        long double z = b0[c];
        for (size_t j = 0; j < n_in; j++)
          z += (long double)call->X[row * n_in + j] * W0[c * n_in + j];
        f64_ok = fabsl(z) < 6.0L;
      }
  }
  for (size_t a = 1; a <= r64 && compare; a++) {
    const char *name = a < n_isas ? isas[a]->name : "f64";
    const fz_result *v = &res[a];
    if (a == r64 && !f64_ok) break;
    const size_t loss_steps = a == r64 ? 1 : n_steps, w_steps = a == r64 ? 1 : s0->done;
    for (size_t s = 0; s < loss_steps; s++) {
      const double drift = N * ((double)n_in * mx * D[s] + D[s]);
      for (size_t q = 0; q < steps[s].calls; q++) {
        if (s0->st[s][q] != FASTLOSS_OK) continue;
        const fz_call *call = &steps[s].call[q];
        const double cnt = (double)(call->n_ex * call->n_c * (k + 1));
        if (!fz_close(v->loss[s][q], s0->loss[s][q], 1e-5 * cnt * S + drift, 1e-5))
          fz_fail("%s step %zu call %zu loss %.17g, scalar %.17g (drift bound %g)", name, s, q,
                  v->loss[s][q], s0->loss[s][q], drift);
        for (size_t j = 0; j < call->n_ex * call->n_c; j++)
          if (!fz_close(v->yp[s][q][j], s0->yp[s][q][j], 1e-5 * S + drift, 1e-5))
            fz_fail("%s step %zu call %zu y_pred[%zu] %.9g, scalar %.9g", name, s, q, j,
                    v->yp[s][q][j], s0->yp[s][q][j]);
      }
    }
    for (size_t s = 1; s <= s0->done && s <= w_steps; s++) {
      const double tol = D[s] + 1e-5 * S * (double)s;
      for (size_t j = 0; j < C * n_in; j++)
        if (!fz_close(v->W[s][j], s0->W[s][j], tol, 1e-4))
          fz_fail("%s after update %zu W[%zu] %.9g, scalar %.9g (bound %g)", name, s, j,
                  v->W[s][j], s0->W[s][j], tol);
      for (size_t j = 0; j < C; j++)
        if (!fz_close(v->b[s][j], s0->b[s][j], tol, 1e-4))
          fz_fail("%s after update %zu b[%zu] %.9g, scalar %.9g (bound %g)", name, s, j,
                  v->b[s][j], s0->b[s][j], tol);
    }
  }
  /* Rows no call used keep their initial bits (given negatives only: drawn
   * ones are not known here), on every run. */
  for (size_t a = 0; a <= rflip && all_given; a++) {
    const fz_result *v = &res[a];
    for (size_t c = 0; c < C; c++) {
      if (used[c]) continue;
      for (size_t s = 1; s <= v->done; s++) {
        if (memcmp(&v->b[s][c], &v->b[0][c], sizeof(double)))
          fz_fail("run %zu: b[%zu] of an unused class changed at update %zu", a, c, s);
        for (size_t j = 0; j < n_in; j++)
          if (memcmp(&v->W[s][c * n_in + j], &v->W[0][c * n_in + j], sizeof(double)))
            fz_fail("run %zu: W[%zu][%zu] of an unused class changed at update %zu", a, c, j, s);
      }
    }
  }
  /* Lazy against dense. */
  {
    const fz_result *v = &res[rflip];
    const int exact = kind == FASTLOSS_OPT_SGD && mom == 0.0;
    for (size_t s = 1; s <= s0->done; s++) {
      if (!exact && s > 1) break;
      for (size_t j = 0; j < C * n_in + C; j++) {
        const double x = j < C * n_in ? v->W[s][j] : v->b[s][j - C * n_in];
        const double y = j < C * n_in ? s0->W[s][j] : s0->b[s][j - C * n_in];
        if (exact ? memcmp(&x, &y, sizeof x) != 0 : !fz_close(x, y, 1e-6 * lr, 1e-6))
          fz_fail("lazy %d vs %d after update %zu: %s[%zu] %.9g vs %.9g", !o->lazy, o->lazy, s,
                  j < C * n_in ? "W" : "b", j < C * n_in ? j : j - C * n_in, x, y);
      }
    }
  }
done:
  (void)flags2;
  fastloss_sampler_destroy(noise);
  free(w);
  return 0;
}
