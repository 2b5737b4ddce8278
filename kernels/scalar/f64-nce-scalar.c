/* Sigmoid-logit micro-kernels of NCE and negative sampling, f64, portable C:
 * the baseline the f64-nce-<isa>.c files are tested against.  Contracts are
 * in kernels/kernels.h.  Dot products and gemv sum in order, one multiply
 * and one add per term; the sigmoid kernels are f64-nce-sigmoid.h's, which
 * every ISA shares. */
#include <stddef.h>

#include "f64-nce-sigmoid.h"
#include "kernels.h"

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

static void fl_f64_nce_sigmoid_ukernel__scalar(size_t m, const double *y, double *q, double *c) {
  fl_f64_sigmoid_rows(m, y, q, c, NULL);
}

static void fl_f64_nce_sigmoid_bce_ukernel__scalar(size_t m, const double *y, double *q, double *c,
                                                   double *t) {
  fl_f64_sigmoid_rows(m, y, q, c, t);
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
