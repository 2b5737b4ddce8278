/* Which ISAs the host CPU and its operating system can run.
 *
 * A feature bit in CPUID only says the core implements the instructions; the
 * OS must also save the wider registers on a context switch, which XCR0
 * (read with XGETBV, allowed once CPUID says OSXSAVE) reports.  Without the
 * XCR0 check a kernel could run with its upper register halves silently
 * clobbered. */
#include "internal.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

/* CPUID leaf 1, ECX */
#define FL_CPUID1_ECX_FMA 0x00001000u     /* bit 12 */
#define FL_CPUID1_ECX_OSXSAVE 0x08000000u /* bit 27: XGETBV is allowed */
#define FL_CPUID1_ECX_AVX 0x10000000u     /* bit 28 */
/* CPUID leaf 7 subleaf 0, EBX */
#define FL_CPUID7_EBX_AVX2 0x00000020u     /* bit 5 */
#define FL_CPUID7_EBX_AVX512F 0x00010000u  /* bit 16 */
#define FL_CPUID7_EBX_AVX512DQ 0x00020000u /* bit 17 */
#define FL_CPUID7_EBX_AVX512BW 0x40000000u /* bit 30 */
#define FL_CPUID7_EBX_AVX512VL 0x80000000u /* bit 31 */
/* XCR0 */
#define FL_XCR0_SSE_AVX 0x06u  /* bits 1-2: XMM and upper YMM halves */
#define FL_XCR0_AVX512 0xe0u   /* bits 5-7: opmask, upper ZMM0-15, ZMM16-31 */

static uint64_t fl_xgetbv0(void) {
  uint32_t eax, edx;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return ((uint64_t)edx << 32) | eax;
}

unsigned fl_detect_cpu_features(void) {
  unsigned eax, ebx, ecx, edx;
  unsigned features = 0;
  if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return 0;
  if ((ecx & FL_CPUID1_ECX_OSXSAVE) == 0) return 0;
  const int has_avx_fma = (ecx & (FL_CPUID1_ECX_AVX | FL_CPUID1_ECX_FMA)) ==
                          (FL_CPUID1_ECX_AVX | FL_CPUID1_ECX_FMA);
  const uint64_t xcr0 = fl_xgetbv0();
  if ((xcr0 & FL_XCR0_SSE_AVX) != FL_XCR0_SSE_AVX) return 0;
  if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return 0;
  if (has_avx_fma && (ebx & FL_CPUID7_EBX_AVX2)) features |= FASTLOSS_CPU_AVX2;
  const unsigned avx512 = FL_CPUID7_EBX_AVX512F | FL_CPUID7_EBX_AVX512DQ |
                          FL_CPUID7_EBX_AVX512BW | FL_CPUID7_EBX_AVX512VL;
  if ((features & FASTLOSS_CPU_AVX2) && (ebx & avx512) == avx512 &&
      (xcr0 & FL_XCR0_AVX512) == FL_XCR0_AVX512)
    features |= FASTLOSS_CPU_AVX512;
  return features;
}

#elif defined(__aarch64__)

/* AdvSIMD is architectural on AArch64. */
unsigned fl_detect_cpu_features(void) { return FASTLOSS_CPU_NEON; }

#else

unsigned fl_detect_cpu_features(void) { return 0; }

#endif

unsigned fastloss_cpu_features(void) { return fl_detect_cpu_features(); }
