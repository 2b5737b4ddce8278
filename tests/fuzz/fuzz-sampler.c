/* The DiscreteSampler: fastloss_sampler_create (probabilities, counts or
 * log-probabilities from fuzzed bits: negative, NaN, inf, all zero...),
 * fastloss_sampler_create_unigram (fuzzed counts and power), then
 * fastloss_sampler_sample / _sample_rng / _prob.  Checks: an error writes
 * nothing (the sampler pointer and the draws stay as they were); every draw
 * is in [0, n) with nonzero probability; without replacement one call's
 * draws are distinct; and the draws are the same bits on every kernel table
 * (the header: draws depend only on the seed and stream).
 *
 * create_unigram (appended decisions, after everything above: a byte that
 * sometimes passes a NULL counts or sampler pointer): the status the
 * header and sampler.c document (NULL pointer, n = 0 INVALID_SHAPE,
 * a non-finite power or every count 0 INVALID_ARGUMENT), nothing written
 * on error (the sampler pointer, the counts), and each class's
 * probability against counts[i]^power / sum_j counts[j]^power (power <= 0
 * selecting 0.75) computed here in long double, as (c_i / c_max)^power
 * from the exact counts: within (8 power + n + 8) DBL_EPSILON relative
 * (sampler.c rounds each count to double and divides, 3 roundings that
 * pow multiplies by the power, then pow, the double sum of n terms and
 * the division; the same again through the sum) plus 1e-300 absolute
 * (underflow to 0 or to a denormal in double, where long double still
 * holds the value); the probabilities sum to 1 within 1e-13. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

enum { FZ_MAX_ISAS = 4, FZ_MAX_K = 80 };

static void fz_draws(fastloss_sampler *s, size_t n, int with_replacement, size_t k, uint64_t seed,
                     int32_t *out, fastloss_status *st) {
  int32_t *buf = fz_alloc_bytes((k ? k : 1) * sizeof(int32_t));
  for (size_t j = 0; j < k; j++) buf[j] = -7;
  fastloss_rng rng;
  fastloss_rng_init(&rng, seed, 3);
  st[0] = fastloss_sampler_sample(s, k, buf);
  st[1] = fastloss_sampler_sample_rng(s, &rng, k, out);
  for (int c = 0; c < 2; c++) {
    const int32_t *d = c ? out : buf;
    for (size_t j = 0; j < k; j++) {
      if (st[c] != FASTLOSS_OK) {
        if (d[j] != -7) fz_fail("sample call %d: status %d but out[%zu] written", c, (int)st[c], j);
        continue;
      }
      if (d[j] < 0 || (size_t)d[j] >= n) fz_fail("draw %d outside [0, %zu)", (int)d[j], n);
      double p = -1.0;
      if (fastloss_sampler_prob(s, (size_t)d[j], &p) != FASTLOSS_OK || !(p > 0.0))
        fz_fail("draw %d has probability %g", (int)d[j], p);
      if (!with_replacement)
        for (size_t i = 0; i < j; i++)
          if (d[i] == d[j]) fz_fail("without replacement: draw %d repeated", (int)d[j]);
    }
  }
  free(buf);
}

/* The status create_unigram must give, in the order sampler.c checks. */
static fastloss_status fz_unigram_expected(int null_sampler, const uint64_t *counts, size_t n,
                                           double power) {
  if (null_sampler || counts == NULL) return FASTLOSS_ERR_NULL_POINTER;
  if (n == 0) return FASTLOSS_ERR_INVALID_SHAPE;
  if (!isfinite(power)) return FASTLOSS_ERR_INVALID_ARGUMENT;
  for (size_t i = 0; i < n; i++)
    if (counts[i] != 0) return FASTLOSS_OK;
  return FASTLOSS_ERR_INVALID_ARGUMENT;
}

/* Each probability of an OK unigram sampler against the long-double
 * reference (c_i / c_max)^power / sum_j (c_j / c_max)^power. */
