/* The benchmark files of fastloss-bench: main() (bench-xent.c) probes the
 * host and calls each file's register function. */
#ifndef FASTLOSS_BENCH_H
#define FASTLOSS_BENCH_H

#include <stddef.h>

#include "fastloss.h"

/* bench-nce.c: the negative-sampling step and the NCE loss object. */
void bench_nce_register(const fastloss_isa *isas, size_t isa_count, int max_threads);

/* bench-vae.c: VAELoss, the fused loss and gradients. */
void bench_vae_register(const fastloss_isa *isas, size_t isa_count, int max_threads);

/* bench-sqerr.c: SquaredError through the activations, and WGAN-GP. */
void bench_sqerr_register(const fastloss_isa *isas, size_t isa_count, int max_threads);

/* bench-small.c: small calls on the host's best ISA (isas[isa_count - 1]),
 * 1 thread: what a call costs around its few hundred flops. */
void bench_small_register(const fastloss_isa *isas, size_t isa_count);

#endif
