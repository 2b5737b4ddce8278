#include "reference.h"

#include <math.h>
#include <stdlib.h>

void ref_xent(size_t n, size_t m, const double *z, size_t ld_z, const int32_t *labels,
              const double *target, size_t ld_t, const double *w, double smoothing,
              fastloss_reduction reduction, int use_ignore, int32_t ignore_index,
              double *row_loss, double *loss, double *grad, double *grad_scale) {
  double *t = malloc(m * sizeof *t);
  double *lossv = malloc(n * sizeof *lossv);
  double denominator = 0.0;
  for (size_t i = 0; i < n; i++) {
    const int ignored = labels != NULL && use_ignore && labels[i] == ignore_index;
    if (labels != NULL && !ignored) denominator += w ? w[labels[i]] : 1.0;
  }
  if (labels == NULL) denominator = (double)n;
  const double scale = reduction == FASTLOSS_REDUCTION_MEAN ? 1.0 / denominator : 1.0;
  double total = 0.0;
  for (size_t i = 0; i < n; i++) {
    const double *zi = z + i * ld_z;
    double *gi = grad ? grad + i * m : NULL;
    const int ignored = labels != NULL && use_ignore && labels[i] == ignore_index;
    if (grad_scale) grad_scale[i] = 0.0;
    if (ignored) {
      lossv[i] = 0.0;
      if (gi)
        for (size_t j = 0; j < m; j++) gi[j] = 0.0;
      continue;
    }
    double tsum = 0.0;
    for (size_t j = 0; j < m; j++) {
      const double wj = w ? w[j] : 1.0;
      double y;
      if (labels != NULL)
        y = (int32_t)j == labels[i] ? 1.0 : 0.0;
      else
        y = target[i * ld_t + j];
      t[j] = wj * ((1.0 - smoothing) * y + smoothing / (double)m);
      tsum += t[j];
    }
    if (grad_scale) grad_scale[i] = scale * fabs(tsum);
    double max = -INFINITY;
    int has_nan = 0;
    for (size_t j = 0; j < m; j++) {
      if (isnan(zi[j])) has_nan = 1;
      if (zi[j] > max) max = zi[j];
    }
    if (has_nan || max == -INFINITY) {
      lossv[i] = has_nan ? NAN : (tsum != 0.0 ? INFINITY : 0.0);
      if (gi)
        for (size_t j = 0; j < m; j++) gi[j] = has_nan ? NAN : 0.0;
      total += lossv[i];
      continue;
    }
    /* double is ample against float results; long double would be
     * software quad precision (and very slow) on AArch64. */
    double sum = 0.0;
    for (size_t j = 0; j < m; j++) sum += exp(zi[j] - max);
    const double log_sum = log(sum);
    double l = 0.0;
    for (size_t j = 0; j < m; j++)
      if (t[j] != 0.0) l += t[j] * ((max - zi[j]) + log_sum);
    lossv[i] = l;
    total += l;
    if (gi)
      for (size_t j = 0; j < m; j++) {
        const double p = exp(zi[j] - max) / sum;
        gi[j] = scale * (p * tsum - t[j]);
      }
  }
  if (row_loss)
    for (size_t i = 0; i < n; i++) row_loss[i] = lossv[i];
  if (loss) *loss = reduction == FASTLOSS_REDUCTION_MEAN ? total / denominator : total;
  free(t);
  free(lossv);
}

double ref_crossentropy_loss(size_t n, size_t m, const double *y, const double *y_pred) {
  const double eps = 2.220446049250313e-16;
  double total = 0.0;
  for (size_t k = 0; k < n * m; k++) total -= y[k] * log(y_pred[k] + eps);
  return total;
}