static void fz_unigram_check(const fastloss_sampler *s, const uint64_t *counts, size_t n,
                             double power) {
  const long double pw = power <= 0.0 ? 0.75L : (long double)power;
  uint64_t largest = 0;
  for (size_t i = 0; i < n; i++)
    if (counts[i] > largest) largest = counts[i];
  long double ref[64], sum = 0.0L;
  for (size_t i = 0; i < n; i++) {
    ref[i] = counts[i] == 0 ? 0.0L : powl((long double)counts[i] / (long double)largest, pw);
    sum += ref[i];
  }
  long double total = 0.0L;
  for (size_t i = 0; i < n; i++) {
    double p = -1.0;
    if (fastloss_sampler_prob(s, i, &p) != FASTLOSS_OK) fz_fail("unigram: prob(%zu) failed", i);
    const long double want = ref[i] / sum;
    const long double rel = (8.0L * pw + (long double)n + 8.0L) * DBL_EPSILON;
    if (!(fabsl((long double)p - want) <= rel * want + 1e-300L))
      fz_fail("unigram: prob(%zu) = %.17g, count %llu^%.17g / sum = %.17Lg", i, p,
              (unsigned long long)counts[i], (double)pw, want);
    if (counts[i] == 0 && p != 0.0) fz_fail("unigram: count 0 has probability %.17g", p);
    total += p;
  }
  if (!(fabsl(total - 1.0L) <= 1e-13L)) fz_fail("unigram: probabilities sum to %.17Lg", total);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fz_input in = {data, size};
  const uint8_t flags = fz_u8(&in);
  const int unigram = flags & 1, log_weights = (flags >> 1) & 1,
            with_replacement = (flags >> 2) & 1;
  const size_t n = fz_range(&in, 0, 64), k = fz_range(&in, 0, FZ_MAX_K);
  const uint64_t seed = fz_u32(&in);
  double *w = fz_alloc_bytes((n ? n : 1) * sizeof(double));
  uint64_t *counts = fz_alloc_bytes((n ? n : 1) * sizeof(uint64_t));
  for (size_t i = 0; i < n; i++) {
    w[i] = fz_double(&in);
    const uint8_t sel = fz_u8(&in);
    counts[i] = sel < 200 ? sel : (uint64_t)fz_u32(&in) << (sel % 33);
  }
  const double power = fz_double(&in);
  /* Appended: 1 a NULL counts, 2 a NULL sampler pointer (unigram only). */
  const uint8_t bad = fz_u8(&in);
  const int null_counts = unigram && bad == 1, null_sampler = unigram && bad == 2;
  uint64_t *counts_copy = fz_alloc_bytes((n ? n : 1) * sizeof(uint64_t));
  memcpy(counts_copy, counts, (n ? n : 1) * sizeof(uint64_t));
  const fastloss_status want_unigram =
      fz_unigram_expected(null_sampler, null_counts ? NULL : counts, n, power);

  const fl_isa_kernels *isas[FZ_MAX_ISAS];
  const size_t n_isas = fz_isas(isas, FZ_MAX_ISAS);
  int32_t draws[FZ_MAX_ISAS][FZ_MAX_K + 1];
  fastloss_status st[FZ_MAX_ISAS][3];
  for (size_t a = 0; a < n_isas; a++) {
    fl_dispatch_force(isas[a]);
    fastloss_sampler *s = (fastloss_sampler *)&in; /* must stay as is on error */
    st[a][0] = unigram ? fastloss_sampler_create_unigram(
                             null_sampler ? NULL : &s, null_counts ? NULL : counts, n, power, seed)
                       : fastloss_sampler_create(&s, w, n, log_weights, with_replacement, seed);
    if (unigram) {
      if (st[a][0] != want_unigram)
        fz_fail("%s: create_unigram status %d, want %d (%s)", isas[a]->name, (int)st[a][0],
                (int)want_unigram, fastloss_last_error());
      if (memcmp(counts, counts_copy, (n ? n : 1) * sizeof(uint64_t)))
        fz_fail("%s: create_unigram wrote counts", isas[a]->name);
    }
    memset(draws[a], 0xff, sizeof draws[a]);
    st[a][1] = st[a][2] = FASTLOSS_OK;
    if (st[a][0] != FASTLOSS_OK) {
      if (s != (fastloss_sampler *)&in)
        fz_fail("create: status %d but *sampler written", (int)st[a][0]);
      continue;
    }
    if (fastloss_sampler_size(s) != n) fz_fail("size %zu, want %zu", fastloss_sampler_size(s), n);
    if (unigram && a == 0) fz_unigram_check(s, counts, n, power);
    for (size_t j = 0; j < k; j++) draws[a][j] = -7;
    fz_draws(s, n, unigram || with_replacement, k, seed, draws[a], &st[a][1]);
    fastloss_sampler_destroy(s);
  }
  for (size_t a = 1; a < n_isas; a++)
    for (int c = 0; c < 3; c++) {
      if (st[a][c] != st[0][c])
        fz_fail("%s call %d status %d, scalar %d", isas[a]->name, c, (int)st[a][c], (int)st[0][c]);
      if (memcmp(draws[a], draws[0], sizeof draws[0]))
        fz_fail("%s draws differ from scalar's", isas[a]->name);
    }
  free(w);
  free(counts);
  free(counts_copy);
  return 0;
}
