/* The DiscreteSampler: fastloss_sampler_create (probabilities, counts or
 * log-probabilities from fuzzed bits: negative, NaN, inf, all zero...),
 * fastloss_sampler_create_unigram (fuzzed counts and power), then
 * fastloss_sampler_sample / _sample_rng / _prob.  Checks: an error writes
 * nothing (the sampler pointer and the draws stay as they were); every draw
 * is in [0, n) with nonzero probability; without replacement one call's
 * draws are distinct; and the draws are the same bits on every kernel table
 * (the header: draws depend only on the seed and stream). */
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

  const fl_isa_kernels *isas[FZ_MAX_ISAS];
  const size_t n_isas = fz_isas(isas, FZ_MAX_ISAS);
  int32_t draws[FZ_MAX_ISAS][FZ_MAX_K + 1];
  fastloss_status st[FZ_MAX_ISAS][3];
  for (size_t a = 0; a < n_isas; a++) {
    fl_dispatch_force(isas[a]);
    fastloss_sampler *s = (fastloss_sampler *)&in; /* must stay as is on error */
    st[a][0] = unigram ? fastloss_sampler_create_unigram(&s, counts, n, power, seed)
                       : fastloss_sampler_create(&s, w, n, log_weights, with_replacement, seed);
    memset(draws[a], 0xff, sizeof draws[a]);
    st[a][1] = st[a][2] = FASTLOSS_OK;
    if (st[a][0] != FASTLOSS_OK) {
      if (s != (fastloss_sampler *)&in)
        fz_fail("create: status %d but *sampler written", (int)st[a][0]);
      continue;
    }
    if (fastloss_sampler_size(s) != n) fz_fail("size %zu, want %zu", fastloss_sampler_size(s), n);
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
  return 0;
}
