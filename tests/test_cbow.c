/* fastloss_cbow_step_f32: the step against a float64 reference of
 * word2vec.c's CBOW update written from fastloss.h's statement, its update
 * direction against finite differences of the loss it reports, thread-count
 * independence, the negatives it draws, and every error status. */
#include <stdio.h>

#include "ns-fixture.h"

/* ------------------------------------------------ float64 reference */

/* One example: h the mean of the context rows; every logit from the tables
 * as the example found them; neu1e against the old output rows; the output
 * rows move by g h; every context position receives neu1e whole.  Returns
 * the example's loss (0 for an empty context, which changes nothing). */
static double ref_example(size_t dim, double *in, double *out, const int32_t *context,
                          size_t n_context, int32_t target, const int32_t *neg, size_t k,
                          double lr) {
  if (n_context == 0) return 0.0;
  double *h = calloc(dim, sizeof(double)), *neu1e = calloc(dim, sizeof(double));
  double *g = calloc(k + 1, sizeof(double));
  for (size_t c = 0; c < n_context; c++)
    for (size_t e = 0; e < dim; e++) h[e] += in[(size_t)context[c] * dim + e];
  for (size_t e = 0; e < dim; e++) h[e] /= (double)n_context;
  double loss = 0.0;
  for (size_t j = 0; j <= k; j++) {
    const double *v = out + (size_t)(j == 0 ? target : neg[j - 1]) * dim;
    double z = 0.0;
    for (size_t e = 0; e < dim; e++) z += h[e] * v[e];
    const double p = ref_sigmoid(z);
    g[j] = j == 0 ? lr * (1.0 - p) : -lr * p;
    loss -= j == 0 ? log(ref_clip(p)) : log(ref_clip(1.0 - p));
    for (size_t e = 0; e < dim; e++) neu1e[e] += g[j] * v[e];
  }
  for (size_t j = 0; j <= k; j++) {
    double *v = out + (size_t)(j == 0 ? target : neg[j - 1]) * dim;
    for (size_t e = 0; e < dim; e++) v[e] += g[j] * h[e];
  }
  for (size_t c = 0; c < n_context; c++)
    for (size_t e = 0; e < dim; e++) in[(size_t)context[c] * dim + e] += neu1e[e];
  free(h);
  free(neu1e);
  free(g);
  return loss;
}

/* ------------------------------------------------ fixtures */

typedef struct fl_cbow_case {
  size_t vocab, dim, n, k, n_contexts;
  int32_t *targets, *contexts, *negatives;
  size_t *offsets;
  float *in, *out;
} fl_cbow_case;

/* n examples over a small vocabulary (rows repeat within and across
 * examples, negatives hit targets), contexts of 0..max_context words. */
static fl_cbow_case fl_cbow_case_new(fl_rng *rng, size_t vocab, size_t dim, size_t n, size_t k,
                                     size_t max_context, double scale) {
  fl_cbow_case c = {vocab, dim, n, k, 0, NULL, NULL, NULL, NULL, NULL, NULL};
  c.targets = malloc(sizeof(int32_t) * (n + 1));
  c.offsets = malloc(sizeof(size_t) * (n + 1));
  c.contexts = malloc(sizeof(int32_t) * (n * max_context + 1));
  c.negatives = malloc(sizeof(int32_t) * (n * k + 1));
  c.offsets[0] = 0;
  for (size_t e = 0; e < n; e++) {
    fl_ns_random_ids(rng, &c.targets[e], 1, vocab);
    const size_t count = fl_rng_u32(rng) % (max_context + 1);
    fl_ns_random_ids(rng, c.contexts + c.n_contexts, count, vocab);
    c.n_contexts += count;
    c.offsets[e + 1] = c.n_contexts;
  }
  fl_ns_random_ids(rng, c.negatives, n * k, vocab);
  fl_ns_tables_new(rng, vocab, dim, scale, &c.in, &c.out);
  return c;
}

static void fl_cbow_case_free(fl_cbow_case *c) {
  free(c->targets);
  free(c->contexts);
  free(c->negatives);
  free(c->offsets);
  free(c->in);
  free(c->out);
}

