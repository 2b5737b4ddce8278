/* Shared by the libFuzzer targets of tests/fuzz/: decoding the fuzz input
 * into sizes, parameters and float bit patterns, the list of kernel tables
 * to compare (scalar first), exact-size buffers and the comparisons.
 *
 * Every buffer is allocated with its exact size (ASan's redzones catch any
 * write past either end); the bytes between rows of a strided output are
 * pre-filled with a sentinel and must keep it; on any status other than
 * FASTLOSS_OK every output must be bit-for-bit as it was.  A mismatch calls
 * fz_fail(), which prints and aborts, so libFuzzer saves the input. */
#ifndef FASTLOSS_FUZZ_H
#define FASTLOSS_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include "fastloss.h"
#include "internal.h"

/* The fuzz input, consumed from the front; reads past the end give zeros. */
typedef struct fz_input {
  const uint8_t *data;
  size_t size;
} fz_input;

uint8_t fz_u8(fz_input *in);
uint32_t fz_u32(fz_input *in);
/* An integer in [lo, hi]. */
size_t fz_range(fz_input *in, size_t lo, size_t hi);
/* A float: one selector byte picks a special value (0, -0, +-inf, NaN,
 * denormals, FLT_MIN, FLT_MAX, 88.7, ...), a moderate value in [-32, 32],
 * a value in [0, 1], or four raw bytes (any bit pattern). */
float fz_float(fz_input *in);
double fz_double(fz_input *in);
void fz_floats(fz_input *in, float *out, size_t count);

/* The kernel tables to run: [0] is scalar, then AVX2, native AVX-512 and
 * the SIMDe-emulated AVX-512 where the host and the build have them. */
size_t fz_isas(const fl_isa_kernels **out, size_t max);

/* Exact-size allocations (count 0 gives a 1-element buffer); never NULL. */
float *fz_alloc_f32(size_t count);
double *fz_alloc_f64(size_t count);
void *fz_alloc_bytes(size_t bytes);
/* Fills with the sentinel (a NaN payload no kernel makes). */
void fz_sentinel_f32(float *p, size_t count);
int fz_is_sentinel_f32(float v);
/* The same for doubles (another NaN payload no kernel makes). */
void fz_sentinel_f64(double *p, size_t count);
int fz_is_sentinel_f64(double v);
/* count doubles: each fz_double's value (a float, widened) times 2^e for a
 * fuzzed e in [-600, 600] when wide is set (values only a double holds:
 * past FLT_MAX, below FLT_TRUE_MIN, denormal doubles). */
void fz_doubles(fz_input *in, double *out, size_t count, int wide);

/* Prints "fuzz mismatch: ..." with the ISA name and aborts. */
void fz_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* |a - b| <= abs_tol + rel_tol * max(|a|, |b|); NaN only equals NaN, an
 * infinity only the same infinity or a finite value of its sign beyond 1e37
 * (overflow may round either way: FMA versus multiply-add). */
int fz_close(double a, double b, double abs_tol, double rel_tol);
/* Whether every float is finite. */
int fz_all_finite(const float *p, size_t count);
float fz_max_abs(const float *p, size_t count);
int fz_all_finite_f64(const double *p, size_t count);
double fz_max_abs_f64(const double *p, size_t count);

#endif
