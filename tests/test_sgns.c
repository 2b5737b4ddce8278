/* fastloss_sgns_step_f32: the step against a float64 reference of the
 * group update, its gradient against finite differences of the loss it
 * reports, the Hogwild path against the serial one, extremes, and every
 * error status. */
#include <stdio.h>

#include "ns-fixture.h"

/* ------------------------------------------------ float64 reference */

static double ref_dot(size_t dim, const double *a, const double *b) {
  double s = 0.0;
  for (size_t j = 0; j < dim; j++) s += a[j] * b[j];
  return s;
}

/* One group, exactly as fastloss.h states it; returns the group's loss. */
static double ref_group(size_t dim, double *in, double *out, const int32_t *inputs,
                        const int32_t *targets, size_t rows, const int32_t *neg, size_t k,
                        double lr) {
  const size_t cols = k + 1;
  double *coef = calloc(rows * cols, sizeof(double));
  double *delta = calloc(rows * dim, sizeof(double));
  double loss = 0.0;
  for (size_t r = 0; r < rows; r++) {
    const double *h = in + (size_t)inputs[r] * dim;
    for (size_t j = 0; j < cols; j++) {
      const int32_t row = j == 0 ? targets[r] : neg[j - 1];
      const double p = ref_sigmoid(ref_dot(dim, h, out + (size_t)row * dim));
      coef[r * cols + j] = j == 0 ? lr * (1.0 - p) : -lr * p;
      loss -= j == 0 ? log(ref_clip(p)) : log(ref_clip(1.0 - p));
    }
  }
  for (size_t r = 0; r < rows; r++)
    for (size_t j = 0; j < cols; j++) {
      const int32_t row = j == 0 ? targets[r] : neg[j - 1];
      for (size_t e = 0; e < dim; e++)
        delta[r * dim + e] += coef[r * cols + j] * out[(size_t)row * dim + e];
    }
  for (size_t r = 0; r < rows; r++)
    for (size_t j = 0; j < cols; j++) {
      const int32_t row = j == 0 ? targets[r] : neg[j - 1];
      for (size_t e = 0; e < dim; e++)
        out[(size_t)row * dim + e] += coef[r * cols + j] * in[(size_t)inputs[r] * dim + e];
    }
  for (size_t r = 0; r < rows; r++)
    for (size_t e = 0; e < dim; e++) in[(size_t)inputs[r] * dim + e] += delta[r * dim + e];
  free(coef);
  free(delta);
  return loss;
}

/* ------------------------------------------------ fixtures */

typedef struct fl_sgns_case {
  size_t vocab, dim, n_pairs, k, n_groups;
  int32_t *inputs, *targets, *negatives;
  size_t *offsets; /* NULL: one pair per group */
  float *in, *out;
} fl_sgns_case;

/* Random pairs over a small vocabulary (so rows repeat within and across
 * groups, and negatives hit targets), `group` pairs per group (0: per-pair
 * negatives), group sizes varying from 1 to `group`. */
static fl_sgns_case fl_case_new(fl_rng *rng, size_t vocab, size_t dim, size_t n_pairs, size_t k,
                                size_t group, double scale) {
  fl_sgns_case c = {vocab, dim, n_pairs, k, n_pairs, NULL, NULL, NULL, NULL, NULL, NULL};
  c.inputs = malloc(sizeof(int32_t) * n_pairs);
  c.targets = malloc(sizeof(int32_t) * n_pairs);
  if (group > 0) {
    c.offsets = malloc(sizeof(size_t) * (n_pairs + 1));
    size_t g = 0, at = 0;
    c.offsets[0] = 0;
    while (at < n_pairs) {
      size_t rows = 1 + fl_rng_u32(rng) % group;
      if (rows > n_pairs - at) rows = n_pairs - at;
      /* a group with the same target for all rows, as skip-gram builds */
      const int32_t target = (int32_t)(fl_rng_u32(rng) % vocab);
      for (size_t r = 0; r < rows; r++) c.targets[at + r] = target;
      /* and now and then one with mixed targets */
      if (g % 3 == 2) c.targets[at] = (int32_t)(fl_rng_u32(rng) % vocab);
      at += rows;
      c.offsets[++g] = at;
    }
    c.n_groups = g;
  } else {
    fl_ns_random_ids(rng, c.targets, n_pairs, vocab);
  }
  fl_ns_random_ids(rng, c.inputs, n_pairs, vocab);
  c.negatives = malloc(sizeof(int32_t) * (c.n_groups * k + 1));
  fl_ns_random_ids(rng, c.negatives, c.n_groups * k, vocab);
  fl_ns_tables_new(rng, vocab, dim, scale, &c.in, &c.out);
  return c;
}

