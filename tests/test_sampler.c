/* The random streams and the DiscreteSampler: Philox4x32-10 known answers,
 * the stream layout, determinism, chi-square goodness of fit with and
 * without replacement on each internal path (rejection, its fallbacks, the
 * sum tree), the unigram helper, many threads, and every error status.
 *
 * Goodness of fit: Pearson's chi-square against probabilities computed here
 * from the weights, its p-value from the regularised incomplete gamma
 * function (itself checked against closed forms).  Seeds are fixed, so each
 * test is deterministic; a correct sampler would fail one with probability
 * FL_P_MIN over a random choice of seed.  Each fit test also shows it can
 * fail: the same counts against a slightly different distribution give a
 * p-value below FL_P_MIN. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testing.h"

/* Hidden in src/sampler.c. */
void fl_philox4x32_10(const uint32_t counter[4], const uint32_t key[2], uint32_t out[4]);
void fl_sampler_test_allow_tree(int allow);

#define FL_P_MIN 1e-6

/* ------------------------------------------------------- chi-square */

/* Q(a, x) = Gamma(a, x) / Gamma(a).  Below x = a + 1 the power series of
 * P = 1 - Q, P = x^a e^-x / Gamma(a) * sum_n x^n / (a (a+1) ... (a+n));
 * above it the continued fraction of Q (DLMF 8.9.2), evaluated by Lentz's
 * method. */
static double fl_gamma_q(double a, double x) {
  if (x <= 0.0) return 1.0;
  const double prefix = exp(a * log(x) - x - lgamma(a));
  if (x < a + 1.0) {
    double term = 1.0 / a, sum = term;
    for (int n = 1; n < 100000 && term > sum * 1e-17; n++) {
      term *= x / (a + n);
      sum += term;
    }
    return 1.0 - prefix * sum;
  }
  const double tiny = 1e-300;
  double b = x + 1.0 - a, c = 1.0 / tiny, d = 1.0 / b, h = d;
  for (int n = 1; n < 100000; n++) {
    const double an = -n * (n - a);
    b += 2.0;
    d = an * d + b;
    if (fabs(d) < tiny) d = tiny;
    c = b + an / c;
    if (fabs(c) < tiny) c = tiny;
    d = 1.0 / d;
    const double delta = d * c;
    h *= delta;
    if (fabs(delta - 1.0) < 1e-16) break;
  }
  return prefix * h;
}

/* P(chi-square with df degrees of freedom >= x). */
static double fl_chi2_sf(double x, double df) { return fl_gamma_q(0.5 * df, 0.5 * x); }

/* p-value of observed[cells] (from `trials` trials) against prob[cells].
 * Cells expected fewer than 5 times are pooled into one cell.  An
 * observation in a cell of probability 0 gives 0. */
static double fl_fit_p(const size_t *observed, const double *prob, size_t cells, size_t trials) {
  double stat = 0.0, pooled_observed = 0.0, pooled_expected = 0.0;
  size_t used = 0;
  for (size_t c = 0; c < cells; c++) {
    const double e = prob[c] * (double)trials, o = (double)observed[c];
    if (prob[c] == 0.0 && o > 0.0) return 0.0;
    if (e < 5.0) {
      pooled_observed += o;
      pooled_expected += e;
      continue;
    }
    stat += (o - e) * (o - e) / e;
    used++;
  }
  if (pooled_expected > 0.0) {
    stat +=
        (pooled_observed - pooled_expected) * (pooled_observed - pooled_expected) / pooled_expected;
    used++;
  }
  ck_assert_msg(used >= 2, "a fit needs two cells");
  return fl_chi2_sf(stat, (double)(used - 1));
}

START_TEST(chi2_survival_closed_forms) {
  /* df 1: erfc(sqrt(x / 2)); df 2: e^(-x/2); df 4: e^(-x/2) (1 + x/2). */
  const double xs[] = {0.01, 0.5, 1.0, 2.9, 3.1, 10.0, 40.0, 90.0};
  for (size_t i = 0; i < sizeof xs / sizeof xs[0]; i++) {
    const double x = xs[i];
    FL_CHECK(fl_close(fl_chi2_sf(x, 1), erfc(sqrt(x / 2)), 1e-300, 1e-10), "df 1, x %g", x);
    FL_CHECK(fl_close(fl_chi2_sf(x, 2), exp(-x / 2), 1e-300, 1e-10), "df 2, x %g", x);
    FL_CHECK(fl_close(fl_chi2_sf(x, 4), exp(-x / 2) * (1 + x / 2), 1e-300, 1e-10), "df 4, x %g", x);
  }
  /* Tabulated 5% and 1% points: df 10 -> 18.307, 23.209; df 30 -> 43.773. */
  ck_assert(fabs(fl_chi2_sf(18.307038053275146, 10) - 0.05) < 1e-9);
  ck_assert(fabs(fl_chi2_sf(23.209251158954356, 10) - 0.01) < 1e-9);
  ck_assert(fabs(fl_chi2_sf(43.77297182574219, 30) - 0.05) < 1e-9);
}
END_TEST

/* ---------------------------------------------------------- Philox */

