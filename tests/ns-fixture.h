/* What the tests of the two negative-sampling steps share (test_sgns.c,
 * test_cbow.c): the float64 sigmoid and clip of their references, random
 * ids and tables, the documented derivation of drawn negatives made by hand,
 * the error check, and the thread-count comparison.  Everything is static
 * inline, so a file that does not use a helper does not warn about it. */
#ifndef FASTLOSS_NS_FIXTURE_H
#define FASTLOSS_NS_FIXTURE_H

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testing.h"

static inline double ref_sigmoid(double z) {
  return z >= 0 ? 1.0 / (1.0 + exp(-z)) : exp(z) / (1.0 + exp(z));
}

static inline double ref_clip(double p) {
  const double eps = FLT_EPSILON;
  return p < eps ? eps : p > 1.0 - eps ? 1.0 - eps : p;
}

/* ids[0..count) uniform over [0, vocab). */
static inline void fl_ns_random_ids(fl_rng *rng, int32_t *ids, size_t count, size_t vocab) {
  for (size_t i = 0; i < count; i++) ids[i] = (int32_t)(fl_rng_u32(rng) % vocab);
}

/* Two (vocab, dim) tables, elements uniform over scale * [-1/2, 1/2). */
static inline void fl_ns_tables_new(fl_rng *rng, size_t vocab, size_t dim, double scale,
                                    float **in, float **out) {
  *in = malloc(sizeof(float) * vocab * dim);
  *out = malloc(sizeof(float) * vocab * dim);
  ck_assert_ptr_nonnull(*in);
  ck_assert_ptr_nonnull(*out);
  for (size_t j = 0; j < vocab * dim; j++) {
    (*in)[j] = (float)(scale * (fl_rng_uniform(rng) - 0.5));
    (*out)[j] = (float)(scale * (fl_rng_uniform(rng) - 0.5));
  }
}

static inline float *fl_ns_copy(const float *x, size_t count) {
  float *copy = malloc(sizeof(float) * count);
  ck_assert_ptr_nonnull(copy);
  memcpy(copy, x, sizeof(float) * count);
  return copy;
}

/* The negatives of group (or example) `index` as fastloss.h documents them,
 * made with the public stream and sampler calls: k draws from the stream
 * (seed, stream + index), then each draw equal to target drawn again from
 * the same stream, up to 16 times.  Returns how many redraws it made. */
static inline int fl_ns_hand_draw(const fastloss_sampler *noise, uint64_t seed, uint64_t stream,
                                  size_t index, size_t k, int32_t target, int32_t *out) {
  fastloss_rng rng;
  fastloss_rng_init(&rng, seed, stream + index);
  ck_assert_int_eq(fastloss_sampler_sample_rng(noise, &rng, k, out), FASTLOSS_OK);
  int redrawn = 0;
  for (size_t j = 0; j < k; j++)
    for (int tries = 0; out[j] == target && tries < 16; tries++, redrawn++)
      ck_assert_int_eq(fastloss_sampler_sample_rng(noise, &rng, 1, &out[j]), FASTLOSS_OK);
  return redrawn;
}

/* An error call: status `want`, a message containing `part`, the loss and
 * the first 64 floats of each table (copies taken before the call) as they
 * were. */
static inline void fl_ns_check_error(fastloss_status got, fastloss_status want, const char *part,
                                     double loss, const float *in, const float *in_copy,
                                     const float *out, const float *out_copy) {
  ck_assert_msg(got == want, "got %s (%s), want %s", fastloss_status_str(got),
                fastloss_last_error(), fastloss_status_str(want));
  ck_assert_msg(strstr(fastloss_last_error(), part) != NULL, "message '%s' lacks '%s'",
                fastloss_last_error(), part);
  ck_assert(loss == 12345.0);
  if (in) ck_assert_msg(memcmp(in, in_copy, 64 * sizeof(float)) == 0, "in_emb written on error");
  if (out) ck_assert_msg(memcmp(out, out_copy, 64 * sizeof(float)) == 0, "out_emb written on error");
}

