/* The sigmoid-logit kernels of NCE and negative sampling: the f32 kernels of
 * the ISA under test against float64 references computed here and against
 * the scalar kernels; the f64 kernels of the ISA against long double and
 * the f64 scalar kernels.
 * Every row lives in its own canary-guarded buffer, so a kernel that writes
 * past a row fails the canary check and one that reads past it picks up the
 * canary NaN.  Sizes around the vector width, misaligned rows, repeated row
 * pointers, row gaps in z, the word2vec shapes, extreme sigmoid inputs. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testing.h"
#include "scalar-math64.h"

/* d: 0..2L+1, 3L, 4L +- 1 (L the lanes, 8 for scalar) and the embedding
 * sizes of word2vec. */
static size_t fl_nce_sizes(size_t *out) {
  const size_t lanes = fl_run.lanes > 1 ? fl_run.lanes : 8;
  size_t count = 0;
  for (size_t d = 0; d <= 2 * lanes + 1; d++) out[count++] = d;
  out[count++] = 3 * lanes;
  out[count++] = 4 * lanes - 1;
  out[count++] = 4 * lanes;
  out[count++] = 4 * lanes + 1;
  out[count++] = 100;
  out[count++] = 128;
  out[count++] = 300;
  return count;
}

/* kind 0: N(0, 1); kind 1: N(0, 1) times 2^k, k in [-20, 20], so that the
 * tolerances must scale with the terms. */
static float fl_nce_value(int kind, fl_rng *rng) {
  double v = fl_rng_normal(rng);
  if (kind == 1) v = ldexp(v, (int)(fl_rng_u32(rng) % 41) - 20);
  return (float)v;
}

/* `count` rows of d floats, each in its own buffer, misaligned every other
 * row; with `repeat`, the last row pointer is the first one again. */
typedef struct fl_rows {
  size_t count;
  fl_buf *bufs;
  float **ptr;
} fl_rows;

static fl_rows fl_rows_new(size_t count, size_t d, int misalign, int repeat, int kind,
                           fl_rng *rng) {
  fl_rows rows = {count, malloc(count * sizeof(fl_buf)), malloc(count * sizeof(float *))};
  ck_assert_ptr_nonnull(rows.bufs);
  ck_assert_ptr_nonnull(rows.ptr);
  for (size_t r = 0; r < count; r++) {
    rows.bufs[r] = fl_buf_new(d, (int)((r + (size_t)misalign) % 2));
    for (size_t j = 0; j < d; j++) rows.bufs[r].data[j] = fl_nce_value(kind, rng);
    rows.ptr[r] = rows.bufs[r].data;
  }
  if (repeat && count > 2) rows.ptr[count - 1] = rows.ptr[0];
  return rows;
}

static void fl_rows_check_canaries(const fl_rows *rows, const char *what) {
  for (size_t r = 0; r < rows->count; r++) fl_buf_check_canaries(&rows->bufs[r], what);
}

static void fl_rows_free(fl_rows *rows) {
  for (size_t r = 0; r < rows->count; r++) fl_buf_free(&rows->bufs[r]);
  free(rows->bufs);
  free(rows->ptr);
}

/* The run tests the ISA's own kernels, not the scalar ones by mistake. */
START_TEST(nce_kernels_installed) {
  const fl_f32_nce_kernels *k = fl_run.kernels->f32_nce;
  FL_CHECK((k == &fl_f32_nce_kernels__scalar) == (fl_run.isa == FASTLOSS_ISA_SCALAR),
           "%s: f32 nce kernels are %s the scalar ones", fl_run.mode,
           k == &fl_f32_nce_kernels__scalar ? "" : "not");
  const fl_f64_nce_kernels *k64 = fl_run.kernels->f64_nce;
  FL_CHECK((k64 == &fl_f64_nce_kernels__scalar) == (fl_run.isa == FASTLOSS_ISA_SCALAR),
           "%s: f64 nce kernels are %s the scalar ones", fl_run.mode,
           k64 == &fl_f64_nce_kernels__scalar ? "" : "not");
}
END_TEST

/* ------------------------------------------------------------ f32 dots */

/* z = x w^T of one shape against the double reference and the scalar
 * kernel.  The tolerance is the classic bound for a float sum of d terms,
 * d eps sum |x_j w_j|, plus the rounding of the result. */
static void fl_check_dots(size_t rows, size_t cols, size_t d, int variant, int kind, fl_rng *rng) {
  const fl_f32_nce_kernels *k = fl_run.kernels->f32_nce;
  const size_t ld_z = (variant & 1) ? cols + 3 : cols;
  const int repeat = (variant & 2) != 0;
  fl_rows x = fl_rows_new(rows, d, variant & 1, repeat, kind, rng);
  fl_rows w = fl_rows_new(cols, d, !(variant & 1), repeat, kind, rng);
  const size_t total = (rows - 1) * ld_z + cols;
  fl_buf z = fl_buf_new(total, variant & 1), zs = fl_buf_new(total, 0);
  k->nce_dots(rows, cols, d, (const float *const *)x.ptr, (const float *const *)w.ptr, z.data,
              ld_z);
  fl_f32_nce_kernels__scalar.nce_dots(rows, cols, d, (const float *const *)x.ptr,
                                      (const float *const *)w.ptr, zs.data, ld_z);
  fl_buf_check_canaries(&z, "nce_dots z");
  fl_rows_check_canaries(&x, "nce_dots x");
  fl_rows_check_canaries(&w, "nce_dots w");
  for (size_t r = 0; r < rows; r++) {
    for (size_t c = 0; c < cols; c++) {
      double want = 0.0, scale = 0.0;
      for (size_t j = 0; j < d; j++) {
        const double term = (double)x.ptr[r][j] * w.ptr[c][j];
        want += term;
        scale += fabs(term);
      }
      const double tol = (double)d * FLT_EPSILON * scale + 0.5 * FLT_EPSILON * fabs(want);
      const float got = z.data[r * ld_z + c], scalar = zs.data[r * ld_z + c];
      FL_CHECK(fabs(got - want) <= tol,
               "nce_dots rows=%zu cols=%zu d=%zu variant=%d kind=%d z[%zu][%zu] = %.9g, want %.9g "
               "(tol %.3g)",
               rows, cols, d, variant, kind, r, c, (double)got, want, tol);
      FL_CHECK(fabs((double)got - scalar) <= 2.0 * tol,
               "nce_dots rows=%zu cols=%zu d=%zu z[%zu][%zu] = %.9g, scalar %.9g", rows, cols, d, r,
               c, (double)got, (double)scalar);
    }
    /* The gaps between rows of z are never written. */
    if (r + 1 < rows)
      for (size_t c = cols; c < ld_z; c++)
        FL_CHECK(isnan(z.data[r * ld_z + c]), "nce_dots wrote z[%zu][%zu], past cols = %zu", r, c,
                 cols);
  }
  fl_buf_free(&z);
  fl_buf_free(&zs);
  fl_rows_free(&x);
  fl_rows_free(&w);
}

START_TEST(nce_dots_against_reference) {
  size_t sizes[64];
  const size_t ns = fl_nce_sizes(sizes);
  fl_rng rng;
  fl_rng_seed(&rng, 41);
  for (size_t s = 0; s < ns; s++)
    for (size_t rows = 1; rows <= 9; rows++)
      for (size_t cols = 1; cols <= 9; cols++) {
        const int variant = (int)((s + rows + cols) % 4);
        fl_check_dots(rows, cols, sizes[s], variant, (int)(rows + cols) % 2, &rng);
      }
  /* word2vec: a skip-gram pair (k = 5), a shared-negative group, the NCE
   * loss object's batch. */
  static const size_t shapes[][3] = {{1, 6, 100},  {1, 6, 300}, {1, 11, 300},  {2, 6, 128},
                                     {10, 6, 300}, {7, 6, 100}, {256, 5, 128}, {33, 17, 37}};
  const size_t nshapes = sizeof shapes / sizeof shapes[0];
  for (size_t k = 0; k < nshapes; k++)
    for (int variant = 0; variant < 4; variant++)
      fl_check_dots(shapes[k][0], shapes[k][1], shapes[k][2], variant, variant % 2, &rng);
}
END_TEST

/* A NaN anywhere in a row, the tail included, reaches that row's dots and no
 * other. */
START_TEST(nce_dots_nan) {
  const fl_f32_nce_kernels *k = fl_run.kernels->f32_nce;
  size_t sizes[64];
  const size_t ns = fl_nce_sizes(sizes);
  fl_rng rng;
  fl_rng_seed(&rng, 42);
  for (size_t s = 0; s < ns; s++) {
    const size_t d = sizes[s], rows = 3, cols = 7;
    if (d == 0) continue;
    fl_rows x = fl_rows_new(rows, d, 0, 0, 0, &rng), w = fl_rows_new(cols, d, 1, 0, 0, &rng);
    x.ptr[1][d - 1] = NAN;
    w.ptr[4][0] = NAN;
    float z[3 * 7];
    k->nce_dots(rows, cols, d, (const float *const *)x.ptr, (const float *const *)w.ptr, z, cols);
    for (size_t r = 0; r < rows; r++)
      for (size_t c = 0; c < cols; c++)
        FL_CHECK(isnan(z[r * cols + c]) == (r == 1 || c == 4),
                 "nce_dots NaN d=%zu z[%zu][%zu] = %g", d, r, c, (double)z[r * cols + c]);
    fl_rows_free(&x);
    fl_rows_free(&w);
  }
}
END_TEST

/* ------------------------------------------------------------ f32 sigmoid */