static void fl_case_free(fl_sgns_case *c) {
  free(c->inputs);
  free(c->targets);
  free(c->negatives);
  free(c->offsets);
  free(c->in);
  free(c->out);
}

static fastloss_sgns_batch fl_case_batch(const fl_sgns_case *c) {
  fastloss_sgns_batch b = {c->n_pairs,   c->inputs,   c->targets, c->k,
                           c->negatives, c->n_groups, c->offsets};
  return b;
}

static fastloss_status fl_sgns_step(const void *batch, size_t vocab, size_t dim, float *in,
                                    float *out, float lr, const fastloss_sgns_params *params,
                                    double *loss) {
  return fastloss_sgns_step_f32(vocab, dim, in, out, batch, lr, params, loss);
}

/* Runs the reference over the whole batch on double copies of the tables. */
static double fl_case_reference(const fl_sgns_case *c, double lr, double *in, double *out) {
  for (size_t j = 0; j < c->vocab * c->dim; j++) {
    in[j] = c->in[j];
    out[j] = c->out[j];
  }
  double loss = 0.0;
  for (size_t g = 0; g < c->n_groups; g++) {
    const size_t first = c->offsets ? c->offsets[g] : g;
    const size_t rows = c->offsets ? c->offsets[g + 1] - first : 1;
    loss += ref_group(c->dim, in, out, c->inputs + first, c->targets + first, rows,
                      c->negatives + g * c->k, c->k, lr);
  }
  return loss;
}

/* The rows the batch trains: want_in[inputs], want_out[targets and
 * negatives] of every non-empty group. */
static void fl_case_touched(const fl_sgns_case *c, unsigned char *want_in,
                            unsigned char *want_out) {
  for (size_t g = 0; g < c->n_groups; g++) {
    const size_t first = c->offsets ? c->offsets[g] : g;
    const size_t rows = c->offsets ? c->offsets[g + 1] - first : 1;
    for (size_t r = 0; r < rows; r++) {
      want_in[c->inputs[first + r]] = 1;
      want_out[c->targets[first + r]] = 1;
    }
    for (size_t j = 0; rows > 0 && j < c->k; j++) want_out[c->negatives[g * c->k + j]] = 1;
  }
}

/* ------------------------------------------------ tests */

START_TEST(sgns_matches_reference) {
  static const size_t dims[] = {1, 3, 7, 8, 9, 16, 17, 31, 100, 130};
  static const size_t ks[] = {0, 1, 5, 9};
  fl_rng rng;
  fl_rng_seed(&rng, 42);
  for (size_t di = 0; di < sizeof dims / sizeof dims[0]; di++)
    for (size_t ki = 0; ki < sizeof ks / sizeof ks[0]; ki++)
      for (size_t group = 0; group <= 7; group += 7) {
        const size_t dim = dims[di], k = ks[ki];
        fl_sgns_case c = fl_case_new(&rng, 13, dim, 40, k, group, 1.0);
        double *in = malloc(sizeof(double) * c.vocab * dim);
        double *out = malloc(sizeof(double) * c.vocab * dim);
        const double lr = 0.05;
        const double want = fl_case_reference(&c, lr, in, out);
        const fastloss_sgns_batch b = fl_case_batch(&c);
        fastloss_sgns_params params = {.deterministic = 1};
        double loss = -1.0;
        ck_assert_int_eq(
            fastloss_sgns_step_f32(c.vocab, dim, c.in, c.out, &b, (float)lr, &params, &loss),
            FASTLOSS_OK);
        /* Measured 2026-11-29 over scalar, avx2, avx512-emulated (inline exp and
         * sleef), scalar-qemu, neon-qemu: the loss 2.5e-8 relative (neon-qemu);
         * the tables, whose elements stay below 0.72, 1.1e-7 absolute for in
         * (every ISA) and 4.1e-7 for out (avx512-emulated, neon-qemu). */
        FL_CHECK(fl_close(loss, want, 0.0, 8e-8), "dim %zu k %zu group %zu: loss %.9g want %.9g",
                 dim, k, group, loss, want);
        for (size_t j = 0; j < c.vocab * dim; j++) {
          FL_CHECK(fl_close(c.in[j], in[j], 4e-7, 0.0),
                   "dim %zu k %zu group %zu: in[%zu] %.9g want %.9g", dim, k, group, j, c.in[j],
                   in[j]);
          FL_CHECK(fl_close(c.out[j], out[j], 1.2e-6, 0.0),
                   "dim %zu k %zu group %zu: out[%zu] %.9g want %.9g", dim, k, group, j, c.out[j],
                   out[j]);
        }
        free(in);
        free(out);
        fl_case_free(&c);
      }
}
END_TEST

/* The step is SGD on the loss it reports: for one group, (new - old) / -lr
 * must be the gradient of the loss at the old tables, taken here by central
 * differences of the library's own loss (lr = 0 leaves the tables as they
 * are).  Logits stay moderate so the clip is inactive. */
