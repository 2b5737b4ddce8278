/* fastloss_cbow_step_f32: vocab, dim <= 40, up to 8 examples of up to 6
 * context words (sometimes none), context offsets (sometimes not starting
 * at 0, not monotone or not ending at n_contexts), ids sometimes out of
 * range or negative, k <= 4 given negatives (sometimes bad, sometimes equal
 * to the target) or drawn from a fuzzed noise sampler (sometimes larger than
 * vocab), any lr, any table values; deterministic mode, on every kernel
 * table against scalar, and scalar against a double reference written here
 * from fastloss.h's formulas (h the mean of the context rows, every logit
 * from the tables as the example found them, v_t += g_t h, v_s += g_s h,
 * every context occurrence += e).  Any error must leave both tables and the
 * loss untouched.  Values are compared, as fuzz-sgns.c does, only for a
 * step with one example that trains (later examples iterate on earlier
 * updates, which amplifies rounding without bound), M (largest |table
 * value|) < 1e6, |lr| < 1e6 and everything finite; with P = k + 1:
 *   tables  1e-5 (1 + M)(1 + |lr| M P C)(1 + dim M^2) abs + 1e-4 rel
 *   loss    1e-5 P (1 + dim M^2) abs + 1e-5 rel
 * (C the context length: a context row takes e once per occurrence). */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

enum { FZ_MAX_ISAS = 4, FZ_MAX_EX = 8, FZ_MAX_CTX = 6 };

static int32_t fz_index(fz_input *in, size_t vocab) {
  const uint8_t sel = fz_u8(in);
  if (sel < 245) return (int32_t)(fz_u8(in) % (vocab ? vocab : 1));
  return (int32_t)fz_u32(in);
}

static double fz_sigmoid(double z) { return 1.0 / (1.0 + exp(-z)); }

static double fz_clip(double p) {
  const double lo = FLT_EPSILON, hi = 1.0 - FLT_EPSILON;
  return p < lo ? lo : p > hi ? hi : p;
}

/* One example, in double, on copies of the tables (as float, rounded once
 * per updated element at the end): returns the loss. */