/* Error of got in ULPs of the true value; below FLT_MIN, where the kernels
 * may flush, 0 if within FLT_MIN absolute and infinite otherwise. */
static double fl_sigmoid_ulps(float got, double want) {
  if (isnan(want)) return isnan(got) ? 0.0 : INFINITY;
  if (isnan(got)) return INFINITY;
  if (want < FLT_MIN) return fabs(got - want) < FLT_MIN ? 0.0 : INFINITY;
  int e;
  frexp(want, &e);
  return fabs((double)got - want) / ldexp(1.0, e - 24);
}

static int fl_same_or_nan(float a, float b) { return (isnan(a) && isnan(b)) || fl_same_bits(a, b); }

/* sigmoid(y) in double, from the side where exp cannot overflow. */
static double fl_ref_sigmoid(double y) {
  if (isnan(y)) return y;
  if (y >= 0.0) return 1.0 / (1.0 + exp(-y));
  const double e = exp(y);
  return e / (1.0 + e);
}

/* Measured: 2.71 ULP for q and for c (the worst of 16M inputs; 2.40 on the
 * 400K of this test), the same on every ISA, with FMA and without: e r
 * adds the errors of exp (1 ULP), of 1 + e and of the division.  The bound
 * is just above. */
#define FL_SIGMOID_ULPS 2.8

static const float fl_sigmoid_extremes[] = {
    0.0f,      -0.0f,  1e-30f, -1e-30f, 1.0f,     -1.0f,     17.0f,      -17.0f,     87.0f,
    -87.0f,    87.3f,  -87.3f, 87.34f,  -87.34f,  87.5f,     -87.5f,     88.0f,      -88.0f,
    88.8f,     -88.8f, 100.0f, -100.0f, 1e30f,    -1e30f,    FLT_MAX,    -FLT_MAX,   INFINITY,
    -INFINITY, NAN,    -NAN,   FLT_MIN, -FLT_MIN, 1e-40f,    -1e-40f,    1e-45f,     -1e-45f,
    0.5f,      -0.5f,  1e-4f,  -1e-4f,  15.9424f, -15.9424f, 16.635532f, -16.635532f};

/* The inputs: the extremes, a dense sweep of [-100, 100], small |y| on a
 * log scale, and random bit patterns (every exponent, NaNs included). */
static size_t fl_sigmoid_inputs(float *y, size_t capacity, fl_rng *rng) {
  size_t m = 0;
  const size_t nextremes = sizeof fl_sigmoid_extremes / sizeof fl_sigmoid_extremes[0];
  for (size_t k = 0; k < nextremes; k++) y[m++] = fl_sigmoid_extremes[k];
  const size_t sweep = capacity / 2;
  for (size_t k = 0; k < sweep; k++) y[m++] = (float)(-100.0 + 200.0 * (double)k / (double)sweep);
  while (m < capacity * 3 / 4)
    y[m++] = (float)(ldexp(fl_rng_normal(rng), -(int)(fl_rng_u32(rng) % 120)));
  while (m < capacity) {
    const uint32_t bits = fl_rng_u32(rng);
    memcpy(&y[m++], &bits, sizeof bits);
  }
  return m;
}

START_TEST(nce_sigmoid_ulp) {
  const fl_f32_nce_kernels *k = fl_run.kernels->f32_nce;
  const size_t capacity = fl_run.slow ? 40000 : 400000;
  fl_rng rng;
  fl_rng_seed(&rng, 43);
  float *y = malloc(capacity * sizeof *y), *neg = malloc(capacity * sizeof *neg);
  ck_assert_ptr_nonnull(y);
  ck_assert_ptr_nonnull(neg);
  const size_t m = fl_sigmoid_inputs(y, capacity, &rng);
  for (size_t j = 0; j < m; j++) neg[j] = -y[j];
  fl_buf q = fl_buf_new(m, 1), c = fl_buf_new(m, 0), qs = fl_buf_new(m, 0), cs = fl_buf_new(m, 1);
  fl_buf qn = fl_buf_new(m, 0), cn = fl_buf_new(m, 1);
  k->nce_sigmoid(m, y, q.data, c.data);
  k->nce_sigmoid(m, neg, qn.data, cn.data);
  fl_f32_nce_kernels__scalar.nce_sigmoid(m, y, qs.data, cs.data);
  fl_buf_check_canaries(&q, "nce_sigmoid q");
  fl_buf_check_canaries(&c, "nce_sigmoid c");
  double worst_q = 0.0, worst_c = 0.0, scalar_q = 0.0, scalar_c = 0.0;
  float at_q = 0.0f, at_c = 0.0f;
  for (size_t j = 0; j < m; j++) {
    const double want_q = fl_ref_sigmoid(y[j]), want_c = fl_ref_sigmoid(-(double)y[j]);
    const double eq = fl_sigmoid_ulps(q.data[j], want_q), ec = fl_sigmoid_ulps(c.data[j], want_c);
    if (eq > worst_q || isnan(eq)) worst_q = eq, at_q = y[j];
    if (ec > worst_c || isnan(ec)) worst_c = ec, at_c = y[j];
    /* exp(-|y|) is even in y, so mirrored inputs swap the outputs exactly
     * (NaNs compared as NaN: their sign and payload are not specified). */
    FL_CHECK(fl_same_or_nan(q.data[j], cn.data[j]) && fl_same_or_nan(c.data[j], qn.data[j]),
             "nce_sigmoid y = %.9g: (q, c) = (%.9g, %.9g) but at -y (%.9g, %.9g)", (double)y[j],
             (double)q.data[j], (double)c.data[j], (double)qn.data[j], (double)cn.data[j]);
    /* The scalar kernel, the baseline, within the same bounds. */
    const double sq = fl_sigmoid_ulps(qs.data[j], want_q), sc = fl_sigmoid_ulps(cs.data[j], want_c);
    if (sq > scalar_q || isnan(sq)) scalar_q = sq;
    if (sc > scalar_c || isnan(sc)) scalar_c = sc;
  }
  printf("%s nce_sigmoid: max error q %.3f ULP (y = %.9g), c %.3f ULP (y = %.9g)\n", fl_run.mode,
         worst_q, (double)at_q, worst_c, (double)at_c);
  printf("%s scalar nce_sigmoid: max error q %.3f ULP, c %.3f ULP\n", fl_run.mode, scalar_q,
         scalar_c);
  FL_CHECK(scalar_q <= FL_SIGMOID_ULPS && scalar_c <= FL_SIGMOID_ULPS,
           "scalar nce_sigmoid: q %.3f ULP, c %.3f ULP", scalar_q, scalar_c);
  FL_CHECK(worst_q <= FL_SIGMOID_ULPS, "%s nce_sigmoid q: %.3f ULP at y = %.9g (bound %.2f)",
           fl_run.mode, worst_q, (double)at_q, FL_SIGMOID_ULPS);
  FL_CHECK(worst_c <= FL_SIGMOID_ULPS, "%s nce_sigmoid c: %.3f ULP at y = %.9g (bound %.2f)",
           fl_run.mode, worst_c, (double)at_c, FL_SIGMOID_ULPS);
  free(y);
  free(neg);
  fl_buf_free(&q);
  fl_buf_free(&c);
  fl_buf_free(&qs);
  fl_buf_free(&cs);
  fl_buf_free(&qn);
  fl_buf_free(&cn);
}
END_TEST

/* Values the formula gives exactly (up to a flush below FLT_MIN, where SLEEF's
 * exp keeps denormals: c(100) = 3.8e-44), NaN in every lane position, then
 * every short length at both alignments: the tails, with canaries around q
 * and c. */
START_TEST(nce_sigmoid_special_and_tails) {
  const fl_f32_nce_kernels *k = fl_run.kernels->f32_nce;
  static const float y[] = {0.0f, -0.0f, INFINITY, -INFINITY, 1e30f, -1e30f, NAN, 1e-45f, 100.0f};
  static const float want_q[] = {0.5f, 0.5f, 1.0f, 0.0f, 1.0f, 0.0f, NAN, 0.5f, 1.0f};
  const size_t n = sizeof y / sizeof y[0];
  float q[sizeof y / sizeof y[0]], c[sizeof y / sizeof y[0]];
  k->nce_sigmoid(n, y, q, c);
  for (size_t j = 0; j < n; j++) {
    if (isnan(y[j])) {
      FL_CHECK(isnan(q[j]) && isnan(c[j]), "nce_sigmoid(NaN) = (%g, %g)", (double)q[j],
               (double)c[j]);
      continue;
    }
    FL_CHECK(fabsf(q[j] - want_q[j]) < FLT_MIN && fabsf(c[j] - (1.0f - want_q[j])) < FLT_MIN,
             "nce_sigmoid(%g) = (%g, %g)", (double)y[j], (double)q[j], (double)c[j]);
  }
  /* A NaN at each position of a row of 2L + 1 stays in its own lane. */
  const size_t lanes = fl_run.lanes > 1 ? fl_run.lanes : 8;
  float row[2 * 16 + 1], rq[2 * 16 + 1], rc[2 * 16 + 1];
  for (size_t at = 0; at < 2 * lanes + 1; at++) {
    for (size_t j = 0; j < 2 * lanes + 1; j++) row[j] = j == at ? NAN : (float)j - 10.0f;
    k->nce_sigmoid(2 * lanes + 1, row, rq, rc);
    for (size_t j = 0; j < 2 * lanes + 1; j++)
      FL_CHECK(isnan(rq[j]) == (j == at) && isnan(rc[j]) == (j == at),
               "nce_sigmoid NaN at %zu: lane %zu gives (%g, %g)", at, j, (double)rq[j],
               (double)rc[j]);
  }
  fl_rng rng;
  fl_rng_seed(&rng, 44);
  for (size_t m = 0; m <= 4 * lanes + 1; m++)
    for (int mis = 0; mis < 2; mis++) {
      fl_buf in = fl_buf_new(m, mis), qb = fl_buf_new(m, !mis), cb = fl_buf_new(m, mis);
      for (size_t j = 0; j < m; j++) in.data[j] = (float)(8.0 * fl_rng_normal(&rng));
      k->nce_sigmoid(m, in.data, qb.data, cb.data);
      fl_buf_check_canaries(&qb, "nce_sigmoid q");
      fl_buf_check_canaries(&cb, "nce_sigmoid c");
      for (size_t j = 0; j < m; j++)
        FL_CHECK(
            fl_sigmoid_ulps(qb.data[j], fl_ref_sigmoid(in.data[j])) <= FL_SIGMOID_ULPS &&
                fl_sigmoid_ulps(cb.data[j], fl_ref_sigmoid(-(double)in.data[j])) <= FL_SIGMOID_ULPS,
            "nce_sigmoid m=%zu j=%zu y=%.9g: (%.9g, %.9g)", m, j, (double)in.data[j],
            (double)qb.data[j], (double)cb.data[j]);
      fl_buf_free(&in);
      fl_buf_free(&qb);
      fl_buf_free(&cb);
    }
}
END_TEST

