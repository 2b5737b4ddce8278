/* SquaredError micro-kernels, f32, portable C: the baseline every SIMD kernel
 * is tested against.  Contracts are in kernels/kernels.h; the activations'
 * maths (and numpy-ml's definitions) in src/sqerr.c.
 *
 * sum: (p - y)^2 with p and y widened to double, where the square of a float
 *   difference cannot overflow, summed left to right.
 * act: one loop per activation kind (the switch is outside the loop), each
 *   computing act(z) and act'(z) together where they share an exp:
 *   sigmoid    e = exp(-|z|), r = 1 / (1 + e): s = r or e r by the sign of
 *              z, s (1 - s) = e r^2 with no cancellation
 *   tanh       fl_scalar_tanh (scalar-math.h)
 *   ELU/SELU   scale alpha expm1(z) for z <= 0 (expm1: no cancellation near
 *              0), derivative scale alpha exp(z)
 *   softplus   max(z, 0) + log1p(exp(-|z|)) as in the VAE's logits path;
 *              derivative the sigmoid
 *   GELU tanh  0.5 z (1 + tanh(u)) = z sigmoid(2u), 2u = v = c1 z + c3 z^3,
 *              so the negative tail does not cancel; derivative s + z v'
 *              s (1 - s).  z is clamped to [-20, 20] inside v (s is 0 or 1
 *              there already), which keeps z^3 and inf * 0 out.  The
 *              relative error grows as |v| eps in the far negative tail
 *              (exp of a rounded argument): 1e-5 at z = -8, GELU ~ -1e-21.
 *   GELU erf   fl_scalar_gelu_erf_f32 (scalar-math.h): z Phi(z) with
 *              Phi(-|z|) = e^{-z^2/2} r g(r), g a polynomial in
 *              r = 1 / (|z| + 3): the SIMD kernels' algorithm in float;
 *              the negative tail keeps its relative accuracy
 *   piecewise  ReLU, LeakyReLU and HardSigmoid derivatives of a NaN z are
 *              NaN (numpy-ml's comparisons would give 0): NaN propagates. */
#include <float.h>
#include <math.h>
#include <stddef.h>

#include "kernels.h"
#include "scalar-math.h"

#define FL_UKERNEL_NAME(name) fl_f32_##name##_ukernel__scalar

/* 2 sqrt(2 / pi) and 2 sqrt(2 / pi) 0.044715: v = 2u of the tanh GELU. */
#define FL_GELU_C1 1.59576912160573071175f
#define FL_GELU_C3 0.07135481627260024878f
#define FL_GELU_CLAMP 20.0f

static double fl_f32_sqerr_sum_ukernel__scalar(size_t m, const float *y, const float *p) {
  double sum = 0.0;
  for (size_t j = 0; j < m; j++) {
    const double diff = (double)p[j] - (double)y[j];
    sum += diff * diff;
  }
  return sum;
}

/* Float copies of the parameters. */
typedef struct fl_act_f32 {
  float alpha, scale, intercept, scale_alpha;
} fl_act_f32;

