/* VAE loss micro-kernels, f64, portable C, serving every ISA.  Contracts are
 * in kernels/kernels.h; the maths is that of f32-vae-scalar.c with exp,
 * log and log1p from scalar-math64.h (libm, or SLEEF with -Dexp=sleef). */
#include <math.h>
#include <stddef.h>

#include "kernels.h"
#include "scalar-math64.h"

#define FL_UKERNEL_NAME(name) fl_f64_##name##_ukernel__scalar

static size_t fl_f64_vae_outside_ukernel__scalar(size_t m, const double *p) {
  for (size_t j = 0; j < m; j++)
    if (p[j] < 0.0 || p[j] > 1.0) return j;
  return m;
}

static double fl_f64_vae_bce_ukernel__scalar(size_t m, const double *y, const double *p, double eps,
                                             double scale, double *grad) {
  const double high = 1.0 - eps;
  double sum = 0.0;
  for (size_t j = 0; j < m; j++) {
    const double yj = y[j];
    double pj = p[j];
    pj = pj < eps ? eps : pj; /* NaN fails both tests and stays NaN */
    pj = pj > high ? high : pj;
    const double qj = 1.0 - pj;
    double term;
    if (yj == 1.0)
      term = fl_log64(pj);
    else if (yj == 0.0)
      term = fl_log64(qj);
    else
      term = yj * fl_log64(pj) + (1.0 - yj) * fl_log64(qj);
    sum -= term;
    if (grad != NULL) grad[j] = (scale * (pj - yj)) / (pj * qj);
  }
  return sum;
}

static double fl_f64_vae_bce_logits_ukernel__scalar(size_t m, const double *y, const double *z,
                                                    double scale, double *grad) {
  double sum = 0.0;
  for (size_t j = 0; j < m; j++) {
    const double yj = y[j], zj = z[j];
    const double e = fl_exp64(-fabs(zj));
    const double positive = zj > 0.0 ? zj : 0.0;
    sum += (positive - yj * zj) + fl_log1p64(e);
    if (grad != NULL) {
      const double r = 1.0 / (1.0 + e);
      const double sigmoid = zj >= 0.0 ? r : e * r;
      grad[j] = scale * (sigmoid - yj);
    }
  }
  return sum;
}

static double fl_f64_vae_kl_ukernel__scalar(size_t m, const double *mu, const double *lv,
                                            double scale, double *dlv, double *dmu) {
  const double half_scale = 0.5 * scale;
  double sum = 0.0;
  for (size_t j = 0; j < m; j++) {
    const double muj = mu[j], lvj = lv[j];
    /* expm1 keeps exp(lv) - 1 accurate near lv = 0, where the term is
     * lv^2 / 2 and a plain exp would leave its rounding error behind. */
    const double em1 = fl_expm1_64(lvj);
    sum += muj * muj + (em1 - lvj);
    if (dlv != NULL) dlv[j] = half_scale * em1;
    if (dmu != NULL) dmu[j] = scale * muj;
  }
  return 0.5 * sum;
}

static void fl_f64_vae_log_ukernel__scalar(size_t m, const double *x, double *y) {
  for (size_t j = 0; j < m; j++) y[j] = fl_log64(x[j]);
}

const fl_f64_vae_kernels fl_f64_vae_kernels__scalar = {FL_VAE_KERNELS(FL_KERNEL_ENTRY, double)};