/* ------------------------------------------------------------ f32 sigmoid_bce */

/* The BCE term of nce_sigmoid_bce, in long double, from the kernel's own q
 * and c: what the kernel computes, but for the rounding of its log. */
static long double fl_ref_bce_term(float q, float c) {
  const long double eps = FLT_EPSILON;
  if (isnan(q)) return q;
  if (q < eps) return -logl(eps);
  if (c < eps) return -log1pl(-eps);
  return q > 0.5f ? -log1pl(-(long double)c) : -logl((long double)q);
}

/* The same clipped term from y itself: -log clip(sigmoid(y), eps, 1 - eps),
 * with sigmoid's error included.  -log sigmoid(y) = log1p(e^-y) for y >= 0
 * and -y + log1p(e^y) below. */
static long double fl_ref_bce_from_y(float y) {
  const long double eps = FLT_EPSILON, x = y;
  if (isnan(y)) return x;
  const long double e = expl(-fabsl(x)), small = e / (1.0L + e);
  const long double q = x >= 0.0L ? 1.0L - small : small, c = x >= 0.0L ? small : 1.0L - small;
  if (q < eps) return -logl(eps);
  if (c < eps) return -log1pl(-eps);
  return x >= 0.0L ? log1pl(e) : -x + log1pl(e);
}

static double fl_bce_ulps(float got, long double want) {
  return fl_sigmoid_ulps(got, (double)want);
}

/* Measured on 16M inputs (FASTLOSS_TEST_BCE_SWEEP=16000000 sets the size of
 * nce_sigmoid_bce_ulp's sweep), x86-64, inline exp and log / -Dexp=sleef
 * (SLEEF's u10):
 * - against the formula on the kernel's own q and c (the log's error plus
 *   the roundings of the log1p correction and of the final sum): scalar
 *   (no FMA) 1.61 / 1.03 ULP, AVX2 and AVX-512 (emulated) 1.53 / 1.03;
 *   NEON (qemu, 4M inputs) 1.52.  The 400K of this test: 1.40, 1.40,
 *   1.37 (NEON, 40K under qemu).
 * - against the clipped term of the exact sigmoid(y): 4.01 / 3.73 ULP on
 *   every x86 ISA, NEON 3.96: q's error (up to 2.7 ULP) enters t as
 *   dq / (q |log q|) where q < 1/2, and c's as dc / (1 - c) where q > 1/2,
 *   up to 1.6 times over near q = 0.6.
 * - the ISA against the scalar kernel: 5 ULP apart (x86, where the scalar
 *   baseline has no FMA and its q and c differ), 0 on AArch64.
 * The bounds are just above the worst of them. */
#define FL_BCE_ULPS 1.65
#define FL_BCE_Y_ULPS 4.1
#define FL_BCE_APART_ULPS 5.0

#define FL_LN2L 0.693147180559945309417232121458176568L

/* -log(eps) and -log1p(-eps) rounded to float: the clipped values. */
static float fl_bce_clip_low(void) { return (float)-log((double)FLT_EPSILON); }
static float fl_bce_clip_high(void) { return (float)-log1p(-(double)FLT_EPSILON); }

/* The inputs of nce_sigmoid_ulp, plus every float within 300 ULP of the four
 * points where a clip starts (q or c = eps, y = +-15.942385) and of +-ln(3)
 * (q or c = 1/2 +- 1/4, where log1p's rounding of 1 - c is largest). */
static size_t fl_bce_inputs(float *y, size_t capacity, fl_rng *rng) {
  static const float centres[] = {15.942385f, -15.942385f, 1.0986123f, -1.0986123f};
  const size_t ncentres = sizeof centres / sizeof centres[0];
  size_t m = 0;
  for (size_t k = 0; k < ncentres; k++) {
    float v = centres[k];
    for (int s = 0; s < 300; s++) v = nextafterf(v, 0.0f);
    for (int s = 0; s < 601; s++, v = nextafterf(v, copysignf(INFINITY, centres[k]))) y[m++] = v;
  }
  return m + fl_sigmoid_inputs(y + m, capacity - m, rng);
}

/* Every lane against the long double formula on its own q and c, against
 * the term of the exact sigmoid and against the scalar kernel; q and c bit
 * for bit those of nce_sigmoid. */
START_TEST(nce_sigmoid_bce_ulp) {
  const fl_f32_nce_kernels *k = fl_run.kernels->f32_nce;
  const size_t capacity = getenv("FASTLOSS_TEST_BCE_SWEEP")
                              ? (size_t)atol(getenv("FASTLOSS_TEST_BCE_SWEEP"))
                          : fl_run.slow ? 40000
                                        : 400000;
  fl_rng rng;
  fl_rng_seed(&rng, 48);
  float *y = malloc(capacity * sizeof *y);
  ck_assert_ptr_nonnull(y);
  const size_t m = fl_bce_inputs(y, capacity, &rng);
  fl_buf q = fl_buf_new(m, 1), c = fl_buf_new(m, 0), t = fl_buf_new(m, 1);
  fl_buf qs = fl_buf_new(m, 0), cs = fl_buf_new(m, 0), ts = fl_buf_new(m, 0);
  fl_buf q1 = fl_buf_new(m, 0), c1 = fl_buf_new(m, 0);
  k->nce_sigmoid_bce(m, y, q.data, c.data, t.data);
  k->nce_sigmoid(m, y, q1.data, c1.data);
  fl_f32_nce_kernels__scalar.nce_sigmoid_bce(m, y, qs.data, cs.data, ts.data);
  fl_buf_check_canaries(&q, "nce_sigmoid_bce q");
  fl_buf_check_canaries(&c, "nce_sigmoid_bce c");
  fl_buf_check_canaries(&t, "nce_sigmoid_bce t");
  const float clip_low = fl_bce_clip_low(), clip_high = fl_bce_clip_high();
  /* Finite and between the clipped values, up to the log's rounding where
   * q or c is eps itself (the one ULP the bound allows). */
  const float below_high = nextafterf(clip_high, 0.0f), above_low = nextafterf(clip_low, INFINITY);
  double worst = 0.0, worst_y = 0.0, worst_scalar = 0.0, worst_scalar_y = 0.0, apart = 0.0;
  float at = 0.0f, at_y = 0.0f, at_apart = 0.0f;
  for (size_t j = 0; j < m; j++) {
    FL_CHECK(fl_same_or_nan(q.data[j], q1.data[j]) && fl_same_or_nan(c.data[j], c1.data[j]),
             "%s nce_sigmoid_bce y = %.9g: (q, c) = (%.9g, %.9g), nce_sigmoid (%.9g, %.9g)",
             fl_run.mode, (double)y[j], (double)q.data[j], (double)c.data[j], (double)q1.data[j],
             (double)c1.data[j]);
    const float tj = t.data[j];
    FL_CHECK(isnan(y[j]) ? isnan(tj) : (tj >= below_high && tj <= above_low),
             "%s nce_sigmoid_bce y = %.9g: t = %.9g, outside [%.9g, %.9g]", fl_run.mode,
             (double)y[j], (double)tj, (double)below_high, (double)above_low);
    const double e = fl_bce_ulps(tj, fl_ref_bce_term(q.data[j], c.data[j]));
    const long double want_y = fl_ref_bce_from_y(y[j]);
    const double ey = fl_bce_ulps(tj, want_y);
    const double es = fl_bce_ulps(ts.data[j], fl_ref_bce_term(qs.data[j], cs.data[j]));
    const double esy = fl_bce_ulps(ts.data[j], want_y);
    /* The ISA and the scalar kernel apart, in ULP of the term. */
    const double d = fl_bce_ulps(tj, (long double)ts.data[j]);
    if (e > worst || isnan(e)) worst = e, at = y[j];
    if (ey > worst_y || isnan(ey)) worst_y = ey, at_y = y[j];
    if (es > worst_scalar || isnan(es)) worst_scalar = es;
    if (esy > worst_scalar_y || isnan(esy)) worst_scalar_y = esy;
    if (d > apart || isnan(d)) apart = d, at_apart = y[j];
  }
  printf(
      "%s nce_sigmoid_bce: max error t %.3f ULP of the formula on its q, c (y = %.9g), %.3f ULP "
      "of the exact term (y = %.9g); %.3f ULP from scalar (y = %.9g)\n",
      fl_run.mode, worst, (double)at, worst_y, (double)at_y, apart, (double)at_apart);
  printf("%s scalar nce_sigmoid_bce: max error t %.3f ULP of the formula, %.3f of the exact term\n",
         fl_run.mode, worst_scalar, worst_scalar_y);
  FL_CHECK(worst_scalar <= FL_BCE_ULPS && worst_scalar_y <= FL_BCE_Y_ULPS,
           "scalar nce_sigmoid_bce: t %.3f ULP of the formula, %.3f of the exact term",
           worst_scalar, worst_scalar_y);
  FL_CHECK(worst <= FL_BCE_ULPS, "%s nce_sigmoid_bce t: %.3f ULP at y = %.9g (bound %.2f)",
           fl_run.mode, worst, (double)at, FL_BCE_ULPS);
  FL_CHECK(worst_y <= FL_BCE_Y_ULPS,
           "%s nce_sigmoid_bce t: %.3f ULP of the exact term at y = %.9g (bound %.2f)", fl_run.mode,
           worst_y, (double)at_y, FL_BCE_Y_ULPS);
  FL_CHECK(apart <= FL_BCE_APART_ULPS,
           "%s nce_sigmoid_bce t: %.3f ULP from the scalar kernel at y = %.9g (bound %.2f)",
           fl_run.mode, apart, (double)at_apart, FL_BCE_APART_ULPS);
  free(y);
  fl_buf_free(&q);
  fl_buf_free(&c);
  fl_buf_free(&t);
  fl_buf_free(&qs);
  fl_buf_free(&cs);
  fl_buf_free(&ts);
  fl_buf_free(&q1);
  fl_buf_free(&c1);
}
END_TEST

