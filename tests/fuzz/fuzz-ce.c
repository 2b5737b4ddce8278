/* numpy-ml's CrossEntropy: fastloss_crossentropy_loss/grad, f32 and f64,
 * (n, m) <= (12, 40) (sometimes 0: an error), y one-hot and y_pred
 * row-stochastic (normalised fuzzed weights, so most inputs are valid),
 * then sometimes corrupted: an entry of y replaced by a fuzzed value (not
 * binary), an entry of y_pred by a fuzzed value (outside [0, 1], NaN or a
 * row sum off by more than the tolerance), a row scaled; grad sometimes in
 * place over y or y_pred, sometimes partly overlapping (an error); a NULL
 * input sometimes.  The code is plain C (no kernel table), so the check is
 * against an expectation written here from fastloss.h: the status (the
 * first offending row in row order, y before y_pred; the row-sum tolerance
 * 1e-5 + m eps of the dtype, the sum taken in double in order), the loss
 * -sum y log(y_pred + eps64) in long double within 1e-13 rel + 1e-13 n abs,
 * and grad = y_pred - y exactly (one rounding in the dtype).  Every kernel
 * table must give bit-identical results, an error must leave loss and grad
 * untouched, and f32 and f64 run on the same values (the f32 ones widened)
 * must agree on the loss within 1e-13 rel (both sum in double). */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

enum { FZ_MAX_ISAS = 4 };

#define FZ_EPS64 2.220446049250313e-16

/* The expected status of the checks, written from fastloss.h. */
#define FZ_CE_EXPECT(T, SUF, EPS_T)                                                                \
  static fastloss_status fz_ce_expect_##SUF(size_t n, size_t m, const T *y, const T *p) {         \
    if (n == 0 || m == 0) return FASTLOSS_ERR_INVALID_SHAPE;                                       \
    for (size_t i = 0; i < n; i++) {                                                               \
      for (size_t j = 0; j < m; j++)                                                               \
        if (y[i * m + j] != (T)0 && y[i * m + j] != (T)1) return FASTLOSS_ERR_NOT_BINARY;          \
      double sum = 0.0;                                                                            \
      int outside = 0;                                                                             \
      for (size_t j = 0; j < m; j++) {                                                             \
        const T v = p[i * m + j];                                                                  \
        outside = outside || !(v >= (T)0 && v <= (T)1);                                           \
        sum += (double)v;                                                                          \
      }                                                                                            \
      if (outside || !(fabs(sum - 1.0) <= 1e-5 + (double)m * (EPS_T)))                             \
        return FASTLOSS_ERR_NOT_STOCHASTIC;                                                        \
    }                                                                                              \
    return FASTLOSS_OK;                                                                            \
  }                                                                                                \
                                                                                                   \
  static long double fz_ce_loss_##SUF(size_t n, size_t m, const T *y, const T *p) {                \
    long double loss = 0.0L;                                                                       \
    for (size_t k = 0; k < n * m; k++)                                                             \
      if (y[k] != (T)0) loss -= (long double)y[k] * logl((long double)p[k] + FZ_EPS64);            \
    return loss;                                                                                   \
  }

FZ_CE_EXPECT(float, f32, FLT_EPSILON)
FZ_CE_EXPECT(double, f64, DBL_EPSILON)

typedef struct fz_ce_case {
  size_t n, m;
  int null_y, null_p, alias; /* alias: 0 none, 1 over y, 2 over y_pred, 3 partial overlap */
} fz_ce_case;

/* Runs loss and grad of one dtype; checks untouched outputs on error and
 * compares with the expectation.  res[0] is the loss, res[1..] the grad. */