static fastloss_cbow_batch fl_cbow_case_batch(const fl_cbow_case *c) {
  fastloss_cbow_batch b = {c->n,        c->targets, c->offsets,  c->n_contexts,
                           c->contexts, c->k,       c->negatives};
  return b;
}

static fastloss_status fl_cbow_step(const void *batch, size_t vocab, size_t dim, float *in,
                                    float *out, float lr, const fastloss_sgns_params *params,
                                    double *loss) {
  return fastloss_cbow_step_f32(vocab, dim, in, out, batch, lr, params, loss);
}

static double fl_cbow_case_reference(const fl_cbow_case *c, double lr, double *in, double *out) {
  for (size_t j = 0; j < c->vocab * c->dim; j++) {
    in[j] = c->in[j];
    out[j] = c->out[j];
  }
  double loss = 0.0;
  for (size_t e = 0; e < c->n; e++)
    loss +=
        ref_example(c->dim, in, out, c->contexts + c->offsets[e], c->offsets[e + 1] - c->offsets[e],
                    c->targets[e], c->negatives + e * c->k, c->k, lr);
  return loss;
}

static double *fl_doubles(size_t count) {
  double *p = malloc(sizeof(double) * count);
  ck_assert_ptr_nonnull(p);
  return p;
}

/* ------------------------------------------------ tests */

/* Every ISA (the runner installs each in turn) against the reference, over
 * widths around the vector lanes, k = 0 to 9, contexts of 0 to 10 words
 * with repeats, negatives that repeat or equal the target. */
START_TEST(cbow_matches_reference) {
  static const size_t dims[] = {1, 3, 7, 8, 9, 16, 17, 31, 100, 130};
  static const size_t ks[] = {0, 1, 5, 9};
  fl_rng rng;
  fl_rng_seed(&rng, 43);
  for (size_t di = 0; di < sizeof dims / sizeof dims[0]; di++)
    for (size_t ki = 0; ki < sizeof ks / sizeof ks[0]; ki++) {
      const size_t dim = dims[di], k = ks[ki];
      fl_cbow_case c = fl_cbow_case_new(&rng, 13, dim, fl_run.slow ? 12 : 40, k, 10, 1.0);
      double *in = fl_doubles(c.vocab * dim), *out = fl_doubles(c.vocab * dim);
      const double lr = 0.05;
      const double want = fl_cbow_case_reference(&c, lr, in, out);
      const fastloss_cbow_batch b = fl_cbow_case_batch(&c);
      fastloss_sgns_params params = {.deterministic = 1};
      double loss = -1.0;
      ck_assert_int_eq(
          fastloss_cbow_step_f32(c.vocab, dim, c.in, c.out, &b, (float)lr, &params, &loss),
          FASTLOSS_OK);
      /* Measured 2026-11-29 over scalar, avx2, avx512-emulated (inline exp and
       * sleef), scalar-qemu, neon-qemu: the loss 3.2e-8 relative (neon-qemu);
       * the tables, whose elements stay below 1.1, 2.8e-7 absolute for in
       * and 2.5e-7 for out (scalar sleef, avx512-emulated). */
      FL_CHECK(fl_close(loss, want, 0.0, 1e-7), "dim %zu k %zu: loss %.9g want %.9g", dim, k, loss,
               want);
      for (size_t j = 0; j < c.vocab * dim; j++) {
        FL_CHECK(fl_close(c.in[j], in[j], 8e-7, 0.0), "dim %zu k %zu: in[%zu] %.9g want %.9g", dim,
                 k, j, c.in[j], in[j]);
        FL_CHECK(fl_close(c.out[j], out[j], 8e-7, 0.0), "dim %zu k %zu: out[%zu] %.9g want %.9g",
                 dim, k, j, c.out[j], out[j]);
      }
      free(in);
      free(out);
      fl_cbow_case_free(&c);
    }
}
END_TEST

/* One example, small enough to follow by hand: context {2, 0, 2} (word 2
 * twice), target 1, negatives {1, 3, 3} (the target, and a repeat). */