/* One call of nce_sigmoid_bce on a row of m at the given misalignment
 * (0 or 1 element, applied to y and t, the opposite to q and c), canaries
 * around every output, checked element by element against nce_sigmoid, the
 * scalar kernel and the formula; then again with t = y (in place). */
static void fl_check_bce_row(size_t m, int mis, fl_rng *rng) {
  const fl_f32_nce_kernels *k = fl_run.kernels->f32_nce;
  fl_buf in = fl_buf_new(m, mis), q = fl_buf_new(m, !mis), c = fl_buf_new(m, !mis);
  fl_buf t = fl_buf_new(m, mis), inplace = fl_buf_new(m, !mis);
  float *q1 = malloc((m + 1) * sizeof *q1), *c1 = malloc((m + 1) * sizeof *c1);
  float *qs = malloc((m + 1) * sizeof *qs), *cs = malloc((m + 1) * sizeof *cs);
  float *ts = malloc((m + 1) * sizeof *ts);
  ck_assert_ptr_nonnull(q1);
  ck_assert_ptr_nonnull(c1);
  ck_assert_ptr_nonnull(qs);
  ck_assert_ptr_nonnull(cs);
  ck_assert_ptr_nonnull(ts);
  /* Mostly N(0, 64), so lanes take both branches and both clips. */
  for (size_t j = 0; j < m; j++) in.data[j] = (float)(8.0 * fl_rng_normal(rng));
  if (m > 0) memcpy(inplace.data, in.data, m * sizeof(float));
  k->nce_sigmoid_bce(m, in.data, q.data, c.data, t.data);
  k->nce_sigmoid(m, in.data, q1, c1);
  fl_f32_nce_kernels__scalar.nce_sigmoid_bce(m, in.data, qs, cs, ts);
  fl_buf_check_canaries(&q, "nce_sigmoid_bce q");
  fl_buf_check_canaries(&c, "nce_sigmoid_bce c");
  fl_buf_check_canaries(&t, "nce_sigmoid_bce t");
  fl_buf_check_canaries(&in, "nce_sigmoid_bce y");
  for (size_t j = 0; j < m; j++) {
    FL_CHECK(fl_same_bits(q.data[j], q1[j]) && fl_same_bits(c.data[j], c1[j]),
             "%s nce_sigmoid_bce m=%zu misaligned=%d j=%zu y=%.9g: (q, c) = (%.9g, %.9g), "
             "nce_sigmoid (%.9g, %.9g)",
             fl_run.mode, m, mis, j, (double)in.data[j], (double)q.data[j], (double)c.data[j],
             (double)q1[j], (double)c1[j]);
    const double e = fl_bce_ulps(t.data[j], fl_ref_bce_term(q.data[j], c.data[j]));
    const double d = fl_bce_ulps(t.data[j], (long double)ts[j]);
    FL_CHECK(e <= FL_BCE_ULPS && d <= FL_BCE_APART_ULPS,
             "%s nce_sigmoid_bce m=%zu misaligned=%d j=%zu y=%.9g: t = %.9g (%.3f ULP of the "
             "formula), scalar %.9g",
             fl_run.mode, m, mis, j, (double)in.data[j], (double)t.data[j], e, (double)ts[j]);
  }
  /* t = y: the same outputs (q and c land in the now free q1 and c1). */
  k->nce_sigmoid_bce(m, inplace.data, q1, c1, inplace.data);
  fl_buf_check_canaries(&inplace, "nce_sigmoid_bce t = y");
  for (size_t j = 0; j < m; j++)
    FL_CHECK(fl_same_bits(inplace.data[j], t.data[j]) && fl_same_bits(q1[j], q.data[j]) &&
                 fl_same_bits(c1[j], c.data[j]),
             "%s nce_sigmoid_bce in place m=%zu j=%zu y=%.9g: t = %.9g, not in place %.9g",
             fl_run.mode, m, j, (double)in.data[j], (double)inplace.data[j], (double)t.data[j]);
  free(q1);
  free(c1);
  free(qs);
  free(cs);
  free(ts);
  fl_buf_free(&in);
  fl_buf_free(&q);
  fl_buf_free(&c);
  fl_buf_free(&t);
  fl_buf_free(&inplace);
}

/* The clipped values exactly (and ln 2 at q = 1/2) at the extremes, NaN in
 * every lane position, then every length 0..67 and a long row at both
 * alignments. */
START_TEST(nce_sigmoid_bce_special_and_tails) {
  const fl_f32_nce_kernels *k = fl_run.kernels->f32_nce;
  const float low = fl_bce_clip_low(), high = fl_bce_clip_high(), ln2 = (float)FL_LN2L;
  static const float y[] = {0.0f,     -0.0f,   INFINITY, -INFINITY, 1e30f,      -1e30f,     FLT_MAX,
                            -FLT_MAX, 100.0f,  -100.0f,  17.0f,     -17.0f,     1e-30f,     -1e-30f,
                            1e-45f,   -1e-45f, NAN,      -NAN,      16.635532f, -16.635532f};
  const float want[] = {ln2,  ln2, high, low, high, low, high, low, high, low,
                        high, low, ln2,  ln2, ln2,  ln2, NAN,  NAN, high, low};
  const size_t n = sizeof y / sizeof y[0];
  ck_assert_uint_eq(n, sizeof want / sizeof want[0]);
  float q[sizeof y / sizeof y[0]], c[sizeof y / sizeof y[0]], t[sizeof y / sizeof y[0]];
  k->nce_sigmoid_bce(n, y, q, c, t);
  for (size_t j = 0; j < n; j++) {
    if (isnan(want[j])) {
      FL_CHECK(isnan(q[j]) && isnan(c[j]) && isnan(t[j]), "%s nce_sigmoid_bce(NaN) = (%g, %g, %g)",
               fl_run.mode, (double)q[j], (double)c[j], (double)t[j]);
      continue;
    }
    /* The clips exactly; ln 2 (q = 1/2 exactly) to the log's accuracy. */
    const int exact = want[j] != ln2;
    FL_CHECK(exact ? fl_same_bits(t[j], want[j]) : fl_bce_ulps(t[j], FL_LN2L) <= FL_BCE_ULPS,
             "%s nce_sigmoid_bce(%g) = (%g, %g, %.9g), t should be %.9g", fl_run.mode, (double)y[j],
             (double)q[j], (double)c[j], (double)t[j], (double)want[j]);
  }
  /* A NaN at each position of a row of 2L + 1 stays in its own lane. */
  const size_t lanes = fl_run.lanes > 1 ? fl_run.lanes : 8;
  float row[2 * 16 + 1], rq[2 * 16 + 1], rc[2 * 16 + 1], rt[2 * 16 + 1];
  for (size_t at = 0; at < 2 * lanes + 1; at++) {
    for (size_t j = 0; j < 2 * lanes + 1; j++) row[j] = j == at ? NAN : 3.0f * ((float)j - 10.0f);
    k->nce_sigmoid_bce(2 * lanes + 1, row, rq, rc, rt);
    for (size_t j = 0; j < 2 * lanes + 1; j++)
      FL_CHECK(isnan(rt[j]) == (j == at) && isnan(rq[j]) == (j == at),
               "%s nce_sigmoid_bce NaN at %zu: lane %zu gives q = %g, t = %g", fl_run.mode, at, j,
               (double)rq[j], (double)rt[j]);
  }
  fl_rng rng;
  fl_rng_seed(&rng, 49);
  for (size_t m = 0; m <= 67; m++)
    for (int mis = 0; mis < 2; mis++) fl_check_bce_row(m, mis, &rng);
  for (int mis = 0; mis < 2; mis++) fl_check_bce_row(fl_run.slow ? 1027 : 10007, mis, &rng);
}
END_TEST

