/* Float64 references for the tests: plain loops, no SIMD, no OpenMP, written
 * from ../shared/spec/SEMANTICS.md, independent of the library's code. */
#ifndef FASTLOSS_TEST_REFERENCE_H
#define FASTLOSS_TEST_REFERENCE_H

#include <stddef.h>
#include <stdint.h>

#include "fastloss.h"

/* Fused softmax cross-entropy.  z (n, m) with leading dimension ld_z;
 * labels (hard) or target (soft, leading dimension ld_t) — exactly one is
 * non-NULL; w (m) or NULL.  Writes row_loss[n], *loss (reduced as the
 * library documents), grad (n, m) contiguous and grad_scale[n] (the
 * reduction scale times the row's summed target: the size of the terms
 * that cancel in its gradient), when not NULL. */
void ref_xent(size_t n, size_t m, const double *z, size_t ld_z, const int32_t *labels,
              const double *target, size_t ld_t, const double *w, double smoothing,
              fastloss_reduction reduction, int use_ignore, int32_t ignore_index,
              double *row_loss, double *loss, double *grad, double *grad_scale);

/* numpy-ml CrossEntropy.loss: -sum y log(y_pred + eps64). */
double ref_crossentropy_loss(size_t n, size_t m, const double *y, const double *y_pred);

#endif
