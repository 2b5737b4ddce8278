/* Shared helpers of the Check test runner. */
#ifndef FASTLOSS_TESTING_H
#define FASTLOSS_TESTING_H

#include <check.h>
#include <stddef.h>
#include <stdint.h>

#include "fastloss.h"
#include "internal.h"

/* The run: which kernels are under test and how costly the host makes them. */
typedef struct fl_test_run {
  const char *mode;     /* the meson test name: avx2, avx512-emulated, neon-qemu... */
  fastloss_isa isa;     /* the ISA whose kernels are installed */
  const fl_isa_kernels *kernels;
  size_t lanes;         /* vector width in floats (1 for scalar) */
  int slow;             /* under qemu: smaller sweeps */
  int has_fma;          /* the scalar exp bound depends on it */
} fl_test_run;

extern fl_test_run fl_run;

/* Reinstalls the kernels under test (tests that switch ISA call it after). */
void fl_test_restore_isa(void);

/* Deterministic random numbers. */
typedef struct fl_rng {
  uint64_t state;
} fl_rng;
void fl_rng_seed(fl_rng *rng, uint64_t seed);
uint32_t fl_rng_u32(fl_rng *rng);
double fl_rng_uniform(fl_rng *rng); /* [0, 1) */
double fl_rng_normal(fl_rng *rng);

/* A float buffer with CANARY elements on each side and an optional +1
 * element misalignment; fl_buf_check_canaries fails the test if either
 * side was written. */
#define FL_CANARY 16
typedef struct fl_buf {
  float *base;  /* allocation */
  float *data;  /* the usable elements */
  size_t count;
} fl_buf;
fl_buf fl_buf_new(size_t count, int misalign);
void fl_buf_free(fl_buf *b);
void fl_buf_check_canaries(const fl_buf *b, const char *what);
/* True when the two floats have the same bits. */
int fl_same_bits(float a, float b);

/* |got - want| <= abs_tol + rel_tol * |want|, with NaN == NaN and equal
 * infinities equal. */
int fl_close(double got, double want, double abs_tol, double rel_tol);

/* Check's ck_assert records every passing assertion with a write(2); the
 * element loops here make millions of them, so they use these instead,
 * which cost nothing until they fail. */
#define FL_CHECK(cond, ...)                   \
  do {                                        \
    if (!(cond)) ck_abort_msg(__VA_ARGS__);   \
  } while (0)
#define FL_CHECK1(cond) FL_CHECK(cond, "assertion failed: %s", #cond)

Suite *fl_suite_dispatch(void);
Suite *fl_suite_exp(void);
Suite *fl_suite_kernels(void);
Suite *fl_suite_xent(void);
Suite *fl_suite_crossentropy(void);
Suite *fl_suite_errors(void);
Suite *fl_suite_sampler(void);
Suite *fl_suite_nce_kernels(void);
Suite *fl_suite_nce(void);
Suite *fl_suite_sgns(void);
Suite *fl_suite_nsloss(void);
Suite *fl_suite_cbow(void);
Suite *fl_suite_vae(void);
Suite *fl_suite_sqerr(void);
Suite *fl_suite_wgangp(void);
Suite *fl_suite_threads(void);
Suite *fl_suite_large(void);

#endif