START_TEST(sgns_gradient_finite_differences) {
  fl_rng rng;
  fl_rng_seed(&rng, 7);
  for (size_t group = 1; group <= 4; group += 3) {
    const size_t dim = 5, k = 3;
    fl_sgns_case c = fl_case_new(&rng, 6, dim, group, k, group, 1.5);
    if (c.offsets != NULL) {
      c.n_groups = 1; /* one group of all pairs */
      c.offsets[1] = c.n_pairs;
    }
    c.negatives[0] = c.targets[0];   /* an accidental hit */
    c.negatives[2] = c.negatives[1]; /* a repeated negative */
    const fastloss_sgns_batch b = fl_case_batch(&c);
    char what[32];
    snprintf(what, sizeof what, "group %zu", group);
    fl_ns_check_gradient(fl_sgns_step, &b, c.vocab, dim, c.in, c.out, 1.0, what);
    fl_case_free(&c);
  }
}
END_TEST

/* With no row shared between groups nothing races, so the Hogwild path on
 * every thread count must equal the serial one bit for bit; with shared rows
 * the deterministic mode must not depend on the thread count. */
START_TEST(sgns_threads) {
  const size_t vocab = 4000, dim = 64, k = 2, n_pairs = 600;
  fl_rng rng;
  fl_rng_seed(&rng, 99);
  fl_sgns_case c = fl_case_new(&rng, vocab, dim, n_pairs, k, 0, 1.0);
  for (size_t i = 0; i < n_pairs; i++) { /* disjoint rows everywhere */
    c.inputs[i] = (int32_t)i;
    c.targets[i] = (int32_t)(3 * i);
    c.negatives[2 * i] = (int32_t)(3 * i + 1);
    c.negatives[2 * i + 1] = (int32_t)(3 * i + 2);
  }
  const fastloss_sgns_batch b = fl_case_batch(&c);
  const size_t size = vocab * dim;
  float *in = fl_ns_copy(c.in, size), *out = fl_ns_copy(c.out, size);
  double serial_loss;
  fastloss_sgns_params det = {.deterministic = 1};
  ck_assert_int_eq(fl_sgns_step(&b, vocab, dim, in, out, 0.05f, &det, &serial_loss), FASTLOSS_OK);
  fl_ns_check_thread_counts(fl_sgns_step, &b, vocab, dim, c.in, c.out, NULL, 1, 4, in, out,
                            serial_loss, "disjoint rows, Hogwild");
  /* shared rows, deterministic mode, given and drawn negatives */
  fl_sgns_case s = fl_case_new(&rng, 50, dim, n_pairs, 5, 6, 1.0);
  const fastloss_sgns_batch sb = fl_case_batch(&s);
  fastloss_sgns_batch drawing = sb;
  drawing.negatives = NULL;
  fl_ns_check_deterministic(fl_sgns_step, &sb, &drawing, 50, dim, s.in, s.out);
  free(in);
  free(out);
  fl_case_free(&c);
  fl_case_free(&s);
}
END_TEST

/* Logits of +-1e30 (and the huge vectors behind them): the loss is the clip's
 * -log(eps32) per wrong logit, nothing overflows, a saturated target does not
 * move, and NaN stays in its own group. */
START_TEST(sgns_extremes) {
  const size_t dim = 3;
  float in[2 * 3] = {1e15f, 0.0f, 0.0f, 1.0f, 1.0f, 1.0f};
  float out[3 * 3] = {1e15f, 0.0f, 0.0f, 1e15f, 0.0f, 0.0f, 0.5f, 0.5f, 0.5f};
  const int32_t inputs[1] = {0}, targets[1] = {0}, negatives[1] = {1};
  fastloss_sgns_batch b = {1, inputs, targets, 1, negatives, 0, NULL};
  double loss;
  /* z_t = 1e30 (saturated right), z_n = 1e30 (saturated wrong) */
  ck_assert_int_eq(fastloss_sgns_step_f32(2, dim, in, out + 0, &b, 0.0f, NULL, &loss), FASTLOSS_OK);
  const double eps = FLT_EPSILON;
  /* measured exact on every ISA (2026-11-29): a few double roundings */
  FL_CHECK(fl_close(loss, -log(1.0 - eps) - log(eps), 0.0, 4.0 * DBL_EPSILON), "loss %.9g", loss);
  ck_assert_int_eq(fastloss_sgns_step_f32(2, dim, in, out, &b, 1e-16f, NULL, &loss), FASTLOSS_OK);
  for (size_t j = 0; j < 6; j++) FL_CHECK(isfinite(in[j]), "in[%zu] = %g", j, in[j]);
  FL_CHECK(out[0] == 1e15f, "a saturated target moved: %g", out[0]);
  /* h -= lr * v_neg: 1e15 - 1e-16 * 1e15, within half an ULP (2^25) of a
   * float there; measured 1.3e7 (every ISA), 2026-11-29 */
  FL_CHECK(fl_close(in[0], 1e15 - 0.1, 0x1p25, 0.0), "in[0] = %.9g", in[0]);

  /* NaN in one group's row leaves the other group's rows finite */
  float in3[2 * 3] = {NAN, 0.0f, 0.0f, 0.25f, -0.5f, 1.0f};
  float out3[4 * 3] = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f, -0.1f, 0.0f, 0.1f, 0.3f, 0.3f, 0.3f};
  const int32_t in_ids[2] = {0, 1}, t_ids[2] = {0, 2}, n_ids[2] = {1, 3};
  fastloss_sgns_batch b3 = {2, in_ids, t_ids, 1, n_ids, 0, NULL};
  ck_assert_int_eq(fastloss_sgns_step_f32(4, dim, in3, out3, &b3, 0.1f, NULL, &loss), FASTLOSS_OK);
  FL_CHECK(isnan(loss), "loss %g", loss);
  for (size_t j = 3; j < 6; j++) FL_CHECK(isfinite(in3[j]), "in3[%zu] = %g", j, in3[j]);
  for (size_t j = 6; j < 12; j++) FL_CHECK(isfinite(out3[j]), "out3[%zu] = %g", j, out3[j]);
}
END_TEST

