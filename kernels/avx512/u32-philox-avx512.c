/* Philox4x32-10, AVX-512 F (16 blocks at a time).  Contract in
 * kernels/kernels.h.  Each of the four state words is a vector of the 16
 * blocks' words, so a round is two widening multiplies per word pair:
 * _mm512_mul_epu32 takes the even 32-bit lanes, a 64-bit shift brings the
 * odd ones down, and two blends put the low and high halves of the 16
 * products back in lane order.  Counters and streams arrive as 64-bit
 * values and are split into their 32-bit halves by one two-source permute
 * per half.
 * Tail: the last n % 16 blocks are computed in a padded copy, so nothing
 * past stream[n - 1], counter[n - 1] or a row of out is touched.
 * Follows the AVX2 file line for line.  Compiled a second time against SIMDe
 * (FL_AVX512_EMULATED, tests only) as fl_u32_rng_kernels__avx512_emulated. */
#include <stdint.h>
#include <string.h>

#include "avx512-math.h"
#include "kernels.h"

#define FL_UKERNEL_NAME(name) fl_u32_##name##_ukernel__avx512
#define W 16
#ifdef FL_AVX512_EMULATED
#define FL_AVX512_TABLE fl_u32_rng_kernels__avx512_emulated
#else
#define FL_AVX512_TABLE fl_u32_rng_kernels__avx512
#endif

/* The low and high 32-bit halves of v[0..16), in order. */
static inline void fl_avx512_split64(const uint64_t *v, __m512i *lo, __m512i *hi) {
  const __m512i evens =
      _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512i odds = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
  const __m512i a = _mm512_loadu_si512((const void *)v);
  const __m512i b = _mm512_loadu_si512((const void *)(v + 8));
  *lo = _mm512_permutex2var_epi32(a, evens, b);
  *hi = _mm512_permutex2var_epi32(a, odds, b);
}

/* x_l * m (m broadcast) as 64 bits, for every 32-bit lane l: the low and the
 * high halves, in lane order. */
static inline void fl_avx512_mul_wide(__m512i x, __m512i m, __m512i *lo, __m512i *hi) {
  const __m512i even = _mm512_mul_epu32(x, m);
  const __m512i odd = _mm512_mul_epu32(_mm512_srli_epi64(x, 32), m);
  *lo = _mm512_mask_blend_epi32((__mmask16)0xAAAA, even, _mm512_slli_epi64(odd, 32));
  *hi = _mm512_mask_blend_epi32((__mmask16)0xAAAA, _mm512_srli_epi64(even, 32), odd);
}

/* Blocks [0, W) of stream, counter; word w of block i to out[w * ld + i]. */
static inline void fl_avx512_philox(uint64_t key, const uint64_t *stream, const uint64_t *counter,
                                    uint32_t *out, size_t ld) {
  __m512i x0, x1, x2, x3;
  fl_avx512_split64(counter, &x0, &x1);
  fl_avx512_split64(stream, &x2, &x3);
  const __m512i m0 = _mm512_set1_epi32((int)FL_PHILOX_M0),
                m1 = _mm512_set1_epi32((int)FL_PHILOX_M1);
  uint32_t k0 = (uint32_t)key, k1 = (uint32_t)(key >> 32);
  for (int round = 0; round < 10; round++) {
    __m512i lo0, hi0, lo1, hi1;
    fl_avx512_mul_wide(x0, m0, &lo0, &hi0);
    fl_avx512_mul_wide(x2, m1, &lo1, &hi1);
    x0 = _mm512_xor_si512(_mm512_xor_si512(hi1, x1), _mm512_set1_epi32((int)k0));
    x1 = lo1;
    x2 = _mm512_xor_si512(_mm512_xor_si512(hi0, x3), _mm512_set1_epi32((int)k1));
    x3 = lo0;
    k0 += FL_PHILOX_W0;
    k1 += FL_PHILOX_W1;
  }
  _mm512_storeu_si512((void *)out, x0);
  _mm512_storeu_si512((void *)(out + ld), x1);
  _mm512_storeu_si512((void *)(out + 2 * ld), x2);
  _mm512_storeu_si512((void *)(out + 3 * ld), x3);
}

static void fl_u32_philox_ukernel__avx512(size_t n, uint64_t key, const uint64_t *stream,
                                          const uint64_t *counter, uint32_t *out) {
  size_t i = 0;
  for (; i + W <= n; i += W) fl_avx512_philox(key, stream + i, counter + i, out + i, n);
  if (i < n) {
    const size_t rest = n - i;
    uint64_t s[W] = {0}, c[W] = {0};
    uint32_t o[4 * W];
    memcpy(s, stream + i, rest * sizeof *s);
    memcpy(c, counter + i, rest * sizeof *c);
    fl_avx512_philox(key, s, c, o, W);
    for (int w = 0; w < 4; w++) memcpy(out + (size_t)w * n + i, o + w * W, rest * sizeof *o);
  }
}

const fl_u32_rng_kernels FL_AVX512_TABLE = {FL_RNG_KERNELS(FL_KERNEL_ENTRY)};
