/* The kernel table of the SIMDe-emulated AVX-512 build: the AVX-512 f32
 * kernels, f64 NCE kernels and Philox kernel compiled a second time against
 * SIMDe (tests/meson.build's fastloss_avx512_emulated), with the scalar f64
 * kernels elsewhere as in the native AVX-512 table.  For the test runner,
 * the fuzz targets and the accuracy program only: never part of
 * libfastloss.  Forced with fl_dispatch_force. */
#ifndef FL_EMULATED_ISA_H
#define FL_EMULATED_ISA_H

#include "internal.h"

#if FL_HAVE_AVX512_EMULATED
static const fl_isa_kernels fl_isa_avx512_emulated = {FASTLOSS_ISA_AVX512,
                                                      "avx512-emulated",
                                                      &fl_f32_xent_kernels__avx512_emulated,
                                                      &fl_f64_xent_kernels__scalar,
                                                      &fl_f32_nce_kernels__avx512_emulated,
                                                      &fl_f64_nce_kernels__avx512_emulated,
                                                      &fl_f32_vae_kernels__avx512_emulated,
                                                      &fl_f64_vae_kernels__scalar,
                                                      &fl_f32_sqerr_kernels__avx512_emulated,
                                                      &fl_f64_sqerr_kernels__scalar,
                                                      &fl_f32_wgangp_kernels__avx512_emulated,
                                                      &fl_f64_wgangp_kernels__scalar,
                                                      &fl_u32_rng_kernels__avx512_emulated};
#endif

#endif
