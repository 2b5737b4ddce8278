/* Philox4x32-10, AdvSIMD (4 blocks at a time).  Contract in
 * kernels/kernels.h.  Each of the four state words is a vector of the 4
 * blocks' words, so a round is two widening multiplies per word pair:
 * vmull_u32 and vmull_high_u32 give the 64-bit products of the low and high
 * two lanes, and two unzips put their low and high halves back in lane
 * order.  Counters and streams arrive as 64-bit values and are split into
 * their 32-bit halves by a de-interleaving load (vld2q_u32).
 * Tail: the last n % 4 blocks are computed in a padded copy, so nothing
 * past stream[n - 1], counter[n - 1] or a row of out is touched.
 * Follows the AVX2 file line for line. */
#include <arm_neon.h>
#include <stdint.h>
#include <string.h>

#include "kernels.h"

#define FL_UKERNEL_NAME(name) fl_u32_##name##_ukernel__neon
#define W 4

/* The low and high 32-bit halves of v[0..4), in order (little-endian). */
static inline void fl_neon_split64(const uint64_t *v, uint32x4_t *lo, uint32x4_t *hi) {
  const uint32x4x2_t halves = vld2q_u32((const uint32_t *)(const void *)v);
  *lo = halves.val[0];
  *hi = halves.val[1];
}

/* x_l * m as 64 bits, for every 32-bit lane l: the low and the high halves,
 * in lane order. */
static inline void fl_neon_mul_wide(uint32x4_t x, uint32_t m, uint32x4_t *lo, uint32x4_t *hi) {
  const uint32x4_t first = vreinterpretq_u32_u64(vmull_n_u32(vget_low_u32(x), m));
  const uint32x4_t second = vreinterpretq_u32_u64(vmull_high_n_u32(x, m));
  *lo = vuzp1q_u32(first, second);
  *hi = vuzp2q_u32(first, second);
}

/* Blocks [0, W) of stream, counter; word w of block i to out[w * ld + i]. */
static inline void fl_neon_philox(uint64_t key, const uint64_t *stream, const uint64_t *counter,
                                  uint32_t *out, size_t ld) {
  uint32x4_t x0, x1, x2, x3;
  fl_neon_split64(counter, &x0, &x1);
  fl_neon_split64(stream, &x2, &x3);
  uint32_t k0 = (uint32_t)key, k1 = (uint32_t)(key >> 32);
  for (int round = 0; round < 10; round++) {
    uint32x4_t lo0, hi0, lo1, hi1;
    fl_neon_mul_wide(x0, FL_PHILOX_M0, &lo0, &hi0);
    fl_neon_mul_wide(x2, FL_PHILOX_M1, &lo1, &hi1);
    x0 = veorq_u32(veorq_u32(hi1, x1), vdupq_n_u32(k0));
    x1 = lo1;
    x2 = veorq_u32(veorq_u32(hi0, x3), vdupq_n_u32(k1));
    x3 = lo0;
    k0 += FL_PHILOX_W0;
    k1 += FL_PHILOX_W1;
  }
  vst1q_u32(out, x0);
  vst1q_u32(out + ld, x1);
  vst1q_u32(out + 2 * ld, x2);
  vst1q_u32(out + 3 * ld, x3);
}

static void fl_u32_philox_ukernel__neon(size_t n, uint64_t key, const uint64_t *stream,
                                        const uint64_t *counter, uint32_t *out) {
  size_t i = 0;
  for (; i + W <= n; i += W) fl_neon_philox(key, stream + i, counter + i, out + i, n);
  if (i < n) {
    const size_t rest = n - i;
    uint64_t s[W] = {0}, c[W] = {0};
    uint32_t o[4 * W];
    memcpy(s, stream + i, rest * sizeof *s);
    memcpy(c, counter + i, rest * sizeof *c);
    fl_neon_philox(key, s, c, o, W);
    for (int w = 0; w < 4; w++) memcpy(out + (size_t)w * n + i, o + w * W, rest * sizeof *o);
  }
}

const fl_u32_rng_kernels fl_u32_rng_kernels__neon = {FL_RNG_KERNELS(FL_KERNEL_ENTRY)};
