#define _POSIX_C_SOURCE 200809L
/* ISA selection: names, features, the FASTLOSS_ISA cap, set/get. */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "testing.h"

START_TEST(isa_names) {
  ck_assert_str_eq(fastloss_isa_name(FASTLOSS_ISA_AUTO), "auto");
  ck_assert_str_eq(fastloss_isa_name(FASTLOSS_ISA_SCALAR), "scalar");
  ck_assert_str_eq(fastloss_isa_name(FASTLOSS_ISA_AVX2), "avx2");
  ck_assert_str_eq(fastloss_isa_name(FASTLOSS_ISA_AVX512), "avx512");
  ck_assert_str_eq(fastloss_isa_name(FASTLOSS_ISA_NEON), "neon");
  ck_assert_ptr_null(fastloss_isa_name((fastloss_isa)99));
  ck_assert_str_eq(fastloss_status_str(FASTLOSS_ERR_OVERLAP), "FASTLOSS_ERR_OVERLAP");
}
END_TEST

START_TEST(features_are_consistent) {
  const unsigned cpu = fastloss_cpu_features();
  /* AVX-512 implies AVX2; x86 and ARM features never mix. */
  if (cpu & FASTLOSS_CPU_AVX512) ck_assert(cpu & FASTLOSS_CPU_AVX2);
  ck_assert(!((cpu & FASTLOSS_CPU_NEON) && (cpu & FASTLOSS_CPU_AVX2)));
#if defined(__aarch64__)
  ck_assert(cpu & FASTLOSS_CPU_NEON);
#endif
}
END_TEST

/* set_isa(AUTO) honours FASTLOSS_ISA as a cap and never picks what the host
 * lacks. */
START_TEST(env_caps_auto) {
  const unsigned cpu = fastloss_cpu_features();
  setenv("FASTLOSS_ISA", "scalar", 1);
  ck_assert_int_eq(fastloss_set_isa(FASTLOSS_ISA_AUTO), FASTLOSS_OK);
  ck_assert_int_eq(fastloss_get_isa(), FASTLOSS_ISA_SCALAR);
  setenv("FASTLOSS_ISA", "avx512", 1);
  ck_assert_int_eq(fastloss_set_isa(FASTLOSS_ISA_AUTO), FASTLOSS_OK);
  const fastloss_isa capped = fastloss_get_isa();
  if (!(cpu & FASTLOSS_CPU_AVX512)) ck_assert_int_ne(capped, FASTLOSS_ISA_AVX512);
  /* An x86 name caps nothing on AArch64. */
  if (cpu & FASTLOSS_CPU_NEON) ck_assert_int_eq(capped, FASTLOSS_ISA_NEON);
  setenv("FASTLOSS_ISA", "auto", 1);
  ck_assert_int_eq(fastloss_set_isa(FASTLOSS_ISA_AUTO), FASTLOSS_OK);
  const fastloss_isa best = fastloss_get_isa();
  if (cpu & FASTLOSS_CPU_NEON) ck_assert_int_eq(best, FASTLOSS_ISA_NEON);
  if ((cpu & FASTLOSS_CPU_AVX2) && !(cpu & FASTLOSS_CPU_AVX512)) ck_assert_int_eq(best, FASTLOSS_ISA_AVX2);
  unsetenv("FASTLOSS_ISA");
  ck_assert_int_eq(fastloss_set_isa(FASTLOSS_ISA_SCALAR), FASTLOSS_OK);
  ck_assert_int_eq(fastloss_get_isa(), FASTLOSS_ISA_SCALAR);
  fl_test_restore_isa();
}
END_TEST

START_TEST(threads_setting) {
  ck_assert_int_eq(fastloss_set_num_threads(3), FASTLOSS_OK);
  /* A build without OpenMP always runs one thread. */
  ck_assert_int_eq(fastloss_get_num_threads(), FL_HAVE_OPENMP ? 3 : 1);
  ck_assert_int_eq(fastloss_set_num_threads(0), FASTLOSS_OK);
  ck_assert_int_ge(fastloss_get_num_threads(), 1);
}
END_TEST

Suite *fl_suite_dispatch(void) {
  Suite *s = suite_create("dispatch");
  TCase *tc = tcase_create("isa selection");
  tcase_add_test(tc, isa_names);
  tcase_add_test(tc, features_are_consistent);
  tcase_add_test(tc, env_caps_auto);
  tcase_add_test(tc, threads_setting);
  suite_add_tcase(s, tc);
  return s;
}
