/* fastloss_sgns_step_f32: vocab, dim <= 40, up to 16 pairs, indices that
 * are sometimes out of range or negative, k <= 4 given negatives (sometimes
 * bad) or drawn from a fuzzed noise sampler (sometimes larger than vocab),
 * per-pair or fuzzed group offsets (sometimes not monotone or not ending at
 * n_pairs), any lr, any table values; deterministic mode, on every kernel
 * table against scalar.  Any error must leave both tables and the loss
 * untouched.  Tolerances, with M the largest |table value| and P = n_pairs
 * (k + 1) (only when M < 1e6, |lr| < 1e6 and everything is finite):
 *   tables  1e-5 (1 + M)(1 + |lr| M P)(1 + dim M^2) abs + 1e-4 rel
 *   loss    1e-5 P (1 + dim M^2) abs + 1e-5 rel
 * for a step of one group (later groups iterate on earlier updates, which
 * amplifies rounding without bound); otherwise the status only. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

enum { FZ_MAX_ISAS = 4 };

static int32_t fz_index(fz_input *in, size_t vocab) {
  const uint8_t sel = fz_u8(in);
  if (sel < 245) return (int32_t)(fz_u8(in) % (vocab ? vocab : 1));
  return (int32_t)fz_u32(in);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fz_input in = {data, size};
  const uint8_t flags = fz_u8(&in);
  const size_t vocab = fz_range(&in, 0, 40), dim = fz_range(&in, 0, 40);
  const size_t n_pairs = fz_range(&in, 0, 16), k = fz_range(&in, 0, 4);
  const float lr = fz_float(&in);
  const size_t table = vocab * dim;
  float *in_emb = fz_alloc_f32(table), *out_emb = fz_alloc_f32(table);
  fz_floats(&in, in_emb, table);
  fz_floats(&in, out_emb, table);
  int32_t *inputs = fz_alloc_bytes((n_pairs + 1) * sizeof(int32_t));
  int32_t *targets = fz_alloc_bytes((n_pairs + 1) * sizeof(int32_t));
  for (size_t i = 0; i < n_pairs; i++) {
    inputs[i] = fz_index(&in, vocab);
    targets[i] = fz_index(&in, vocab);
  }
  fastloss_sgns_batch batch = {.n_pairs = n_pairs, .inputs = inputs, .targets = targets, .k = k};
  size_t *offsets = NULL;
  if (flags & 1) {
    batch.n_groups = fz_range(&in, 0, n_pairs + 1);
    offsets = fz_alloc_bytes((batch.n_groups + 1) * sizeof(size_t));
    size_t at = 0;
    for (size_t g = 0; g <= batch.n_groups; g++) {
      const uint8_t sel = fz_u8(&in);
      if (g == 0)
        at = sel < 250 ? 0 : sel % 3;
      else if (g == batch.n_groups)
        at = sel < 250 ? n_pairs : at + sel % 3;
      else
        at = sel < 250 ? at + sel % 3 : (size_t)fz_u8(&in);
      offsets[g] = at;
    }
    batch.group_offsets = offsets;
  }
  const size_t n_groups = offsets ? batch.n_groups : n_pairs;
  int32_t *negatives = fz_alloc_bytes((n_groups * k + 1) * sizeof(int32_t));
  for (size_t s = 0; s < n_groups * k; s++) negatives[s] = fz_index(&in, vocab);
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

  if (getenv("FASTLOSS_FUZZ_VERBOSE") != NULL) {
    fprintf(stderr, "sgns vocab %zu dim %zu pairs %zu k %zu lr %g groups %s noise %d\n", vocab, dim,
            n_pairs, k, lr, offsets ? "given" : "per pair", params.noise != NULL);
    for (size_t i = 0; i < n_pairs; i++)
      fprintf(stderr, "pair %zu: %d -> %d\n", i, (int)inputs[i], (int)targets[i]);
    for (size_t g = 0; offsets && g <= batch.n_groups; g++)
      fprintf(stderr, "offset %zu\n", offsets[g]);
    for (size_t s = 0; s < n_groups * k && !params.noise; s++)
      fprintf(stderr, "neg %d\n", (int)negatives[s]);
    for (size_t e = 0; e < table; e++) fprintf(stderr, "in %g out %g\n", in_emb[e], out_emb[e]);
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
    st[a] = fastloss_sgns_step_f32(vocab, dim, tin[a], tout[a], &batch, lr, &params,
                                   want_loss ? &loss[a] : NULL);
    if (st[a] != FASTLOSS_OK || !want_loss)
      if (memcmp(&loss[a], &before, sizeof before)) fz_fail("%s: loss written", isas[a]->name);
    if (st[a] != FASTLOSS_OK && (memcmp(tin[a], in_emb, table * sizeof(float)) ||
                                 memcmp(tout[a], out_emb, table * sizeof(float))))
      fz_fail("%s: status %d but a table was written", isas[a]->name, (int)st[a]);
  }
  const float M = fz_max_abs(in_emb, table) > fz_max_abs(out_emb, table)
                      ? fz_max_abs(in_emb, table)
                      : fz_max_abs(out_emb, table);
  const int finite = fz_all_finite(in_emb, table) && fz_all_finite(out_emb, table) && isfinite(lr);
  const double P = (double)n_pairs * (double)(k + 1), m = M;
  /* Later groups start from earlier groups' updates: with a large lr that
   * iterated map amplifies rounding without bound, so values are compared
   * for single-group steps only. */
  const int compare = finite && M < 1e6f && fabsf(lr) < 1e6f && n_groups == 1;
  const double dot = 1.0 + (double)dim * m * m;
  const double tab_tol = 1e-5 * (1.0 + m) * (1.0 + fabs(lr) * m * P) * dot;
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
  for (size_t a = 0; a < n_isas; a++) {
    free(tin[a]);
    free(tout[a]);
  }
  fastloss_sampler_destroy(noise);
  free(in_emb);
  free(out_emb);
  free(inputs);
  free(targets);
  free(offsets);
  free(negatives);
  return 0;
}
