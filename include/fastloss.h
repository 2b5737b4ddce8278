/* fastloss: SIMD/OpenMP loss kernels for CPU training loops.
 *
 * Conventions for every call in this header:
 * - Every call returns a fastloss_status; FASTLOSS_OK is 0.  On any other
 *   status nothing has been written to any output buffer, and
 *   fastloss_last_error() (thread-local) says which argument, index or value
 *   was at fault.
 * - Buffers are owned by the caller.  Matrices are row-major with an
 *   explicit leading dimension (elements between the starts of two rows),
 *   so views into larger arrays work.  Pointers need no particular alignment.
 * - A params pointer may be NULL, and a zero-initialised params struct means
 *   the defaults too.
 * - Results are bit-identical run to run and for any OpenMP thread count on
 *   a given ISA.  Different ISAs agree to within the documented tolerance.
 * - The library never prints, aborts or exits.
 */
#ifndef FASTLOSS_H
#define FASTLOSS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define FASTLOSS_API
#else
#define FASTLOSS_API __attribute__((visibility("default")))
#endif

#define FASTLOSS_VERSION_MAJOR 0
#define FASTLOSS_VERSION_MINOR 1
#define FASTLOSS_VERSION_PATCH 0

/* ---------------------------------------------------------------- status */

typedef enum fastloss_status {
  FASTLOSS_OK = 0,
  FASTLOSS_ERR_NULL_POINTER = 1,      /* a required buffer is NULL */
  FASTLOSS_ERR_INVALID_SHAPE = 2,     /* n or m is 0 where a size is needed */
  FASTLOSS_ERR_SIZE_OVERFLOW = 3,     /* n * m (or n * ld) overflows size_t */
  FASTLOSS_ERR_INVALID_STRIDE = 4,    /* a leading dimension is smaller than m */
  FASTLOSS_ERR_LABEL_OUT_OF_RANGE = 5, /* a class id outside [0, m) */
  FASTLOSS_ERR_INVALID_ARGUMENT = 6,  /* a parameter value is not allowed */
  FASTLOSS_ERR_NOT_BINARY = 7,        /* y is not 0/1 in a one-hot call */
  FASTLOSS_ERR_NOT_STOCHASTIC = 8,    /* a row of probabilities does not sum to 1 */
  FASTLOSS_ERR_UNSUPPORTED_ISA = 9,   /* this CPU or build cannot run that ISA */
  FASTLOSS_ERR_OUT_OF_MEMORY = 10,    /* an internal allocation failed */
  FASTLOSS_ERR_OVERLAP = 11           /* an output overlaps an input it may not alias */
} fastloss_status;

/* A constant string naming the status, e.g. "FASTLOSS_ERR_INVALID_STRIDE". */
FASTLOSS_API const char *fastloss_status_str(fastloss_status status);

/* The detail of the last failed call on this thread, e.g.
 * "labels[17] = 50000 is outside [0, 32000)"; "" if none failed yet. */
FASTLOSS_API const char *fastloss_last_error(void);

FASTLOSS_API const char *fastloss_version(void);

/* ---------------------------------------------------- ISA and threads */

typedef enum fastloss_isa {
  FASTLOSS_ISA_AUTO = 0, /* the best the host and the build support */
  FASTLOSS_ISA_SCALAR = 1,
  FASTLOSS_ISA_AVX2 = 2,   /* AVX2 + FMA, OS saves YMM state */
  FASTLOSS_ISA_AVX512 = 3, /* AVX-512 F+DQ+BW+VL, OS saves ZMM and opmask state */
  FASTLOSS_ISA_NEON = 4    /* AArch64 AdvSIMD */
} fastloss_isa;

/* Bits of fastloss_cpu_features(). */
#define FASTLOSS_CPU_AVX2 (1u << 0)   /* AVX2 and FMA usable */
#define FASTLOSS_CPU_AVX512 (1u << 1) /* AVX-512 F, DQ, BW, VL usable */
#define FASTLOSS_CPU_NEON (1u << 2)

/* What the host CPU (and its OS) can run, whatever this build contains. */
FASTLOSS_API unsigned fastloss_cpu_features(void);

/* Selects the kernels used by every later call of every thread.  AUTO picks
 * the best available, capped by the FASTLOSS_ISA environment variable
 * (scalar|avx2|avx512|neon|auto) if set.  Asking for an ISA the host or the
 * build lacks returns FASTLOSS_ERR_UNSUPPORTED_ISA and keeps the current
 * choice.  Do not call it while another thread is inside a fastloss call. */
FASTLOSS_API fastloss_status fastloss_set_isa(fastloss_isa isa);

/* The ISA in use (selected on first use if nothing was set). */
FASTLOSS_API fastloss_isa fastloss_get_isa(void);

/* "auto", "scalar", "avx2", "avx512", "neon"; NULL for unknown values. */
FASTLOSS_API const char *fastloss_isa_name(fastloss_isa isa);

/* Upper bound on the OpenMP threads a call uses; 0 (the default) means
 * OpenMP's own default (OMP_NUM_THREADS).  Small calls run on one thread. */
FASTLOSS_API fastloss_status fastloss_set_num_threads(int threads);
FASTLOSS_API int fastloss_get_num_threads(void);

/* ------------------------------------ CrossEntropy, numpy-ml parity */