/* One step of the function under test (a batch of its own kind) on the
 * tables in and out. */
typedef fastloss_status (*fl_ns_step)(const void *batch, size_t vocab, size_t dim, float *in,
                                      float *out, float lr, const fastloss_sgns_params *params,
                                      double *loss);

/* Runs `step` (lr 0.05) on fresh copies of the (vocab, dim) tables in0 and
 * out0 at first_threads..last_threads threads.  Every run must give the tables
 * want_in and want_out bit for bit and a loss within a relative 1e-12 of
 * want_loss (the threads' losses add up in another order); with want_in
 * NULL the first run is the reference and later ones must equal it
 * exactly, loss included. */
static inline void fl_ns_check_thread_counts(fl_ns_step step, const void *batch, size_t vocab,
                                             size_t dim, const float *in0, const float *out0,
                                             const fastloss_sgns_params *params,
                                             int first_threads, int last_threads,
                                             const float *want_in, const float *want_out,
                                             double want_loss, const char *what) {
  const size_t size = vocab * dim;
  const int saved = fastloss_get_num_threads();
  float *ref_in = NULL, *ref_out = NULL;
  for (int threads = first_threads; threads <= last_threads; threads++) {
    fastloss_set_num_threads(threads);
    float *in = fl_ns_copy(in0, size), *out = fl_ns_copy(out0, size);
    double loss;
    ck_assert_int_eq(step(batch, vocab, dim, in, out, 0.05f, params, &loss), FASTLOSS_OK);
    if (want_in == NULL && ref_in == NULL) {
      ref_in = in;
      ref_out = out;
      want_loss = loss;
      continue;
    }
    ck_assert_msg(memcmp(want_in ? want_in : ref_in, in, sizeof(float) * size) == 0,
                  "%s: %d threads: in differs", what, threads);
    ck_assert_msg(memcmp(want_out ? want_out : ref_out, out, sizeof(float) * size) == 0,
                  "%s: %d threads: out differs", what, threads);
    if (want_in != NULL)
      FL_CHECK(fl_close(loss, want_loss, 0.0, 1e-12), "%s: %d threads: loss %.17g vs %.17g", what,
               threads, loss, want_loss);
    else
      ck_assert_msg(loss == want_loss, "%s: %d threads: loss %.17g vs %.17g", what, threads, loss,
                    want_loss);
    free(in);
    free(out);
  }
  fastloss_set_num_threads(saved);
  free(ref_in);
  free(ref_out);
}

/* Deterministic mode on shared rows (a `vocab`-word vocabulary) at 1 to 3
 * threads, bit for bit: with the negatives `given` gives, then with the
 * negatives the step draws for `drawing` (the same batch without them)
 * from a unigram^0.75 noise over the vocabulary. */
static inline void fl_ns_check_deterministic(fl_ns_step step, const void *given,
                                             const void *drawing, size_t vocab, size_t dim,
                                             const float *in, const float *out) {
  const fastloss_sgns_params det = {.deterministic = 1};
  fl_ns_check_thread_counts(step, given, vocab, dim, in, out, &det, 1, 3, NULL, NULL, 0.0,
                            "shared rows, deterministic");
  uint64_t *counts = malloc(sizeof(uint64_t) * vocab);
  ck_assert_ptr_nonnull(counts);
  for (size_t i = 0; i < vocab; i++) counts[i] = 1000 / (i + 1);
  fastloss_sampler *noise = NULL;
  ck_assert_int_eq(fastloss_sampler_create_unigram(&noise, counts, vocab, 0.75, 3), FASTLOSS_OK);
  const fastloss_sgns_params det_drawn = {.deterministic = 1, .noise = noise, .seed = 5,
                                          .stream = 17};
  fl_ns_check_thread_counts(step, drawing, vocab, dim, in, out, &det_drawn, 1, 3, NULL, NULL, 0.0,
                            "shared rows, deterministic, drawn");
  fastloss_sampler_destroy(noise);
  free(counts);
}