START_TEST(cbow_repeats_by_hand) {
  const size_t dim = 2, vocab = 4;
  float in[8] = {0.5f, -0.25f, 0.0f, 0.0f, 1.0f, 0.75f, 9.0f, 9.0f};
  float out[8] = {0.0f, 0.0f, 0.25f, 0.5f, 0.0f, 0.0f, -0.5f, 0.125f};
  const int32_t contexts[3] = {2, 0, 2}, targets[1] = {1}, negatives[3] = {1, 3, 3};
  const size_t offsets[2] = {0, 3};
  const fastloss_cbow_batch b = {1, targets, offsets, 3, contexts, 3, negatives};
  double din[8], dout[8];
  for (size_t j = 0; j < 8; j++) {
    din[j] = in[j];
    dout[j] = out[j];
  }
  const double want = ref_example(dim, din, dout, contexts, 3, 1, negatives, 3, 0.5);
  /* h = ((1, .75) * 2 + (.5, -.25)) / 3 = (2.5, 1.25) / 3 */
  double loss;
  ck_assert_int_eq(fastloss_cbow_step_f32(vocab, dim, in, out, &b, 0.5f, NULL, &loss), FASTLOSS_OK);
  /* measured 2026-11-29 (every ISA, both exp builds): the loss 6.7e-8
   * relative (scalar sleef), in 1.6e-8 and out 3.5e-8 absolute (scalar) */
  FL_CHECK(fl_close(loss, want, 0.0, 2e-7), "loss %.9g want %.9g", loss, want);
  for (size_t j = 0; j < 8; j++) {
    FL_CHECK(fl_close(in[j], din[j], 5e-8, 0.0), "in[%zu] %.9g want %.9g", j, in[j], din[j]);
    FL_CHECK(fl_close(out[j], dout[j], 1e-7, 0.0), "out[%zu] %.9g want %.9g", j, out[j], dout[j]);
  }
  /* word 2 got neu1e twice, word 0 once: their moves differ by a factor 2 */
  FL_CHECK(fl_close(din[4] - 1.0, 2.0 * (din[0] - 0.5), 1e-12, 1e-9), "repeat not doubled");
  FL_CHECK(in[2] == 0.0f && in[6] == 9.0f, "a row outside the context moved");
  FL_CHECK(out[0] == 0.0f && out[1] == 0.0f, "an unused output row moved");
}
END_TEST

/* The update is SGD on the loss the step reports: an output row moves by
 * -lr times its gradient; a context row by -lr * C times its gradient
 * (word2vec.c adds neu1e = -lr dL/dh whole to each context position, and
 * dL/d(row) = (occurrences / C) dL/dh).  Gradients by central differences
 * of the library's own loss at lr = 0; logits stay moderate so the clip is
 * inactive. */
START_TEST(cbow_gradient_finite_differences) {
  fl_rng rng;
  fl_rng_seed(&rng, 8);
  const size_t dim = 5, vocab = 7, k = 4;
  fl_cbow_case c = fl_cbow_case_new(&rng, vocab, dim, 1, k, 1, 1.5);
  int32_t contexts[4] = {2, 5, 2, 6};
  c.n_contexts = 4;
  c.offsets[1] = 4;
  c.targets[0] = 1;
  c.negatives[0] = 1; /* the target */
  c.negatives[1] = 3;
  c.negatives[2] = 3; /* a repeat */
  c.negatives[3] = 2; /* a context word as a negative: in and out rows are separate */
  free(c.contexts);
  c.contexts = contexts;
  const fastloss_cbow_batch b = fl_cbow_case_batch(&c);
  fl_ns_check_gradient(fl_cbow_step, &b, vocab, dim, c.in, c.out, (double)c.n_contexts, "cbow");
  c.contexts = NULL;
  fl_cbow_case_free(&c);
}
END_TEST

/* With no row shared between examples nothing races, so Hogwild on 1 to 4
 * threads equals the serial run bit for bit; with shared rows the
 * deterministic mode gives the same bits on 1, 2 and 3 threads. */