/* ------------------------------------------------ bad input */

static void fl_sgns_expect(fastloss_status want, const char *part, size_t vocab, size_t dim,
                           float *in, float *out, const fastloss_sgns_batch *b, float lr) {
  float in_copy[64], out_copy[64];
  if (in) memcpy(in_copy, in, sizeof in_copy);
  if (out) memcpy(out_copy, out, sizeof out_copy);
  double loss = 12345.0;
  const fastloss_status got = fastloss_sgns_step_f32(vocab, dim, in, out, b, lr, NULL, &loss);
  fl_ns_check_error(got, want, part, loss, in, in_copy, out, out_copy);
}

START_TEST(sgns_errors) {
  float table[128];
  for (size_t j = 0; j < 128; j++) table[j] = (float)j / 128;
  float *in = table, *out = table + 64;
  const int32_t ok[3] = {0, 1, 2}, bad[3] = {0, 8, 1}, negative[3] = {0, 1, -1};
  const size_t offsets[3] = {0, 2, 3}, unordered[3] = {0, 3, 2}, short_end[3] = {0, 1, 2};
  fastloss_sgns_batch b = {3, ok, ok, 1, ok, 0, NULL};
  fl_sgns_expect(FASTLOSS_ERR_NULL_POINTER, "batch is NULL", 8, 8, in, out, NULL, 0.1f);
  fl_sgns_expect(FASTLOSS_ERR_NULL_POINTER, "in_emb is NULL", 8, 8, NULL, out, &b, 0.1f);
  fl_sgns_expect(FASTLOSS_ERR_NULL_POINTER, "out_emb is NULL", 8, 8, in, NULL, &b, 0.1f);
  fl_sgns_expect(FASTLOSS_ERR_INVALID_SHAPE, "vocab = 0", 0, 8, in, out, &b, 0.1f);
  fl_sgns_expect(FASTLOSS_ERR_INVALID_SHAPE, "dim = 0", 8, 0, in, out, &b, 0.1f);
  fl_sgns_expect(FASTLOSS_ERR_SIZE_OVERFLOW, "overflows", SIZE_MAX / 2, 8, in, out, &b, 0.1f);
  fl_sgns_expect(FASTLOSS_ERR_OVERLAP, "overlap", 8, 8, in, table + 32, &b, 0.1f);
  fl_sgns_expect(FASTLOSS_ERR_INVALID_ARGUMENT, "lr = nan", 8, 8, in, out, &b, NAN);
  fl_sgns_expect(FASTLOSS_ERR_INVALID_ARGUMENT, "lr = -0.5", 8, 8, in, out, &b, -0.5f);
  b.inputs = bad;
  fl_sgns_expect(FASTLOSS_ERR_LABEL_OUT_OF_RANGE, "inputs[1] = 8 is outside [0, 8)", 8, 8, in, out,
                 &b, 0.1f);
  b.inputs = ok;
  b.targets = negative;
  fl_sgns_expect(FASTLOSS_ERR_LABEL_OUT_OF_RANGE, "targets[2] = -1", 8, 8, in, out, &b, 0.1f);
  b.targets = ok;
  b.negatives = bad;
  fl_sgns_expect(FASTLOSS_ERR_LABEL_OUT_OF_RANGE, "negatives[1] = 8", 8, 8, in, out, &b, 0.1f);
  b.negatives = NULL;
  fl_sgns_expect(FASTLOSS_ERR_NULL_POINTER, "negatives is NULL", 8, 8, in, out, &b, 0.1f);
  b.negatives = ok;
  b.inputs = NULL;
  fl_sgns_expect(FASTLOSS_ERR_NULL_POINTER, "inputs is NULL", 8, 8, in, out, &b, 0.1f);
  b.inputs = ok;
  b.n_groups = 2;
  b.group_offsets = unordered;
  fl_sgns_expect(FASTLOSS_ERR_INVALID_ARGUMENT, "group_offsets[2] = 2 is below", 8, 8, in, out, &b,
                 0.1f);
  b.group_offsets = short_end;
  fl_sgns_expect(FASTLOSS_ERR_INVALID_ARGUMENT, "must equal n_pairs = 3", 8, 8, in, out, &b, 0.1f);
  b.group_offsets = offsets + 1;
  b.n_groups = 1;
  fl_sgns_expect(FASTLOSS_ERR_INVALID_ARGUMENT, "group_offsets[0] = 2", 8, 8, in, out, &b, 0.1f);
  /* the good batch works, and an empty one is a no-op with loss 0 */
  b.group_offsets = offsets;
  b.n_groups = 2;
  double loss = -1.0;
  ck_assert_int_eq(fastloss_sgns_step_f32(8, 8, in, out, &b, 0.1f, NULL, &loss), FASTLOSS_OK);
  ck_assert(loss > 0.0);
  fastloss_sgns_batch empty = {0, NULL, NULL, 5, NULL, 0, NULL};
  ck_assert_int_eq(fastloss_sgns_step_f32(8, 8, in, out, &empty, 0.1f, NULL, &loss), FASTLOSS_OK);
  ck_assert(loss == 0.0);
}
END_TEST

