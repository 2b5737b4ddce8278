/* fastloss_sgns_step_f32: vocab, dim <= 40, up to 16 pairs, indices that
 * are sometimes out of range or negative, k <= 4 given negatives (sometimes
 * bad) or drawn by the step from a fuzzed noise sampler (the in-step draws;
 * sometimes larger than vocab), per-pair or fuzzed group offsets (sometimes
 * not monotone or not ending at n_pairs), any lr, any table values;
 * deterministic mode, on every kernel table against scalar.  Any error must
 * leave both tables and the loss untouched, and no step may write a row that
 * no id of the batch names (in draw mode: a row past the sampler's classes).
 * Tolerances, with M the largest |table value| and P = n_pairs (k + 1) (only
 * when M < 1e6, |lr| < 1e6 and everything is finite):
 *   tables  1e-5 (1 + M)(1 + |lr| M P)(1 + dim M^2) abs + 1e-4 rel
 *   loss    1e-5 P (1 + dim M^2) abs + 1e-5 rel
 * for a step of one group (later groups iterate on earlier updates, which
 * amplifies rounding without bound); otherwise the status only.
 *
 * Hogwild (deterministic = 0): the same case again on every kernel table.
 * This tree is built without OpenMP (-Dopenmp=disabled), where Hogwild
 * differs from deterministic mode only in its thread count, 1 either way:
 * status, tables and loss must be bit-identical.  Built with OpenMP it must
 * give the same status and leave the same rows untouched, and be
 * bit-identical for a single group (nothing to race with).
 *
 * Head rows: the deterministic step again with the first 0..vocab rows of
 * both tables in heads of their own (fastloss_sgns_params.head_rows), which
 * must give the same status and, heads put back, the same tables and loss
 * bit for bit, and never touch the tables' own first rows (fz_ns_heads).  Multi-threaded
 * Hogwild memory safety is not covered here but by the ASan tree's thread
 * tests (tests/test_threads.c under build-asan/). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

enum { FZ_MAX_ISAS = 4 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fz_input in = {data, size};
  fz_ns_case t;
  fz_ns_read(&in, &t, 0, 16);
  const uint8_t flags = t.flags;
  const size_t vocab = t.vocab, dim = t.dim, n_pairs = t.count, k = t.k;
  const float lr = t.lr;
  int32_t *inputs = fz_alloc_bytes((n_pairs + 1) * sizeof(int32_t));
  int32_t *targets = fz_alloc_bytes((n_pairs + 1) * sizeof(int32_t));
  for (size_t i = 0; i < n_pairs; i++) {
    inputs[i] = fz_index(&in, vocab);
    targets[i] = fz_index(&in, vocab);
  }
  fastloss_sgns_batch b = {.n_pairs = n_pairs, .inputs = inputs, .targets = targets, .k = k};
  fastloss_sgns_batch *batch = &b;
  t.batch = batch;
  size_t *offsets = NULL;
  if (flags & 1) {
    batch->n_groups = fz_range(&in, 0, n_pairs + 1);
    offsets = fz_alloc_bytes((batch->n_groups + 1) * sizeof(size_t));
    size_t at = 0;
    for (size_t g = 0; g <= batch->n_groups; g++) {
      const uint8_t sel = fz_u8(&in);
      if (g == 0)
        at = sel < 250 ? 0 : sel % 3;
      else if (g == batch->n_groups)
        at = sel < 250 ? n_pairs : at + sel % 3;
      else
        at = sel < 250 ? at + sel % 3 : (size_t)fz_u8(&in);
      offsets[g] = at;
    }
    batch->group_offsets = offsets;
  }
  const size_t n_groups = offsets ? batch->n_groups : n_pairs;
  int32_t *negatives = fz_alloc_bytes((n_groups * k + 1) * sizeof(int32_t));
  for (size_t s = 0; s < n_groups * k; s++) negatives[s] = fz_index(&in, vocab);
  fastloss_sgns_params params;
  fastloss_sampler *noise = fz_ns_params(&in, &t, &params);
  const size_t head_rows = fz_range(&in, 0, vocab);
  if (!(flags & 2)) batch->negatives = negatives;
  const int want_loss = !(flags & 4);
  /* The rows a step may write: in_emb's of the inputs, out_emb's of the
   * targets and negatives (drawn ones: any class of the sampler). */
  fz_ns_rows rows;
  fz_ns_rows_init(&rows, &t, inputs, n_pairs, targets, batch->negatives, n_groups * k, noise);

  if (getenv("FASTLOSS_FUZZ_VERBOSE") != NULL) {
    fprintf(stderr, "sgns vocab %zu dim %zu pairs %zu k %zu lr %g groups %s noise %d\n", vocab, dim,
            n_pairs, k, lr, offsets ? "given" : "per pair", params.noise != NULL);
    for (size_t i = 0; i < n_pairs; i++)
      fprintf(stderr, "pair %zu: %d -> %d\n", i, (int)inputs[i], (int)targets[i]);
    for (size_t g = 0; offsets && g <= batch->n_groups; g++)
      fprintf(stderr, "offset %zu\n", offsets[g]);
    for (size_t s = 0; s < n_groups * k && !params.noise; s++)
      fprintf(stderr, "neg %d\n", (int)negatives[s]);
    for (size_t e = 0; e < t.table; e++)
      fprintf(stderr, "in %g out %g\n", t.in_emb[e], t.out_emb[e]);
  }
  const fl_isa_kernels *isas[FZ_MAX_ISAS];
  const size_t n_isas = fz_isas(isas, FZ_MAX_ISAS);
  fz_ns_result res[FZ_MAX_ISAS];
  fastloss_sgns_params hogwild = params;
  hogwild.deterministic = 0;
  /* Groups that train: with at most one nothing can race. */
  size_t training = 0;
  for (size_t g = 0; g < n_groups; g++) training += !offsets || offsets[g + 1] != offsets[g];
  for (size_t a = 0; a < n_isas; a++) {
    fl_dispatch_force(isas[a]);
    fz_ns_run(&t, &params, want_loss, &rows, &res[a], isas[a]->name);
    fz_ns_other_mode(&t, &hogwild, want_loss, &rows, &res[a], training <= 1, isas[a]->name);
    fz_ns_heads(&t, &params, head_rows, want_loss, &res[a], training <= 1, isas[a]->name);
  }
  const double m = fz_ns_max_abs(&t);
  const double P = (double)n_pairs * (double)(k + 1);
  /* Later groups start from earlier groups' updates: with a large lr that
   * iterated map amplifies rounding without bound, so values are compared
   * for single-group steps only. */
  const int compare = fz_ns_finite(&t) && m < 1e6 && fabsf(lr) < 1e6f && n_groups == 1;
  const double dot = 1.0 + (double)dim * m * m;
  const double tab_tol = 1e-5 * (1.0 + m) * (1.0 + fabs(lr) * m * P) * dot;
  fz_ns_compare(&t, res, isas, n_isas, compare, tab_tol, 1e-5 * P * dot, want_loss);
  for (size_t a = 0; a < n_isas; a++) fz_ns_result_free(&res[a]);
  fz_ns_rows_free(&rows);
  fastloss_sampler_destroy(noise);
  fz_ns_free(&t);
  free(inputs);
  free(targets);
  free(offsets);
  free(negatives);
  return 0;
}