START_TEST(cbow_threads) {
  const size_t n = fl_run.slow ? 120 : 500, dim = 64, k = 2, vocab = 3 * n;
  fl_rng rng;
  fl_rng_seed(&rng, 98);
  fl_cbow_case c = fl_cbow_case_new(&rng, vocab, dim, n, k, 2, 1.0);
  c.n_contexts = 0;
  for (size_t e = 0; e < n; e++) { /* disjoint rows everywhere */
    c.contexts[c.n_contexts++] = (int32_t)(2 * e);
    c.contexts[c.n_contexts++] = (int32_t)(2 * e + 1);
    /* An odd largest context (3 words, row 2n is free): a scratch size of
     * 4 mod 8 bytes once put the pointer arrays of every other thread on a
     * misaligned address, which UBSan (build-asan) reports. */
    if (e == n - 1) c.contexts[c.n_contexts++] = (int32_t)(2 * n);
    c.offsets[e + 1] = c.n_contexts;
    c.targets[e] = (int32_t)(3 * e);
    c.negatives[2 * e] = (int32_t)(3 * e + 1);
    c.negatives[2 * e + 1] = (int32_t)(3 * e + 2);
  }
  const fastloss_cbow_batch b = fl_cbow_case_batch(&c);
  const size_t size = vocab * dim;
  float *in = fl_ns_copy(c.in, size), *out = fl_ns_copy(c.out, size);
  fastloss_sgns_params det = {.deterministic = 1};
  double serial_loss;
  ck_assert_int_eq(fl_cbow_step(&b, vocab, dim, in, out, 0.05f, &det, &serial_loss), FASTLOSS_OK);
  fl_ns_check_thread_counts(fl_cbow_step, &b, vocab, dim, c.in, c.out, NULL, 1, 4, in, out,
                            serial_loss, "disjoint rows, Hogwild");
  /* shared rows (a 40-word vocabulary), deterministic mode, given and drawn
   * negatives */
  fl_cbow_case s = fl_cbow_case_new(&rng, 40, dim, n, 5, 10, 1.0);
  const fastloss_cbow_batch sb = fl_cbow_case_batch(&s);
  fastloss_cbow_batch drawing = sb;
  drawing.negatives = NULL;
  fl_ns_check_deterministic(fl_cbow_step, &sb, &drawing, 40, dim, s.in, s.out);
  free(in);
  free(out);
  fl_cbow_case_free(&c);
  fl_cbow_case_free(&s);
}
END_TEST

/* Negatives drawn by the step equal the documented draws made by hand
 * with the public stream and sampler calls: example e from stream (seed,
 * stream + e), a draw equal to its target drawn again; examples with an
 * empty context draw nothing.  k = 11 takes more uniforms than the step
 * computes at once; the sampler without replacement takes its other path. */
START_TEST(cbow_drawn_negatives) {
  const size_t vocab = 40, dim = 24;
  fl_rng rng;
  fl_rng_seed(&rng, 12);
  double weights[40];
  for (size_t i = 0; i < vocab; i++) weights[i] = 1.0 / (double)(i + 1);
  weights[3] = 0.0;
  for (int replace = 1; replace >= 0; replace--)
    for (size_t k = 5; k <= 11; k += 6) {
      fastloss_sampler *noise = NULL;
      ck_assert_int_eq(fastloss_sampler_create(&noise, weights, vocab, 0, replace, 5),
                       FASTLOSS_OK);
      fl_cbow_case c = fl_cbow_case_new(&rng, vocab, dim, 50, k, 6, 1.0);
      c.targets[0] = 0; /* the most frequent noise class: redraws happen */
      c.targets[1] = 0;
      int redrawn = 0;
      for (size_t e = 0; e < c.n; e++)
        redrawn += fl_ns_hand_draw(noise, 77, 1000, e, k, c.targets[e], c.negatives + e * k);
      ck_assert_msg(redrawn > 0, "no redraw exercised");
      const fastloss_cbow_batch b = fl_cbow_case_batch(&c);
      fastloss_cbow_batch drawing = b;
      drawing.negatives = NULL;
      char what[64];
      snprintf(what, sizeof what, "replace %d k %zu", replace, k);
      fl_ns_check_drawn_equals_given(fl_cbow_step, &b, &drawing, noise, vocab, dim, c.in, c.out,
                                     what);
      /* touched rows (fastloss_sgns_params.in_touched / out_touched): the
       * contexts, targets and drawn negatives of the examples with a
       * context; an example without one trains, and marks, nothing */
      unsigned char want[80] = {0};
      int skipped = 0;
      for (size_t e = 0; e < c.n; e++) {
        const size_t first = c.offsets[e], count = c.offsets[e + 1] - first;
        skipped += count == 0;
        if (count == 0) continue;
        for (size_t j = 0; j < count; j++) want[c.contexts[first + j]] = 1;
        want[vocab + (size_t)c.targets[e]] = 1;
        for (size_t j = 0; j < k; j++) want[vocab + (size_t)c.negatives[e * k + j]] = 1;
      }
      ck_assert_msg(skipped > 0, "no empty context exercised");
      const fastloss_sgns_params base = {.noise = noise, .seed = 77, .stream = 1000};
      fl_ns_check_touched(fl_cbow_step, &drawing, vocab, dim, c.in, c.out, &base, want,
                          want + vocab, what);
      fl_cbow_case_free(&c);
      fastloss_sampler_destroy(noise);
    }
}
END_TEST