/* ------------------------------------------------------------ f32 gemv, ger */

static float *fl_coefs(size_t cols, fl_rng *rng) {
  float *coef = malloc((cols + 1) * sizeof *coef);
  ck_assert_ptr_nonnull(coef);
  for (size_t c = 0; c < cols; c++) coef[c] = (float)fl_rng_normal(rng);
  return coef;
}

/* out += sum_c coef[c] w[c]: each output is cols + 1 terms, so the
 * tolerance is (cols + 1) eps times their absolute sum. */
static void fl_check_gemv(size_t cols, size_t d, int variant, int kind, fl_rng *rng) {
  const fl_f32_nce_kernels *k = fl_run.kernels->f32_nce;
  fl_rows w = fl_rows_new(cols, d, variant & 1, (variant & 2) != 0, kind, rng);
  float *coef = fl_coefs(cols, rng);
  fl_buf out = fl_buf_new(d, !(variant & 1)), outs = fl_buf_new(d, 0);
  for (size_t j = 0; j < d; j++) out.data[j] = outs.data[j] = fl_nce_value(kind, rng);
  float *out0 = malloc((d + 1) * sizeof *out0);
  ck_assert_ptr_nonnull(out0);
  if (d > 0) memcpy(out0, out.data, d * sizeof *out0);
  k->nce_gemv(cols, d, coef, (const float *const *)w.ptr, out.data);
  fl_f32_nce_kernels__scalar.nce_gemv(cols, d, coef, (const float *const *)w.ptr, outs.data);
  fl_buf_check_canaries(&out, "nce_gemv out");
  fl_rows_check_canaries(&w, "nce_gemv w");
  for (size_t j = 0; j < d; j++) {
    double want = out0[j], scale = fabs((double)out0[j]);
    for (size_t c = 0; c < cols; c++) {
      want += (double)coef[c] * w.ptr[c][j];
      scale += fabs((double)coef[c] * w.ptr[c][j]);
    }
    const double tol = (double)(cols + 1) * FLT_EPSILON * scale;
    FL_CHECK(fabs(out.data[j] - want) <= tol,
             "nce_gemv cols=%zu d=%zu variant=%d kind=%d out[%zu] = %.9g, want %.9g (tol %.3g)",
             cols, d, variant, kind, j, (double)out.data[j], want, tol);
    FL_CHECK(fabs((double)out.data[j] - outs.data[j]) <= 2.0 * tol,
             "nce_gemv cols=%zu d=%zu out[%zu] = %.9g, scalar %.9g", cols, d, j,
             (double)out.data[j], (double)outs.data[j]);
  }
  free(out0);
  free(coef);
  fl_buf_free(&out);
  fl_buf_free(&outs);
  fl_rows_free(&w);
}

START_TEST(nce_gemv_against_reference) {
  size_t sizes[64];
  const size_t ns = fl_nce_sizes(sizes);
  fl_rng rng;
  fl_rng_seed(&rng, 45);
  for (size_t s = 0; s < ns; s++)
    for (size_t cols = 0; cols <= 9; cols++)
      for (int variant = 0; variant < 4; variant++)
        fl_check_gemv(cols, sizes[s], variant, variant % 2, &rng);
  fl_check_gemv(64, 300, 2, 0, &rng);
}
END_TEST

/* w[c] += coef[c] x in order of c.  A row that appears k times gets k
 * updates, each rounded: tolerance (k + 1) eps times the absolute sum of
 * its terms.  Rows are compared through their distinct buffers. */
static void fl_check_ger(size_t cols, size_t d, int variant, int kind, fl_rng *rng) {
  const fl_f32_nce_kernels *k = fl_run.kernels->f32_nce;
  const int repeat = (variant & 2) != 0;
  fl_rows w = fl_rows_new(cols, d, variant & 1, 0, kind, rng);
  fl_rows ws = fl_rows_new(cols, d, 0, 0, kind, rng);
  /* Repeats: every third pointer names the row two before it. */
  if (repeat)
    for (size_t c = 2; c < cols; c += 3) w.ptr[c] = w.ptr[c - 2], ws.ptr[c] = ws.ptr[c - 2];
  for (size_t c = 0; c < cols; c++)
    if (d > 0) memcpy(ws.bufs[c].data, w.bufs[c].data, d * sizeof(float));
  fl_buf x = fl_buf_new(d, !(variant & 1));
  for (size_t j = 0; j < d; j++) x.data[j] = fl_nce_value(kind, rng);
  float *coef = fl_coefs(cols, rng);
  /* The reference, in double, per distinct row. */
  double *want = malloc((cols * d + 1) * sizeof *want),
         *scale = malloc((cols * d + 1) * sizeof *scale);
  size_t *updates = malloc((cols + 1) * sizeof *updates),
         *owner = malloc((cols + 1) * sizeof *owner);
  ck_assert_ptr_nonnull(want);
  ck_assert_ptr_nonnull(scale);
  ck_assert_ptr_nonnull(updates);
  ck_assert_ptr_nonnull(owner);
  for (size_t b = 0; b < cols; b++) {
    updates[b] = 0;
    for (size_t j = 0; j < d; j++) {
      want[b * d + j] = w.bufs[b].data[j];
      scale[b * d + j] = fabs((double)w.bufs[b].data[j]);
    }
  }
  for (size_t c = 0; c < cols; c++) {
    owner[c] = c;
    while (w.ptr[c] != w.bufs[owner[c]].data) owner[c]--;
    updates[owner[c]]++;
    for (size_t j = 0; j < d; j++) {
      want[owner[c] * d + j] += (double)coef[c] * x.data[j];
      scale[owner[c] * d + j] += fabs((double)coef[c] * x.data[j]);
    }
  }
  k->nce_ger(cols, d, coef, x.data, w.ptr);
  fl_f32_nce_kernels__scalar.nce_ger(cols, d, coef, x.data, ws.ptr);
  fl_rows_check_canaries(&w, "nce_ger w");
  fl_buf_check_canaries(&x, "nce_ger x");
  for (size_t b = 0; b < cols; b++)
    for (size_t j = 0; j < d; j++) {
      const double tol = (double)(updates[b] + 1) * FLT_EPSILON * scale[b * d + j];
      const float got = w.bufs[b].data[j];
      FL_CHECK(fabs(got - want[b * d + j]) <= tol,
               "nce_ger cols=%zu d=%zu variant=%d kind=%d row %zu (%zu updates) [%zu] = %.9g, want "
               "%.9g (tol %.3g)",
               cols, d, variant, kind, b, updates[b], j, (double)got, want[b * d + j], tol);
      FL_CHECK(fabs((double)got - ws.bufs[b].data[j]) <= 2.0 * tol,
               "nce_ger cols=%zu d=%zu row %zu [%zu] = %.9g, scalar %.9g", cols, d, b, j,
               (double)got, (double)ws.bufs[b].data[j]);
    }
  free(want);
  free(scale);
  free(updates);
  free(owner);
  free(coef);
  fl_buf_free(&x);
  fl_rows_free(&w);
  fl_rows_free(&ws);
}

START_TEST(nce_ger_against_reference) {
  size_t sizes[64];
  const size_t ns = fl_nce_sizes(sizes);
  fl_rng rng;
  fl_rng_seed(&rng, 46);
  for (size_t s = 0; s < ns; s++)
    for (size_t cols = 0; cols <= 9; cols++)
      for (int variant = 0; variant < 4; variant++)
        fl_check_ger(cols, sizes[s], variant, variant % 2, &rng);
  fl_check_ger(64, 300, 2, 0, &rng);
}
END_TEST

/* A row repeated at every position gets all its updates, in order: with
 * coefficients +1, -1, +1, ... and x exact in float, the sum is exact. */
START_TEST(nce_ger_repeated_row_exact) {
  const fl_f32_nce_kernels *k = fl_run.kernels->f32_nce;
  const size_t cols = 7;
  size_t sizes[64];
  const size_t ns = fl_nce_sizes(sizes);
  for (size_t s = 0; s < ns; s++) {
    const size_t d = sizes[s];
    fl_buf row = fl_buf_new(d, 1), x = fl_buf_new(d, 0);
    for (size_t j = 0; j < d; j++) {
      row.data[j] = (float)j;
      x.data[j] = (float)(j % 5) - 2.0f;
    }
    const float coef[7] = {1.0f, 2.0f, -1.0f, 0.5f, 4.0f, -3.0f, 1.0f};
    float *w[7];
    for (size_t c = 0; c < cols; c++) w[c] = row.data;
    k->nce_ger(cols, d, coef, x.data, w);
    fl_buf_check_canaries(&row, "nce_ger repeated row");
    for (size_t j = 0; j < d; j++)
      FL_CHECK(row.data[j] == (float)j + 4.5f * x.data[j], "nce_ger d=%zu repeated row[%zu] = %g",
               d, j, (double)row.data[j]);
    fl_buf_free(&row);
    fl_buf_free(&x);
  }
}
END_TEST

/* ------------------------------------------------------------ f64 */

/* A double buffer with canaries on each side. */
#define FL_DCANARY 8
static double *fl_dbuf_new(size_t count) {
  double *base = malloc((count + 2 * FL_DCANARY) * sizeof *base);
  ck_assert_ptr_nonnull(base);
  for (size_t k = 0; k < count + 2 * FL_DCANARY; k++) base[k] = -12345.678;
  return base + FL_DCANARY;
}

static void fl_dbuf_free_checked(double *data, size_t count, const char *what) {
  double *base = data - FL_DCANARY;
  for (size_t k = 0; k < FL_DCANARY; k++)
    FL_CHECK(base[k] == -12345.678 && data[count + k] == -12345.678, "%s: written outside", what);
  free(base);
}