/* Negatives drawn by the step equal the documented draws made by hand
 * with the public stream and sampler calls: group g from stream (seed,
 * stream + g), a draw equal to the group's target drawn again.  k = 11
 * takes more uniforms than the step computes at once; the sampler without
 * replacement takes the step's other path. */
START_TEST(sgns_drawn_negatives) {
  const size_t vocab = 40, dim = 24;
  fl_rng rng;
  fl_rng_seed(&rng, 11);
  double weights[40];
  for (size_t i = 0; i < vocab; i++) weights[i] = 1.0 / (double)(i + 1);
  weights[3] = 0.0;
  fastloss_sampler *noise = NULL;
  for (int replace = 1; replace >= 0; replace--) {
    ck_assert_int_eq(fastloss_sampler_create(&noise, weights, vocab, 0, replace, 5), FASTLOSS_OK);
    /* k = 1, even and odd (the step draws two uniforms per Philox block),
     * chunks of groups split at 256 / k groups (k = 11: 50 pairs in 3
     * chunks), and k = 300, above the step's chunked path */
    static const size_t ks[] = {1, 4, 5, 11, 300};
    for (size_t ki = 0; ki < sizeof ks / sizeof ks[0]; ki++)
      for (size_t group = 0; group <= 6; group += 6) {
        const size_t k = ks[ki];
        if (!replace && k >= vocab) continue; /* fewer classes than k */
        fl_sgns_case c = fl_case_new(&rng, vocab, dim, 50, k, group, 1.0);
        c.targets[0] = 0; /* the most frequent noise class: redraws happen */
        int redrawn = 0;
        for (size_t g = 0; g < c.n_groups; g++)
          redrawn += fl_ns_hand_draw(noise, 77, 1000, g, k, c.targets[c.offsets ? c.offsets[g] : g],
                                     c.negatives + g * k);
        ck_assert_msg(redrawn > 0 || k < 4, "no redraw exercised (k %zu)", k);
        const fastloss_sgns_batch b = fl_case_batch(&c);
        fastloss_sgns_batch drawing = b;
        drawing.negatives = NULL;
        char what[64];
        snprintf(what, sizeof what, "replace %d k %zu group %zu", replace, k, group);
        fl_ns_check_drawn_equals_given(fl_sgns_step, &b, &drawing, noise, vocab, dim, c.in, c.out,
                                       what);
        /* the rows marked touched: the drawn negatives among them */
        unsigned char want[80] = {0};
        fl_case_touched(&c, want, want + vocab);
        const fastloss_sgns_params base = {.noise = noise, .seed = 77, .stream = 1000};
        fl_ns_check_touched(fl_sgns_step, &drawing, vocab, dim, c.in, c.out, &base, want,
                            want + vocab, what);
        fl_case_free(&c);
      }
    fastloss_sampler_destroy(noise);
  }
  ck_assert_int_eq(fastloss_sampler_create(&noise, weights, vocab, 0, 1, 5), FASTLOSS_OK);
  /* a noise distribution wider than the vocabulary, and one that cannot
   * give k distinct classes: errors, nothing written */
  float table[64];
  for (size_t j = 0; j < 64; j++) table[j] = (float)j / 64;
  float before[64];
  memcpy(before, table, sizeof table);
  const int32_t ids[2] = {0, 1};
  fastloss_sgns_batch b = {2, ids, ids, 3, NULL, 0, NULL};
  fastloss_sgns_params p = {.noise = noise};
  double loss = 5.0;
  ck_assert_int_eq(fastloss_sgns_step_f32(4, 8, table, table + 32, &b, 0.1f, &p, &loss),
                   FASTLOSS_ERR_INVALID_ARGUMENT);
  ck_assert_msg(strstr(fastloss_last_error(), "40 classes, more than vocab = 4") != NULL, "%s",
                fastloss_last_error());
  fastloss_sampler *few = NULL;
  const double two[2] = {1.0, 1.0};
  ck_assert_int_eq(fastloss_sampler_create(&few, two, 2, 0, 0, 1), FASTLOSS_OK);
  p.noise = few;
  ck_assert_int_eq(fastloss_sgns_step_f32(4, 8, table, table + 32, &b, 0.1f, &p, &loss),
                   FASTLOSS_ERR_INVALID_ARGUMENT);
  ck_assert(loss == 5.0);
  ck_assert(memcmp(before, table, sizeof table) == 0);
  fastloss_sampler_destroy(few);
  fastloss_sampler_destroy(noise);
}
END_TEST