static double fz_reference(size_t dim, float *in_emb, float *out_emb, const int32_t *ctx,
                           size_t C, int32_t t, const int32_t *neg, size_t k, float lr) {
  double *h = calloc(dim ? dim : 1, sizeof(double)), *e = calloc(dim ? dim : 1, sizeof(double));
  double *din = calloc(dim ? dim : 1, sizeof(double));
  if (h == NULL || e == NULL || din == NULL) abort();
  for (size_t c = 0; c < C; c++)
    for (size_t d = 0; d < dim; d++) h[d] += in_emb[(size_t)ctx[c] * dim + d];
  for (size_t d = 0; d < dim; d++) h[d] /= (double)C;
  double loss = 0.0;
  double g[1 + 4];
  int32_t rows[1 + 4];
  rows[0] = t;
  for (size_t s = 0; s < k; s++) rows[1 + s] = neg[s];
  for (size_t r = 0; r <= k; r++) {
    double z = 0.0;
    for (size_t d = 0; d < dim; d++) z += h[d] * out_emb[(size_t)rows[r] * dim + d];
    const double p = fz_sigmoid(z);
    g[r] = r == 0 ? lr * (1.0 - p) : -lr * p;
    loss -= r == 0 ? log(fz_clip(p)) : log(1.0 - fz_clip(p));
    for (size_t d = 0; d < dim; d++) e[d] += g[r] * out_emb[(size_t)rows[r] * dim + d];
  }
  /* Output rows: repeated rows add up (all from the v before the update). */
  for (size_t r = 0; r <= k; r++) {
    int first = 1;
    for (size_t q = 0; q < r; q++) first = first && rows[q] != rows[r];
    if (!first) continue;
    for (size_t d = 0; d < dim; d++) {
      double add = 0.0;
      for (size_t q = r; q <= k; q++)
        if (rows[q] == rows[r]) add += g[q] * h[d];
      float *v = &out_emb[(size_t)rows[r] * dim + d];
      *v = (float)((double)*v + add);
    }
  }
  /* Context rows: e once per occurrence. */
  for (size_t c = 0; c < C; c++) {
    int first = 1;
    for (size_t q = 0; q < c; q++) first = first && ctx[q] != ctx[c];
    if (!first) continue;
    size_t times = 0;
    for (size_t q = 0; q < C; q++) times += ctx[q] == ctx[c];
    for (size_t d = 0; d < dim; d++) {
      float *x = &in_emb[(size_t)ctx[c] * dim + d];
      *x = (float)((double)*x + (double)times * e[d]);
    }
  }
  free(h);
  free(e);
  free(din);
  return loss;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fz_input in = {data, size};
  const uint8_t flags = fz_u8(&in);
  const size_t vocab = fz_range(&in, 0, 40), dim = fz_range(&in, 0, 40);
  const size_t n_ex = fz_range(&in, 0, FZ_MAX_EX), k = fz_range(&in, 0, 4);
  const float lr = fz_float(&in);
  const size_t table = vocab * dim;
  float *in_emb = fz_alloc_f32(table), *out_emb = fz_alloc_f32(table);
  fz_floats(&in, in_emb, table);
  fz_floats(&in, out_emb, table);
  int32_t *targets = fz_alloc_bytes((n_ex + 1) * sizeof(int32_t));
  size_t *offsets = fz_alloc_bytes((n_ex + 1) * sizeof(size_t));
  size_t at = 0;
  offsets[0] = fz_u8(&in) < 250 ? 0 : 1;
  for (size_t e = 0; e < n_ex; e++) {
    targets[e] = fz_index(&in, vocab);
    const uint8_t sel = fz_u8(&in);
    at = sel < 252 ? at + sel % (FZ_MAX_CTX + 1) : (size_t)sel % 5; /* sometimes not monotone */
    offsets[e + 1] = at;
  }
  size_t n_contexts = at;
  if (fz_u8(&in) >= 250) n_contexts = at + 1; /* last offset != n_contexts */
  int32_t *contexts = fz_alloc_bytes((n_contexts + 1) * sizeof(int32_t));
  for (size_t c = 0; c < n_contexts; c++) contexts[c] = fz_index(&in, vocab);
  int32_t *negatives = fz_alloc_bytes((n_ex * k + 1) * sizeof(int32_t));
  for (size_t s = 0; s < n_ex * k; s++) {
    /* Sometimes the example's own target (trained with label 0). */
    const uint8_t sel = fz_u8(&in);
    negatives[s] = sel < 24 ? targets[s / k] : fz_index(&in, vocab);
  }
  fastloss_cbow_batch batch = {.n_examples = n_ex,
                               .targets = targets,
                               .context_offsets = (flags & 8) ? NULL : offsets,
                               .n_contexts = n_contexts,
                               .contexts = contexts,
                               .k = k};
  fastloss_sgns_params params = {.deterministic = 1, .seed = fz_u32(&in), .stream = fz_u8(&in)};
  fastloss_sampler *noise = NULL;
  if (flags & 2) {
    const size_t classes = fz_range(&in, 1, vocab + 2);
    double *w = fz_alloc_bytes(classes * sizeof(double));
    for (size_t c = 0; c < classes; c++) w[c] = fabs(fz_double(&in));
    if (fastloss_sampler_create(&noise, w, classes, 0, 1, 7) == FASTLOSS_OK) params.noise = noise;
    free(w);
  } else {
    batch.negatives = negatives;
  }
  const int want_loss = !(flags & 4);
  const fastloss_sgns_params *pp = (flags & 16) && !noise ? NULL : &params;
  if (pp == NULL) batch.negatives = negatives;

  if (getenv("FASTLOSS_FUZZ_VERBOSE") != NULL) {
    fprintf(stderr, "cbow vocab %zu dim %zu examples %zu k %zu lr %g contexts %zu noise %d\n",
            vocab, dim, n_ex, k, lr, n_contexts, params.noise != NULL);
    for (size_t e = 0; e < n_ex; e++)
      fprintf(stderr, "example %zu: target %d, contexts [%zu, %zu)\n", e, (int)targets[e],
              offsets[e], offsets[e + 1]);
    for (size_t c = 0; c < n_contexts; c++) fprintf(stderr, "context %d\n", (int)contexts[c]);
    for (size_t s = 0; s < n_ex * k && !params.noise; s++)
      fprintf(stderr, "neg %d\n", (int)negatives[s]);
  }
  const fl_isa_kernels *isas[FZ_MAX_ISAS];
  const size_t n_isas = fz_isas(isas, FZ_MAX_ISAS);
  float *tin[FZ_MAX_ISAS], *tout[FZ_MAX_ISAS];
  double loss[FZ_MAX_ISAS];
  fastloss_status st[FZ_MAX_ISAS];
  for (size_t a = 0; a < n_isas; a++) {
    fl_dispatch_force(isas[a]);
    tin[a] = fz_alloc_f32(table);
    tout[a] = fz_alloc_f32(table);
    memcpy(tin[a], in_emb, table * sizeof(float));
    memcpy(tout[a], out_emb, table * sizeof(float));
    memset(&loss[a], 0x5a, sizeof loss[a]);
    const double before = loss[a];
    st[a] = fastloss_cbow_step_f32(vocab, dim, tin[a], tout[a], &batch, lr, pp,
                                   want_loss ? &loss[a] : NULL);
    if (st[a] != FASTLOSS_OK || !want_loss)
      if (memcmp(&loss[a], &before, sizeof before)) fz_fail("%s: loss written", isas[a]->name);
    if (st[a] != FASTLOSS_OK && (memcmp(tin[a], in_emb, table * sizeof(float)) ||
                                 memcmp(tout[a], out_emb, table * sizeof(float))))
      fz_fail("%s: status %d but a table was written", isas[a]->name, (int)st[a]);
  }
  /* The examples that train (a non-empty context). */
  size_t training = 0, which = 0;
  for (size_t e = 0; e < n_ex && st[0] == FASTLOSS_OK; e++)
    if (offsets[e + 1] > offsets[e]) {
      training++;
      which = e;
    }
  if (st[0] == FASTLOSS_OK && training == 0) {
    /* Nothing trains: the tables are unchanged and the loss is 0. */
    if (memcmp(tin[0], in_emb, table * sizeof(float)) ||
        memcmp(tout[0], out_emb, table * sizeof(float)))
      fz_fail("scalar: no example trains but a table changed");
    if (want_loss && loss[0] != 0.0) fz_fail("scalar: no example trains but loss %g", loss[0]);
  }
  const float M = fz_max_abs(in_emb, table) > fz_max_abs(out_emb, table)
                      ? fz_max_abs(in_emb, table)
                      : fz_max_abs(out_emb, table);
  const int finite = fz_all_finite(in_emb, table) && fz_all_finite(out_emb, table) && isfinite(lr);
  const double P = (double)(k + 1), m = M;
  const double C = training == 1 ? (double)(offsets[which + 1] - offsets[which]) : 1.0;
  const int compare = finite && M < 1e6f && fabsf(lr) < 1e6f && training == 1;
  const double dot = 1.0 + (double)dim * m * m;
  const double tab_tol = 1e-5 * (1.0 + m) * (1.0 + fabs(lr) * m * P * C) * dot;
  for (size_t a = 1; a < n_isas; a++) {
    if (st[a] != st[0]) fz_fail("%s status %d, scalar %d", isas[a]->name, (int)st[a], (int)st[0]);
    if (st[0] != FASTLOSS_OK || !compare) continue;
    for (size_t e = 0; e < table; e++) {
      if (!fz_close(tin[a][e], tin[0][e], tab_tol, 1e-4))
        fz_fail("%s in_emb[%zu] %.9g, scalar %.9g", isas[a]->name, e, tin[a][e], tin[0][e]);
      if (!fz_close(tout[a][e], tout[0][e], tab_tol, 1e-4))
        fz_fail("%s out_emb[%zu] %.9g, scalar %.9g", isas[a]->name, e, tout[a][e], tout[0][e]);
    }
    if (want_loss && !fz_close(loss[a], loss[0], 1e-5 * P * dot, 1e-5))
      fz_fail("%s loss %.17g, scalar %.17g", isas[a]->name, loss[a], loss[0]);
  }
  /* Scalar against the reference (given negatives only: drawn ones are the
   * library's own choice). */
  if (st[0] == FASTLOSS_OK && compare && batch.negatives != NULL) {
    float *rin = fz_alloc_f32(table), *rout = fz_alloc_f32(table);
    memcpy(rin, in_emb, table * sizeof(float));
    memcpy(rout, out_emb, table * sizeof(float));
    const double rl = fz_reference(dim, rin, rout, contexts + offsets[which],
                                   offsets[which + 1] - offsets[which], targets[which],
                                   negatives + which * k, k, lr);
    for (size_t e = 0; e < table; e++) {
      if (!fz_close(tin[0][e], rin[e], tab_tol, 1e-4))
        fz_fail("scalar in_emb[%zu] %.9g, reference %.9g", e, tin[0][e], rin[e]);
      if (!fz_close(tout[0][e], rout[e], tab_tol, 1e-4))
        fz_fail("scalar out_emb[%zu] %.9g, reference %.9g", e, tout[0][e], rout[e]);
    }
    if (want_loss && !fz_close(loss[0], rl, 1e-5 * P * dot, 1e-5))
      fz_fail("scalar loss %.17g, reference %.17g", loss[0], rl);
    free(rin);
    free(rout);
  }
  for (size_t a = 0; a < n_isas; a++) {
    free(tin[a]);
    free(tout[a]);
  }
  fastloss_sampler_destroy(noise);
  free(in_emb);
  free(out_emb);
  free(targets);
  free(offsets);
  free(contexts);
  free(negatives);
  return 0;
}