static double fl_dulps(double got, long double want) {
  if (isnan((double)want)) return isnan(got) ? 0.0 : INFINITY;
  if (isnan(got)) return INFINITY;
  if (fabsl(want) < DBL_MIN) return fabsl((long double)got - want) < DBL_MIN ? 0.0 : INFINITY;
  int e;
  frexpl(want, &e);
  return (double)(fabsl((long double)got - want) / ldexpl(1.0L, e - 53));
}

static long double fl_ref_sigmoidl(long double y) {
  if (y >= 0.0L) return 1.0L / (1.0L + expl(-y));
  const long double e = expl(y);
  return e / (1.0L + e);
}

START_TEST(f64_nce_kernels) {
  const fl_f64_nce_kernels *k = fl_run.kernels->f64_nce;
  fl_rng rng;
  fl_rng_seed(&rng, 47);
  const size_t dims[] = {1, 2, 3, 7, 8, 9, 17, 100, 300};
  for (size_t s = 0; s < sizeof dims / sizeof dims[0]; s++) {
    const size_t d = dims[s], rows = 3, cols = 6, ld_z = cols + 2;
    double *xr[3], *wr[6], *z = fl_dbuf_new((rows - 1) * ld_z + cols);
    for (size_t r = 0; r < rows; r++) xr[r] = fl_dbuf_new(d);
    for (size_t c = 0; c < cols; c++) wr[c] = fl_dbuf_new(d);
    for (size_t r = 0; r < rows; r++)
      for (size_t j = 0; j < d; j++) xr[r][j] = fl_rng_normal(&rng);
    for (size_t c = 0; c < cols; c++)
      for (size_t j = 0; j < d; j++) wr[c][j] = fl_rng_normal(&rng);
    const double *wp[6] = {wr[0], wr[1], wr[2], wr[3], wr[4], wr[0]};
    k->nce_dots(rows, cols, d, (const double *const *)xr, wp, z, ld_z);
    for (size_t r = 0; r < rows; r++)
      for (size_t c = 0; c < cols; c++) {
        long double want = 0.0L, scale = 0.0L;
        for (size_t j = 0; j < d; j++) {
          want += (long double)xr[r][j] * wp[c][j];
          scale += fabsl((long double)xr[r][j] * wp[c][j]);
        }
        const double tol = (double)((long double)d * DBL_EPSILON * scale);
        FL_CHECK(fabsl(z[r * ld_z + c] - want) <= tol, "f64 nce_dots d=%zu z[%zu][%zu]", d, r, c);
      }
    /* gemv into xr[0], then ger from xr[1] into the w rows (repeat: w[5] = w[0]). */
    const double coef[6] = {0.5, -1.25, 2.0, 0.75, -0.5, 1.5};
    long double gemv_want[300], gemv_scale[300];
    for (size_t j = 0; j < d; j++) {
      gemv_want[j] = xr[0][j];
      gemv_scale[j] = fabsl((long double)xr[0][j]);
      for (size_t c = 0; c < cols; c++) {
        gemv_want[j] += (long double)coef[c] * wp[c][j];
        gemv_scale[j] += fabsl((long double)coef[c] * wp[c][j]);
      }
    }
    k->nce_gemv(cols, d, coef, wp, xr[0]);
    for (size_t j = 0; j < d; j++)
      FL_CHECK(fabsl(xr[0][j] - gemv_want[j]) <= (cols + 1) * DBL_EPSILON * gemv_scale[j],
               "f64 nce_gemv d=%zu out[%zu]", d, j);
    long double ger_want[2][300];
    for (size_t j = 0; j < d; j++) {
      ger_want[0][j] = wr[0][j] + ((long double)coef[0] + coef[5]) * xr[1][j];
      ger_want[1][j] = wr[1][j] + (long double)coef[1] * xr[1][j];
    }
    double *wm[6] = {wr[0], wr[1], wr[2], wr[3], wr[4], wr[0]};
    k->nce_ger(cols, d, coef, xr[1], wm);
    for (size_t j = 0; j < d; j++) {
      const long double scale0 = fabsl(ger_want[0][j]) + 4.0L * fabsl((long double)xr[1][j]);
      FL_CHECK(fabsl(wr[0][j] - ger_want[0][j]) <= 3 * DBL_EPSILON * scale0,
               "f64 nce_ger repeated row d=%zu [%zu]", d, j);
      FL_CHECK(fabsl(wr[1][j] - ger_want[1][j]) <=
                   2 * DBL_EPSILON * (fabsl(ger_want[1][j]) + 2.0L * fabsl((long double)xr[1][j])),
               "f64 nce_ger d=%zu [%zu]", d, j);
    }
    fl_dbuf_free_checked(z, (rows - 1) * ld_z + cols, "f64 nce_dots z");
    for (size_t r = 0; r < rows; r++) fl_dbuf_free_checked(xr[r], d, "f64 x rows");
    for (size_t c = 0; c < cols; c++) fl_dbuf_free_checked(wr[c], d, "f64 w rows");
  }
  /* sigmoid: libm's exp is within 1 ULP, so q and c within a few. */
  const size_t m = fl_run.slow ? 4000 : 40000;
  double *y = fl_dbuf_new(m), *q = fl_dbuf_new(m), *c = fl_dbuf_new(m);
  for (size_t j = 0; j < m; j++) y[j] = -760.0 + 1520.0 * (double)j / (double)m;
  y[0] = 0.0, y[1] = -0.0, y[2] = INFINITY, y[3] = -INFINITY, y[4] = NAN, y[5] = 1e-300;
  y[6] = 1e300, y[7] = -1e300, y[8] = 36.0, y[9] = -36.0, y[10] = 709.0, y[11] = -709.0;
  k->nce_sigmoid(m, y, q, c);
  double worst_q = 0.0, worst_c = 0.0;
  for (size_t j = 0; j < m; j++) {
    if (isnan(y[j])) {
      FL_CHECK(isnan(q[j]) && isnan(c[j]), "f64 nce_sigmoid(NaN)");
      continue;
    }
    const double eq = fl_dulps(q[j], fl_ref_sigmoidl(y[j]));
    const double ec = fl_dulps(c[j], fl_ref_sigmoidl(-(long double)y[j]));
    worst_q = eq > worst_q ? eq : worst_q;
    worst_c = ec > worst_c ? ec : worst_c;
  }
  printf("%s f64 nce_sigmoid: max error q %.3f ULP, c %.3f ULP\n", fl_run.mode, worst_q, worst_c);
  /* Measured 1.80 ULP for q and for c (glibc exp, x86-64); bound just above.
   * The reference needs long double wider than double: where it is not
   * (valgrind runs x87 code in double precision) it has errors of its own. */
  volatile long double one = 1.0L, tiny = LDBL_EPSILON;
  const double bound = one + tiny != one && LDBL_MANT_DIG > DBL_MANT_DIG ? 1.9 : 2.5;
  FL_CHECK(worst_q <= bound && worst_c <= bound, "f64 nce_sigmoid: q %.3f ULP, c %.3f ULP", worst_q,
           worst_c);
  fl_dbuf_free_checked(y, m, "f64 sigmoid y");
  fl_dbuf_free_checked(q, m, "f64 sigmoid q");
  fl_dbuf_free_checked(c, m, "f64 sigmoid c");
}
END_TEST

/* The f64 kernel: q and c bit for bit those of nce_sigmoid, and t bit for
 * bit the clip formula written out with the kernels' log and log1p
 * (scalar-math64.h: libm, or SLEEF with -Dexp=sleef; what the NCE object summed
 * before the kernel existed), measured against long double; canaries
 * around every output, lengths 1..67 at both alignments. */
static double fl_f64_bce_formula(double q, double c) {
  const double eps = DBL_EPSILON;
  if (q < eps) return -fl_log64(eps);
  if (c < eps) return -fl_log1p64(-eps);
  return q > 0.5 ? -fl_log1p64(-c) : -fl_log64(q);
}

static long double fl_f64_bce_from_y(double y) {
  const long double eps = DBL_EPSILON, x = y;
  const long double e = expl(-fabsl(x)), small = e / (1.0L + e);
  const long double q = x >= 0.0L ? 1.0L - small : small, c = x >= 0.0L ? small : 1.0L - small;
  if (q < eps) return -logl(eps);
  if (c < eps) return -log1pl(-eps);
  return x >= 0.0L ? log1pl(e) : -x + log1pl(e);
}

static int fl_same_double(double a, double b) {
  return (isnan(a) && isnan(b)) || memcmp(&a, &b, sizeof a) == 0;
}