/* Touched-row maps with given negatives: random batches (per pair and
 * grouped); a hand-made batch whose empty group's negative is marked by
 * nothing else; and a failing call, which marks nothing. */
START_TEST(sgns_touched_rows) {
  const size_t vocab = 400, dim = 21; /* most rows untouched */
  fl_rng rng;
  fl_rng_seed(&rng, 4242);
  const fastloss_sgns_params base = {0};
  for (size_t group = 0; group <= 5; group += 5) {
    fl_sgns_case c = fl_case_new(&rng, vocab, dim, 30, 2, group, 1.0);
    unsigned char want[800] = {0};
    fl_case_touched(&c, want, want + vocab);
    const fastloss_sgns_batch b = fl_case_batch(&c);
    fl_ns_check_touched(fl_sgns_step, &b, vocab, dim, c.in, c.out, &base, want, want + vocab,
                        group ? "grouped" : "per pair");
    fl_case_free(&c);
  }
  /* groups {pairs 0, 1}, {}, {pair 2}; negative 8 belongs to the empty group */
  const int32_t inputs[3] = {1, 2, 3}, targets[3] = {4, 4, 5}, negatives[3] = {6, 8, 7};
  const size_t offsets[4] = {0, 2, 2, 3};
  const fastloss_sgns_batch hand = {3, inputs, targets, 1, negatives, 3, offsets};
  float *in = NULL, *out = NULL;
  fl_ns_tables_new(&rng, 10, 40, 1.0, &in, &out);
  unsigned char want[20] = {0};
  want[1] = want[2] = want[3] = 1;
  want[10 + 4] = want[10 + 5] = want[10 + 6] = want[10 + 7] = 1;
  fl_ns_check_touched(fl_sgns_step, &hand, 10, 40, in, out, &base, want, want + 10, "empty group");
  /* target 10 is outside the vocabulary: an error, no mark */
  const int32_t bad_targets[3] = {4, 4, 10};
  fastloss_sgns_batch bad = hand;
  bad.targets = bad_targets;
  fl_ns_check_touched_error(fl_sgns_step, &bad, 10, 40, in, out, FASTLOSS_ERR_LABEL_OUT_OF_RANGE);
  free(in);
  free(out);
}
END_TEST

/* Private rows: one thread (or the deterministic mode) is exactly the call
 * without them; with two threads whose halves of the batch share only
 * private rows, the result is each half run alone from the same tables,
 * with a private row both used taking the mean of the two. */
