/* fastloss_cbow_step_f32: vocab, dim <= 40, up to 8 examples of up to 6
 * context words (sometimes none), context offsets (sometimes not starting
 * at 0, not monotone or not ending at n_contexts), ids sometimes out of
 * range or negative, k <= 4 given negatives (sometimes bad, sometimes equal
 * to the target) or drawn from a fuzzed noise sampler (sometimes larger than
 * vocab: the in-step draws), any lr, any table values; deterministic mode
 * (or params NULL: the defaults), on every kernel table against scalar,
 * and scalar against a double reference written here
 * from fastloss.h's formulas (h the mean of the context rows, every logit
 * from the tables as the example found them, v_t += g_t h, v_s += g_s h,
 * every context occurrence += e).  Any error must leave both tables and the
 * loss untouched.  Values are compared, as fuzz-sgns.c does, only for a
 * step with one example that trains (later examples iterate on earlier
 * updates, which amplifies rounding without bound), M (largest |table
 * value|) < 1e6, |lr| < 1e6 and everything finite; with P = k + 1:
 *   tables  1e-5 (1 + M)(1 + |lr| M P C)(1 + dim M^2) abs + 1e-4 rel
 *   loss    1e-5 P (1 + dim M^2) abs + 1e-5 rel
 * (C the context length: a context row takes e once per occurrence).
 * No step may write a row that no id of the batch names (in draw mode: a
 * row past the sampler's classes).
 *
 * The other threading mode: the same case again on every kernel table with
 * deterministic = 0 (Hogwild), or, where params is NULL (the defaults:
 * Hogwild), with deterministic = 1.  This tree is built without OpenMP
 * (-Dopenmp=disabled), where the modes differ only in their thread count,
 * 1 either way: status, tables and loss must be bit-identical.  Built with
 * OpenMP they must give the same status and leave the same rows untouched,
 * and be bit-identical when at most one example trains (nothing to race
 * with).  Multi-threaded Hogwild memory safety is not covered here but by
 * the ASan tree's thread tests (tests/test_threads.c under build-asan/).
 *
 * Head rows: the step of the first run again with the first 0..vocab rows
 * of both tables in heads of their own (fastloss_sgns_params.head_rows):
 * the same status and, heads put back, the same tables and loss bit for
 * bit, the tables' own first rows never touched (fz_ns_heads). */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

enum { FZ_MAX_ISAS = 4, FZ_MAX_EX = 8, FZ_MAX_CTX = 6 };

static double fz_sigmoid(double z) { return 1.0 / (1.0 + exp(-z)); }

static double fz_clip(double p) {
  const double lo = FLT_EPSILON, hi = 1.0 - FLT_EPSILON;
  return p < lo ? lo : p > hi ? hi : p;
}

/* One example, in double, on copies of the tables (as float, rounded once
 * per updated element at the end): returns the loss. */
