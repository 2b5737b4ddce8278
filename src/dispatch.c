/* The one place that chooses kernels.
 *
 * Each ISA contributes one fl_isa_kernels entry; the cascade below picks the
 * best one the host runs and the build contains, capped by FASTLOSS_ISA.  The
 * choice is made once (an atomic pointer; racing first calls compute the same
 * answer) and read by every call before it enters an OpenMP region. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "internal.h"

#if FL_HAVE_OPENMP
#include <omp.h>
#endif

static const fl_isa_kernels fl_isa_scalar = {FASTLOSS_ISA_SCALAR,
                                             "scalar",
                                             &fl_f32_xent_kernels__scalar,
                                             &fl_f64_xent_kernels__scalar,
                                             &fl_f32_nce_kernels__scalar,
                                             &fl_f64_nce_kernels__scalar,
                                             &fl_f32_vae_kernels__scalar,
                                             &fl_f64_vae_kernels__scalar,
                                             &fl_f32_sqerr_kernels__scalar,
                                             &fl_f64_sqerr_kernels__scalar,
                                             &fl_f32_wgangp_kernels__scalar,
                                             &fl_f64_wgangp_kernels__scalar,
                                             &fl_u32_rng_kernels__scalar};
#if FL_HAVE_AVX2
static const fl_isa_kernels fl_isa_avx2 = {FASTLOSS_ISA_AVX2,
                                           "avx2",
                                           &fl_f32_xent_kernels__avx2,
                                           &fl_f64_xent_kernels__scalar,
                                           &fl_f32_nce_kernels__avx2,
                                           &fl_f64_nce_kernels__avx2,
                                           &fl_f32_vae_kernels__avx2,
                                           &fl_f64_vae_kernels__scalar,
                                           &fl_f32_sqerr_kernels__avx2,
                                           &fl_f64_sqerr_kernels__scalar,
                                           &fl_f32_wgangp_kernels__avx2,
                                           &fl_f64_wgangp_kernels__scalar,
                                           &fl_u32_rng_kernels__avx2};
#endif
#if FL_HAVE_AVX512
static const fl_isa_kernels fl_isa_avx512 = {FASTLOSS_ISA_AVX512,
                                             "avx512",
                                             &fl_f32_xent_kernels__avx512,
                                             &fl_f64_xent_kernels__scalar,
                                             &fl_f32_nce_kernels__avx512,
                                             &fl_f64_nce_kernels__avx512,
                                             &fl_f32_vae_kernels__avx512,
                                             &fl_f64_vae_kernels__scalar,
                                             &fl_f32_sqerr_kernels__avx512,
                                             &fl_f64_sqerr_kernels__scalar,
                                             &fl_f32_wgangp_kernels__avx512,
                                             &fl_f64_wgangp_kernels__scalar,
                                             &fl_u32_rng_kernels__avx512};
#endif
#if FL_HAVE_NEON
static const fl_isa_kernels fl_isa_neon = {FASTLOSS_ISA_NEON,
                                           "neon",
                                           &fl_f32_xent_kernels__neon,
                                           &fl_f64_xent_kernels__scalar,
                                           &fl_f32_nce_kernels__neon,
                                           &fl_f64_nce_kernels__neon,
                                           &fl_f32_vae_kernels__neon,
                                           &fl_f64_vae_kernels__scalar,
                                           &fl_f32_sqerr_kernels__neon,
                                           &fl_f64_sqerr_kernels__scalar,
                                           &fl_f32_wgangp_kernels__neon,
                                           &fl_f64_wgangp_kernels__scalar,
                                           &fl_u32_rng_kernels__neon};
#endif

static _Atomic(const fl_isa_kernels *) fl_selected;

/* The kernels for `isa`, or NULL when the host or the build lacks it. */
static const fl_isa_kernels *fl_isa_entry(fastloss_isa isa) {
  const unsigned cpu = fl_detect_cpu_features();
  (void)cpu;
  switch (isa) {
    case FASTLOSS_ISA_SCALAR: return &fl_isa_scalar;
#if FL_HAVE_AVX2
    case FASTLOSS_ISA_AVX2: return (cpu & FASTLOSS_CPU_AVX2) ? &fl_isa_avx2 : NULL;
#endif
#if FL_HAVE_AVX512
    case FASTLOSS_ISA_AVX512: return (cpu & FASTLOSS_CPU_AVX512) ? &fl_isa_avx512 : NULL;
#endif
#if FL_HAVE_NEON
    case FASTLOSS_ISA_NEON: return (cpu & FASTLOSS_CPU_NEON) ? &fl_isa_neon : NULL;
#endif
    default: return NULL;
  }
}

/* The cap from FASTLOSS_ISA; AUTO when unset or unrecognised. */
static fastloss_isa fl_env_cap(void) {
  const char *value = getenv("FASTLOSS_ISA");
  if (value == NULL) return FASTLOSS_ISA_AUTO;
  for (int isa = FASTLOSS_ISA_SCALAR; isa <= FASTLOSS_ISA_NEON; isa++)
    if (strcmp(value, fastloss_isa_name((fastloss_isa)isa)) == 0) return (fastloss_isa)isa;
  return FASTLOSS_ISA_AUTO;
}