START_TEST(philox_known_answers) {
  /* Random123's kat_vectors, philox4x32 with 10 rounds. */
  static const struct {
    uint32_t counter[4], key[2], want[4];
  } kat[] = {
      {{0, 0, 0, 0}, {0, 0}, {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
      {{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff},
       {0xffffffff, 0xffffffff},
       {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
      {{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344},
       {0xa4093822, 0x299f31d0},
       {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
  };
  for (size_t t = 0; t < sizeof kat / sizeof kat[0]; t++) {
    uint32_t got[4];
    fl_philox4x32_10(kat[t].counter, kat[t].key, got);
    for (int w = 0; w < 4; w++)
      FL_CHECK(got[w] == kat[t].want[w], "vector %zu word %d: %08x, want %08x", t, w, got[w],
               kat[t].want[w]);
  }
}
END_TEST

/* The ISA's Philox kernel (kernels/<isa>/u32-philox-<isa>.c): installed
 * as the ISA's own; Random123's vectors through it; and every block of
 * n = 0..40, 63-65, 100 and 257 (the vector widths and their tails) bit for
 * bit against fl_philox4x32_10, from random 64-bit keys, streams and
 * counters, with the inputs on 8-byte but not 16-byte boundaries, the output
 * on a 4-byte one, and guard words around the output. */
START_TEST(philox_kernel) {
  const fl_u32_rng_kernels *k = fl_run.kernels->u32_rng;
  FL_CHECK((k == &fl_u32_rng_kernels__scalar) == (fl_run.isa == FASTLOSS_ISA_SCALAR),
           "%s: the Philox kernel is %s the scalar one", fl_run.mode,
           k == &fl_u32_rng_kernels__scalar ? "" : "not");
  {
    /* the third known-answer vector as (stream, counter, key) */
    const uint64_t stream = 0x0370734413198a2eu, counter = 0x85a308d3243f6a88u;
    const uint64_t key = 0x299f31d0a4093822u;
    uint32_t out[4];
    k->philox(1, key, &stream, &counter, out);
    const uint32_t want[4] = {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1};
    for (int w = 0; w < 4; w++)
      FL_CHECK(out[w] == want[w], "%s: word %d: %08x, want %08x", fl_run.mode, w, out[w], want[w]);
  }
  fl_rng rng;
  fl_rng_seed(&rng, 9090);
  size_t sizes[64], count = 0;
  for (size_t n = 0; n <= 40; n++) sizes[count++] = n;
  sizes[count++] = 63;
  sizes[count++] = 64;
  sizes[count++] = 65;
  sizes[count++] = 100;
  sizes[count++] = 257;
  enum { GUARD = 8 };
  for (size_t t = 0; t < count; t++) {
    const size_t n = sizes[t];
    uint64_t *in = malloc((2 * n + 2) * sizeof *in + 16);
    uint32_t *out = malloc((4 * n + 2 * GUARD + 1) * sizeof *out);
    ck_assert_ptr_nonnull(in);
    ck_assert_ptr_nonnull(out);
    /* 16-byte-aligned from malloc: +1 element puts them on odd 8-byte words */
    uint64_t *stream = in + 1, *counter = stream + n;
    uint32_t *got = out + GUARD + 1;
    for (size_t i = 0; i < 4 * n + 2 * GUARD + 1; i++) out[i] = 0xA5A5A5A5u;
    const uint64_t key = (uint64_t)fl_rng_u32(&rng) << 32 | fl_rng_u32(&rng);
    for (size_t i = 0; i < n; i++) {
      stream[i] = (uint64_t)fl_rng_u32(&rng) << 32 | fl_rng_u32(&rng);
      counter[i] = (uint64_t)fl_rng_u32(&rng) << 32 | fl_rng_u32(&rng);
      if (i % 7 == 3) counter[i] = UINT64_MAX - i; /* all-ones halves */
      if (i % 11 == 5) stream[i] = i;              /* zero high halves */
    }
    k->philox(n, key, stream, counter, got);
    for (size_t i = 0; i < n; i++) {
      const uint32_t c[4] = {(uint32_t)counter[i], (uint32_t)(counter[i] >> 32),
                             (uint32_t)stream[i], (uint32_t)(stream[i] >> 32)};
      const uint32_t kw[2] = {(uint32_t)key, (uint32_t)(key >> 32)};
      uint32_t want[4];
      fl_philox4x32_10(c, kw, want);
      for (int w = 0; w < 4; w++)
        FL_CHECK(got[(size_t)w * n + i] == want[w], "%s: n %zu block %zu word %d: %08x, want %08x",
                 fl_run.mode, n, i, w, got[(size_t)w * n + i], want[w]);
    }
    for (size_t i = 0; i < GUARD + 1; i++)
      FL_CHECK(out[i] == 0xA5A5A5A5u, "%s: n %zu: guard word %zu before the output written",
               fl_run.mode, n, i);
    for (size_t i = 0; i < GUARD; i++)
      FL_CHECK(got[4 * n + i] == 0xA5A5A5A5u, "%s: n %zu: guard word %zu after the output written",
               fl_run.mode, n, i);
    free(in);
    free(out);
  }
}
END_TEST

static void fl_block(uint64_t seed, uint64_t stream, uint64_t block, uint32_t out[4]) {
  const uint32_t counter[4] = {(uint32_t)block, (uint32_t)(block >> 32), (uint32_t)stream,
                               (uint32_t)(stream >> 32)};
  const uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
  fl_philox4x32_10(counter, key, out);
}

START_TEST(rng_stream_layout) {
  const uint64_t seed = 0x0123456789abcdefull, stream = 0xfedcba9876543210ull;
  fastloss_rng rng;
  fastloss_rng_init(&rng, seed, stream);
  ck_assert(rng.used == 4 && rng.counter == 0 && rng.key == seed && rng.stream == stream);
  for (uint64_t b = 0; b < 3; b++) {
    uint32_t want[4];
    fl_block(seed, stream, b, want);
    for (int w = 0; w < 4; w++) {
      const uint32_t got = fastloss_rng_u32(&rng);
      FL_CHECK(got == want[w], "block %d word %d: %08x, want %08x", (int)b, w, got, want[w]);
    }
  }
  ck_assert(rng.counter == 3 && rng.used == 4);

  /* The block number carries into the counter's second word. */
  rng.counter = 0xffffffffull;
  rng.used = 4;
  uint32_t want[8];
  fl_block(seed, stream, 0xffffffffull, want);
  fl_block(seed, stream, 0x100000000ull, want + 4);
  for (int w = 0; w < 8; w++) FL_CHECK(fastloss_rng_u32(&rng) == want[w], "carry word %d", w);

  /* A uniform is the top 53 bits of two successive words, the first the
   * high one, also across a block boundary. */
  for (int skip = 0; skip < 4; skip++) {
    fastloss_rng words, uniforms;
    fastloss_rng_init(&words, seed, stream);
    fastloss_rng_init(&uniforms, seed, stream);
    for (int s = 0; s < skip; s++) {
      fastloss_rng_u32(&words);
      fastloss_rng_u32(&uniforms);
    }
    for (int d = 0; d < 10; d++) {
      const uint64_t hi = fastloss_rng_u32(&words), lo = fastloss_rng_u32(&words);
      const double want_u = (double)(((hi << 32) | lo) >> 11) / 9007199254740992.0;
      const double got_u = fastloss_rng_uniform(&uniforms);
      FL_CHECK(got_u == want_u, "skip %d draw %d: %.17g, want %.17g", skip, d, got_u, want_u);
    }
  }

  /* Range, mean, and all 53 bits in use. */
  fastloss_rng_init(&rng, 7, 0);
  double sum = 0.0;
  size_t low_bits_set = 0;
  const size_t draws = 100000;
  for (size_t d = 0; d < draws; d++) {
    const double u = fastloss_rng_uniform(&rng);
    FL_CHECK(u >= 0.0 && u < 1.0, "uniform %.17g outside [0, 1)", u);
    sum += u;
    if (((uint64_t)(u * 9007199254740992.0) & 0x1fffff) != 0) low_bits_set++;
  }
  /* 6 standard deviations of the mean of uniforms, sqrt(1 / (12 draws)). */
  ck_assert_msg(fabs(sum / draws - 0.5) < 6 * sqrt(1.0 / (12.0 * draws)), "mean %g", sum / draws);
  ck_assert_msg(low_bits_set > draws * 99 / 100, "only %zu uniforms use their low 21 bits",
                low_bits_set);
}
END_TEST

/* How many of the first `count` words of two streams are equal. */
static size_t fl_equal_words(uint64_t seed_a, uint64_t stream_a, uint64_t seed_b, uint64_t stream_b,
                             size_t count) {
  fastloss_rng a, b;
  fastloss_rng_init(&a, seed_a, stream_a);
  fastloss_rng_init(&b, seed_b, stream_b);
  size_t equal = 0;
  for (size_t i = 0; i < count; i++) equal += fastloss_rng_u32(&a) == fastloss_rng_u32(&b);
  return equal;
}

START_TEST(rng_determinism) {
  ck_assert_uint_eq(fl_equal_words(42, 3, 42, 3, 1000), 1000);
  /* Distinct streams agree on a word with probability 2^-32. */
  ck_assert_uint_le(fl_equal_words(42, 3, 43, 3, 1000), 1);
  ck_assert_uint_le(fl_equal_words(42, 3, 42, 4, 1000), 1);
  ck_assert_uint_le(fl_equal_words(42, 0, 42 + (1ull << 32), 0, 1000), 1); /* key high word */
  ck_assert_uint_le(fl_equal_words(42, 0, 42, 1ull << 32, 1000), 1);       /* stream high word */
  ck_assert_uint_le(fl_equal_words(0, 0, 0, 1, 1000), 1);
}
END_TEST

/* -------------------------------------------------------- samplers */

static fastloss_sampler *fl_make(const double *weights, size_t n, int log_weights,
                                 int with_replacement, uint64_t seed) {
  fastloss_sampler *s = NULL;
  const fastloss_status status =
      fastloss_sampler_create(&s, weights, n, log_weights, with_replacement, seed);
  ck_assert_msg(status == FASTLOSS_OK, "create: %s", fastloss_last_error());
  ck_assert_uint_eq(fastloss_sampler_size(s), n);
  return s;
}

/* FL_CHECK, not ck_assert: these run in loops of 10^5 calls. */
static void fl_draw(const fastloss_sampler *s, fastloss_rng *rng, size_t k, int32_t *out) {
  const fastloss_status status = fastloss_sampler_sample_rng(s, rng, k, out);
  FL_CHECK(status == FASTLOSS_OK, "sample_rng(k = %zu): %s", k, fastloss_last_error());
}

static void fl_sample(fastloss_sampler *s, size_t k, int32_t *out) {
  const fastloss_status status = fastloss_sampler_sample(s, k, out);
  FL_CHECK(status == FASTLOSS_OK, "sample(k = %zu): %s", k, fastloss_last_error());
}

/* weights / their sum. */
static void fl_normalise(const double *weights, size_t n, double *prob) {
  double sum = 0.0;
  for (size_t i = 0; i < n; i++) sum += weights[i];
  for (size_t i = 0; i < n; i++) prob[i] = weights[i] / sum;
}

/* Fails unless out[k] are distinct ids in [0, n) of nonzero weight. */
static void fl_check_distinct(const int32_t *out, size_t k, size_t n, const double *weights,
                              const char *what) {
  unsigned char *seen = calloc(n, 1);
  FL_CHECK1(seen != NULL);
  for (size_t j = 0; j < k; j++) {
    FL_CHECK(out[j] >= 0 && (size_t)out[j] < n, "%s: out[%zu] = %d outside [0, %zu)", what, j,
             out[j], n);
    FL_CHECK(!seen[out[j]], "%s: out[%zu] = %d repeats an earlier draw", what, j, out[j]);
    FL_CHECK(weights == NULL || weights[out[j]] > 0.0, "%s: out[%zu] = %d has weight 0", what, j,
             out[j]);
    seen[out[j]] = 1;
  }
  free(seen);
}

/* 20 uneven classes, class 5 of weight 0. */
static void fl_uneven20(double *w) {
  for (int i = 0; i < 20; i++) w[i] = 1.0 + (i * 7) % 11;
  w[0] = 30.0;
  w[5] = 0.0;
  w[13] = 0.25;
}

START_TEST(sampler_determinism) {
  double w[20];
  fl_uneven20(w);
  for (int replace = 0; replace <= 1; replace++) {
    const size_t k = replace ? 100 : 4;
    fastloss_sampler *a = fl_make(w, 20, 0, replace, 99), *b = fl_make(w, 20, 0, replace, 99);
    fastloss_sampler *c = fl_make(w, 20, 0, replace, 100);
    fastloss_rng own, other;
    fastloss_rng_init(&own, 99, 0);
    fastloss_rng_init(&other, 99, 1);
    size_t same_seed_other = 0, other_stream = 0, total = 0;
    for (int call = 0; call < 200; call++) {
      int32_t da[100], db[100], dc[100], dr[100], ds[100];
      fl_sample(a, k, da);
      fl_sample(b, k, db);
      fl_sample(c, k, dc);
      fl_draw(a, &own, k, dr);
      fl_draw(a, &other, k, ds);
      for (size_t j = 0; j < k; j++) {
        FL_CHECK(da[j] == db[j], "replace %d call %d draw %zu: same seed differs", replace, call,
                 j);
        FL_CHECK(da[j] == dr[j], "replace %d call %d draw %zu: sample != sample_rng stream 0",
                 replace, call, j);
        same_seed_other += da[j] != dc[j];
        other_stream += da[j] != ds[j];
        total++;
      }
    }
    /* Independent draws from this distribution differ about 90% of the time. */
    ck_assert_msg(same_seed_other > total / 2, "seeds 99 and 100: %zu of %zu differ",
                  same_seed_other, total);
    ck_assert_msg(other_stream > total / 2, "streams 0 and 1: %zu of %zu differ", other_stream,
                  total);
    fastloss_sampler_destroy(a);
    fastloss_sampler_destroy(b);
    fastloss_sampler_destroy(c);
  }

  /* With replacement a draw takes exactly one uniform (two words). */
  fastloss_sampler *s = fl_make(w, 20, 0, 1, 5);
  fastloss_rng rng, twin;
  fastloss_rng_init(&rng, 5, 9);
  fastloss_rng_init(&twin, 5, 9);
  int32_t out[7];
  fl_draw(s, &rng, 7, out);
  for (int d = 0; d < 7; d++) fastloss_rng_uniform(&twin);
  ck_assert(rng.counter == twin.counter && rng.used == twin.used);
  fastloss_sampler_destroy(s);
}
END_TEST

/* The draw is the documented arithmetic on one uniform u: x = u n, column
 * floor(x), kept when x - column < threshold.  Two tables known in closed
 * form: equal weights over a power of two (every threshold 1, so the draw
 * is floor(u n)), and weights {1, 3} (column 0 keeps itself below 0.5 and
 * gives the rest to class 1, so the draw is 0 exactly when u < 1/4). */
START_TEST(draw_arithmetic) {
  const double equal[8] = {2, 2, 2, 2, 2, 2, 2, 2}, two[2] = {1, 3};
  fastloss_sampler *s8 = fl_make(equal, 8, 0, 1, 0), *s2 = fl_make(two, 2, 0, 1, 0);
  fastloss_rng rng, twin;
  fastloss_rng_init(&rng, 12345, 6);
  fastloss_rng_init(&twin, 12345, 6);
  for (int call = 0; call < 1000; call++) {
    int32_t out[10];
    fl_draw(s8, &rng, 5, out);
    fl_draw(s2, &rng, 5, out + 5);
    for (int j = 0; j < 5; j++) {
      const double u = fastloss_rng_uniform(&twin);
      FL_CHECK(out[j] == (int32_t)(u * 8), "call %d: drew %d for u = %.17g", call, out[j], u);
    }
    for (int j = 5; j < 10; j++) {
      const double u = fastloss_rng_uniform(&twin);
      FL_CHECK(out[j] == (u < 0.25 ? 0 : 1), "call %d: drew %d for u = %.17g", call, out[j], u);
    }
  }
  fastloss_sampler_destroy(s8);
  fastloss_sampler_destroy(s2);
}
END_TEST

/* Counts of `draws` draws with replacement, in calls of 1000. */
static void fl_count_draws(fastloss_sampler *s, size_t n, size_t draws, size_t *counts) {
  int32_t out[1000];
  memset(counts, 0, n * sizeof *counts);
  for (size_t done = 0; done < draws; done += 1000) {
    fl_sample(s, 1000, out);
    for (int j = 0; j < 1000; j++) {
      FL_CHECK(out[j] >= 0 && (size_t)out[j] < n, "draw %d outside [0, %zu)", out[j], n);
      counts[out[j]]++;
    }
  }
}

START_TEST(with_replacement_fit) {
  enum { N = 20 };
  const size_t draws = 200000;
  double w[N], logw[N], p[N], perturbed[N];
  fl_uneven20(w);
  fl_normalise(w, N, p);
  for (int i = 0; i < N; i++) logw[i] = log(w[i]); /* log(0) = -inf: probability 0 */
  for (int log_weights = 0; log_weights <= 1; log_weights++) {
    fastloss_sampler *s = fl_make(log_weights ? logw : w, N, log_weights, 1, 2024 + log_weights);
    for (size_t i = 0; i < N; i++) {
      double got;
      FL_CHECK1(fastloss_sampler_prob(s, i, &got) == FASTLOSS_OK);
      FL_CHECK(fl_close(got, p[i], 0.0, 1e-13), "prob(%zu) = %.17g, want %.17g", i, got, p[i]);
    }
    size_t counts[N];
    fl_count_draws(s, N, draws, counts);
    ck_assert_uint_eq(counts[5], 0);
    const double p_value = fl_fit_p(counts, p, N, draws);
    ck_assert_msg(p_value > FL_P_MIN, "log %d: chi-square p-value %g", log_weights, p_value);
    /* The same counts reject a distribution 10% off in one class. */
    memcpy(perturbed, w, sizeof w);
    perturbed[3] *= 1.1;
    fl_normalise(perturbed, N, perturbed);
    const double p_perturbed = fl_fit_p(counts, perturbed, N, draws);
    ck_assert_msg(p_perturbed < FL_P_MIN, "log %d: a perturbed distribution fits, p = %g",
                  log_weights, p_perturbed);
    fastloss_sampler_destroy(s);
  }
}
END_TEST

START_TEST(zero_probability_never_drawn) {
  enum { N = 64 };
  double w[N];
  size_t nonzero = 0;
  for (int i = 0; i < N; i++) {
    w[i] = i % 5 == 0 ? 1.0 + i : 0.0;
    nonzero += w[i] > 0.0;
  }
  fastloss_sampler *s = fl_make(w, N, 0, 1, 11);
  size_t counts[N];
  fl_count_draws(s, N, 100000, counts);
  for (int i = 0; i < N; i++)
    FL_CHECK((counts[i] == 0) == (w[i] == 0.0), "class %d (weight %g) drawn %zu times", i, w[i],
             counts[i]);
  fastloss_sampler_destroy(s);

  /* Without replacement k = the nonzero count must give exactly those. */
  for (int allow_tree = 1; allow_tree >= 0; allow_tree--) {
    fl_sampler_test_allow_tree(allow_tree);
    s = fl_make(w, N, 0, 0, 12);
    for (int call = 0; call < 200; call++) {
      int32_t out[N];
      fl_sample(s, nonzero, out);
      fl_check_distinct(out, nonzero, N, w, "k = nonzero");
    }
    fastloss_sampler_destroy(s);
    /* Three classes among a thousand: rejection, then its fallback. */
    double sparse[1000] = {0};
    sparse[3] = 0.5;
    sparse[500] = 1e-9;
    sparse[999] = 2.0;
    s = fl_make(sparse, 1000, 0, 0, 13);
    for (int call = 0; call < 200; call++) {
      int32_t out[3];
      fl_sample(s, 3, out);
      fl_check_distinct(out, 3, 1000, sparse, "three of a thousand");
    }
    fastloss_sampler_destroy(s);
  }
  fl_sampler_test_allow_tree(1);
}
END_TEST

START_TEST(log_weights_match_weights) {
  enum { N = 9 };
  const double w[N] = {0.5, 2.0, 0.0, 7.25, 1e-3, 3.0, 0.0, 1.0, 11.0};
  double p[N], shifted[3][N], huge[N];
  fl_normalise(w, N, p);
  /* Offsets that overflow or underflow exp() unless the maximum is taken
   * out first. */
  const double offsets[3] = {0.0, 1000.0, -1000.0};
  for (int o = 0; o < 3; o++)
    for (int i = 0; i < N; i++) shifted[o][i] = log(w[i]) + offsets[o];
  for (int i = 0; i < N; i++) huge[i] = w[i] * 1e307; /* the sum overflows */
  const double *sets[5] = {w, shifted[0], shifted[1], shifted[2], huge};
  const int is_log[5] = {0, 1, 1, 1, 0};
  for (int t = 0; t < 5; t++) {
    fastloss_sampler *s = fl_make(sets[t], N, is_log[t], 1, 1);
    for (size_t i = 0; i < N; i++) {
      double got;
      FL_CHECK1(fastloss_sampler_prob(s, i, &got) == FASTLOSS_OK);
      FL_CHECK(fl_close(got, p[i], 0.0, 1e-12), "set %d: prob(%zu) = %.17g, want %.17g", t, i, got,
               p[i]);
    }
    fastloss_sampler_destroy(s);
  }
}
END_TEST

START_TEST(without_replacement_distinct) {
  const size_t sizes[] = {1, 2, 3, 4, 5, 8, 17, 64, 100, 1000};
  fl_rng gen;
  fl_rng_seed(&gen, 31);
  for (int allow_tree = 1; allow_tree >= 0; allow_tree--) {
    fl_sampler_test_allow_tree(allow_tree);
    for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
      const size_t n = sizes[si];
      double *w = malloc(n * sizeof *w);
      int32_t *out = malloc(n * sizeof *out);
      for (size_t i = 0; i < n; i++) w[i] = 0.01 + fl_rng_uniform(&gen) * (i % 3 == 0 ? 100 : 1);
      fastloss_sampler *s = fl_make(w, n, 0, 0, 1000 + n);
      const size_t ks[] = {1, 2, 3, n / 4 - 1, n / 4, n / 4 + 1, n / 2, n - 2, n - 1, n};
      for (size_t ki = 0; ki < sizeof ks / sizeof ks[0]; ki++) {
        const size_t k = ks[ki];
        if (k == 0 || k > n) continue;
        for (int call = 0; call < (n >= 1000 ? 10 : 50); call++) {
          fl_sample(s, k, out);
          fl_check_distinct(out, k, n, w, "distinct");
        }
      }
      fastloss_sampler_destroy(s);
      free(w);
      free(out);
    }
  }
  fl_sampler_test_allow_tree(1);
}
END_TEST

/* First draws of `trials` calls of k without replacement against p. */
static void fl_check_first_draw(const double *w, size_t n, size_t k, size_t trials, uint64_t seed) {
  double *p = malloc(n * sizeof *p), *perturbed = malloc(n * sizeof *p);
  size_t *counts = calloc(n, sizeof *counts);
  int32_t *out = malloc(k * sizeof *out);
  fl_normalise(w, n, p);
  fastloss_sampler *s = fl_make(w, n, 0, 0, seed);
  for (size_t t = 0; t < trials; t++) {
    fl_sample(s, k, out);
    counts[out[0]]++;
  }
  const double p_value = fl_fit_p(counts, p, n, trials);
  ck_assert_msg(p_value > FL_P_MIN, "n %zu k %zu: first draws p-value %g", n, k, p_value);
  size_t heaviest = 0;
  for (size_t i = 0; i < n; i++)
    if (p[i] > p[heaviest]) heaviest = i;
  memcpy(perturbed, w, n * sizeof *w);
  perturbed[heaviest] *= 1.2;
  fl_normalise(perturbed, n, perturbed);
  ck_assert_msg(fl_fit_p(counts, perturbed, n, trials) < FL_P_MIN,
                "n %zu k %zu: a perturbed distribution fits", n, k);
  fastloss_sampler_destroy(s);
  free(p);
  free(perturbed);
  free(counts);
  free(out);
}

START_TEST(without_replacement_first_draw) {
  double w[40];
  for (int i = 0; i < 40; i++) w[i] = 1.0 + (i * 13) % 17;
  w[7] = 40.0;
  for (int allow_tree = 1; allow_tree >= 0; allow_tree--) {
    fl_sampler_test_allow_tree(allow_tree);
    fl_check_first_draw(w, 40, 3, 100000, 77); /* rejection */
    fl_check_first_draw(w, 8, 6, 100000, 78);  /* sum tree, or the walk */
    fl_check_first_draw(w, 40, 40, 30000, 79); /* k = n; the walk is O(n) a draw */
  }
  fl_sampler_test_allow_tree(1);
}
END_TEST

/* Ordered pairs of k = 2 draws without replacement against successive
 * sampling, P(i, j) = p_i p_j / (1 - p_i); and, to show the test can tell,
 * against drawing pairs with replacement until distinct, P ~ p_i p_j. */
static void fl_check_pairs(const double *w, size_t n, size_t trials, uint64_t seed,
                           const char *what) {
  double *p = malloc(n * sizeof *p), *want = calloc(n * n, sizeof *want);
  double *other = calloc(n * n, sizeof *other);
  size_t *counts = calloc(n * n, sizeof *counts);
  fl_normalise(w, n, p);
  double other_sum = 0.0;
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < n; j++) {
      if (i == j) continue;
      want[i * n + j] = p[i] * p[j] / (1.0 - p[i]);
      other[i * n + j] = p[i] * p[j];
      other_sum += p[i] * p[j];
    }
  for (size_t c = 0; c < n * n; c++) other[c] /= other_sum;
  fastloss_sampler *s = fl_make(w, n, 0, 0, seed);
  for (size_t t = 0; t < trials; t++) {
    int32_t out[2];
    fl_sample(s, 2, out);
    FL_CHECK(out[0] != out[1], "%s: a pair repeats %d", what, out[0]);
    counts[(size_t)out[0] * n + (size_t)out[1]]++;
  }
  const double p_value = fl_fit_p(counts, want, n * n, trials);
  ck_assert_msg(p_value > FL_P_MIN, "%s: pairs p-value %g", what, p_value);
  const double p_other = fl_fit_p(counts, other, n * n, trials);
  ck_assert_msg(p_other < FL_P_MIN, "%s: pairs also fit p_i p_j, p = %g", what, p_other);
  fastloss_sampler_destroy(s);
  free(p);
  free(want);
  free(other);
  free(counts);
}

START_TEST(without_replacement_pairs) {
  const double four[4] = {0.1, 0.2, 0.3, 0.4};
  double twelve[12], skewed[12];
  for (int i = 0; i < 12; i++) {
    twelve[i] = 1.0 + i;
    skewed[i] = 0.01 * (1.0 + i) / 78.0;
  }
  twelve[4] = 25.0;
  /* After class 0 a draw is accepted with probability 0.01, so rejection
   * gives up (32 repeats) about 72% of the time. */
  skewed[0] = 0.99;
  for (int allow_tree = 1; allow_tree >= 0; allow_tree--) {
    fl_sampler_test_allow_tree(allow_tree);
    const char *path = allow_tree ? "tree" : "walk";
    char what[64];
    snprintf(what, sizeof what, "n = 4 (%s)", path);
    fl_check_pairs(four, 4, 200000, 5 + allow_tree, what);
    snprintf(what, sizeof what, "n = 12, rejection (%s)", path);
    fl_check_pairs(twelve, 12, 200000, 7 + allow_tree, what);
    snprintf(what, sizeof what, "n = 12 skewed, fallback (%s)", path);
    fl_check_pairs(skewed, 12, 200000, 9 + allow_tree, what);
  }
  fl_sampler_test_allow_tree(1);
}
END_TEST

START_TEST(skewed_without_replacement) {
  const size_t sizes[] = {1000, 100000};
  for (size_t si = 0; si < 2; si++) {
    const size_t n = sizes[si];
    double *w = malloc(n * sizeof *w);
    int32_t *out = malloc(n * sizeof *out);
    for (size_t i = 0; i < n; i++) w[i] = 1e-6 / (double)(n - 1);
    w[n / 3] = 0.999999;
    for (int allow_tree = 1; allow_tree >= 0; allow_tree--) {
      /* The walk is O(n) a draw: only on the small case. */
      if (!allow_tree && n > 1000) continue;
      fl_sampler_test_allow_tree(allow_tree);
      fastloss_sampler *s = fl_make(w, n, 0, 0, 3);
      const size_t ks[] = {n, n - 1, n / 5, 2};
      for (size_t ki = 0; ki < 4; ki++) {
        size_t heavy_first = 0;
        for (int call = 0; call < 5; call++) {
          fl_sample(s, ks[ki], out);
          fl_check_distinct(out, ks[ki], n, w, "skewed");
          heavy_first += out[0] == (int32_t)(n / 3);
        }
        /* Anything else first has probability 1e-6 a call. */
        ck_assert_uint_eq(heavy_first, 5);
      }
      fastloss_sampler_destroy(s);
    }
    free(w);
    free(out);
  }
  fl_sampler_test_allow_tree(1);
}
END_TEST

START_TEST(single_class) {
  const double one = 3.0;
  for (int replace = 0; replace <= 1; replace++) {
    fastloss_sampler *s = fl_make(&one, 1, 0, replace, 4);
    int32_t out[5] = {7, 7, 7, 7, 7};
    fl_sample(s, replace ? 5 : 1, out);
    for (int j = 0; j < (replace ? 5 : 1); j++) ck_assert_int_eq(out[j], 0);
    double p = 0;
    ck_assert_int_eq(fastloss_sampler_prob(s, 0, &p), FASTLOSS_OK);
    ck_assert(p == 1.0);
    fastloss_sampler_destroy(s);
  }
}
END_TEST

START_TEST(unigram_matches_pow) {
  enum { N = 10 };
  const uint64_t counts[N] = {0, 1, 5, 100, 7, 0, 123456789, 3, UINT64_MAX, UINT64_MAX / 2};
  const double powers[] = {0.0, -1.0, 0.75, 1.0, 0.5, 2.0};
  for (size_t t = 0; t < sizeof powers / sizeof powers[0]; t++) {
    const double used = powers[t] <= 0.0 ? 0.75 : powers[t];
    double want[N], sum = 0.0;
    for (int i = 0; i < N; i++) sum += want[i] = pow((double)counts[i], used);
    for (int i = 0; i < N; i++) want[i] /= sum;
    fastloss_sampler *s = NULL;
    ck_assert_int_eq(fastloss_sampler_create_unigram(&s, counts, N, powers[t], 8), FASTLOSS_OK);
    ck_assert_uint_eq(fastloss_sampler_size(s), N);
    for (size_t i = 0; i < N; i++) {
      double got;
      FL_CHECK1(fastloss_sampler_prob(s, i, &got) == FASTLOSS_OK);
      FL_CHECK(fl_close(got, want[i], 1e-300, 1e-12), "power %g: prob(%zu) = %.17g, want %.17g",
               powers[t], i, got, want[i]);
    }
    fastloss_sampler_destroy(s);
  }

  /* A word2vec-sized draw: with replacement, fits counts^0.75. */
  enum { V = 30 };
  uint64_t vocab[V];
  double want[V], sum = 0.0;
  for (int i = 0; i < V; i++) vocab[i] = i == 17 ? 0 : (uint64_t)(1000.0 / (i + 1));
  for (int i = 0; i < V; i++) sum += want[i] = pow((double)vocab[i], 0.75);
  for (int i = 0; i < V; i++) want[i] /= sum;
  fastloss_sampler *s = NULL;
  ck_assert_int_eq(fastloss_sampler_create_unigram(&s, vocab, V, 0.0, 21), FASTLOSS_OK);
  size_t got[V];
  fl_count_draws(s, V, 200000, got);
  ck_assert_uint_eq(got[17], 0);
  const double p_value = fl_fit_p(got, want, V, 200000);
  ck_assert_msg(p_value > FL_P_MIN, "unigram p-value %g", p_value);
  /* Plain counts (power 1) do not fit. */
  double linear[V];
  for (int i = 0; i < V; i++) linear[i] = (double)vocab[i];
  fl_normalise(linear, V, linear);
  ck_assert(fl_fit_p(got, linear, V, 200000) < FL_P_MIN);
  /* More than k draws from a unigram sampler: it samples with replacement. */
  int32_t many[100];
  fl_sample(s, 100, many);
  fastloss_sampler_destroy(s);
}
END_TEST

START_TEST(sample_rng_threads) {
  enum { STREAMS = 16, CALLS = 50, K = 40 };
  double w[200];
  for (int i = 0; i < 200; i++) w[i] = 1.0 + (i * 31) % 23;
  for (int replace = 0; replace <= 1; replace++) {
    fastloss_sampler *s = fl_make(w, 200, 0, replace, 555);
    int32_t *serial = malloc(sizeof(int32_t) * STREAMS * CALLS * K);
    int32_t *parallel = malloc(sizeof(int32_t) * STREAMS * CALLS * K);
    memset(parallel, 0xff, sizeof(int32_t) * STREAMS * CALLS * K);
    for (int st = 0; st < STREAMS; st++) {
      fastloss_rng rng;
      fastloss_rng_init(&rng, 555, (uint64_t)st);
      for (int c = 0; c < CALLS; c++) fl_draw(s, &rng, K, serial + ((size_t)st * CALLS + c) * K);
    }
    int failures = 0;
#pragma omp parallel for num_threads(4) schedule(dynamic, 1) reduction(+ : failures)
    for (int st = 0; st < STREAMS; st++) {
      fastloss_rng rng;
      fastloss_rng_init(&rng, 555, (uint64_t)st);
      for (int c = 0; c < CALLS; c++)
        failures += fastloss_sampler_sample_rng(
                        s, &rng, K, parallel + ((size_t)st * CALLS + c) * K) != FASTLOSS_OK;
    }
    ck_assert_int_eq(failures, 0);
    for (size_t i = 0; i < (size_t)STREAMS * CALLS * K; i++)
      FL_CHECK(serial[i] == parallel[i], "replace %d: draw %zu differs between threads", replace,
               i);
    free(serial);
    free(parallel);
    fastloss_sampler_destroy(s);
  }
}
END_TEST

/* ----------------------------------------------------------- errors */

static void fl_expect_error(fastloss_status got, fastloss_status want, const char *part) {
  ck_assert_msg(got == want, "got %s (%s), want %s", fastloss_status_str(got),
                fastloss_last_error(), fastloss_status_str(want));
  ck_assert_msg(strstr(fastloss_last_error(), part) != NULL, "message '%s' lacks '%s'",
                fastloss_last_error(), part);
}

/* create() must fail with want and leave *sampler as it was. */
static void fl_expect_create(fastloss_status want, const char *part, const double *w, size_t n,
                             int log_weights) {
  int sentinel;
  fastloss_sampler *s = (fastloss_sampler *)&sentinel;
  fl_expect_error(fastloss_sampler_create(&s, w, n, log_weights, 1, 0), want, part);
  ck_assert_ptr_eq(s, (fastloss_sampler *)&sentinel);
}

static void fl_expect_unigram(fastloss_status want, const char *part, const uint64_t *counts,
                              size_t n, double power) {
  int sentinel;
  fastloss_sampler *s = (fastloss_sampler *)&sentinel;
  fl_expect_error(fastloss_sampler_create_unigram(&s, counts, n, power, 0), want, part);
  ck_assert_ptr_eq(s, (fastloss_sampler *)&sentinel);
}

START_TEST(sampler_errors) {
  double w[5] = {1, 2, 3, 4, 5};
  fl_expect_error(fastloss_sampler_create(NULL, w, 5, 0, 1, 0), FASTLOSS_ERR_NULL_POINTER,
                  "sampler is NULL");
  fl_expect_create(FASTLOSS_ERR_NULL_POINTER, "weights is NULL", NULL, 5, 0);
  fl_expect_create(FASTLOSS_ERR_INVALID_SHAPE, "n = 0", w, 0, 0);
  /* Refused before any weight is read. */
  fl_expect_create(FASTLOSS_ERR_INVALID_SHAPE, "n = 2147483648 exceeds INT32_MAX", w,
                   (size_t)INT32_MAX + 1, 0);
  w[2] = -0.5;
  fl_expect_create(FASTLOSS_ERR_INVALID_ARGUMENT, "weights[2] = -0.5 is negative", w, 5, 0);
  w[2] = 3;
  w[3] = NAN;
  fl_expect_create(FASTLOSS_ERR_INVALID_ARGUMENT, "weights[3] = nan is not finite", w, 5, 0);
  fl_expect_create(FASTLOSS_ERR_INVALID_ARGUMENT, "weights[3] = nan is not a log weight", w, 5, 1);
  w[3] = INFINITY;
  fl_expect_create(FASTLOSS_ERR_INVALID_ARGUMENT, "weights[3] = inf is not finite", w, 5, 0);
  fl_expect_create(FASTLOSS_ERR_INVALID_ARGUMENT, "weights[3] = inf is not a log weight", w, 5, 1);
  w[3] = -INFINITY;
  fl_expect_create(FASTLOSS_ERR_INVALID_ARGUMENT, "weights[3] = -inf is not finite", w, 5, 0);
  const double zeros[3] = {0, 0, 0}, minus_inf[3] = {-INFINITY, -INFINITY, -INFINITY};
  fl_expect_create(FASTLOSS_ERR_INVALID_ARGUMENT, "every weight is 0", zeros, 3, 0);
  fl_expect_create(FASTLOSS_ERR_INVALID_ARGUMENT, "every log weight is -inf", minus_inf, 3, 1);

  const uint64_t counts[3] = {4, 0, 9}, no_counts[3] = {0, 0, 0};
  fl_expect_error(fastloss_sampler_create_unigram(NULL, counts, 3, 0.75, 0),
                  FASTLOSS_ERR_NULL_POINTER, "sampler is NULL");
  fl_expect_unigram(FASTLOSS_ERR_NULL_POINTER, "counts is NULL", NULL, 3, 0.75);
  fl_expect_unigram(FASTLOSS_ERR_INVALID_SHAPE, "n = 0", counts, 0, 0.75);
  fl_expect_unigram(FASTLOSS_ERR_INVALID_SHAPE, "n = 4294967296 exceeds INT32_MAX", counts,
                    (size_t)1 << 32, 0.75);
  fl_expect_unigram(FASTLOSS_ERR_INVALID_ARGUMENT, "every count is 0", no_counts, 3, 0.75);
  fl_expect_unigram(FASTLOSS_ERR_INVALID_ARGUMENT, "power = nan is not finite", counts, 3, NAN);
  fl_expect_unigram(FASTLOSS_ERR_INVALID_ARGUMENT, "power = inf is not finite", counts, 3,
                    INFINITY);

  /* Sampling: 2 of 5 classes have probability 0. */
  const double sparse[5] = {1, 0, 2, 0, 3};
  fastloss_sampler *s = fl_make(sparse, 5, 0, 0, 17);
  fastloss_sampler *twin = fl_make(sparse, 5, 0, 0, 17);
  int32_t out[8], expect[8];
  memset(out, 0x5a, sizeof out);
  memcpy(expect, out, sizeof out);
  fastloss_rng rng, rng_copy;
  fastloss_rng_init(&rng, 1, 2);
  fastloss_rng_uniform(&rng);
  rng_copy = rng;
  fl_expect_error(fastloss_sampler_sample(NULL, 2, out), FASTLOSS_ERR_NULL_POINTER,
                  "sampler is NULL");
  fl_expect_error(fastloss_sampler_sample(s, 2, NULL), FASTLOSS_ERR_NULL_POINTER, "out is NULL");
  fl_expect_error(fastloss_sampler_sample_rng(NULL, &rng, 2, out), FASTLOSS_ERR_NULL_POINTER,
                  "sampler is NULL");
  fl_expect_error(fastloss_sampler_sample_rng(s, NULL, 2, out), FASTLOSS_ERR_NULL_POINTER,
                  "rng is NULL");
  fl_expect_error(fastloss_sampler_sample_rng(s, &rng, 4, out), FASTLOSS_ERR_INVALID_ARGUMENT,
                  "k = 4 exceeds the 3 classes of nonzero probability");
  fl_expect_error(fastloss_sampler_sample(s, 6, out), FASTLOSS_ERR_INVALID_ARGUMENT,
                  "k = 6 exceeds the 3 classes");
  /* k = 0 succeeds and writes nothing, with or without a buffer. */
  fl_sample(s, 0, out);
  fl_sample(s, 0, NULL);
  ck_assert_int_eq(fastloss_sampler_sample_rng(s, &rng, 0, out), FASTLOSS_OK);
  ck_assert(memcmp(out, expect, sizeof out) == 0);
  /* Field by field: memcmp would read the struct's padding, which
   * assignment need not copy (valgrind reports it as uninitialised). */
  ck_assert(rng.key == rng_copy.key && rng.stream == rng_copy.stream &&
            rng.counter == rng_copy.counter && rng.used == rng_copy.used &&
            memcmp(rng.buffer, rng_copy.buffer, sizeof rng.buffer) == 0);
  /* No draw was taken from the sampler's own stream either. */
  int32_t a[3], b[3];
  fl_sample(s, 3, a);
  fl_sample(twin, 3, b);
  ck_assert(memcmp(a, b, sizeof a) == 0);

  double prob = -1.0;
  fl_expect_error(fastloss_sampler_prob(s, 5, &prob), FASTLOSS_ERR_LABEL_OUT_OF_RANGE,
                  "i = 5 is outside [0, 5)");
  fl_expect_error(fastloss_sampler_prob(s, SIZE_MAX, &prob), FASTLOSS_ERR_LABEL_OUT_OF_RANGE,
                  "is outside [0, 5)");
  fl_expect_error(fastloss_sampler_prob(NULL, 0, &prob), FASTLOSS_ERR_NULL_POINTER,
                  "sampler is NULL");
  fl_expect_error(fastloss_sampler_prob(s, 0, NULL), FASTLOSS_ERR_NULL_POINTER, "prob is NULL");
  ck_assert(prob == -1.0);
  ck_assert_uint_eq(fastloss_sampler_size(NULL), 0);
  fastloss_sampler_destroy(NULL);
  fastloss_sampler_destroy(s);
  fastloss_sampler_destroy(twin);
}
END_TEST

Suite *fl_suite_sampler(void) {
  Suite *suite = suite_create("sampler");
  TCase *tc = tcase_create("sampler");
  tcase_set_timeout(tc, 600);
  tcase_add_test(tc, chi2_survival_closed_forms);
  tcase_add_test(tc, philox_known_answers);
  tcase_add_test(tc, philox_kernel);
  tcase_add_test(tc, rng_stream_layout);
  tcase_add_test(tc, rng_determinism);
  tcase_add_test(tc, sampler_determinism);
  tcase_add_test(tc, draw_arithmetic);
  tcase_add_test(tc, with_replacement_fit);
  tcase_add_test(tc, zero_probability_never_drawn);
  tcase_add_test(tc, log_weights_match_weights);
  tcase_add_test(tc, without_replacement_distinct);
  tcase_add_test(tc, without_replacement_first_draw);
  tcase_add_test(tc, without_replacement_pairs);
  tcase_add_test(tc, skewed_without_replacement);
  tcase_add_test(tc, single_class);
  tcase_add_test(tc, unigram_matches_pow);
  tcase_add_test(tc, sample_rng_threads);
  tcase_add_test(tc, sampler_errors);
  suite_add_tcase(suite, tc);
  return suite;
}
