#include "fuzz.h"

#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "../emulated-isa.h"

uint8_t fz_u8(fz_input *in) {
  if (in->size == 0) return 0;
  const uint8_t v = in->data[0];
  in->data++;
  in->size--;
  return v;
}

uint32_t fz_u32(fz_input *in) {
  uint32_t v = 0;
  for (int k = 0; k < 4; k++) v |= (uint32_t)fz_u8(in) << (8 * k);
  return v;
}

size_t fz_range(fz_input *in, size_t lo, size_t hi) {
  const size_t span = hi - lo + 1;
  const uint32_t v = span > 256 ? fz_u32(in) : fz_u8(in);
  return lo + (size_t)v % span;
}

static float fz_bits(uint32_t u) {
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}

float fz_float(fz_input *in) {
  const uint8_t sel = fz_u8(in);
  if (sel < 48) {
    const float special[] = {0.0f,        -0.0f,
                             1.0f,        -1.0f,
                             INFINITY,    -INFINITY,
                             NAN,         -NAN,
                             fz_bits(1),  fz_bits(0x807fffffu),
                             FLT_MIN,     -FLT_MIN,
                             FLT_MAX,     -FLT_MAX,
                             1e30f,       -1e30f,
                             88.72f,      89.0f,
                             -87.3f,      -104.0f,
                             0.5f,        1.0f - FLT_EPSILON,
                             FLT_EPSILON, 2.5f,
                             -2.5f,       1e-20f,
                             1e20f,       20.0f};
    return special[sel % (sizeof special / sizeof special[0])];
  }
  if (sel < 160) {
    const int16_t s = (int16_t)(fz_u8(in) | (uint16_t)fz_u8(in) << 8);
    return (float)s / 1024.0f; /* [-32, 32) */
  }
  if (sel < 200) return (float)fz_u8(in) / 255.0f; /* [0, 1] */
  return fz_bits(fz_u32(in));
}

double fz_double(fz_input *in) { return (double)fz_float(in); }

void fz_floats(fz_input *in, float *out, size_t count) {
  for (size_t k = 0; k < count; k++) out[k] = fz_float(in);
}

size_t fz_isas(const fl_isa_kernels **out, size_t max) {
  static const fl_isa_kernels *list[4];
  static size_t count;
  if (count == 0) {
    const fastloss_isa isas[] = {FASTLOSS_ISA_SCALAR, FASTLOSS_ISA_AVX2, FASTLOSS_ISA_AVX512,
                                 FASTLOSS_ISA_NEON};
    for (size_t k = 0; k < sizeof isas / sizeof isas[0]; k++)
      if (fastloss_set_isa(isas[k]) == FASTLOSS_OK) list[count++] = fl_kernels();
#if FL_HAVE_AVX512_EMULATED
    /* The emulation runs on AVX2 (its kernels are built with -mavx2). */
    if (fastloss_cpu_features() & FASTLOSS_CPU_AVX2) list[count++] = &fl_isa_avx512_emulated;
#endif
    if (getenv("FASTLOSS_FUZZ_VERBOSE") != NULL)
      for (size_t k = 0; k < count; k++) fprintf(stderr, "fuzz: comparing %s\n", list[k]->name);
  }
  size_t k = 0;
  for (; k < count && k < max; k++) out[k] = list[k];
  return k;
}

float *fz_alloc_f32(size_t count) { return fz_alloc_bytes((count ? count : 1) * sizeof(float)); }

double *fz_alloc_f64(size_t count) {
  return fz_alloc_bytes((count ? count : 1) * sizeof(double));
}

void *fz_alloc_bytes(size_t bytes) {
  void *p = malloc(bytes ? bytes : 1);
  if (p == NULL) abort();
  return p;
}

static const uint32_t fz_sentinel_bits = 0x7fb5e17eu;

void fz_sentinel_f32(float *p, size_t count) {
  for (size_t k = 0; k < count; k++) memcpy(&p[k], &fz_sentinel_bits, sizeof(float));
}

int fz_is_sentinel_f32(float v) {
  uint32_t u;
  memcpy(&u, &v, sizeof u);
  return u == fz_sentinel_bits;
}

static const uint64_t fz_sentinel_bits64 = 0x7ff5e17e5e17e5e1u;

void fz_sentinel_f64(double *p, size_t count) {
  for (size_t k = 0; k < count; k++) memcpy(&p[k], &fz_sentinel_bits64, sizeof(double));
}

int fz_is_sentinel_f64(double v) {
  uint64_t u;
  memcpy(&u, &v, sizeof u);
  return u == fz_sentinel_bits64;
}

void fz_doubles(fz_input *in, double *out, size_t count, int wide) {
  for (size_t k = 0; k < count; k++) {
    double v = fz_double(in);
    if (wide) {
      const uint8_t e = fz_u8(in);
      if (e >= 128) v = ldexp(v, (int)(e - 128) * 600 / 127 * (e & 1 ? 1 : -1));
    }
    out[k] = v;
  }
}

void fz_fail(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("fuzz mismatch: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  abort();
}

int fz_close(double a, double b, double abs_tol, double rel_tol) {
  if (a == b) return 1;
  if (isnan(a) || isnan(b)) return isnan(a) && isnan(b);
  /* At the overflow boundary one ISA may round to +-inf where another
   * (an FMA, a different order) stays finite: accept a finite value beyond
   * 1e37 against the infinity of its sign. */
  if (isinf(a) || isinf(b)) {
    const double fin = isinf(a) ? b : a, inf = isinf(a) ? a : b;
    return a == b || (isfinite(fin) && fabs(fin) >= 1e37 && (fin > 0) == (inf > 0));
  }
  const double scale = fabs(a) > fabs(b) ? fabs(a) : fabs(b);
  return fabs(a - b) <= abs_tol + rel_tol * scale;
}

int fz_all_finite(const float *p, size_t count) {
  for (size_t k = 0; k < count; k++)
    if (!isfinite(p[k])) return 0;
  return 1;
}

float fz_max_abs(const float *p, size_t count) {
  float m = 0.0f;
  for (size_t k = 0; k < count; k++)
    if (isfinite(p[k]) && fabsf(p[k]) > m) m = fabsf(p[k]);
  return m;
}

int fz_all_finite_f64(const double *p, size_t count) {
  for (size_t k = 0; k < count; k++)
    if (!isfinite(p[k])) return 0;
  return 1;
}

double fz_max_abs_f64(const double *p, size_t count) {
  double m = 0.0;
  for (size_t k = 0; k < count; k++)
    if (isfinite(p[k]) && fabs(p[k]) > m) m = fabs(p[k]);
  return m;
}