/* Touched-row maps with given negatives on a hand-made batch: example 1
 * has no context, so its target and negatives (5, 8, 9) stay unmarked; a
 * failing call marks nothing. */
START_TEST(cbow_touched_rows) {
  fl_rng rng;
  fl_rng_seed(&rng, 4243);
  const int32_t targets[3] = {4, 5, 3}, contexts[3] = {1, 2, 2};
  const int32_t negatives[6] = {6, 7, 8, 9, 6, 0};
  const size_t offsets[4] = {0, 2, 2, 3};
  const fastloss_cbow_batch hand = {3, targets, offsets, 3, contexts, 2, negatives};
  float *in = NULL, *out = NULL;
  fl_ns_tables_new(&rng, 12, 40, 1.0, &in, &out);
  unsigned char want[24] = {0};
  want[1] = want[2] = 1;
  want[12 + 4] = want[12 + 6] = want[12 + 7] = want[12 + 3] = want[12] = 1;
  const fastloss_sgns_params base = {0};
  fl_ns_check_touched(fl_cbow_step, &hand, 12, 40, in, out, &base, want, want + 12, "hand-made");
  const int32_t bad_negatives[6] = {6, 7, 8, 9, 6, -1};
  fastloss_cbow_batch bad = hand;
  bad.negatives = bad_negatives;
  fl_ns_check_touched_error(fl_cbow_step, &bad, 12, 40, in, out, FASTLOSS_ERR_LABEL_OUT_OF_RANGE);
  free(in);
  free(out);
}
END_TEST

/* ------------------------------------------------ bad input */

static void fl_cbow_expect(fastloss_status want, const char *part, size_t vocab, size_t dim,
                           float *in, float *out, const fastloss_cbow_batch *b, float lr,
                           const fastloss_sgns_params *params) {
  float in_copy[64], out_copy[64];
  if (in) memcpy(in_copy, in, sizeof in_copy);
  if (out) memcpy(out_copy, out, sizeof out_copy);
  double loss = 12345.0;
  const fastloss_status got = fastloss_cbow_step_f32(vocab, dim, in, out, b, lr, params, &loss);
  fl_ns_check_error(got, want, part, loss, in, in_copy, out, out_copy);
}