/* act(z) and act'(z) for a constant kind (after inlining). */
static inline void fl_f32_act_eval(fl_act_kind kind, const fl_act_f32 *a, float z, float *f,
                                   float *d) {
  switch (kind) {
    case FL_ACT_AFFINE:
      *f = FL_FMAF(a->scale, z, a->intercept);
      *d = a->scale;
      return;
    case FL_ACT_SIGMOID: {
      const float e = fl_scalar_exp_nonpos(-fabsf(z)), r = 1.0f / (1.0f + e);
      *f = z >= 0.0f ? r : e * r;
      *d = (e * r) * r;
      return;
    }
    case FL_ACT_TANH:
      fl_scalar_tanh(z, f, d);
      return;
    case FL_ACT_RELU:
      *f = z < 0.0f ? 0.0f : z;
      *d = z > 0.0f ? 1.0f : (z != z ? z : 0.0f);
      return;
    case FL_ACT_LEAKY_RELU:
      *f = z < 0.0f ? a->alpha * z : z;
      *d = z < 0.0f ? a->alpha : (z != z ? z : 1.0f);
      return;
    case FL_ACT_ELU: {
      const float neg = z > 0.0f ? 0.0f : z;
      *f = z > 0.0f ? a->scale * z : a->scale_alpha * fl_scalar_expm1_nonpos(neg);
      *d = z > 0.0f ? a->scale : a->scale_alpha * fl_scalar_exp_nonpos(neg);
      return;
    }
    case FL_ACT_EXPONENTIAL:
      *f = *d = fl_scalar_exp(z);
      return;
    case FL_ACT_SOFTPLUS: {
      const float e = fl_scalar_exp_nonpos(-fabsf(z));
      const float u = 1.0f + e, r = 1.0f / u;
      const float log1p_e = FL_FMAF(e - (u - 1.0f), r, fl_scalar_log(u));
      *f = (z > 0.0f ? z : 0.0f) + log1p_e;
      *d = z >= 0.0f ? r : e * r;
      return;
    }
    case FL_ACT_HARD_SIGMOID: {
      const float x = FL_FMAF(0.2f, z, 0.5f);
      *f = x < 0.0f ? 0.0f : (x > 1.0f ? 1.0f : x);
      *d = z >= -2.5f && z <= 2.5f ? 0.2f : (z != z ? z : 0.0f);
      return;
    }
    case FL_ACT_GELU_TANH: {
      const float zc =
          z < -FL_GELU_CLAMP ? -FL_GELU_CLAMP : (z > FL_GELU_CLAMP ? FL_GELU_CLAMP : z);
      const float z2 = zc * zc;
      const float v = zc * FL_FMAF(FL_GELU_C3, z2, FL_GELU_C1);
      const float dv = FL_FMAF(3.0f * FL_GELU_C3, z2, FL_GELU_C1);
      const float e = fl_scalar_exp_nonpos(-fabsf(v)), r = 1.0f / (1.0f + e);
      const float s = v >= 0.0f ? r : e * r;
      *f = z * s;
      *d = FL_FMAF(zc * dv, (e * r) * r, s);
      return;
    }
    case FL_ACT_GELU_ERF:
      fl_scalar_gelu_erf_f32(z, f, d);
      return;
    case FL_ACT_KIND_COUNT:
      break;
  }
  *f = *d = NAN;
}

/* The loop for one kind; y == NULL means no residual factor. */
static inline void fl_f32_act_loop(fl_act_kind kind, const fl_act_f32 *a, size_t m, const float *z,
                                   const float *y, const float *p, float *f, float *d) {
  for (size_t j = 0; j < m; j++) {
    float fj, dj;
    fl_f32_act_eval(kind, a, z[j], &fj, &dj);
    if (y != NULL) dj *= p[j] - y[j];
    if (f != NULL) f[j] = fj;
    if (d != NULL) d[j] = dj;
  }
}

static void fl_f32_sqerr_act_ukernel__scalar(size_t m, const fl_act_args *act, const float *z,
                                             const float *y, const float *p, float *f, float *d) {
  const fl_act_f32 a = {(float)act->alpha, (float)act->scale, (float)act->intercept,
                        (float)(act->scale * act->alpha)};
  switch (act->kind) {
#define FL_ACT_CASE(kind)                        \
  case kind:                                     \
    fl_f32_act_loop(kind, &a, m, z, y, p, f, d); \
    return;
    FL_ACT_CASE(FL_ACT_AFFINE)
    FL_ACT_CASE(FL_ACT_SIGMOID)
    FL_ACT_CASE(FL_ACT_TANH)
    FL_ACT_CASE(FL_ACT_RELU)
    FL_ACT_CASE(FL_ACT_LEAKY_RELU)
    FL_ACT_CASE(FL_ACT_ELU)
    FL_ACT_CASE(FL_ACT_EXPONENTIAL)
    FL_ACT_CASE(FL_ACT_SOFTPLUS)
    FL_ACT_CASE(FL_ACT_HARD_SIGMOID)
    FL_ACT_CASE(FL_ACT_GELU_TANH)
    FL_ACT_CASE(FL_ACT_GELU_ERF)
#undef FL_ACT_CASE
    case FL_ACT_KIND_COUNT:
      break;
  }
}

const fl_f32_sqerr_kernels fl_f32_sqerr_kernels__scalar = {
    FL_SQERR_KERNELS(FL_KERNEL_ENTRY, float)};