/* The step drawing its negatives from noise with seed 77 and stream 1000
 * (batch `drawing`) does exactly what it does when given the negatives
 * made by hand (batch `given`): the same tables, bit for bit, and loss. */
static inline void fl_ns_check_drawn_equals_given(fl_ns_step step, const void *given,
                                                  const void *drawing,
                                                  const fastloss_sampler *noise, size_t vocab,
                                                  size_t dim, const float *in0, const float *out0,
                                                  const char *what) {
  const size_t size = vocab * dim;
  float *in = fl_ns_copy(in0, size), *out = fl_ns_copy(out0, size);
  float *in2 = fl_ns_copy(in0, size), *out2 = fl_ns_copy(out0, size);
  const fastloss_sgns_params det = {.deterministic = 1};
  const fastloss_sgns_params drawn = {.deterministic = 1, .noise = noise, .seed = 77,
                                      .stream = 1000};
  double want, got;
  ck_assert_int_eq(step(given, vocab, dim, in, out, 0.05f, &det, &want), FASTLOSS_OK);
  ck_assert_int_eq(step(drawing, vocab, dim, in2, out2, 0.05f, &drawn, &got), FASTLOSS_OK);
  ck_assert_msg(memcmp(in, in2, sizeof(float) * size) == 0, "%s: in differs", what);
  ck_assert_msg(memcmp(out, out2, sizeof(float) * size) == 0, "%s: out differs", what);
  ck_assert_msg(got == want, "%s: loss %.17g vs %.17g", what, got, want);
  free(in);
  free(out);
  free(in2);
  free(out2);
}

/* The step is SGD on the loss it reports: one step at lr = 1/1024 on the
 * tables in and out must move each element by -lr times its gradient (times
 * in_scale for in), the gradient taken by central differences (1/64 apart)
 * of the step's own loss at lr = 0, which leaves the tables as they are.
 * Callers keep the logits moderate, so the clip is inactive. */
static inline void fl_ns_check_gradient(fl_ns_step step, const void *batch, size_t vocab,
                                        size_t dim, float *in, float *out, double in_scale,
                                        const char *what) {
  const size_t size = vocab * dim;
  float *in0 = fl_ns_copy(in, size), *out0 = fl_ns_copy(out, size);
  const float lr = 1.0f / 1024;
  double loss;
  ck_assert_int_eq(step(batch, vocab, dim, in, out, lr, NULL, &loss), FASTLOSS_OK);
  for (int table = 0; table < 2; table++)
    for (size_t j = 0; j < size; j++) {
      float *base = table == 0 ? in0 : out0;
      const float *after = table == 0 ? in : out;
      const double scale = table == 0 ? in_scale : 1.0;
      const double grad = ((double)after[j] - base[j]) / -lr / scale;
      const float saved = base[j];
      const float step_size = 1.0f / 64;
      double lp, lm;
      base[j] = saved + step_size;
      ck_assert_int_eq(step(batch, vocab, dim, in0, out0, 0.0f, NULL, &lp), FASTLOSS_OK);
      base[j] = saved - step_size;
      ck_assert_int_eq(step(batch, vocab, dim, in0, out0, 0.0f, NULL, &lm), FASTLOSS_OK);
      base[j] = saved;
      const double fd = (lp - lm) / (2.0 * step_size);
      FL_CHECK(fl_close(grad, fd, 2e-3, 2e-2), "%s %s[%zu]: step gives %.6g, fd %.6g", what,
               table == 0 ? "in" : "out", j, grad, fd);
    }
  free(in0);
  free(out0);
}


/* Touched-row maps (fastloss_sgns_params.in_touched / out_touched): for one
 * thread, three Hogwild threads, and three with private rows, starting from
 * `base` (its noise, seed and stream), the step marks exactly the rows
 * want_in / want_out flag (1) on top of the marks already there (every
 * seventh row preset to 1 stays 1, no byte other than 0 or 1), and with
 * deterministic = 1 the maps change nothing else: the tables and loss are
 * those of the call without them, bit for bit. */
