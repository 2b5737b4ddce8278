/* AVX-512 intrinsics that kernels/avx512/ uses and SIMDe 0.7.4 lacks, written
 * lane by lane in portable C.  Tests only: included by avx512-math.h after
 * <simde/x86/avx512.h> when FL_AVX512_EMULATED is defined.
 *
 * Each one is an fl_simde_ function behind the Intel name as a macro, as
 * SIMDe's own native aliases are: the macro shadows the compiler's
 * always-inline AVX-512 intrinsic of the same name (which would not build
 * without -mavx512f) and any later SIMDe definition.  The masked loads and
 * stores touch only the lanes whose mask bit is set, as the hardware does, so
 * the tests catch a kernel that reads or writes past a row.  Always inlined,
 * as SIMDe's own functions are (SIMDE_FUNCTION_ATTRIBUTES): an out-of-line
 * copy passing a 64-byte vector would trip GCC's -Wpsabi. */
#ifndef FASTLOSS_SIMDE_AVX512_FILL_H
#define FASTLOSS_SIMDE_AVX512_FILL_H

#include <simde/x86/avx512.h>

/* AVX512F: lanes with their mask bit clear come from src. */
SIMDE_FUNCTION_ATTRIBUTES simde__m512 fl_simde_mm512_mask_loadu_ps(simde__m512 src,
                                                                   simde__mmask16 k,
                                                                   const void *mem) {
  simde__m512_private r = simde__m512_to_private(src);
  const float *p = (const float *)mem;
  for (int i = 0; i < 16; i++)
    if ((k >> i) & 1) r.f32[i] = p[i];
  return simde__m512_from_private(r);
}

/* AVX512F: lanes with their mask bit clear are 0. */
SIMDE_FUNCTION_ATTRIBUTES simde__m512 fl_simde_mm512_maskz_loadu_ps(simde__mmask16 k,
                                                                    const void *mem) {
  return fl_simde_mm512_mask_loadu_ps(simde_mm512_setzero_ps(), k, mem);
}

/* AVX512F: stores only the lanes with their mask bit set. */
SIMDE_FUNCTION_ATTRIBUTES void fl_simde_mm512_mask_storeu_ps(void *mem, simde__mmask16 k,
                                                             simde__m512 a) {
  const simde__m512_private a_ = simde__m512_to_private(a);
  float *p = (float *)mem;
  for (int i = 0; i < 16; i++)
    if ((k >> i) & 1) p[i] = a_.f32[i];
}

/* AVX512F, f64: lanes with their mask bit clear are 0. */
SIMDE_FUNCTION_ATTRIBUTES simde__m512d fl_simde_mm512_maskz_loadu_pd(simde__mmask8 k,
                                                                     const void *mem) {
  simde__m512d_private r = simde__m512d_to_private(simde_mm512_setzero_pd());
  const double *p = (const double *)mem;
  for (int i = 0; i < 8; i++)
    if ((k >> i) & 1) r.f64[i] = p[i];
  return simde__m512d_from_private(r);
}

/* AVX512F, f64: stores only the lanes with their mask bit set. */
SIMDE_FUNCTION_ATTRIBUTES void fl_simde_mm512_mask_storeu_pd(void *mem, simde__mmask8 k,
                                                             simde__m512d a) {
  const simde__m512d_private a_ = simde__m512d_to_private(a);
  double *p = (double *)mem;
  for (int i = 0; i < 8; i++)
    if ((k >> i) & 1) p[i] = a_.f64[i];
}

/* AVX512DQ: lanes [8 imm, 8 imm + 8) as a 256-bit vector. */
SIMDE_FUNCTION_ATTRIBUTES simde__m256 fl_simde_mm512_extractf32x8_ps(simde__m512 a, int imm) {
  const simde__m512_private a_ = simde__m512_to_private(a);
  simde__m256_private r;
  for (int i = 0; i < 8; i++) r.f32[i] = a_.f32[8 * (imm & 1) + i];
  return simde__m256_from_private(r);
}

/* AVX512F: 8 floats widened to 8 doubles (exact). */
SIMDE_FUNCTION_ATTRIBUTES simde__m512d fl_simde_mm512_cvtps_pd(simde__m256 a) {
  const simde__m256_private a_ = simde__m256_to_private(a);
  simde__m512d_private r;
  for (int i = 0; i < 8; i++) r.f64[i] = (double)a_.f32[i];
  return simde__m512d_from_private(r);
}

#undef _mm512_mask_loadu_ps
#define _mm512_mask_loadu_ps(src, k, mem) fl_simde_mm512_mask_loadu_ps(src, k, mem)
#undef _mm512_maskz_loadu_ps
#define _mm512_maskz_loadu_ps(k, mem) fl_simde_mm512_maskz_loadu_ps(k, mem)
#undef _mm512_mask_storeu_ps
#define _mm512_mask_storeu_ps(mem, k, a) fl_simde_mm512_mask_storeu_ps(mem, k, a)
#undef _mm512_maskz_loadu_pd
#define _mm512_maskz_loadu_pd(k, mem) fl_simde_mm512_maskz_loadu_pd(k, mem)
#undef _mm512_mask_storeu_pd
#define _mm512_mask_storeu_pd(mem, k, a) fl_simde_mm512_mask_storeu_pd(mem, k, a)
#undef _mm512_extractf32x8_ps
#define _mm512_extractf32x8_ps(a, imm) fl_simde_mm512_extractf32x8_ps(a, imm)
#undef _mm512_cvtps_pd
#define _mm512_cvtps_pd(a) fl_simde_mm512_cvtps_pd(a)
/* SIMDe has simde_mm512_shuffle_f32x4 (through its shuffle_i32x4) but no
 * native alias for it: the Intel name would reach GCC's intrinsic. */
#undef _mm512_shuffle_f32x4
#define _mm512_shuffle_f32x4(a, b, imm) simde_mm512_shuffle_f32x4(a, b, imm)

#endif