static void fl_private_rows_case(fl_sgns_case *c, size_t hot, int grouped) {
  const size_t vocab = c->vocab, dim = c->dim, size = vocab * dim;
  const size_t half_groups = c->n_groups / 2;
  const size_t half_pairs = c->offsets ? c->offsets[half_groups] : half_groups;
  const float lr = 0.05f;
  const fastloss_sgns_batch b = fl_case_batch(c);
  const int saved = fastloss_get_num_threads();

  /* one thread, Hogwild, and the deterministic mode on three threads */
  for (int det = 0; det <= 1; det++) {
    fastloss_set_num_threads(det ? 3 : 1);
    fastloss_sgns_params plain = {.deterministic = det}, with = plain;
    with.private_rows = hot;
    float *in0 = fl_ns_copy(c->in, size), *out0 = fl_ns_copy(c->out, size);
    float *in1 = fl_ns_copy(c->in, size), *out1 = fl_ns_copy(c->out, size);
    double l0, l1;
    ck_assert_int_eq(fl_sgns_step(&b, vocab, dim, in0, out0, lr, &plain, &l0), FASTLOSS_OK);
    ck_assert_int_eq(fl_sgns_step(&b, vocab, dim, in1, out1, lr, &with, &l1), FASTLOSS_OK);
    ck_assert_msg(memcmp(in0, in1, sizeof(float) * size) == 0 &&
                      memcmp(out0, out1, sizeof(float) * size) == 0 && l0 == l1,
                  "private rows, %s: differs from the call without them",
                  det ? "deterministic, 3 threads" : "1 thread");
    free(in0), free(out0), free(in1), free(out1);
  }

  fastloss_set_num_threads(2);
  if (fastloss_get_num_threads() == 2) {
    /* each half alone, serially, from the same tables */
    float *in_h[2], *out_h[2];
    double loss_h[2];
    unsigned char *used_in[2], *used_out[2];
    const fastloss_sgns_params det = {.deterministic = 1};
    for (int h = 0; h < 2; h++) {
      const size_t g0 = h ? half_groups : 0, p0 = h ? half_pairs : 0;
      const size_t groups = h ? c->n_groups - half_groups : half_groups;
      const size_t pairs = h ? c->n_pairs - half_pairs : half_pairs;
      size_t *offsets = NULL;
      if (c->offsets) {
        offsets = malloc(sizeof(size_t) * (groups + 1));
        for (size_t g = 0; g <= groups; g++) offsets[g] = c->offsets[g0 + g] - p0;
      }
      fastloss_sgns_batch part = {
          pairs, c->inputs + p0, c->targets + p0, c->k, c->negatives + g0 * c->k, groups, offsets};
      in_h[h] = fl_ns_copy(c->in, size);
      out_h[h] = fl_ns_copy(c->out, size);
      ck_assert_int_eq(fl_sgns_step(&part, vocab, dim, in_h[h], out_h[h], lr, &det, &loss_h[h]),
                       FASTLOSS_OK);
      used_in[h] = calloc(vocab, 1);
      used_out[h] = calloc(vocab, 1);
      for (size_t i = 0; i < pairs; i++) {
        used_in[h][c->inputs[p0 + i]] = 1;
        used_out[h][c->targets[p0 + i]] = 1;
      }
      for (size_t i = 0; i < groups * c->k; i++) used_out[h][c->negatives[g0 * c->k + i]] = 1;
      free(offsets);
    }
    float *want_in = fl_ns_copy(c->in, size), *want_out = fl_ns_copy(c->out, size);
    for (size_t r = 0; r < vocab; r++)
      for (int table = 0; table < 2; table++) {
        unsigned char **used = table ? used_out : used_in;
        float **got = table ? out_h : in_h, *want = table ? want_out : want_in;
        for (size_t j = 0; j < dim; j++) {
          const size_t e = r * dim + j;
          if (used[0][r] && used[1][r]) {
            ck_assert(r < hot); /* the fixture shares only private rows */
            want[e] = (got[0][e] + got[1][e]) / 2.0f;
          } else if (used[0][r] || used[1][r]) {
            want[e] = got[used[0][r] ? 0 : 1][e];
          }
        }
      }
    fastloss_sgns_params hogwild = {.private_rows = hot};
    for (int run = 0; run < 2; run++) {
      float *in = fl_ns_copy(c->in, size), *out = fl_ns_copy(c->out, size);
      double loss;
      ck_assert_int_eq(fl_sgns_step(&b, vocab, dim, in, out, lr, &hogwild, &loss), FASTLOSS_OK);
      for (size_t e = 0; e < size; e++) {
        ck_assert_msg(in[e] == want_in[e],
                      "private rows (%s), 2 threads: in[%zu][%zu] = %.9g, want %.9g",
                      grouped ? "shared negatives" : "per pair", e / dim, e % dim, (double)in[e],
                      (double)want_in[e]);
        ck_assert_msg(out[e] == want_out[e],
                      "private rows (%s), 2 threads: out[%zu][%zu] = %.9g, want %.9g",
                      grouped ? "shared negatives" : "per pair", e / dim, e % dim, (double)out[e],
                      (double)want_out[e]);
      }
      ck_assert_msg(loss == loss_h[0] + loss_h[1], "private rows: loss %.17g, want %.17g", loss,
                    loss_h[0] + loss_h[1]);
      free(in), free(out);
      /* The same with head rows (fastloss_sgns_params.head_rows), fewer
       * than the private rows and more: a private row is copied from its
       * head row and merged back into it. */
      const size_t head_rows[2] = {hot / 2, hot + 7};
      for (int h = 0; h < 2; h++) {
        in = fl_ns_copy(c->in, size), out = fl_ns_copy(c->out, size);
        ck_assert_int_eq(fl_ns_step_with_heads(fl_sgns_step, &b, vocab, dim, in, out, &hogwild,
                                               head_rows[h], &loss),
                         FASTLOSS_OK);
        ck_assert_msg(memcmp(in, want_in, sizeof(float) * size) == 0 &&
                          memcmp(out, want_out, sizeof(float) * size) == 0 &&
                          loss == loss_h[0] + loss_h[1],
                      "private rows (%s), 2 threads, %zu head rows: differs from the call "
                      "without heads",
                      grouped ? "shared negatives" : "per pair", head_rows[h]);
        free(in), free(out);
      }
      /* Second run: every row private (above vocab counts as vocab); the
       * rows only one half uses take its copy, so the same want holds. */
      hogwild.private_rows = vocab + 5;
    }
    for (int h = 0; h < 2; h++) {
      free(in_h[h]), free(out_h[h]), free(used_in[h]), free(used_out[h]);
    }
    free(want_in), free(want_out);
  }
  fastloss_set_num_threads(saved);
}