static inline void fl_ns_check_touched(fl_ns_step step, const void *batch, size_t vocab,
                                       size_t dim, const float *in0, const float *out0,
                                       const fastloss_sgns_params *base,
                                       const unsigned char *want_in,
                                       const unsigned char *want_out, const char *what) {
  const size_t size = vocab * dim;
  const int saved = fastloss_get_num_threads();
  for (int mode = 0; mode < 3; mode++) {
    fastloss_set_num_threads(mode == 0 ? 1 : 3);
    fastloss_sgns_params plain = *base;
    plain.deterministic = mode == 0;
    plain.private_rows = mode == 2 ? vocab / 4 : 0;
    fastloss_sgns_params marking = plain;
    unsigned char *maps = malloc(2 * vocab);
    ck_assert_ptr_nonnull(maps);
    for (size_t r = 0; r < 2 * vocab; r++) maps[r] = r % 7 == 0;
    marking.in_touched = maps;
    marking.out_touched = maps + vocab;
    float *in = fl_ns_copy(in0, size), *out = fl_ns_copy(out0, size);
    float *in2 = fl_ns_copy(in0, size), *out2 = fl_ns_copy(out0, size);
    double want_loss, got_loss;
    ck_assert_int_eq(step(batch, vocab, dim, in, out, 0.05f, &plain, &want_loss), FASTLOSS_OK);
    ck_assert_int_eq(step(batch, vocab, dim, in2, out2, 0.05f, &marking, &got_loss), FASTLOSS_OK);
    for (size_t r = 0; r < 2 * vocab; r++) {
      const unsigned char want = r % 7 == 0 || (r < vocab ? want_in[r] : want_out[r - vocab]);
      ck_assert_msg(maps[r] == want, "%s, mode %d: %s_touched[%zu] = %d, want %d", what, mode,
                    r < vocab ? "in" : "out", r % vocab, maps[r], want);
    }
    if (mode == 0) {
      ck_assert_msg(memcmp(in, in2, sizeof(float) * size) == 0 &&
                        memcmp(out, out2, sizeof(float) * size) == 0 && want_loss == got_loss,
                    "%s: the maps changed the step", what);
    }
    free(maps);
    free(in);
    free(out);
    free(in2);
    free(out2);
  }
  fastloss_set_num_threads(saved);
}


/* A call that fails with `want` (batch `bad`) marks no row and writes
 * neither table. */
static inline void fl_ns_check_touched_error(fl_ns_step step, const void *bad, size_t vocab,
                                             size_t dim, const float *in0, const float *out0,
                                             fastloss_status want) {
  const size_t size = vocab * dim;
  float *in = fl_ns_copy(in0, size), *out = fl_ns_copy(out0, size);
  unsigned char *maps = calloc(2 * vocab, 1);
  ck_assert_ptr_nonnull(maps);
  const fastloss_sgns_params marking = {.in_touched = maps, .out_touched = maps + vocab};
  ck_assert_int_eq(step(bad, vocab, dim, in, out, 0.1f, &marking, NULL), want);
  for (size_t r = 0; r < 2 * vocab; r++) ck_assert_int_eq(maps[r], 0);
  ck_assert(memcmp(in, in0, sizeof(float) * size) == 0);
  ck_assert(memcmp(out, out0, sizeof(float) * size) == 0);
  free(maps);
  free(in);
  free(out);
}

/* Head rows (fastloss_sgns_params.head_rows): runs `step` on the tables in
 * and out (lr 0.05) with their first head_rows rows moved to heads of their
 * own, and the tables' own first rows set to a NaN pattern, which any read
 * would carry into the results and which must still be there after the
 * call; then moves the heads back into in and out, so that the caller
 * compares whole tables with a call without heads. */
