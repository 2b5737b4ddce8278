/* The Check test runner: `fastloss-tests ISA` runs every suite on the kernels
 * of ISA (scalar, avx2, avx512, avx512-emulated, neon; the -qemu suffix of
 * the cross build only names the run).  Exits 77 (meson's SKIP) when the
 * host or the build cannot run that ISA. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "emulated-isa.h"
#include "testing.h"

fl_test_run fl_run;

void fl_test_restore_isa(void) { fl_dispatch_force(fl_run.kernels); }

void fl_rng_seed(fl_rng *rng, uint64_t seed) { rng->state = seed * 0x9E3779B97F4A7C15ull + 1; }

uint32_t fl_rng_u32(fl_rng *rng) {
  /* splitmix64 */
  uint64_t z = (rng->state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return (uint32_t)((z ^ (z >> 31)) >> 32);
}

double fl_rng_uniform(fl_rng *rng) { return fl_rng_u32(rng) / 4294967296.0; }

double fl_rng_normal(fl_rng *rng) {
  const double u1 = (fl_rng_u32(rng) + 1.0) / 4294967297.0, u2 = fl_rng_uniform(rng);
  return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

static const uint32_t fl_canary_bits = 0x7fc0dead; /* a NaN no kernel produces */

fl_buf fl_buf_new(size_t count, int misalign) {
  fl_buf b;
  const size_t total = count + 2 * FL_CANARY + 1;
  b.base = malloc(total * sizeof(float));
  ck_assert_ptr_nonnull(b.base);
  for (size_t k = 0; k < total; k++) memcpy(&b.base[k], &fl_canary_bits, sizeof(float));
  b.data = b.base + FL_CANARY + (misalign ? 1 : 0);
  b.count = count;
  return b;
}

void fl_buf_free(fl_buf *b) {
  free(b->base);
  b->base = b->data = NULL;
}

void fl_buf_check_canaries(const fl_buf *b, const char *what) {
  const size_t total = b->count + 2 * FL_CANARY + 1;
  for (size_t k = 0; k < total; k++) {
    const float *p = &b->base[k];
    if (p >= b->data && p < b->data + b->count) continue;
    uint32_t bits;
    memcpy(&bits, p, sizeof bits);
    FL_CHECK(bits == fl_canary_bits, "%s: element %td outside the buffer was written", what,
                  p - b->data);
  }
}

int fl_same_bits(float a, float b) { return memcmp(&a, &b, sizeof a) == 0; }

int fl_close(double got, double want, double abs_tol, double rel_tol) {
  if (isnan(want)) return isnan(got);
  if (isinf(want)) return got == want;
  if (!isfinite(got)) return 0;
  double tol = abs_tol;
  if (want != 0.0) tol += rel_tol * fabs(want);
  return fabs(got - want) <= tol;
}

static int fl_select(const char *mode) {
  char isa_name[32];
  snprintf(isa_name, sizeof isa_name, "%s", mode);
  char *suffix = strstr(isa_name, "-qemu");
  if (suffix != NULL) *suffix = '\0';
  fl_run.mode = mode;
  /* FASTLOSS_TEST_SLOW=1: the smaller sweeps of the qemu runs (the valgrind test). */
  fl_run.slow = strstr(mode, "qemu") != NULL || getenv("FASTLOSS_TEST_SLOW") != NULL;
  if (strcmp(isa_name, "avx512-emulated") == 0) {
#if FL_HAVE_AVX512_EMULATED
    fl_run.isa = FASTLOSS_ISA_AVX512;
    fl_run.kernels = &fl_isa_avx512_emulated;
    fl_run.lanes = 16;
    fl_run.has_fma = 1;
    fl_test_restore_isa();
    return 1;
#else
    printf("%s: this build has no SIMDe-emulated AVX-512 kernels\n", mode);
    return 0;
#endif
  }
  static const struct {
    const char *name;
    fastloss_isa isa;
    size_t lanes;
  } isas[] = {{"scalar", FASTLOSS_ISA_SCALAR, 1},
              {"avx2", FASTLOSS_ISA_AVX2, 8},
              {"avx512", FASTLOSS_ISA_AVX512, 16},
              {"neon", FASTLOSS_ISA_NEON, 4}};
  for (size_t k = 0; k < sizeof isas / sizeof isas[0]; k++) {
    if (strcmp(isa_name, isas[k].name) != 0) continue;
    const fastloss_status status = fastloss_set_isa(isas[k].isa);
    if (status != FASTLOSS_OK) {
      printf("%s: %s\n", mode, fastloss_last_error());
      return 0;
    }
    fl_run.isa = isas[k].isa;
    fl_run.kernels = fl_kernels();
    fl_run.lanes = isas[k].lanes;
#if defined(__aarch64__) || defined(FP_FAST_FMAF)
    fl_run.has_fma = 1;
#else
    fl_run.has_fma = isas[k].isa != FASTLOSS_ISA_SCALAR;
#endif
    return 1;
  }
  printf("unknown ISA '%s'\n", mode);
  return -1;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s scalar|avx2|avx512|avx512-emulated|neon[-qemu]\n", argv[0]);
    return 2;
  }
  const int selected = fl_select(argv[1]);
  if (selected < 0) return 2;
  if (selected == 0) return 77;
  printf("fastloss %s tests: kernels %s (%s), %d OpenMP threads available\n", fastloss_version(),
         fl_run.kernels->name,
         strstr(fl_run.mode, "emulated") ? "AVX-512 emulated through SIMDe on AVX2, not native"
         : strstr(fl_run.mode, "qemu")   ? "run under qemu-user emulation, not native"
                                         : "native",
         fastloss_get_num_threads());
  SRunner *runner = srunner_create(fl_suite_dispatch());
  srunner_add_suite(runner, fl_suite_exp());
  srunner_add_suite(runner, fl_suite_kernels());
  srunner_add_suite(runner, fl_suite_xent());
  srunner_add_suite(runner, fl_suite_crossentropy());
  srunner_add_suite(runner, fl_suite_errors());
  srunner_add_suite(runner, fl_suite_sampler());
  srunner_add_suite(runner, fl_suite_nce_kernels());
  srunner_add_suite(runner, fl_suite_nce());
  srunner_add_suite(runner, fl_suite_sgns());
  srunner_add_suite(runner, fl_suite_nsloss());
  srunner_add_suite(runner, fl_suite_cbow());
  srunner_add_suite(runner, fl_suite_vae());
  srunner_add_suite(runner, fl_suite_sqerr());
  srunner_add_suite(runner, fl_suite_wgangp());
  srunner_add_suite(runner, fl_suite_threads());
  srunner_add_suite(runner, fl_suite_large());
  srunner_run_all(runner, CK_NORMAL);
  const int failed = srunner_ntests_failed(runner);
  srunner_free(runner);
  return failed == 0 ? 0 : 1;
}