static double fz_reference(size_t dim, float *in_emb, float *out_emb, const int32_t *ctx, size_t C,
                           int32_t t, const int32_t *neg, size_t k, float lr) {
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
  fz_ns_case t;
  fz_ns_read(&in, &t, 1, FZ_MAX_EX);
  const uint8_t flags = t.flags;
  const size_t vocab = t.vocab, dim = t.dim, n_ex = t.count, k = t.k;
  const float lr = t.lr;
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
  fastloss_cbow_batch b = {.n_examples = n_ex,
                           .targets = targets,
                           .context_offsets = (flags & 8) ? NULL : offsets,
                           .n_contexts = n_contexts,
                           .contexts = contexts,
                           .k = k};
  fastloss_cbow_batch *batch = &b;
  t.batch = batch;
  fastloss_sgns_params params;
  fastloss_sampler *noise = fz_ns_params(&in, &t, &params);
  const size_t head_rows = fz_range(&in, 0, vocab);
  if (!(flags & 2)) batch->negatives = negatives;
  const int want_loss = !(flags & 4);
  const fastloss_sgns_params *pp = (flags & 16) && !noise ? NULL : &params;
  if (pp == NULL) batch->negatives = negatives;
  /* The rows a step may write: in_emb's of the contexts, out_emb's of the
   * targets and negatives (drawn ones: any class of the sampler). */
  fz_ns_rows rows;
  fz_ns_rows_init(&rows, &t, contexts, n_contexts, targets, batch->negatives, n_ex * k, noise);

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
  /* The examples that train (a non-empty context). */
  size_t training = 0, which = 0;
  for (size_t e = 0; e < n_ex; e++)
    if (offsets[e + 1] > offsets[e]) {
      training++;
      which = e;
    }
  /* The other mode: Hogwild, or deterministic where pp is NULL (Hogwild). */
  fastloss_sgns_params other = params;
  other.deterministic = pp == NULL;
  const fl_isa_kernels *isas[FZ_MAX_ISAS];
  const size_t n_isas = fz_isas(isas, FZ_MAX_ISAS);
  fz_ns_result res[FZ_MAX_ISAS];
  for (size_t a = 0; a < n_isas; a++) {
    fl_dispatch_force(isas[a]);
    fz_ns_run(&t, pp, want_loss, &rows, &res[a], isas[a]->name);
    fz_ns_other_mode(&t, &other, want_loss, &rows, &res[a], training <= 1, isas[a]->name);
    fz_ns_heads(&t, pp, head_rows, want_loss, &res[a], training <= 1, isas[a]->name);
  }
  const fastloss_status st = res[0].status;
  const size_t bytes = t.table * sizeof(float);
  if (st != FASTLOSS_OK) training = 0;
  if (st == FASTLOSS_OK && training == 0) {
    /* Nothing trains: the tables are unchanged and the loss is 0. */
    if (memcmp(res[0].in_emb, t.in_emb, bytes) || memcmp(res[0].out_emb, t.out_emb, bytes))
      fz_fail("scalar: no example trains but a table changed");
    if (want_loss && res[0].loss != 0.0)
      fz_fail("scalar: no example trains but loss %g", res[0].loss);
  }
  const double m = fz_ns_max_abs(&t);
  const double P = (double)(k + 1);
  const double C = training == 1 ? (double)(offsets[which + 1] - offsets[which]) : 1.0;
  const int compare = fz_ns_finite(&t) && m < 1e6 && fabsf(lr) < 1e6f && training == 1;
  const double dot = 1.0 + (double)dim * m * m;
  const double tab_tol = 1e-5 * (1.0 + m) * (1.0 + fabs(lr) * m * P * C) * dot;
  fz_ns_compare(&t, res, isas, n_isas, compare, tab_tol, 1e-5 * P * dot, want_loss);
  /* Scalar against the reference (given negatives only: drawn ones are the
   * library's own choice). */
  if (st == FASTLOSS_OK && compare && batch->negatives != NULL) {
    float *rin = fz_alloc_f32(t.table), *rout = fz_alloc_f32(t.table);
    memcpy(rin, t.in_emb, bytes);
    memcpy(rout, t.out_emb, bytes);
    const double rl =
        fz_reference(dim, rin, rout, contexts + offsets[which], offsets[which + 1] - offsets[which],
                     targets[which], negatives + which * k, k, lr);
    for (size_t e = 0; e < t.table; e++) {
      if (!fz_close(res[0].in_emb[e], rin[e], tab_tol, 1e-4))
        fz_fail("scalar in_emb[%zu] %.9g, reference %.9g", e, res[0].in_emb[e], rin[e]);
      if (!fz_close(res[0].out_emb[e], rout[e], tab_tol, 1e-4))
        fz_fail("scalar out_emb[%zu] %.9g, reference %.9g", e, res[0].out_emb[e], rout[e]);
    }
    if (want_loss && !fz_close(res[0].loss, rl, 1e-5 * P * dot, 1e-5))
      fz_fail("scalar loss %.17g, reference %.17g", res[0].loss, rl);
    free(rin);
    free(rout);
  }
  for (size_t a = 0; a < n_isas; a++) fz_ns_result_free(&res[a]);
  fz_ns_rows_free(&rows);
  fastloss_sampler_destroy(noise);
  fz_ns_free(&t);
  free(targets);
  free(offsets);
  free(contexts);
  free(negatives);
  return 0;
}