START_TEST(cbow_errors) {
  float table[128];
  for (size_t j = 0; j < 128; j++) table[j] = (float)j / 128;
  float *in = table, *out = table + 64;
  const int32_t ok[4] = {0, 1, 2, 3}, bad[4] = {0, 1, 8, 2}, negative[4] = {0, 1, 2, -3};
  const size_t offsets[3] = {0, 3, 4}, unordered[3] = {0, 4, 3}, short_end[3] = {0, 1, 3},
               late_start[3] = {1, 3, 4};
  /* two examples: contexts {0, 1, 2} and {3}, targets 0 and 1, 2 negatives each */
  fastloss_cbow_batch b = {2, ok, offsets, 4, ok, 2, ok};
  fl_cbow_expect(FASTLOSS_ERR_NULL_POINTER, "batch is NULL", 8, 8, in, out, NULL, 0.1f, NULL);
  fl_cbow_expect(FASTLOSS_ERR_NULL_POINTER, "in_emb is NULL", 8, 8, NULL, out, &b, 0.1f, NULL);
  fl_cbow_expect(FASTLOSS_ERR_NULL_POINTER, "out_emb is NULL", 8, 8, in, NULL, &b, 0.1f, NULL);
  fl_cbow_expect(FASTLOSS_ERR_INVALID_SHAPE, "vocab = 0", 0, 8, in, out, &b, 0.1f, NULL);
  fl_cbow_expect(FASTLOSS_ERR_INVALID_SHAPE, "dim = 0", 8, 0, in, out, &b, 0.1f, NULL);
  fl_cbow_expect(FASTLOSS_ERR_SIZE_OVERFLOW, "overflows", SIZE_MAX / 2, 8, in, out, &b, 0.1f, NULL);
  fl_cbow_expect(FASTLOSS_ERR_OVERLAP, "overlap", 8, 8, in, table + 32, &b, 0.1f, NULL);
  fl_cbow_expect(FASTLOSS_ERR_INVALID_ARGUMENT, "lr = nan", 8, 8, in, out, &b, NAN, NULL);
  fl_cbow_expect(FASTLOSS_ERR_INVALID_ARGUMENT, "lr = inf", 8, 8, in, out, &b, INFINITY, NULL);
  fl_cbow_expect(FASTLOSS_ERR_INVALID_ARGUMENT, "lr = -0.5", 8, 8, in, out, &b, -0.5f, NULL);
  b.contexts = bad;
  fl_cbow_expect(FASTLOSS_ERR_LABEL_OUT_OF_RANGE, "contexts[2] = 8 is outside [0, 8)", 8, 8, in,
                 out, &b, 0.1f, NULL);
  b.contexts = negative;
  fl_cbow_expect(FASTLOSS_ERR_LABEL_OUT_OF_RANGE, "contexts[3] = -3", 8, 8, in, out, &b, 0.1f,
                 NULL);
  b.contexts = ok;
  b.targets = bad + 1;
  fl_cbow_expect(FASTLOSS_ERR_LABEL_OUT_OF_RANGE, "targets[1] = 8", 8, 8, in, out, &b, 0.1f, NULL);
  b.targets = ok;
  b.negatives = bad;
  fl_cbow_expect(FASTLOSS_ERR_LABEL_OUT_OF_RANGE, "negatives[2] = 8", 8, 8, in, out, &b, 0.1f,
                 NULL);
  b.negatives = NULL;
  fl_cbow_expect(FASTLOSS_ERR_NULL_POINTER, "negatives is NULL (and params->noise too)", 8, 8, in,
                 out, &b, 0.1f, NULL);
  b.negatives = ok;
  b.targets = NULL;
  fl_cbow_expect(FASTLOSS_ERR_NULL_POINTER, "targets is NULL", 8, 8, in, out, &b, 0.1f, NULL);
  b.targets = ok;
  b.contexts = NULL;
  fl_cbow_expect(FASTLOSS_ERR_NULL_POINTER, "contexts is NULL", 8, 8, in, out, &b, 0.1f, NULL);
  b.contexts = ok;
  b.context_offsets = NULL;
  fl_cbow_expect(FASTLOSS_ERR_NULL_POINTER, "context_offsets is NULL", 8, 8, in, out, &b, 0.1f,
                 NULL);
  b.context_offsets = unordered;
  fl_cbow_expect(FASTLOSS_ERR_INVALID_ARGUMENT, "context_offsets[2] = 3 is below", 8, 8, in, out,
                 &b, 0.1f, NULL);
  b.context_offsets = short_end;
  fl_cbow_expect(FASTLOSS_ERR_INVALID_ARGUMENT,
                 "context_offsets[n_examples = 2] = 3, must equal "
                 "n_contexts = 4",
                 8, 8, in, out, &b, 0.1f, NULL);
  b.context_offsets = late_start;
  fl_cbow_expect(FASTLOSS_ERR_INVALID_ARGUMENT, "context_offsets[0] = 1", 8, 8, in, out, &b, 0.1f,
                 NULL);
  b.context_offsets = offsets;
  const fastloss_cbow_batch stray = {0, NULL, NULL, 3, ok, 2, NULL};
  fl_cbow_expect(FASTLOSS_ERR_INVALID_ARGUMENT, "n_contexts = 3 with no examples", 8, 8, in, out,
                 &stray, 0.1f, NULL);
  /* drawn negatives: a noise distribution wider than the vocabulary, and
   * one that cannot give k distinct classes */
  double weights[8] = {1, 1, 1, 1, 1, 1, 1, 1};
  fastloss_sampler *wide = NULL, *few = NULL;
  ck_assert_int_eq(fastloss_sampler_create(&wide, weights, 8, 0, 1, 1), FASTLOSS_OK);
  ck_assert_int_eq(fastloss_sampler_create(&few, weights, 2, 0, 0, 1), FASTLOSS_OK);
  b.negatives = NULL;
  b.k = 3;
  fastloss_sgns_params p = {.noise = wide};
  fl_cbow_expect(FASTLOSS_ERR_INVALID_ARGUMENT, "8 classes, more than vocab = 4", 4, 8, in, out, &b,
                 0.1f, &p);
  p.noise = few;
  fl_cbow_expect(FASTLOSS_ERR_INVALID_ARGUMENT, "", 4, 8, in, out, &b, 0.1f, &p);
  fastloss_sampler_destroy(wide);
  fastloss_sampler_destroy(few);
  b.negatives = ok;
  b.k = 2;

  /* the good batch works; an empty batch, and one whose contexts are all
   * empty, are no-ops with loss 0 (negatives NULL allowed with k > 0 when
   * there is no example) */
  double loss = -1.0;
  ck_assert_int_eq(fastloss_cbow_step_f32(8, 8, in, out, &b, 0.1f, NULL, &loss), FASTLOSS_OK);
  ck_assert(loss > 0.0);
  float before[128];
  memcpy(before, table, sizeof table);
  const fastloss_cbow_batch empty = {0, NULL, NULL, 0, NULL, 5, NULL};
  ck_assert_int_eq(fastloss_cbow_step_f32(8, 8, in, out, &empty, 0.1f, NULL, &loss), FASTLOSS_OK);
  ck_assert(loss == 0.0);
  const size_t no_context[3] = {0, 0, 0};
  const fastloss_cbow_batch hollow = {2, ok, no_context, 0, NULL, 2, ok};
  loss = -1.0;
  ck_assert_int_eq(fastloss_cbow_step_f32(8, 8, in, out, &hollow, 0.1f, NULL, &loss), FASTLOSS_OK);
  ck_assert(loss == 0.0);
  ck_assert(memcmp(before, table, sizeof table) == 0);
}
END_TEST

