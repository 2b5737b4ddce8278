/* VAE loss micro-kernels, f32, AArch64 AdvSIMD (4 lanes).  Contracts in
 * kernels/kernels.h, maths in kernels/scalar/f32-vae-scalar.c.
 * bce: p clipped by max/min (NaN passes through); a vector whose 4 targets
 *   are all exactly 0 or 1 takes one log, of p or 1 - p chosen per lane
 *   (y log p + (1 - y) log(1 - p) is exactly that log for such a lane), any
 *   other vector two.  Gradient (p - y) scale / (p (1 - p)), one division.
 * bce_logits: e = exp(-|z|), u = 1 + e, r = 1 / u (true division), log1p(e)
 *   = log(u) + (e - (u - 1)) r; the term max(z, 0) - y z + log1p(e), the
 *   gradient scale (sigmoid(z) - y) with sigmoid(z) = r or e r by the sign.
 * kl: exp over the full range (neon-math.h: +inf past 88.72, never NaN for
 *   finite input), term mu^2 + (exp(lv) - 1 - lv).
 * Errors: log 1.14 ULP, exp 1 ULP (as AVX2, lane for lane); row sums in one
 *   float accumulator of 4 lanes, about (m / 4) eps of the summed terms.
 * Tails: the last m % 4 elements are copied through a 4-float stack buffer
 *   (neon-math.h; the lanes past the row read as 0 and their terms are
 *   masked out of the sums): nothing past a row is read or written.  Every
 *   load of an element precedes the store of its gradient, so a gradient may
 *   overwrite its own input.
 * Follows kernels/avx2/f32-vae-avx2.c line for line. */
#include <math.h>

#include "kernels.h"
#include "neon-math.h"

#define FL_UKERNEL_NAME(name) fl_f32_##name##_ukernel__neon
#define W FL_NEON_LANES
/* with_grad must be a constant after inlining, so that loss-only calls
 * compute no gradient. */
#define FL_TILE_INLINE __attribute__((always_inline)) static inline

static size_t fl_f32_vae_outside_ukernel__neon(size_t m, const float *p) {
  size_t j = 0;
  for (; j < m; j += W) {
    const size_t count = m - j < W ? m - j : W;
    /* Lanes past the row read as 0, which is inside. */
    const float32x4_t v = fl_neon_load_tail(p + j, count, 0.0f);
    const uint32x4_t bad =
        vorrq_u32(vcltq_f32(v, vdupq_n_f32(0.0f)), vcgtq_f32(v, vdupq_n_f32(1.0f)));
    if (vmaxvq_u32(bad) != 0) {
      uint32_t lanes[FL_NEON_LANES];
      vst1q_u32(lanes, bad);
      size_t k = 0;
      while (lanes[k] == 0) k++;
      return j + k;
    }
  }
  return m;
}

/* y log p + (1 - y) log(1 - p) at the clipped p, and the gradient. */
FL_TILE_INLINE float32x4_t fl_neon_bce(float32x4_t y, float32x4_t p, float32x4_t eps,
                                       float32x4_t high, float32x4_t scale, float32x4_t *grad) {
  p = vminq_f32(high, vmaxq_f32(eps, p));
  const float32x4_t q = vsubq_f32(vdupq_n_f32(1.0f), p);
  const uint32x4_t one = vceqq_f32(y, vdupq_n_f32(1.0f));
  const uint32x4_t binary = vorrq_u32(one, vceqq_f32(y, vdupq_n_f32(0.0f)));
  float32x4_t likelihood;
  if (vminvq_u32(binary) != 0)
    likelihood = fl_neon_log(vbslq_f32(one, p, q));
  else
    likelihood =
        vfmaq_f32(vmulq_f32(vsubq_f32(vdupq_n_f32(1.0f), y), fl_neon_log(q)), y, fl_neon_log(p));
  *grad = vdivq_f32(vmulq_f32(scale, vsubq_f32(p, y)), vmulq_f32(p, q));
  return likelihood;
}

FL_TILE_INLINE double fl_neon_bce_row(size_t m, const float *y, const float *p, float eps,
                                      float scale, float *grad, const int with_grad) {
  const float32x4_t epsv = vdupq_n_f32(eps), high = vdupq_n_f32(1.0f - eps);
  const float32x4_t scalev = vdupq_n_f32(scale);
  float32x4_t acc = vdupq_n_f32(0.0f), g;
  size_t j = 0;
  for (; j + W <= m; j += W) {
    acc = vaddq_f32(acc, fl_neon_bce(vld1q_f32(y + j), vld1q_f32(p + j), epsv, high, scalev, &g));
    if (with_grad) vst1q_f32(grad + j, g);
  }
  if (j < m) {
    const size_t count = m - j;
    const uint32x4_t mask = fl_neon_tail_mask(count);
    const float32x4_t likelihood =
        fl_neon_bce(fl_neon_load_tail(y + j, count, 0.0f), fl_neon_load_tail(p + j, count, 0.0f),
                    epsv, high, scalev, &g);
    acc = vaddq_f32(acc, fl_neon_and_mask(likelihood, mask));
    if (with_grad) fl_neon_store_tail(grad + j, count, g);
  }
  return -(double)fl_neon_hsum(acc);
}

static double fl_f32_vae_bce_ukernel__neon(size_t m, const float *y, const float *p, float eps,
                                           float scale, float *grad) {
  return grad != NULL ? fl_neon_bce_row(m, y, p, eps, scale, grad, 1)
                      : fl_neon_bce_row(m, y, p, eps, scale, NULL, 0);
}