static inline fastloss_status fl_ns_step_with_heads(fl_ns_step step, const void *batch,
                                                    size_t vocab, size_t dim, float *in, float *out,
                                                    const fastloss_sgns_params *base,
                                                    size_t head_rows, double *loss) {
  const size_t head = head_rows * dim;
  /* the heads at an odd float offset: row starts not 64-byte aligned */
  float *block = malloc(sizeof(float) * (2 * head + 3));
  ck_assert_ptr_nonnull(block);
  float *in_head = block + 1, *out_head = block + 2 + head;
  memcpy(in_head, in, sizeof(float) * head);
  memcpy(out_head, out, sizeof(float) * head);
  const uint32_t poison = 0x7fc0beefu; /* a quiet NaN with a payload */
  for (size_t e = 0; e < head; e++) {
    memcpy(&in[e], &poison, sizeof poison);
    memcpy(&out[e], &poison, sizeof poison);
  }
  fastloss_sgns_params params = base != NULL ? *base : (fastloss_sgns_params){0};
  params.head_rows = head_rows;
  params.in_head = in_head;
  params.out_head = out_head;
  const fastloss_status status = step(batch, vocab, dim, in, out, 0.05f, &params, loss);
  for (size_t e = 0; e < head; e++) {
    ck_assert_msg(
        memcmp(&in[e], &poison, sizeof poison) == 0 && memcmp(&out[e], &poison, sizeof poison) == 0,
        "head rows: the tables' own row %zu was written", e / dim);
  }
  memcpy(in, in_head, sizeof(float) * head);
  memcpy(out, out_head, sizeof(float) * head);
  free(block);
  return status;
}

/* The call with heads of head_rows rows gives the call without them, bit
 * for bit, loss included, for params `base` at `threads` threads. */
static inline void fl_ns_check_heads(fl_ns_step step, const void *batch, size_t vocab, size_t dim,
                                     const float *in0, const float *out0,
                                     const fastloss_sgns_params *base, int threads,
                                     size_t head_rows, const char *what) {
  const int saved = fastloss_get_num_threads();
  fastloss_set_num_threads(threads);
  const size_t size = vocab * dim;
  float *in = fl_ns_copy(in0, size), *out = fl_ns_copy(out0, size);
  float *in_h = fl_ns_copy(in0, size), *out_h = fl_ns_copy(out0, size);
  double loss = -1.0, loss_h = -2.0;
  ck_assert_int_eq(step(batch, vocab, dim, in, out, 0.05f, base, &loss), FASTLOSS_OK);
  ck_assert_int_eq(
      fl_ns_step_with_heads(step, batch, vocab, dim, in_h, out_h, base, head_rows, &loss_h),
      FASTLOSS_OK);
  for (size_t e = 0; e < size; e++) {
    ck_assert_msg(memcmp(&in[e], &in_h[e], sizeof(float)) == 0,
                  "%s, %zu head rows, %d threads: in[%zu][%zu] = %.9g, without heads %.9g", what,
                  head_rows, threads, e / dim, e % dim, (double)in_h[e], (double)in[e]);
    ck_assert_msg(memcmp(&out[e], &out_h[e], sizeof(float)) == 0,
                  "%s, %zu head rows, %d threads: out[%zu][%zu] = %.9g, without heads %.9g", what,
                  head_rows, threads, e / dim, e % dim, (double)out_h[e], (double)out[e]);
  }
  ck_assert_msg(loss == loss_h, "%s, %zu head rows: loss %.17g, without heads %.17g", what,
                head_rows, loss_h, loss);
  free(in), free(out), free(in_h), free(out_h);
  fastloss_set_num_threads(saved);
}

/* fl_ns_check_heads for heads of 1, 6, vocab / 2 and vocab - 1 rows:
 * `given` (a batch with its negatives) with the default params on one
 * thread and deterministic on three, and `drawing` (the same batch with
 * negatives NULL) drawing them from a 1 / (i + 1) noise on one thread. */