/* y (n, m) one-hot (every entry exactly 0 or 1), y_pred (n, m) row-stochastic
 * probabilities (entries in [0, 1], rows summing to 1 within 1e-5 + m * eps of
 * the dtype).  Both contiguous (leading dimension m).
 *   loss = -sum_ij y_ij * log(y_pred_ij + eps64),  eps64 = 2.220446049250313e-16
 * the SUM over examples and classes, accumulated in double.
 * Errors: FASTLOSS_ERR_NOT_BINARY names the first offending y index,
 * FASTLOSS_ERR_NOT_STOCHASTIC the first offending row of y_pred. */
FASTLOSS_API fastloss_status fastloss_crossentropy_loss_f32(size_t n, size_t m, const float *y,
                                                            const float *y_pred, double *loss);
FASTLOSS_API fastloss_status fastloss_crossentropy_loss_f64(size_t n, size_t m, const double *y,
                                                            const double *y_pred, double *loss);

/* grad (n, m) = y_pred - y: the gradient with respect to the softmax input.
 * The inputs are checked as for the loss.  grad may alias y_pred or y. */
FASTLOSS_API fastloss_status fastloss_crossentropy_grad_f32(size_t n, size_t m, const float *y,
                                                            const float *y_pred, float *grad);
FASTLOSS_API fastloss_status fastloss_crossentropy_grad_f64(size_t n, size_t m, const double *y,
                                                            const double *y_pred, double *grad);

/* ------------------------------------- fused softmax cross-entropy */

typedef enum fastloss_reduction {
  FASTLOSS_REDUCTION_SUM = 0, /* numpy-ml's convention (default) */
  FASTLOSS_REDUCTION_MEAN = 1, /* divided by the summed weight of the non-ignored rows */
  FASTLOSS_REDUCTION_NONE = 2 /* per-row losses in row_loss (required) */
} fastloss_reduction;

typedef struct fastloss_xent_params {
  fastloss_reduction reduction;
  /* Rows whose label equals ignore_index contribute 0 loss and 0 gradient,
   * and do not count in the mean.  Only used when use_ignore_index != 0. */
  int use_ignore_index;
  int32_t ignore_index;
  /* PyTorch's label smoothing, in [0, 1): the target becomes
   * (1 - s) * onehot + s / m. */
  double label_smoothing;
  /* Optional per-class weights, length m (PyTorch's `weight`): weight_f32 for
   * the _f32 calls, weight_f64 for the _f64 calls; NULL means all ones. */
  const float *weight_f32;
  const double *weight_f64;
} fastloss_xent_params;

/* Fused softmax + cross-entropy from logits (n, m) with leading dimension
 * ld_logits, and integer class ids labels[n].  For row i with label y,
 * weights w (1 if absent), smoothing s and p = softmax(z_i):
 *   row_loss_i = (1 - s) w_y (lse_i - z_iy) + (s / m) sum_c w_c (lse_i - z_ic)
 *   grad_i     = r * d row_loss_i / d z_i
 *              = r * (p * ((1 - s) w_y + (s / m) sum_c w_c) - (1 - s) w_y e_y - (s / m) w)
 * with r = 1 for SUM and NONE, 1 / (sum of w_y over non-ignored rows) for MEAN.
 * Outputs, each optional (NULL skips it):
 *   row_loss[n]  per-row losses (0 for ignored rows);
 *   *loss        the reduced loss (for NONE: the sum), accumulated in double;
 *   grad (n, m) with leading dimension ld_grad.  grad may be the same buffer
 *                as logits with ld_grad == ld_logits (in place); no other
 *                overlap is allowed.
 * Non-finite logits are data: -inf masks a class; a row whose label logit is
 * -inf (or whose logits are all -inf) has loss +inf; an all -inf row gets a
 * zero gradient; NaN or +inf in a row makes that row's loss and gradient NaN
 * (as PyTorch does) and touches no other row.  MEAN with every row ignored
 * gives a NaN loss (0 / 0, as PyTorch) and a zero gradient. */
FASTLOSS_API fastloss_status fastloss_xent_f32(size_t n, size_t m, const float *logits,
                                               size_t ld_logits, const int32_t *labels,
                                               const fastloss_xent_params *params,
                                               float *row_loss, double *loss, float *grad,
                                               size_t ld_grad);
FASTLOSS_API fastloss_status fastloss_xent_f64(size_t n, size_t m, const double *logits,
                                               size_t ld_logits, const int32_t *labels,
                                               const fastloss_xent_params *params,
                                               double *row_loss, double *loss, double *grad,
                                               size_t ld_grad);

/* Soft-label variant: target (n, m) with leading dimension ld_target, any
 * real values (one-hot or distributions).  With t_c = w_c ((1 - s) y_c + s / m):
 *   row_loss_i = sum_c t_c (lse_i - z_ic)    (terms with t_c == 0 count 0)
 *   grad_i     = r * (p * sum_c t_c - t)
 * r = 1 / n for MEAN (as PyTorch does for probability targets).  ignore_index
 * does not apply.  grad may alias logits as above, never target. */
FASTLOSS_API fastloss_status fastloss_xent_soft_f32(size_t n, size_t m, const float *logits,
                                                    size_t ld_logits, const float *target,
                                                    size_t ld_target,
                                                    const fastloss_xent_params *params,
                                                    float *row_loss, double *loss, float *grad,
                                                    size_t ld_grad);
FASTLOSS_API fastloss_status fastloss_xent_soft_f64(size_t n, size_t m, const double *logits,
                                                    size_t ld_logits, const double *target,
                                                    size_t ld_target,
                                                    const fastloss_xent_params *params,
                                                    double *row_loss, double *loss,
                                                    double *grad, size_t ld_grad);

#ifdef __cplusplus
}
#endif

#endif /* FASTLOSS_H */