START_TEST(f64_nce_sigmoid_bce) {
  const fl_f64_nce_kernels *k = fl_run.kernels->f64_nce;
  const size_t m = fl_run.slow ? 4000 : 40000;
  double *y = fl_dbuf_new(m), *q = fl_dbuf_new(m), *c = fl_dbuf_new(m), *t = fl_dbuf_new(m);
  double *q1 = fl_dbuf_new(m), *c1 = fl_dbuf_new(m);
  /* [-40, 40], where everything but the clips happens, and around the
   * points where they start (q or c = eps at |y| = 36.04). */
  for (size_t j = 0; j < m; j++) y[j] = -40.0 + 80.0 * (double)j / (double)m;
  for (size_t j = 0; j < 400; j++) {
    y[j] = nextafter(36.04365338911715, (j % 2) ? -INFINITY : INFINITY) +
           ((double)(j / 2) - 100.0) * 1e-14;
    if (j % 4 >= 2) y[j] = -y[j];
  }
  static const double special[] = {0.0,   -0.0,   INFINITY, -INFINITY, NAN,   1e-300,
                                   1e300, -1e300, 709.0,    -709.0,    745.0, -745.0,
                                   1e-20, -1e-20, 0.5,      -0.5,      36.0,  -37.0};
  for (size_t j = 0; j < sizeof special / sizeof special[0]; j++) y[400 + j] = special[j];
  k->nce_sigmoid_bce(m, y, q, c, t);
  k->nce_sigmoid(m, y, q1, c1);
  double worst = 0.0, at = 0.0;
  for (size_t j = 0; j < m; j++) {
    FL_CHECK(fl_same_double(q[j], q1[j]) && fl_same_double(c[j], c1[j]),
             "f64 nce_sigmoid_bce y = %.17g: (q, c) = (%.17g, %.17g), nce_sigmoid (%.17g, %.17g)",
             y[j], q[j], c[j], q1[j], c1[j]);
    const double want = fl_f64_bce_formula(q[j], c[j]);
    FL_CHECK(fl_same_double(t[j], want), "f64 nce_sigmoid_bce y = %.17g: t = %.17g, formula %.17g",
             y[j], t[j], want);
    if (isnan(y[j])) continue;
    FL_CHECK(isfinite(t[j]) && t[j] > 0.0, "f64 nce_sigmoid_bce y = %.17g: t = %g", y[j], t[j]);
    const double e = fl_dulps(t[j], fl_f64_bce_from_y(y[j]));
    if (e > worst) worst = e, at = y[j];
  }
  printf("%s f64 nce_sigmoid_bce: max error t %.3f ULP of the exact term (y = %.17g)\n",
         fl_run.mode, worst, at);
  /* Measured 2.93 ULP64 (glibc, x86-64 and AArch64): q's 1.8 ULP64 grows
   * by 1 / |log q| near q = 1/2.  As for the sigmoid, a long double no wider
   * than double (valgrind) has errors of its own: 4.00 measured there. */
  volatile long double one = 1.0L, tiny = LDBL_EPSILON;
  const double bound = one + tiny != one && LDBL_MANT_DIG > DBL_MANT_DIG ? 3.0 : 5.0;
  FL_CHECK(worst <= bound,
           "f64 nce_sigmoid_bce: t %.3f ULP of the exact term at y = %.17g (bound %.2f)", worst, at,
           bound);
  fl_dbuf_free_checked(y, m, "f64 sigmoid_bce y");
  fl_dbuf_free_checked(q, m, "f64 sigmoid_bce q");
  fl_dbuf_free_checked(c, m, "f64 sigmoid_bce c");
  fl_dbuf_free_checked(t, m, "f64 sigmoid_bce t");
  fl_dbuf_free_checked(q1, m, "f64 sigmoid_bce q1");
  fl_dbuf_free_checked(c1, m, "f64 sigmoid_bce c1");
  /* Every short length, at both alignments (one element into a row). */
  for (size_t n = 1; n <= 67; n++)
    for (size_t mis = 0; mis < 2; mis++) {
      double *yb = fl_dbuf_new(n + 1), *qb = fl_dbuf_new(n + 1), *cb = fl_dbuf_new(n + 1);
      double *tb = fl_dbuf_new(n + 1);
      for (size_t j = 0; j <= n; j++) yb[j] = 10.0 * sin(3.0 * (double)(j + n));
      k->nce_sigmoid_bce(n, yb + mis, qb + mis, cb + mis, tb + mis);
      for (size_t j = 0; j < n; j++)
        FL_CHECK(fl_same_double(tb[mis + j], fl_f64_bce_formula(qb[mis + j], cb[mis + j])),
                 "f64 nce_sigmoid_bce n=%zu j=%zu", n, j);
      /* The element before (when misaligned) and the one after stay unwritten. */
      FL_CHECK(tb[mis + n] == -12345.678 && qb[mis + n] == -12345.678 && cb[mis + n] == -12345.678,
               "f64 nce_sigmoid_bce n=%zu wrote past the row", n);
      if (mis)
        FL_CHECK(tb[0] == -12345.678 && qb[0] == -12345.678 && cb[0] == -12345.678,
                 "f64 nce_sigmoid_bce n=%zu wrote before the row", n);
      fl_dbuf_free_checked(yb, n + 1, "f64 sigmoid_bce y");
      fl_dbuf_free_checked(qb, n + 1, "f64 sigmoid_bce q");
      fl_dbuf_free_checked(cb, n + 1, "f64 sigmoid_bce c");
      fl_dbuf_free_checked(tb, n + 1, "f64 sigmoid_bce t");
    }
}
END_TEST

/* ------------------------------------------------------------ f64 per ISA */

/* `count` f64 rows of d, each in its own canary-guarded buffer of d + 1,
 * the row `mis` (0 or 1) elements into it, so that the spare element lies
 * after the row or before it; with `repeat`, the last row pointer is the
 * first one again.  Rows of r % 5 - 2 binary orders of magnitude apart. */
typedef struct fl_drows {
  size_t count, d;
  int mis;
  double **base, **ptr;
} fl_drows;

static fl_drows fl_drows_new(size_t count, size_t d, int mis, int repeat, fl_rng *rng) {
  fl_drows rows = {count, d, mis, malloc(count * sizeof(double *)),
                   malloc(count * sizeof(double *))};
  ck_assert_ptr_nonnull(rows.base);
  ck_assert_ptr_nonnull(rows.ptr);
  for (size_t r = 0; r < count; r++) {
    rows.base[r] = fl_dbuf_new(d + 1);
    rows.ptr[r] = rows.base[r] + mis;
    for (size_t j = 0; j < d; j++) rows.ptr[r][j] = ldexp(fl_rng_normal(rng), (int)(r % 5) - 2);
  }
  if (repeat && count > 2) rows.ptr[count - 1] = rows.ptr[0];
  return rows;
}

static void fl_drows_free(fl_drows *rows, const char *what) {
  for (size_t r = 0; r < rows->count; r++) {
    FL_CHECK(rows->base[r][rows->mis ? 0 : rows->d] == -12345.678, "%s: row %zu written outside",
             what, r);
    fl_dbuf_free_checked(rows->base[r], rows->d + 1, what);
  }
  free(rows->base);
  free(rows->ptr);
}

/* dots, gemv and ger of one shape on the ISA's f64 kernels, against long
 * double sums and against the scalar f64 kernels.  The tolerances are the
 * classic bounds for a sum of n terms in any order, with or without FMA:
 * n eps sum |terms| (n = d for dots, cols + 1 for gemv; for ger, the
 * updates a row receives, each rounded once). */
