/* The f64 sigmoid kernels of NCE and negative sampling, portable C, shared by
 * every ISA's f64 NCE table: kernels/scalar/f64-nce-scalar.c and the
 * f64-nce-<isa>.c files wrap fl_f64_sigmoid_rows.  The sigmoid is
 *   e = exp(-|y|), r = 1 / (1 + e),  sigmoid(|y|) = r, sigmoid(-|y|) = e * r
 * which never overflows and never subtracts from 1.  sigmoid_bce's term is
 * the clip formula of kernels.h written out with log and log1p
 * (scalar-math64.h).
 *
 * Why no vector f64 exp and log: in the NCE object the sigmoids see one
 * logit per (example, class), k + 1 per example, against 3 d multiply-adds
 * per logit in the dot products and the two gradient products.  At the
 * issue's shape (d 128, k 5) perf put these kernels and their libm calls at
 * 3% of the f64 object's time with the scalar products, and about a tenth
 * with the AVX2 ones (2026-11-30), against about 40% in the products.
 *
 * The functions are compiled once per ISA file, each under its ISA's flags;
 * the build is ISO C (-std=c11), where GCC does not contract a * b + c into
 * an FMA, so every ISA computes these bit for bit as the scalar file does
 * (the tests check it). */
#ifndef FASTLOSS_F64_NCE_SIGMOID_H
#define FASTLOSS_F64_NCE_SIGMOID_H

#include <float.h>
#include <math.h>
#include <stddef.h>

#include "scalar-math64.h"

/* q = sigmoid(y), c = sigmoid(-y). */
static inline void fl_f64_sigmoid(double y, double *q, double *c) {
  const double e = fl_exp64(-fabs(y));
  const double r = 1.0 / (1.0 + e);
  const double small = e * r;
  const int positive = y >= 0.0;
  *q = positive ? r : small;
  *c = positive ? small : r;
}

/* nce_sigmoid (t NULL) and nce_sigmoid_bce (t may be y: y_j is read before
 * anything of element j is written). */
static inline void fl_f64_sigmoid_rows(size_t m, const double *y, double *q, double *c, double *t) {
  const double eps = DBL_EPSILON;
  for (size_t j = 0; j < m; j++) {
    double qj, cj;
    fl_f64_sigmoid(y[j], &qj, &cj);
    q[j] = qj;
    c[j] = cj;
    if (t != NULL)
      t[j] = qj < eps   ? -fl_log64(eps)
             : cj < eps ? -fl_log1p64(-eps)
             : qj > 0.5 ? -fl_log1p64(-cj)
                        : -fl_log64(qj);
  }
}

#endif
