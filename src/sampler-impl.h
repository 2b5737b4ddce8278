/* Inline internals of sampler.c for the draw loops of the negative-sampling
 * steps (sgns.c, cbow.c): the Philox4x32-10 block function and the alias
 * draw from one uniform, so a step's draws are no function calls per word.
 * sampler.c builds its public streams and draws on these same functions, so
 * a draw made here equals the one fastloss_sampler_sample_rng makes from the
 * same words.  Nothing here is exported. */
#ifndef FASTLOSS_SAMPLER_IMPL_H
#define FASTLOSS_SAMPLER_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "fastloss.h"
#include "kernels.h" /* FL_PHILOX_*: the constants the Philox kernels use too */

struct fastloss_sampler {
  size_t n;
  size_t nonzero; /* classes of probability > 0: the most draws without replacement */
  int with_replacement;
  double *prob;      /* normalised; what _prob and NCE's log Q read */
  double *threshold; /* keep column i when x - i < threshold[i] */
  int32_t *alias;
  fastloss_rng rng; /* fastloss_sampler_sample's stream */
};

/* Blocks this many counters apart are computed in lockstep: their rounds
 * are independent, so their multiplies overlap instead of waiting on each
 * other's ten-round chain. */
#define FL_PHILOX_LANES 4

/* Philox4x32-10 of the counters (first + l, stream) for l < lanes (at most
 * FL_PHILOX_LANES) under key, word w of block l into out[l][w].  Counter
 * words: (block low, block high, stream low, stream high); key words: (key
 * low, key high).  lanes is a constant at every call, so each copy unrolls
 * to straight-line code. */
static inline void fl_philox_blocks(uint64_t key, uint64_t stream, uint64_t first, int lanes,
                                    uint32_t out[][4]) {
  uint32_t x0[FL_PHILOX_LANES], x1[FL_PHILOX_LANES], x2[FL_PHILOX_LANES], x3[FL_PHILOX_LANES];
  for (int l = 0; l < lanes; l++) {
    x0[l] = (uint32_t)(first + (uint64_t)l);
    x1[l] = (uint32_t)((first + (uint64_t)l) >> 32);
    x2[l] = (uint32_t)stream;
    x3[l] = (uint32_t)(stream >> 32);
  }
  uint32_t k0 = (uint32_t)key, k1 = (uint32_t)(key >> 32);
  for (int round = 0; round < 10; round++) {
    for (int l = 0; l < lanes; l++) {
      const uint64_t p0 = (uint64_t)FL_PHILOX_M0 * x0[l], p1 = (uint64_t)FL_PHILOX_M1 * x2[l];
      x0[l] = (uint32_t)(p1 >> 32) ^ x1[l] ^ k0;
      x1[l] = (uint32_t)p1;
      x2[l] = (uint32_t)(p0 >> 32) ^ x3[l] ^ k1;
      x3[l] = (uint32_t)p0;
    }
    k0 += FL_PHILOX_W0;
    k1 += FL_PHILOX_W1;
  }
  for (int l = 0; l < lanes; l++) {
    out[l][0] = x0[l];
    out[l][1] = x1[l];
    out[l][2] = x2[l];
    out[l][3] = x3[l];
  }
}

/* The uniform double in [0, 1) of two successive stream words (53 bits:
 * the first word high), as fastloss_rng_uniform takes them.  Converted as a
 * signed integer (exact: below 2^53), which x86-64 does in one
 * instruction where an unsigned one needs a branch. */
static inline double fl_uniform_of(uint32_t high, uint32_t low) {
  return (double)(int64_t)((((uint64_t)high << 32) | low) >> 11) * 0x1.0p-53;
}

/* Vose's alias draw from the uniform u (fl_alias_pick), or from x = u n
 * (fl_alias_pick_scaled): x = u n, column i = floor(x), i
 * when x - i < threshold[i], else alias[i].  n < 2^31, so the conversions
 * go through int64_t (the same values as through size_t, without the
 * branches of unsigned conversion), and the choice is a mask, not a branch:
 * it goes either way about as often, and a mispredicted branch cost more
 * than the rest of the draw. */
static inline int32_t fl_alias_pick_scaled(const fastloss_sampler *s, double x) {
  const int64_t n = (int64_t)s->n;
  int64_t column = (int64_t)x;
  /* u < 1 keeps x below n in exact arithmetic; this guards the rounding. */
  column = column < n ? column : n - 1;
  const int32_t alias = s->alias[column];
  const int32_t keep = -(int32_t)(x - (double)column < s->threshold[column]);
  return alias ^ (((int32_t)column ^ alias) & keep);
}
static inline int32_t fl_alias_pick(const fastloss_sampler *s, double u) {
  return fl_alias_pick_scaled(s, u * (double)s->n);
}

#endif
