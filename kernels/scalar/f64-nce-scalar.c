/* Sigmoid-logit micro-kernels of NCE and negative sampling, f64, portable C,
 * serving every ISA.  Contracts are in kernels/kernels.h; the sigmoid is
 *   e = exp(-|y|), r = 1 / (1 + e),  sigmoid(|y|) = r, sigmoid(-|y|) = e * r
 * which never overflows and never subtracts from 1.  sigmoid_bce's term is
 * the clip formula of kernels.h written out with log and log1p (scalar-math64.h), in
 * the order the NCE object evaluated it before the kernel existed. */
#include <float.h>
#include <math.h>
#include <stddef.h>

#include "kernels.h"
#include "scalar-math64.h"

#define FL_UKERNEL_NAME(name) fl_f64_##name##_ukernel__scalar

static void fl_f64_nce_dots_ukernel__scalar(size_t rows, size_t cols, size_t d,
                                            const double *const *x, const double *const *w,
                                            double *z, size_t ld_z) {
  for (size_t r = 0; r < rows; r++) {
    const double *xr = x[r];
    for (size_t c = 0; c < cols; c++) {
      const double *wc = w[c];
      double sum = 0.0;
      for (size_t j = 0; j < d; j++) sum += xr[j] * wc[j];
      z[r * ld_z + c] = sum;
    }
  }
}

/* q = sigmoid(y), c = sigmoid(-y): the one sigmoid of both kernels. */
static inline void fl_f64_sigmoid(double y, double *q, double *c) {
  const double e = fl_exp64(-fabs(y));
  const double r = 1.0 / (1.0 + e);
  const double small = e * r;
  const int positive = y >= 0.0;
  *q = positive ? r : small;
  *c = positive ? small : r;
}

static void fl_f64_nce_sigmoid_ukernel__scalar(size_t m, const double *y, double *q, double *c) {
  for (size_t j = 0; j < m; j++) fl_f64_sigmoid(y[j], &q[j], &c[j]);
}

static void fl_f64_nce_sigmoid_bce_ukernel__scalar(size_t m, const double *y, double *q, double *c,
                                                   double *t) {
  const double eps = DBL_EPSILON;
  for (size_t j = 0; j < m; j++) {
    double qj, cj;
    fl_f64_sigmoid(y[j], &qj, &cj);
    q[j] = qj;
    c[j] = cj;
    t[j] = qj < eps   ? -fl_log64(eps)
           : cj < eps ? -fl_log1p64(-eps)
           : qj > 0.5 ? -fl_log1p64(-cj)
                      : -fl_log64(qj);
  }
}

static void fl_f64_nce_gemv_ukernel__scalar(size_t cols, size_t d, const double *coef,
                                            const double *const *w, double *out) {
  for (size_t j = 0; j < d; j++) {
    double sum = out[j];
    for (size_t c = 0; c < cols; c++) sum += coef[c] * w[c][j];
    out[j] = sum;
  }
}

static void fl_f64_nce_ger_ukernel__scalar(size_t cols, size_t d, const double *coef,
                                           const double *x, double *const *w) {
  for (size_t c = 0; c < cols; c++) {
    double *wc = w[c];
    const double a = coef[c];
    for (size_t j = 0; j < d; j++) wc[j] += a * x[j];
  }
}

const fl_f64_nce_kernels fl_f64_nce_kernels__scalar = {FL_NCE_KERNELS(FL_KERNEL_ENTRY, double)};