static inline void fl_ns_check_heads_all(fl_ns_step step, const void *given, const void *drawing,
                                         size_t vocab, size_t dim, const float *in,
                                         const float *out, const char *what) {
  double *weights = malloc(sizeof(double) * vocab);
  ck_assert_ptr_nonnull(weights);
  for (size_t i = 0; i < vocab; i++) weights[i] = 1.0 / (double)(i + 1);
  fastloss_sampler *noise = NULL;
  ck_assert_int_eq(fastloss_sampler_create(&noise, weights, vocab, 0, 1, 9), FASTLOSS_OK);
  const fastloss_sgns_params plain = {0}, det = {.deterministic = 1},
                             drawn = {.noise = noise, .seed = 4, .stream = 77};
  const size_t heads[] = {1, 6, vocab / 2, vocab - 1};
  char drawn_what[128];
  snprintf(drawn_what, sizeof drawn_what, "%s, drawn negatives", what);
  for (size_t h = 0; h < sizeof heads / sizeof heads[0]; h++) {
    fl_ns_check_heads(step, given, vocab, dim, in, out, &plain, 1, heads[h], what);
    fl_ns_check_heads(step, given, vocab, dim, in, out, &det, 3, heads[h], what);
    fl_ns_check_heads(step, drawing, vocab, dim, in, out, &drawn, 1, heads[h], drawn_what);
  }
  fastloss_sampler_destroy(noise);
  free(weights);
}

/* Bad heads: each an error naming it, and neither table nor head written. */
static inline void fl_ns_check_head_errors(fl_ns_step step, const void *batch, size_t vocab,
                                           size_t dim, const float *in0, const float *out0) {
  const size_t size = vocab * dim;
  float *block = malloc(sizeof(float) * (2 * size + 4 * dim));
  ck_assert_ptr_nonnull(block);
  float *in = block, *out = block + size, *heads = block + 2 * size;
  memcpy(in, in0, sizeof(float) * size);
  memcpy(out, out0, sizeof(float) * size);
  for (size_t e = 0; e < 4 * dim; e++) heads[e] = (float)e;
  float *snapshot = fl_ns_copy(block, 2 * size + 4 * dim);
  const struct {
    size_t rows;
    float *in_head, *out_head;
    fastloss_status want;
    const char *part;
  } cases[] = {
      {vocab + 1, heads, heads + 2 * dim, FASTLOSS_ERR_INVALID_ARGUMENT, "head_rows = "},
      {2, NULL, heads + 2 * dim, FASTLOSS_ERR_NULL_POINTER, "params->in_head is NULL"},
      {2, heads, NULL, FASTLOSS_ERR_NULL_POINTER, "params->out_head is NULL"},
      {2, heads, heads + dim, FASTLOSS_ERR_OVERLAP, "params->in_head overlaps params->out_head"},
      {2, in + size - dim, heads, FASTLOSS_ERR_OVERLAP, "params->in_head overlaps in_emb"},
      {2, heads, in, FASTLOSS_ERR_OVERLAP, "params->out_head overlaps in_emb"},
      {2, heads, out + dim, FASTLOSS_ERR_OVERLAP, "params->out_head overlaps out_emb"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const fastloss_sgns_params params = {
        .head_rows = cases[i].rows, .in_head = cases[i].in_head, .out_head = cases[i].out_head};
    double loss = 12345.0;
    const fastloss_status got = step(batch, vocab, dim, in, out, 0.1f, &params, &loss);
    ck_assert_msg(got == cases[i].want, "case %zu: got %s (%s), want %s", i,
                  fastloss_status_str(got), fastloss_last_error(),
                  fastloss_status_str(cases[i].want));
    ck_assert_msg(strstr(fastloss_last_error(), cases[i].part) != NULL,
                  "case %zu: message '%s' lacks '%s'", i, fastloss_last_error(), cases[i].part);
    ck_assert(loss == 12345.0);
    ck_assert_msg(memcmp(block, snapshot, sizeof(float) * (2 * size + 4 * dim)) == 0,
                  "case %zu: a table or head was written", i);
  }
  /* head_rows = vocab is allowed: every row in the heads */
  const fastloss_sgns_params all = {0};
  fl_ns_check_heads(step, batch, vocab, dim, in0, out0, &all, 1, vocab, "head_rows = vocab");
  free(snapshot);
  free(block);
}

#endif
