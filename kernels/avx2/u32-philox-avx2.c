/* Philox4x32-10, AVX2 (8 blocks at a time).  Contract in kernels/kernels.h.
 * Each of the four state words is a vector of the 8 blocks' words, so a
 * round is two widening multiplies per word pair: _mm256_mul_epu32 takes
 * the even 32-bit lanes, a 64-bit shift brings the odd ones down, and two
 * blends put the low and high halves of the 8 products back in lane order.
 * Counters and streams arrive as 64-bit values and are split into their
 * 32-bit halves by one permute per 4 values and a 128-bit shuffle.
 * Tail: the last n % 8 blocks are computed in a padded copy, so nothing
 * past stream[n - 1], counter[n - 1] or a row of out is touched.
 * The AVX-512 and NEON files follow this one line for line. */
#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#include "kernels.h"

#define FL_UKERNEL_NAME(name) fl_u32_##name##_ukernel__avx2
#define W 8

/* The low and high 32-bit halves of v[0..8), in order. */
static inline void fl_avx2_split64(const uint64_t *v, __m256i *lo, __m256i *hi) {
  const __m256i order = _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7);
  const __m256i a = _mm256_permutevar8x32_epi32(_mm256_loadu_si256((const __m256i *)v), order);
  const __m256i b =
      _mm256_permutevar8x32_epi32(_mm256_loadu_si256((const __m256i *)(v + 4)), order);
  *lo = _mm256_permute2x128_si256(a, b, 0x20);
  *hi = _mm256_permute2x128_si256(a, b, 0x31);
}

/* x_l * m (m broadcast) as 64 bits, for every 32-bit lane l: the low and the
 * high halves, in lane order. */
static inline void fl_avx2_mul_wide(__m256i x, __m256i m, __m256i *lo, __m256i *hi) {
  const __m256i even = _mm256_mul_epu32(x, m);
  const __m256i odd = _mm256_mul_epu32(_mm256_srli_epi64(x, 32), m);
  *lo = _mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0xAA);
  *hi = _mm256_blend_epi32(_mm256_srli_epi64(even, 32), odd, 0xAA);
}

/* Blocks [0, W) of stream, counter; word w of block i to out[w * ld + i]. */
static inline void fl_avx2_philox(uint64_t key, const uint64_t *stream, const uint64_t *counter,
                                  uint32_t *out, size_t ld) {
  __m256i x0, x1, x2, x3;
  fl_avx2_split64(counter, &x0, &x1);
  fl_avx2_split64(stream, &x2, &x3);
  const __m256i m0 = _mm256_set1_epi32((int)FL_PHILOX_M0),
                m1 = _mm256_set1_epi32((int)FL_PHILOX_M1);
  uint32_t k0 = (uint32_t)key, k1 = (uint32_t)(key >> 32);
  for (int round = 0; round < 10; round++) {
    __m256i lo0, hi0, lo1, hi1;
    fl_avx2_mul_wide(x0, m0, &lo0, &hi0);
    fl_avx2_mul_wide(x2, m1, &lo1, &hi1);
    x0 = _mm256_xor_si256(_mm256_xor_si256(hi1, x1), _mm256_set1_epi32((int)k0));
    x1 = lo1;
    x2 = _mm256_xor_si256(_mm256_xor_si256(hi0, x3), _mm256_set1_epi32((int)k1));
    x3 = lo0;
    k0 += FL_PHILOX_W0;
    k1 += FL_PHILOX_W1;
  }
  _mm256_storeu_si256((__m256i *)out, x0);
  _mm256_storeu_si256((__m256i *)(out + ld), x1);
  _mm256_storeu_si256((__m256i *)(out + 2 * ld), x2);
  _mm256_storeu_si256((__m256i *)(out + 3 * ld), x3);
}

static void fl_u32_philox_ukernel__avx2(size_t n, uint64_t key, const uint64_t *stream,
                                        const uint64_t *counter, uint32_t *out) {
  size_t i = 0;
  for (; i + W <= n; i += W) fl_avx2_philox(key, stream + i, counter + i, out + i, n);
  if (i < n) {
    const size_t rest = n - i;
    uint64_t s[W] = {0}, c[W] = {0};
    uint32_t o[4 * W];
    memcpy(s, stream + i, rest * sizeof *s);
    memcpy(c, counter + i, rest * sizeof *c);
    fl_avx2_philox(key, s, c, o, W);
    for (int w = 0; w < 4; w++) memcpy(out + (size_t)w * n + i, o + w * W, rest * sizeof *o);
  }
}

const fl_u32_rng_kernels fl_u32_rng_kernels__avx2 = {FL_RNG_KERNELS(FL_KERNEL_ENTRY)};
