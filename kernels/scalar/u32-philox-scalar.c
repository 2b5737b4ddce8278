/* Philox4x32-10, portable C: the baseline the u32-philox-<isa>.c files are
 * tested against.  Contract in kernels/kernels.h.  One block at a time; the
 * blocks are independent, so an out-of-order core overlaps the ten-round
 * chains of neighbouring ones. */
#include <stddef.h>
#include <stdint.h>

#include "kernels.h"

#define FL_UKERNEL_NAME(name) fl_u32_##name##_ukernel__scalar

static void fl_u32_philox_ukernel__scalar(size_t n, uint64_t key, const uint64_t *stream,
                                          const uint64_t *counter, uint32_t *out) {
  for (size_t i = 0; i < n; i++) {
    uint32_t x0 = (uint32_t)counter[i], x1 = (uint32_t)(counter[i] >> 32);
    uint32_t x2 = (uint32_t)stream[i], x3 = (uint32_t)(stream[i] >> 32);
    uint32_t k0 = (uint32_t)key, k1 = (uint32_t)(key >> 32);
    for (int round = 0; round < 10; round++) {
      const uint64_t p0 = (uint64_t)FL_PHILOX_M0 * x0, p1 = (uint64_t)FL_PHILOX_M1 * x2;
      x0 = (uint32_t)(p1 >> 32) ^ x1 ^ k0;
      x1 = (uint32_t)p1;
      x2 = (uint32_t)(p0 >> 32) ^ x3 ^ k1;
      x3 = (uint32_t)p0;
      k0 += FL_PHILOX_W0;
      k1 += FL_PHILOX_W1;
    }
    out[i] = x0;
    out[n + i] = x1;
    out[2 * n + i] = x2;
    out[3 * n + i] = x3;
  }
}

const fl_u32_rng_kernels fl_u32_rng_kernels__scalar = {FL_RNG_KERNELS(FL_KERNEL_ENTRY)};
