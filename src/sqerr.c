/* SquaredError (numpy-ml) and the activations on their own: argument checks,
 * the resolution of an activation's defaults, OpenMP over chunks and the
 * deterministic reduction.
 *
 * The arrays are contiguous, so the work is cut into chunks of the flattened
 * (n, m) array, FL_SQERR_CHUNK elements each (whole rows when m is large, many
 * rows when m is small, so that a regression with m = 1 is not one kernel
 * call per element).  The chunks depend only on n * m: each chunk's sum is a
 * double from the kernel, and the chunk sums are combined pairwise in a fixed
 * order, so the thread count changes which thread computes a chunk, never
 * the arithmetic.
 *
 * The element-type-specific code is in sqerr-impl.h, included once for f32
 * and once for f64. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "config.h"
#include "internal.h"

/* Elements per chunk: 16 KiB of f32 input per array. */
#define FL_SQERR_CHUNK 4096
/* Chunk sums kept on the stack up to this many chunks. */
#define FL_SQERR_STACK_CHUNKS 256

/* SELU's constants (Klambauer et al. 2017, as numpy-ml has them). */
#define FL_SELU_ALPHA 1.6732632423543772
#define FL_SELU_SCALE 1.0507009873554805

static const char *fl_act_name(fastloss_activation_kind kind) {
  switch (kind) {
    case FASTLOSS_ACT_IDENTITY:
      return "Identity";
    case FASTLOSS_ACT_AFFINE:
      return "Affine";
    case FASTLOSS_ACT_SIGMOID:
      return "Sigmoid";
    case FASTLOSS_ACT_TANH:
      return "Tanh";
    case FASTLOSS_ACT_RELU:
      return "ReLU";
    case FASTLOSS_ACT_LEAKY_RELU:
      return "LeakyReLU";
    case FASTLOSS_ACT_ELU:
      return "ELU";
    case FASTLOSS_ACT_SELU:
      return "SELU";
    case FASTLOSS_ACT_EXPONENTIAL:
      return "Exponential";
    case FASTLOSS_ACT_SOFTPLUS:
      return "SoftPlus";
    case FASTLOSS_ACT_HARD_SIGMOID:
      return "HardSigmoid";
    case FASTLOSS_ACT_GELU:
      return "GELU";
  }
  return NULL;
}

/* A parameter: zero means `fallback` unless use_params; must be finite. */
static fastloss_status fl_act_param(const fastloss_activation *act, const char *field, double value,
                                    double fallback, double *out) {
  if (!isfinite(value))
    return fl_fail(FASTLOSS_ERR_INVALID_ARGUMENT, "act->%s = %g is not finite (%s)", field, value,
                   fl_act_name(act->kind));
  *out = value == 0.0 && !act->use_params ? fallback : value;
  return FASTLOSS_OK;
}