/* Head rows (fastloss_sgns_params.head_rows): as without them, bit for
 * bit, with given and drawn negatives, on one thread and in the
 * deterministic mode on three; bad heads are errors. */
START_TEST(cbow_head_rows) {
  const size_t vocab = 50, dim = 21, k = 4;
  fl_rng rng;
  fl_rng_seed(&rng, 3032);
  fl_cbow_case c = fl_cbow_case_new(&rng, vocab, dim, 120, k, 10, 1.0);
  const fastloss_cbow_batch b = fl_cbow_case_batch(&c);
  fastloss_cbow_batch drawing = b;
  drawing.negatives = NULL;
  fl_ns_check_heads_all(fl_cbow_step, &b, &drawing, vocab, dim, c.in, c.out, "cbow");
  fl_ns_check_head_errors(fl_cbow_step, &b, vocab, dim, c.in, c.out);
  fl_cbow_case_free(&c);
}
END_TEST

Suite *fl_suite_cbow(void) {
  Suite *s = suite_create("cbow");
  TCase *tc = tcase_create("cbow");
  tcase_set_timeout(tc, 600);
  tcase_add_test(tc, cbow_matches_reference);
  tcase_add_test(tc, cbow_repeats_by_hand);
  tcase_add_test(tc, cbow_gradient_finite_differences);
  tcase_add_test(tc, cbow_threads);
  tcase_add_test(tc, cbow_drawn_negatives);
  tcase_add_test(tc, cbow_touched_rows);
  tcase_add_test(tc, cbow_errors);
  tcase_add_test(tc, cbow_head_rows);
  suite_add_tcase(s, tc);
  return s;
}