/* softplus(z) - y z, and the gradient. */
FL_TILE_INLINE float32x4_t fl_neon_bce_logits(float32x4_t y, float32x4_t z, float32x4_t scale,
                                              float32x4_t *grad) {
  const float32x4_t e = fl_neon_exp_nonpos(vnegq_f32(vabsq_f32(z))); /* exp(-|z|) */
  const float32x4_t u = vaddq_f32(vdupq_n_f32(1.0f), e);
  const float32x4_t r = vdivq_f32(vdupq_n_f32(1.0f), u);
  const float32x4_t lost = vsubq_f32(e, vsubq_f32(u, vdupq_n_f32(1.0f)));
  const float32x4_t log1p_e = vfmaq_f32(fl_neon_log(u), lost, r);
  /* FMAX: a NaN lane gives NaN here too, as it does in every other term. */
  const float32x4_t positive = vmaxq_f32(z, vdupq_n_f32(0.0f));
  /* Ordered compare: a NaN lane takes e r, which is NaN too. */
  const float32x4_t sigmoid = vbslq_f32(vcgeq_f32(z, vdupq_n_f32(0.0f)), r, vmulq_f32(e, r));
  *grad = vmulq_f32(scale, vsubq_f32(sigmoid, y));
  return vaddq_f32(vfmsq_f32(positive, y, z), log1p_e);
}

FL_TILE_INLINE double fl_neon_bce_logits_row(size_t m, const float *y, const float *z, float scale,
                                             float *grad, const int with_grad) {
  const float32x4_t scalev = vdupq_n_f32(scale);
  float32x4_t acc = vdupq_n_f32(0.0f), g;
  size_t j = 0;
  for (; j + W <= m; j += W) {
    acc = vaddq_f32(acc, fl_neon_bce_logits(vld1q_f32(y + j), vld1q_f32(z + j), scalev, &g));
    if (with_grad) vst1q_f32(grad + j, g);
  }
  if (j < m) {
    const size_t count = m - j;
    const uint32x4_t mask = fl_neon_tail_mask(count);
    const float32x4_t term = fl_neon_bce_logits(fl_neon_load_tail(y + j, count, 0.0f),
                                                fl_neon_load_tail(z + j, count, 0.0f), scalev, &g);
    acc = vaddq_f32(acc, fl_neon_and_mask(term, mask));
    if (with_grad) fl_neon_store_tail(grad + j, count, g);
  }
  return (double)fl_neon_hsum(acc);
}

static double fl_f32_vae_bce_logits_ukernel__neon(size_t m, const float *y, const float *z,
                                                  float scale, float *grad) {
  return grad != NULL ? fl_neon_bce_logits_row(m, y, z, scale, grad, 1)
                      : fl_neon_bce_logits_row(m, y, z, scale, NULL, 0);
}

/* mu^2 + exp(lv) - 1 - lv, and exp(lv) - 1 for the gradient. */
FL_TILE_INLINE float32x4_t fl_neon_kl(float32x4_t mu, float32x4_t lv, float32x4_t *em1) {
  *em1 = vsubq_f32(fl_neon_exp(lv), vdupq_n_f32(1.0f));
  return vfmaq_f32(vsubq_f32(*em1, lv), mu, mu);
}

static double fl_f32_vae_kl_ukernel__neon(size_t m, const float *mu, const float *lv, float scale,
                                          float *dlv, float *dmu) {
  const float32x4_t scalev = vdupq_n_f32(scale), half_scale = vdupq_n_f32(0.5f * scale);
  float32x4_t acc = vdupq_n_f32(0.0f), em1;
  size_t j = 0;
  for (; j + W <= m; j += W) {
    const float32x4_t muv = vld1q_f32(mu + j);
    acc = vaddq_f32(acc, fl_neon_kl(muv, vld1q_f32(lv + j), &em1));
    if (dlv != NULL) vst1q_f32(dlv + j, vmulq_f32(half_scale, em1));
    if (dmu != NULL) vst1q_f32(dmu + j, vmulq_f32(scalev, muv));
  }
  if (j < m) {
    const size_t count = m - j;
    const uint32x4_t mask = fl_neon_tail_mask(count);
    const float32x4_t muv = fl_neon_load_tail(mu + j, count, 0.0f);
    const float32x4_t term = fl_neon_kl(muv, fl_neon_load_tail(lv + j, count, 0.0f), &em1);
    acc = vaddq_f32(acc, fl_neon_and_mask(term, mask));
    if (dlv != NULL) fl_neon_store_tail(dlv + j, count, vmulq_f32(half_scale, em1));
    if (dmu != NULL) fl_neon_store_tail(dmu + j, count, vmulq_f32(scalev, muv));
  }
  return 0.5 * (double)fl_neon_hsum(acc);
}

static void fl_f32_vae_log_ukernel__neon(size_t m, const float *x, float *y) {
  size_t j = 0;
  for (; j + W <= m; j += W) vst1q_f32(y + j, fl_neon_log(vld1q_f32(x + j)));
  if (j < m) fl_neon_store_tail(y + j, m - j, fl_neon_log(fl_neon_load_tail(x + j, m - j, 1.0f)));
}

const fl_f32_vae_kernels fl_f32_vae_kernels__neon = {FL_VAE_KERNELS(FL_KERNEL_ENTRY, float)};