START_TEST(sgns_private_rows) {
  const size_t vocab = 400, dim = 37, hot = 40, k = 2;
  fl_rng rng;
  fl_rng_seed(&rng, 2027);
  for (int grouped = 0; grouped <= 1; grouped++) {
    fl_sgns_case c = fl_case_new(&rng, vocab, dim, 240, k, grouped ? 6 : 0, 1.0);
    if (c.n_groups % 2) c.n_groups--, c.n_pairs = c.offsets ? c.offsets[c.n_groups] : c.n_groups;
    /* The two halves of the groups (the two threads' static shares) share
     * private rows only: each id is private half of the time, else from its
     * half's own range of the other rows. */
    const size_t half_groups = c.n_groups / 2;
    const size_t span = (vocab - hot) / 2;
    for (size_t g = 0; g < c.n_groups; g++) {
      const size_t h = g >= half_groups;
      const size_t first = c.offsets ? c.offsets[g] : g,
                   last = c.offsets ? c.offsets[g + 1] : g + 1;
#define FL_PICK()                                          \
  ((int32_t)(fl_rng_u32(&rng) % 2 ? fl_rng_u32(&rng) % hot \
                                  : hot + h * span + fl_rng_u32(&rng) % span))
      const int32_t target = FL_PICK();
      for (size_t i = first; i < last; i++) {
        c.inputs[i] = FL_PICK();
        c.targets[i] = (g % 3 == 2 && i == first) ? FL_PICK() : target;
      }
      for (size_t j = 0; j < k; j++) c.negatives[g * k + j] = FL_PICK();
#undef FL_PICK
    }
    fl_private_rows_case(&c, hot, grouped);
    fl_case_free(&c);
  }
}
END_TEST

/* Head rows (fastloss_sgns_params.head_rows): the call with the first rows
 * of both tables in heads of their own equals the call without, bit for
 * bit, per pair and grouped, with given and drawn negatives, on one thread
 * and in the deterministic mode on three; bad heads are errors. */
START_TEST(sgns_head_rows) {
  const size_t vocab = 60, dim = 19, k = 3;
  fl_rng rng;
  fl_rng_seed(&rng, 3031);
  for (size_t group = 0; group <= 6; group += 6) {
    fl_sgns_case c = fl_case_new(&rng, vocab, dim, 300, k, group, 1.0);
    const fastloss_sgns_batch b = fl_case_batch(&c);
    fastloss_sgns_batch drawing = b;
    drawing.negatives = NULL;
    fl_ns_check_heads_all(fl_sgns_step, &b, &drawing, vocab, dim, c.in, c.out,
                          group ? "grouped" : "per pair");
    fl_ns_check_head_errors(fl_sgns_step, &b, vocab, dim, c.in, c.out);
    fl_case_free(&c);
  }
}
END_TEST

Suite *fl_suite_sgns(void) {
  Suite *s = suite_create("sgns");
  TCase *tc = tcase_create("sgns");
  tcase_set_timeout(tc, 600);
  tcase_add_test(tc, sgns_matches_reference);
  tcase_add_test(tc, sgns_gradient_finite_differences);
  tcase_add_test(tc, sgns_threads);
  tcase_add_test(tc, sgns_extremes);
  tcase_add_test(tc, sgns_errors);
  tcase_add_test(tc, sgns_drawn_negatives);
  tcase_add_test(tc, sgns_private_rows);
  tcase_add_test(tc, sgns_touched_rows);
  tcase_add_test(tc, sgns_head_rows);
  suite_add_tcase(s, tc);
  return s;
}