static void fl_check_f64_products(size_t rows, size_t cols, size_t d, int variant, fl_rng *rng) {
  const fl_f64_nce_kernels *k = fl_run.kernels->f64_nce, *ks = &fl_f64_nce_kernels__scalar;
  const int mis = variant & 1, repeat = (variant & 2) != 0;
  const size_t ld_z = mis ? cols + 3 : cols, total = (rows - 1) * ld_z + cols;
  fl_drows x = fl_drows_new(rows, d, mis, repeat, rng);
  fl_drows w = fl_drows_new(cols, d, !mis, repeat, rng);
  double *z = fl_dbuf_new(total + 1), *zs = fl_dbuf_new(total);
  k->nce_dots(rows, cols, d, (const double *const *)x.ptr, (const double *const *)w.ptr, z + mis,
              ld_z);
  ks->nce_dots(rows, cols, d, (const double *const *)x.ptr, (const double *const *)w.ptr, zs, ld_z);
  for (size_t r = 0; r < rows; r++) {
    for (size_t c = 0; c < cols; c++) {
      long double want = 0.0L, scale = 0.0L;
      for (size_t j = 0; j < d; j++) {
        const long double term = (long double)x.ptr[r][j] * w.ptr[c][j];
        want += term;
        scale += fabsl(term);
      }
      const double tol = (double)((long double)d * DBL_EPSILON * scale);
      const double got = z[mis + r * ld_z + c], scalar = zs[r * ld_z + c];
      FL_CHECK(fabsl(got - want) <= tol,
               "%s f64 nce_dots rows=%zu cols=%zu d=%zu variant=%d z[%zu][%zu] = %.17g, want "
               "%.17Lg (tol %.3g)",
               fl_run.mode, rows, cols, d, variant, r, c, got, want, tol);
      FL_CHECK(fabs(got - scalar) <= 2.0 * tol,
               "%s f64 nce_dots rows=%zu cols=%zu d=%zu z[%zu][%zu] = %.17g, scalar %.17g",
               fl_run.mode, rows, cols, d, r, c, got, scalar);
    }
    if (r + 1 < rows)
      for (size_t c = cols; c < ld_z; c++)
        FL_CHECK(z[mis + r * ld_z + c] == -12345.678,
                 "%s f64 nce_dots wrote z[%zu][%zu], past cols = %zu", fl_run.mode, r, c, cols);
  }
  FL_CHECK(z[mis ? 0 : total] == -12345.678, "%s f64 nce_dots wrote outside z", fl_run.mode);
  fl_dbuf_free_checked(z, total + 1, "f64 nce_dots z");
  fl_dbuf_free_checked(zs, total, "f64 nce_dots scalar z");

  /* gemv into a row of its own (out), the scalar kernel into a copy. */
  double coef[16];
  for (size_t c = 0; c < cols; c++) coef[c] = ldexp(fl_rng_normal(rng), (int)(c % 3) - 1);
  fl_drows out = fl_drows_new(3, d, mis, 0, rng);
  memcpy(out.ptr[1], out.ptr[0], d * sizeof(double));
  memcpy(out.ptr[2], out.ptr[0], d * sizeof(double));
  k->nce_gemv(cols, d, coef, (const double *const *)w.ptr, out.ptr[0]);
  ks->nce_gemv(cols, d, coef, (const double *const *)w.ptr, out.ptr[1]);
  for (size_t j = 0; j < d; j++) {
    long double want = out.ptr[2][j], scale = fabsl((long double)out.ptr[2][j]);
    for (size_t c = 0; c < cols; c++) {
      want += (long double)coef[c] * w.ptr[c][j];
      scale += fabsl((long double)coef[c] * w.ptr[c][j]);
    }
    const double tol = (double)((long double)(cols + 1) * DBL_EPSILON * scale);
    FL_CHECK(fabsl(out.ptr[0][j] - want) <= tol && fabs(out.ptr[0][j] - out.ptr[1][j]) <= 2.0 * tol,
             "%s f64 nce_gemv cols=%zu d=%zu variant=%d out[%zu] = %.17g, want %.17Lg, scalar "
             "%.17g",
             fl_run.mode, cols, d, variant, j, out.ptr[0][j], want, out.ptr[1][j]);
  }

  /* ger from x's first row into w's rows (the last one the first again with
   * `repeat`), the scalar kernel into copies; rows updated in order of c. */
  fl_drows ws = fl_drows_new(cols, d, mis, 0, rng);
  double *ws_ptr[16], *start[16];
  for (size_t c = 0; c < cols; c++) {
    start[c] = malloc((d + 1) * sizeof(double));
    ck_assert_ptr_nonnull(start[c]);
    if (d) memcpy(start[c], w.ptr[c], d * sizeof(double));
    if (d) memcpy(ws.ptr[c], w.ptr[c], d * sizeof(double));
    ws_ptr[c] = ws.ptr[c];
  }
  if (repeat && cols > 2) ws_ptr[cols - 1] = ws_ptr[0];
  const double *xr = x.ptr[0];
  k->nce_ger(cols, d, coef, xr, w.ptr);
  ks->nce_ger(cols, d, coef, xr, ws_ptr);
  for (size_t c = 0; c < cols; c++) {
    if (repeat && cols > 2 && c == cols - 1) continue; /* the first row, checked there */
    for (size_t j = 0; j < d; j++) {
      long double want = start[c][j], scale = fabsl((long double)start[c][j]);
      size_t updates = 1;
      want += (long double)coef[c] * xr[j];
      scale += fabsl((long double)coef[c] * xr[j]);
      if (c == 0 && repeat && cols > 2) {
        want += (long double)coef[cols - 1] * xr[j];
        scale += fabsl((long double)coef[cols - 1] * xr[j]);
        updates = 2;
      }
      const double tol = (double)((long double)(updates + 1) * DBL_EPSILON * scale);
      FL_CHECK(fabsl(w.ptr[c][j] - want) <= tol && fabs(w.ptr[c][j] - ws_ptr[c][j]) <= 2.0 * tol,
               "%s f64 nce_ger cols=%zu d=%zu variant=%d w[%zu][%zu] = %.17g, want %.17Lg, "
               "scalar %.17g",
               fl_run.mode, cols, d, variant, c, j, w.ptr[c][j], want, ws_ptr[c][j]);
    }
  }
  for (size_t c = 0; c < cols; c++) free(start[c]);
  fl_drows_free(&ws, "f64 nce_ger scalar rows");
  fl_drows_free(&out, "f64 nce_gemv out");
  fl_drows_free(&x, "f64 x rows");
  fl_drows_free(&w, "f64 w rows");
}

/* Every d from 0 to 2 x 8 + 1 (8 the widest f64 vector), around 4 and 8
 * vectors, and the embedding sizes; 1..9 rows and columns (tiles of 1 and 2
 * rows, up to 8 columns, and their splits); both alignments, repeated
 * rows, gaps in z. */
START_TEST(f64_nce_products_against_scalar) {
  static const size_t dims[] = {0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10,  11,  12, 13,
                                14, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 128, 300};
  fl_rng rng;
  fl_rng_seed(&rng, 49);
  for (size_t s = 0; s < sizeof dims / sizeof dims[0]; s++)
    for (size_t rows = 1; rows <= 9; rows++)
      for (size_t cols = 1; cols <= 9; cols++)
        fl_check_f64_products(rows, cols, dims[s], (int)((s + rows + cols) % 4), &rng);
  /* The NCE object's batch at the shape, and a wide one. */
  for (int variant = 0; variant < 4; variant++) {
    fl_check_f64_products(256, 6, 128, variant, &rng);
    fl_check_f64_products(33, 16, 37, variant, &rng);
  }
}
END_TEST

/* A NaN anywhere in a row, the tail included, reaches that row's dots and
 * no other; and the sigmoid kernels are bit for bit the scalar ones
 * (f64-nce-sigmoid.h). */
START_TEST(f64_nce_nan_and_sigmoid_bits) {
  const fl_f64_nce_kernels *k = fl_run.kernels->f64_nce, *ks = &fl_f64_nce_kernels__scalar;
  fl_rng rng;
  fl_rng_seed(&rng, 50);
  static const size_t dims[] = {1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 100, 128};
  for (size_t s = 0; s < sizeof dims / sizeof dims[0]; s++) {
    const size_t d = dims[s], rows = 3, cols = 7;
    fl_drows x = fl_drows_new(rows, d, 0, 0, &rng), w = fl_drows_new(cols, d, 1, 0, &rng);
    x.ptr[1][d - 1] = NAN;
    w.ptr[4][0] = NAN;
    double z[3 * 7];
    k->nce_dots(rows, cols, d, (const double *const *)x.ptr, (const double *const *)w.ptr, z, cols);
    for (size_t r = 0; r < rows; r++)
      for (size_t c = 0; c < cols; c++)
        FL_CHECK(isnan(z[r * cols + c]) == (r == 1 || c == 4),
                 "%s f64 nce_dots NaN d=%zu z[%zu][%zu] = %g", fl_run.mode, d, r, c,
                 z[r * cols + c]);
    fl_drows_free(&x, "f64 x rows");
    fl_drows_free(&w, "f64 w rows");
  }
  const size_t m = 4099;
  double *y = fl_dbuf_new(m), *q = fl_dbuf_new(m), *c = fl_dbuf_new(m), *t = fl_dbuf_new(m);
  double *qs = fl_dbuf_new(m), *cs = fl_dbuf_new(m), *ts = fl_dbuf_new(m);
  for (size_t j = 0; j < m; j++) y[j] = 20.0 * fl_rng_normal(&rng);
  static const double special[] = {0.0, -0.0, INFINITY, -INFINITY, NAN, 1e300, -1e300, 745.0};
  for (size_t j = 0; j < sizeof special / sizeof special[0]; j++) y[j] = special[j];
  k->nce_sigmoid_bce(m, y, q, c, t);
  ks->nce_sigmoid_bce(m, y, qs, cs, ts);
  for (size_t j = 0; j < m; j++)
    FL_CHECK(
        fl_same_double(q[j], qs[j]) && fl_same_double(c[j], cs[j]) && fl_same_double(t[j], ts[j]),
        "%s f64 nce_sigmoid_bce y = %.17g: (%.17g, %.17g, %.17g), scalar (%.17g, %.17g, %.17g)",
        fl_run.mode, y[j], q[j], c[j], t[j], qs[j], cs[j], ts[j]);
  k->nce_sigmoid(m, y, q, c);
  ks->nce_sigmoid(m, y, qs, cs);
  for (size_t j = 0; j < m; j++)
    FL_CHECK(fl_same_double(q[j], qs[j]) && fl_same_double(c[j], cs[j]),
             "%s f64 nce_sigmoid y = %.17g: (%.17g, %.17g), scalar (%.17g, %.17g)", fl_run.mode,
             y[j], q[j], c[j], qs[j], cs[j]);
  fl_dbuf_free_checked(y, m, "y");
  fl_dbuf_free_checked(q, m, "q");
  fl_dbuf_free_checked(c, m, "c");
  fl_dbuf_free_checked(t, m, "t");
  fl_dbuf_free_checked(qs, m, "qs");
  fl_dbuf_free_checked(cs, m, "cs");
  fl_dbuf_free_checked(ts, m, "ts");
}
END_TEST

Suite *fl_suite_nce_kernels(void) {
  Suite *s = suite_create("nce_kernels");
  TCase *tc = tcase_create("nce micro-kernels");
  tcase_set_timeout(tc, 600);
  tcase_add_test(tc, nce_kernels_installed);
  tcase_add_test(tc, nce_dots_against_reference);
  tcase_add_test(tc, nce_dots_nan);
  tcase_add_test(tc, nce_sigmoid_ulp);
  tcase_add_test(tc, nce_sigmoid_special_and_tails);
  tcase_add_test(tc, nce_sigmoid_bce_ulp);
  tcase_add_test(tc, nce_sigmoid_bce_special_and_tails);
  tcase_add_test(tc, nce_gemv_against_reference);
  tcase_add_test(tc, nce_ger_against_reference);
  tcase_add_test(tc, nce_ger_repeated_row_exact);
  tcase_add_test(tc, f64_nce_kernels);
  tcase_add_test(tc, f64_nce_sigmoid_bce);
  tcase_add_test(tc, f64_nce_products_against_scalar);
  tcase_add_test(tc, f64_nce_nan_and_sigmoid_bits);
  suite_add_tcase(s, tc);
  return s;
}