/* The kernels' view of act (NULL: Identity), defaults applied. */
static fastloss_status fl_act_resolve(const fastloss_activation *act, fl_act_args *out) {
  const fastloss_activation identity = {0};
  if (act == NULL) act = &identity;
  if (fl_act_name(act->kind) == NULL)
    return fl_fail(FASTLOSS_ERR_INVALID_ARGUMENT,
                   "act->kind = %d is not a fastloss_activation_kind", (int)act->kind);
  if (act->use_params != 0 && act->use_params != 1)
    return fl_fail(FASTLOSS_ERR_INVALID_ARGUMENT, "act->use_params = %d is neither 0 nor 1",
                   act->use_params);
  const fl_act_args affine_identity = {FL_ACT_AFFINE, 0.0, 1.0, 0.0};
  *out = affine_identity;
  fastloss_status status = FASTLOSS_OK;
  switch (act->kind) {
    case FASTLOSS_ACT_IDENTITY:
      break;
    case FASTLOSS_ACT_AFFINE:
      status = fl_act_param(act, "slope", act->slope, 1.0, &out->scale);
      if (status == FASTLOSS_OK)
        status = fl_act_param(act, "intercept", act->intercept, 0.0, &out->intercept);
      break;
    case FASTLOSS_ACT_SIGMOID:
      out->kind = FL_ACT_SIGMOID;
      break;
    case FASTLOSS_ACT_TANH:
      out->kind = FL_ACT_TANH;
      break;
    case FASTLOSS_ACT_RELU:
      out->kind = FL_ACT_RELU;
      break;
    case FASTLOSS_ACT_LEAKY_RELU:
      out->kind = FL_ACT_LEAKY_RELU;
      status = fl_act_param(act, "alpha", act->alpha, 0.3, &out->alpha);
      break;
    case FASTLOSS_ACT_ELU:
      out->kind = FL_ACT_ELU;
      status = fl_act_param(act, "alpha", act->alpha, 1.0, &out->alpha);
      break;
    case FASTLOSS_ACT_SELU:
      out->kind = FL_ACT_ELU;
      out->alpha = FL_SELU_ALPHA;
      out->scale = FL_SELU_SCALE;
      break;
    case FASTLOSS_ACT_EXPONENTIAL:
      out->kind = FL_ACT_EXPONENTIAL;
      break;
    case FASTLOSS_ACT_SOFTPLUS:
      out->kind = FL_ACT_SOFTPLUS;
      break;
    case FASTLOSS_ACT_HARD_SIGMOID:
      out->kind = FL_ACT_HARD_SIGMOID;
      break;
    case FASTLOSS_ACT_GELU:
      if (act->exact != 0 && act->exact != 1)
        return fl_fail(FASTLOSS_ERR_INVALID_ARGUMENT, "act->exact = %d is neither 0 nor 1",
                       act->exact);
      out->kind = act->exact ? FL_ACT_GELU_ERF : FL_ACT_GELU_TANH;
      break;
  }
  return status;
}

/* Element-operations an element of `kind` costs, for fl_threads_for. */
static double fl_act_cost(fl_act_kind kind) {
  switch (kind) {
    case FL_ACT_AFFINE:
    case FL_ACT_RELU:
    case FL_ACT_LEAKY_RELU:
    case FL_ACT_HARD_SIGMOID:
      return 1.0;
    case FL_ACT_GELU_ERF:
      return 40.0;
    default:
      return 8.0;
  }
}

/* n * m, checked: FASTLOSS_OK and *count, or an error naming `what`. */
static fastloss_status fl_sqerr_count(size_t n, size_t m, const void *first, const char *what,
                                      size_t *count) {
  if (n == 0 || m == 0)
    return fl_fail(FASTLOSS_ERR_INVALID_SHAPE, "n = %zu, m = %zu: both must be at least 1", n, m);
  const fastloss_status status = fl_check_matrix(first, what, n, m, m);
  if (status != FASTLOSS_OK) return status;
  *count = n * m;
  return FASTLOSS_OK;
}

/* out may be each of the inputs itself, and may overlap none otherwise. */
static fastloss_status fl_sqerr_check_output(const char *name, const void *out,
                                             const char *const *input_names,
                                             const void *const *inputs, size_t input_count,
                                             size_t bytes) {
  for (size_t k = 0; k < input_count; k++)
    if (out != inputs[k] && fl_ranges_overlap(out, bytes, inputs[k], bytes))
      return fl_fail(FASTLOSS_ERR_OVERLAP, "%s overlaps %s without being the same buffer", name,
                     input_names[k]);
  return FASTLOSS_OK;
}

#define FL_T float
#define FL_SUFFIX f32
#define FL_KERNELS f32_sqerr
#define FL_KERNEL_TABLE fl_f32_sqerr_kernels
#include "sqerr-impl.h"
#undef FL_T
#undef FL_SUFFIX
#undef FL_KERNELS
#undef FL_KERNEL_TABLE

#define FL_T double
#define FL_SUFFIX f64
#define FL_KERNELS f64_sqerr
#define FL_KERNEL_TABLE fl_f64_sqerr_kernels
#include "sqerr-impl.h"