#define FZ_CE_RUN(T, SUF, SENT, IS_SENT)                                                           \
  static void fz_ce_run_##SUF(const fz_ce_case *c, const T *y, const T *p, const char *name,      \
                              fastloss_status st[2], double *loss, T *grad) {                      \
    const size_t nm = c->n * c->m;                                                                 \
    memset(loss, 0x5a, sizeof *loss);                                                              \
    const double before = *loss;                                                                   \
    st[0] = fastloss_crossentropy_loss_##SUF(c->n, c->m, c->null_y ? NULL : y,                     \
                                             c->null_p ? NULL : p, loss);                          \
    if (st[0] != FASTLOSS_OK && memcmp(loss, &before, sizeof before))                              \
      fz_fail("%s: " #SUF " loss written on error %d", name, (int)st[0]);                          \
    /* grad: a fresh buffer, a copy of y or y_pred (in place), or a buffer                     \
     * overlapping y_pred's copy by one element (an error). */                                    \
    T *buf = fz_alloc_##SUF(2 * nm + 1);                                                           \
    T *cy = buf, *cp = buf + nm, *out = NULL;                                                      \
    memcpy(cy, y, nm * sizeof(T));                                                                 \
    memcpy(cp, p, nm * sizeof(T));                                                                 \
    T *fresh = fz_alloc_##SUF(nm);                                                                 \
    SENT(fresh, nm);                                                                               \
    if (c->alias == 1) out = cy;                                                                   \
    else if (c->alias == 2) out = cp;                                                              \
    else if (c->alias == 3 && nm > 1) out = cp - 1; /* overlaps y's last and y_pred */          \
    else out = fresh;                                                                              \
    T *keep = fz_alloc_##SUF(2 * nm + 1);                                                          \
    memcpy(keep, buf, (2 * nm + 1) * sizeof(T));                                                   \
    st[1] = fastloss_crossentropy_grad_##SUF(c->n, c->m, c->null_y ? NULL : cy,                   \
                                             c->null_p ? NULL : cp, out);                          \
    if (st[1] != FASTLOSS_OK) {                                                                    \
      if (memcmp(keep, buf, (2 * nm + 1) * sizeof(T)))                                             \
        fz_fail("%s: " #SUF " grad status %d but an input was written", name, (int)st[1]);         \
      for (size_t k = 0; k < nm; k++)                                                              \
        if (!IS_SENT(fresh[k])) fz_fail("%s: " #SUF " grad written on error", name);               \
      fz_sentinel_##SUF(grad, nm);                                                                 \
    } else {                                                                                       \
      if (c->alias == 3 && nm > 1) fz_fail("%s: " #SUF " partial overlap accepted", name);         \
      memcpy(grad, out, nm * sizeof(T));                                                           \
    }                                                                                              \
    free(buf);                                                                                     \
    free(fresh);                                                                                   \
    free(keep);                                                                                    \
  }

FZ_CE_RUN(float, f32, fz_sentinel_f32, fz_is_sentinel_f32)
FZ_CE_RUN(double, f64, fz_sentinel_f64, fz_is_sentinel_f64)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fz_input in = {data, size};
  fz_ce_case c;
  memset(&c, 0, sizeof c);
  const uint8_t flags = fz_u8(&in);
  c.n = fz_range(&in, 0, 12);
  c.m = fz_range(&in, 0, 40);
  c.null_y = (flags & 0x3f) == 1;
  c.null_p = (flags & 0x3f) == 2;
  c.alias = (flags >> 6) & 3;
  const size_t nm = c.n * c.m;
  float *y = fz_alloc_f32(nm), *p = fz_alloc_f32(nm);
  double *y64 = fz_alloc_f64(nm), *p64 = fz_alloc_f64(nm);
  /* Valid data: a one-hot row (sometimes all zero: still binary) and
   * weights normalised in double, rounded to each dtype. */
  for (size_t i = 0; i < c.n; i++) {
    const uint8_t label = fz_u8(&in);
    double w[40], sum = 0.0;
    for (size_t j = 0; j < c.m; j++) {
      const uint8_t b = fz_u8(&in);
      w[j] = b < 16 ? 0.0 : b < 32 ? ldexp(1.0, -(int)b * 4) : (double)b;
      sum += w[j];
    }
    if (sum == 0.0) {
      w[0] = 1.0;
      sum = 1.0;
    }
    for (size_t j = 0; j < c.m; j++) {
      y[i * c.m + j] = y64[i * c.m + j] = (size_t)label % (c.m + 1) == j ? 1.0f : 0.0f;
      p[i * c.m + j] = (float)(w[j] / sum);
      p64[i * c.m + j] = w[j] / sum;
    }
  }
  /* Corruptions. */
  const size_t edits = fz_range(&in, 0, 3);
  for (size_t e = 0; e < edits && nm > 0; e++) {
    const uint8_t what = fz_u8(&in);
    const size_t at = fz_range(&in, 0, nm - 1);
    const float v = fz_float(&in);
    if (what < 64) {
      y[at] = v;
      y64[at] = v;
    } else if (what < 192) {
      p[at] = v;
      p64[at] = v;
    } else {
      /* Off by a relative amount near the tolerance. */
      const double f = 1.0 + (double)(int8_t)fz_u8(&in) * 1e-7;
      p[at] = (float)(p[at] * f);
      p64[at] = p64[at] * f;
    }
  }
  if (getenv("FASTLOSS_FUZZ_VERBOSE") != NULL) {
    fprintf(stderr, "ce n %zu m %zu alias %d null %d %d\n", c.n, c.m, c.alias, c.null_y, c.null_p);
    for (size_t k = 0; k < nm; k++) fprintf(stderr, "[%zu] y %g p %.9g (f64 %.17g)\n", k, y[k], p[k], p64[k]);
  }

  const fl_isa_kernels *isas[FZ_MAX_ISAS];
  const size_t n_isas = fz_isas(isas, FZ_MAX_ISAS);
  fastloss_status st32[FZ_MAX_ISAS][2], st64[FZ_MAX_ISAS][2];
  double l32[FZ_MAX_ISAS], l64[FZ_MAX_ISAS];
  float *g32[FZ_MAX_ISAS];
  double *g64[FZ_MAX_ISAS];
  for (size_t a = 0; a < n_isas; a++) {
    fl_dispatch_force(isas[a]);
    g32[a] = fz_alloc_f32(nm);
    g64[a] = fz_alloc_f64(nm);
    fz_ce_run_f32(&c, y, p, isas[a]->name, st32[a], &l32[a], g32[a]);
    fz_ce_run_f64(&c, y64, p64, isas[a]->name, st64[a], &l64[a], g64[a]);
  }
  for (size_t a = 1; a < n_isas; a++)
    for (int k = 0; k < 2; k++)
      if (st32[a][k] != st32[0][k] || st64[a][k] != st64[0][k] ||
          (k == 0 && st32[0][0] == FASTLOSS_OK && memcmp(&l32[a], &l32[0], sizeof(double))) ||
          (k == 0 && st64[0][0] == FASTLOSS_OK && memcmp(&l64[a], &l64[0], sizeof(double))) ||
          memcmp(g32[a], g32[0], nm * sizeof(float)) || memcmp(g64[a], g64[0], nm * sizeof(double)))
        fz_fail("%s: results differ from scalar's", isas[a]->name);

  /* The expectation. */
  fastloss_status want32 = fz_ce_expect_f32(c.n, c.m, y, p);
  fastloss_status want64 = fz_ce_expect_f64(c.n, c.m, y64, p64);
  if (c.null_y || c.null_p) want32 = want64 = FASTLOSS_ERR_NULL_POINTER;
  const fastloss_status got[4] = {st32[0][0], st32[0][1], st64[0][0], st64[0][1]};
  for (int k = 0; k < 4; k++) {
    fastloss_status want = k < 2 ? want32 : want64;
    /* The overlap is checked before the data. */
    if ((k & 1) && want != FASTLOSS_ERR_NULL_POINTER && want != FASTLOSS_ERR_INVALID_SHAPE &&
        c.alias == 3 && nm > 1)
      want = FASTLOSS_ERR_OVERLAP;
    if (got[k] != want)
      fz_fail("%s %s status %d, expected %d (%s)", k < 2 ? "f32" : "f64", k & 1 ? "grad" : "loss",
              (int)got[k], (int)want, fastloss_last_error());
  }
  if (want32 == FASTLOSS_OK) {
    const long double ref = fz_ce_loss_f32(c.n, c.m, y, p);
    if (!fz_close(l32[0], (double)ref, 1e-13 * (double)c.n, 1e-13))
      fz_fail("f32 loss %.17g, reference %.17Lg", l32[0], ref);
    if (st32[0][1] == FASTLOSS_OK)
      for (size_t k = 0; k < nm; k++)
        if (g32[0][k] != p[k] - y[k]) fz_fail("f32 grad[%zu] %.9g, want %.9g", k, g32[0][k], p[k] - y[k]);
  }
  if (want64 == FASTLOSS_OK) {
    const long double ref = fz_ce_loss_f64(c.n, c.m, y64, p64);
    if (!fz_close(l64[0], (double)ref, 1e-13 * (double)c.n, 1e-13))
      fz_fail("f64 loss %.17g, reference %.17Lg", l64[0], ref);
    if (st64[0][1] == FASTLOSS_OK)
      for (size_t k = 0; k < nm; k++)
        if (g64[0][k] != p64[k] - y64[k])
          fz_fail("f64 grad[%zu] %.17g, want %.17g", k, g64[0][k], p64[k] - y64[k]);
  }
  /* f32 against f64 on the f32 values widened. */
  if (want32 == FASTLOSS_OK) {
    double *yw = fz_alloc_f64(nm), *pw = fz_alloc_f64(nm);
    for (size_t k = 0; k < nm; k++) {
      yw[k] = y[k];
      pw[k] = p[k];
    }
    double lw = 0.0;
    if (fz_ce_expect_f64(c.n, c.m, yw, pw) == FASTLOSS_OK) {
      const fastloss_status sw = fastloss_crossentropy_loss_f64(c.n, c.m, yw, pw, &lw);
      if (sw != FASTLOSS_OK)
        fz_fail("f64 on widened f32 data: status %d (%s)", (int)sw, fastloss_last_error());
      if (!fz_close(l32[0], lw, 1e-13 * (double)c.n, 1e-13))
        fz_fail("f32 loss %.17g, f64 on the same values %.17g", l32[0], lw);
    }
    free(yw);
    free(pw);
  }
  for (size_t a = 0; a < n_isas; a++) {
    free(g32[a]);
    free(g64[a]);
  }
  free(y);
  free(p);
  free(y64);
  free(p64);
  return 0;
}