/* Best entry at or below `cap` in the order avx512 > avx2 > scalar (x86) or
 * neon > scalar (AArch64). */
static const fl_isa_kernels *fl_best(fastloss_isa cap) {
  static const fastloss_isa order[] = {FASTLOSS_ISA_AVX512, FASTLOSS_ISA_AVX2, FASTLOSS_ISA_NEON,
                                       FASTLOSS_ISA_SCALAR};
  int allowed = cap == FASTLOSS_ISA_AUTO;
  for (size_t k = 0; k < sizeof order / sizeof order[0]; k++) {
    if (order[k] == cap) allowed = 1;
    if (!allowed) continue;
    const fl_isa_kernels *entry = fl_isa_entry(order[k]);
    if (entry != NULL) return entry;
  }
  return &fl_isa_scalar;
}

const fl_isa_kernels *fl_kernels(void) {
  const fl_isa_kernels *k = atomic_load_explicit(&fl_selected, memory_order_acquire);
  if (k == NULL) {
    k = fl_best(fl_env_cap());
    atomic_store_explicit(&fl_selected, k, memory_order_release);
  }
  return k;
}

void fl_dispatch_force(const fl_isa_kernels *kernels) {
  atomic_store_explicit(&fl_selected, kernels, memory_order_release);
}

fastloss_status fastloss_set_isa(fastloss_isa isa) {
  if (isa == FASTLOSS_ISA_AUTO) {
    fl_dispatch_force(fl_best(fl_env_cap()));
    return FASTLOSS_OK;
  }
  const char *name = fastloss_isa_name(isa);
  if (name == NULL)
    return fl_fail(FASTLOSS_ERR_INVALID_ARGUMENT, "isa = %d is not a fastloss_isa value", (int)isa);
  const fl_isa_kernels *entry = fl_isa_entry(isa);
  if (entry == NULL) {
    const unsigned cpu = fl_detect_cpu_features();
    const int host_has = (isa == FASTLOSS_ISA_AVX2 && (cpu & FASTLOSS_CPU_AVX2)) ||
                         (isa == FASTLOSS_ISA_AVX512 && (cpu & FASTLOSS_CPU_AVX512)) ||
                         (isa == FASTLOSS_ISA_NEON && (cpu & FASTLOSS_CPU_NEON));
    return fl_fail(FASTLOSS_ERR_UNSUPPORTED_ISA, "isa %s: %s", name,
                   host_has ? "this build of fastloss does not contain it"
                            : "this CPU (or its OS) cannot run it");
  }
  fl_dispatch_force(entry);
  return FASTLOSS_OK;
}

fastloss_isa fastloss_get_isa(void) { return fl_kernels()->isa; }

const char *fastloss_isa_name(fastloss_isa isa) {
  switch (isa) {
    case FASTLOSS_ISA_AUTO: return "auto";
    case FASTLOSS_ISA_SCALAR: return "scalar";
    case FASTLOSS_ISA_AVX2: return "avx2";
    case FASTLOSS_ISA_AVX512: return "avx512";
    case FASTLOSS_ISA_NEON: return "neon";
  }
  return NULL;
}

/* ------------------------------------------------------------ threads */

static _Atomic int fl_thread_cap;

fastloss_status fastloss_set_num_threads(int threads) {
  if (threads < 0)
    return fl_fail(FASTLOSS_ERR_INVALID_ARGUMENT, "threads = %d is negative", threads);
  atomic_store(&fl_thread_cap, threads);
  return FASTLOSS_OK;
}

int fastloss_get_num_threads(void) {
  const int cap = atomic_load(&fl_thread_cap);
#if FL_HAVE_OPENMP
  return cap > 0 ? cap : omp_get_max_threads();
#else
  (void)cap;
  return 1;
#endif
}

/* Below this many element-operations a parallel region costs more than it
 * saves (a fork/join is a few microseconds). */
#define FL_PARALLEL_MIN_WORK 16384.0

int fl_threads_for(double work) {
  if (work < FL_PARALLEL_MIN_WORK) return 1;
  return fastloss_get_num_threads();
}

void fl_parallel(int threads, void (*region)(const void *job), const void *job) {
#if FL_HAVE_OPENMP
  if (threads > 1 || omp_get_level() > 0) {
#pragma omp parallel num_threads(threads)
    region(job);
    return;
  }
#else
  (void)threads;
#endif
  region(job);
}

void fl_parallel_for(int threads, size_t count,
                     void (*body)(const void *job, size_t first, size_t last), const void *job) {
  if (count == 0) return;
#if FL_HAVE_OPENMP
  if (threads > 1) {
#pragma omp parallel num_threads(threads)
    {
      size_t first, last;
      fl_thread_share(count, &first, &last);
      if (first < last) body(job, first, last);
    }
    return;
  }
#else
  (void)threads;
#endif
  body(job, 0, count);
}

void fl_thread_share(size_t count, size_t *first, size_t *last) {
  size_t thread = 0, threads = 1;
#if FL_HAVE_OPENMP
  thread = (size_t)omp_get_thread_num();
  threads = (size_t)omp_get_num_threads();
#endif
  *first = count * thread / threads;
  *last = count * (thread + 1) / threads;
}
