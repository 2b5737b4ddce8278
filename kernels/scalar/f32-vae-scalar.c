/* VAE loss micro-kernels, f32, portable C: the baseline every SIMD kernel is
 * tested against.  Contracts are in kernels/kernels.h.  exp and log are
 * fl_scalar_exp and fl_scalar_log (scalar-math.h); row sums run left to
 * right in double, so the baseline is the most accurate.
 *
 * bce: p clipped to [eps, 1 - eps]; one log when y is exactly 0 or 1 (the
 *   term is then log(p) or log(1 - p) alone), two otherwise.  The gradient
 *   -y / p + (1 - y) / (1 - p) is computed as (p - y) / (p (1 - p)): one
 *   division, and p (1 - p) >= eps (1 - eps) cannot underflow.
 * bce_logits: softplus(z) - y z = max(z, 0) - y z + log1p(e), e = exp(-|z|)
 *   in (0, 1], log1p(e) = log(u) + (e - (u - 1)) / u with u = 1 + e rounded
 *   (the second term restores what the rounding of u lost), and 1 / u is the
 *   sigmoid the gradient needs anyway: sigmoid(|z|) = 1 / u,
 *   sigmoid(-|z|) = e / u.  No clip; saturated logits give exact small terms.
 * kl: 0.5 (mu^2 + exp(lv) - 1 - lv), with exp over the full range (+inf
 *   past lv = 88.72, the true value; never NaN for finite input). */
#include <float.h>
#include <math.h>
#include <stddef.h>

#include "kernels.h"
#include "scalar-math.h"

#define FL_UKERNEL_NAME(name) fl_f32_##name##_ukernel__scalar

static size_t fl_f32_vae_outside_ukernel__scalar(size_t m, const float *p) {
  for (size_t j = 0; j < m; j++)
    if (p[j] < 0.0f || p[j] > 1.0f) return j;
  return m;
}

static double fl_f32_vae_bce_ukernel__scalar(size_t m, const float *y, const float *p, float eps,
                                             float scale, float *grad) {
  const float high = 1.0f - eps;
  double sum = 0.0;
  for (size_t j = 0; j < m; j++) {
    const float yj = y[j];
    float pj = p[j];
    pj = pj < eps ? eps : pj; /* NaN fails both tests and stays NaN */
    pj = pj > high ? high : pj;
    const float qj = 1.0f - pj;
    float term;
    if (yj == 1.0f)
      term = fl_scalar_log(pj);
    else if (yj == 0.0f)
      term = fl_scalar_log(qj);
    else
      term = FL_FMAF(yj, fl_scalar_log(pj), (1.0f - yj) * fl_scalar_log(qj));
    sum -= term;
    if (grad != NULL) grad[j] = (scale * (pj - yj)) / (pj * qj);
  }
  return sum;
}

static double fl_f32_vae_bce_logits_ukernel__scalar(size_t m, const float *y, const float *z,
                                                    float scale, float *grad) {
  double sum = 0.0;
  for (size_t j = 0; j < m; j++) {
    const float yj = y[j], zj = z[j];
    const float e = fl_scalar_exp_nonpos(-fabsf(zj));
    const float u = 1.0f + e;
    const float r = 1.0f / u;
    const float log1p_e = FL_FMAF(e - (u - 1.0f), r, fl_scalar_log(u));
    const float positive = zj > 0.0f ? zj : 0.0f;
    sum += FL_FMAF(-yj, zj, positive) + log1p_e;
    if (grad != NULL) {
      const float sigmoid = zj >= 0.0f ? r : e * r;
      grad[j] = scale * (sigmoid - yj);
    }
  }
  return sum;
}

static double fl_f32_vae_kl_ukernel__scalar(size_t m, const float *mu, const float *lv, float scale,
                                            float *dlv, float *dmu) {
  const float half_scale = 0.5f * scale;
  double sum = 0.0;
  for (size_t j = 0; j < m; j++) {
    const float muj = mu[j], lvj = lv[j];
    const float em1 = fl_scalar_exp(lvj) - 1.0f;
    sum += FL_FMAF(muj, muj, em1 - lvj);
    if (dlv != NULL) dlv[j] = half_scale * em1;
    if (dmu != NULL) dmu[j] = scale * muj;
  }
  return 0.5 * sum;
}

static void fl_f32_vae_log_ukernel__scalar(size_t m, const float *x, float *y) {
  for (size_t j = 0; j < m; j++) y[j] = fl_scalar_log(x[j]);
}

const fl_f32_vae_kernels fl_f32_vae_kernels__scalar = {FL_VAE_KERNELS(FL_KERNEL_ENTRY, float)};
