/* Fused softmax cross-entropy: argument checks, the per-row maths around the
 * micro-kernels, OpenMP over row blocks and the deterministic reduction.
 *
 * Per row, with rows that fit in cache and a gradient wanted (oneDNN's scheme):
 *   rmax -> rexpstore (exp into the gradient buffer while summing) -> vaffine
 * so each logit is read twice and exp'd once, the second read hitting cache.
 * A thread's rows are pipelined: rexpstore of row i also takes the max of
 * row i + 1, so that row's one read from memory overlaps row i's exps
 * instead of stalling a pass of its own; only a thread's first row runs
 * rmax.  (1 thread, AVX2, A/B at 256 x 32000, 4096 x 1000 and
 * 64 x 128000: fwd+bwd 8-14% faster by the median, 17-23% by the minimum;
 * README has the table.)
 * Forward-only calls with rows up to FL_XENT_TWOPASS_MAX take rmax then
 * rexpsum, pipelined the same way.  Larger forward-only rows and rows too
 * large for cache take ronline (Milakov & Gimelshein 2018: max and sum in
 * one read), then vexpscale for the gradient.
 * Rows of at most FL_XENT_SMALL_M classes go through smallrows, which lays
 * rows across vector lanes.
 *
 * Determinism: rows are grouped in blocks whose size depends only on m; a
 * block's losses are summed in order in double, and the block sums are
 * combined pairwise in a fixed order.  The thread count changes which thread
 * computes a block, never the arithmetic.
 *
 * The element-type-specific code is in xent-impl.h, included once for f32
 * and once for f64. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "internal.h"

/* Rows up to this many elements take the three-pass scheme when a gradient
 * is wanted.  The passes after the first hit L2 for rows up to ~64k floats and
 * L3 beyond; measured on a Zen core (scripts/bench), re-reading from L3 still
 * beats a second exp per element (64 x 128000: 0.68e9 vs 0.49e9 logits/s), so
 * only rows past 1 MiB, which a shared L3 no longer holds with their
 * gradient, take the one-read online pass plus vexpscale. */
#define FL_XENT_THREEPASS_MAX 262144
/* Forward-only rows up to this many elements take two passes, a max and
 * then rexpsum, pipelined across rows (xent-impl.h): the second read hits
 * L2, and the exps run without the online pass's per-block rescaling
 * (AVX2, 1 thread, A/B of the benchmark, minimum / median of 20 runs:
 * 256 x 32000 3.51 / 4.16 -> 3.18 / 3.61 ms, 4096 x 1000 1.94 / 2.20 ->
 * 1.74 / 1.94 ms, 256 x 1000 109 / 116 -> 100 / 118 us; at 64 x 128000,
 * whose rows would be read from L3 twice, a prototype was no faster). */
#define FL_XENT_TWOPASS_MAX 32768

/* How the rows of one call are computed (xent-impl.h). */
typedef enum fl_xent_mode {
  FL_XENT_ONLINE,     /* ronline (+ vexpscale for the gradient) */
  FL_XENT_TWO_PASS,   /* forward only: rmax, rexpsum */
  FL_XENT_THREE_PASS, /* with the gradient: rmax, rexpstore, vaffine */
} fl_xent_mode;

static fl_xent_mode fl_xent_mode_for(size_t m, int grad) {
  if (grad) return m <= FL_XENT_THREEPASS_MAX ? FL_XENT_THREE_PASS : FL_XENT_ONLINE;
  return m <= FL_XENT_TWOPASS_MAX ? FL_XENT_TWO_PASS : FL_XENT_ONLINE;
}
/* Block sums kept on the stack up to this many blocks. */
#define FL_XENT_STACK_BLOCKS 256

typedef struct fl_xent_config {
  fastloss_reduction reduction;
  int use_ignore_index;
  int32_t ignore_index;
  double smoothing;
  const void *weight;
} fl_xent_config;

/* Rows per block: a few hundred KiB of logits per block, at most 64 rows. */
static size_t fl_xent_block_rows(size_t m) {
  size_t rows = 16384 / m;
  if (rows < 1) rows = 1;
  if (rows > 64) rows = 64;
  return rows;
}

static size_t fl_matrix_bytes(size_t n, size_t m, size_t ld, size_t elem) {
  return ((n - 1) * ld + m) * elem;
}

/* Checks shared by every fused call; fills cfg.  elem is sizeof(element). */
static fastloss_status fl_xent_check(size_t n, size_t m, const void *logits, size_t ld_logits,
                                     const void *target, size_t ld_target, const int32_t *labels,
                                     const fastloss_xent_params *params, const void *row_loss,
                                     const void *grad, size_t ld_grad, size_t elem,
                                     fl_xent_config *cfg) {
  if (n == 0 || m == 0)
    return fl_fail(FASTLOSS_ERR_INVALID_SHAPE, "n = %zu, m = %zu: both must be at least 1", n, m);
  fastloss_status status = fl_check_matrix(logits, "logits", n, m, ld_logits);
  if (status != FASTLOSS_OK) return status;
  if (target != NULL) {
    status = fl_check_matrix(target, "target", n, m, ld_target);
    if (status != FASTLOSS_OK) return status;
  }
  if (grad != NULL) {
    status = fl_check_matrix(grad, "grad", n, m, ld_grad);
    if (status != FASTLOSS_OK) return status;
  }
  const fastloss_xent_params defaults = {0};
  if (params == NULL) params = &defaults;
  if (params->reduction != FASTLOSS_REDUCTION_SUM && params->reduction != FASTLOSS_REDUCTION_MEAN &&
      params->reduction != FASTLOSS_REDUCTION_NONE)
    return fl_fail(FASTLOSS_ERR_INVALID_ARGUMENT, "params->reduction = %d is not a fastloss_reduction",
                   (int)params->reduction);
  /* NONE returns the losses only through row_loss. */
  if (params->reduction == FASTLOSS_REDUCTION_NONE && row_loss == NULL)
    return fl_fail(FASTLOSS_ERR_NULL_POINTER,
                   "row_loss is NULL but reduction is FASTLOSS_REDUCTION_NONE");
  const double s = params->label_smoothing;
  if (!(s >= 0.0 && s < 1.0))
    return fl_fail(FASTLOSS_ERR_INVALID_ARGUMENT, "params->label_smoothing = %g is outside [0, 1)", s);
  const int f64 = elem == sizeof(double);
  const void *weight = f64 ? (const void *)params->weight_f64 : (const void *)params->weight_f32;
  const void *other = f64 ? (const void *)params->weight_f32 : (const void *)params->weight_f64;
  if (weight == NULL && other != NULL)
    return fl_fail(FASTLOSS_ERR_INVALID_ARGUMENT,
                   "params->%s is set on an %s call, which reads params->%s",
                   f64 ? "weight_f32" : "weight_f64", f64 ? "f64" : "f32",
                   f64 ? "weight_f64" : "weight_f32");
  /* Class weights scale a row's loss: a negative one makes the loss
   * unbounded below, and NaN or inf poisons every row of that class (and
   * with smoothing every row), so none is data, each is an error. */
  if (weight != NULL) {
    for (size_t j = 0; j < m; j++) {
      const double wj = f64 ? ((const double *)weight)[j] : (double)((const float *)weight)[j];
      if (!(wj >= 0.0 && wj <= DBL_MAX))
        return fl_fail(FASTLOSS_ERR_INVALID_ARGUMENT,
                       "params->%s[%zu] = %g: class weights must be finite and >= 0",
                       f64 ? "weight_f64" : "weight_f32", j, wj);
    }
  }

  const size_t logits_bytes = fl_matrix_bytes(n, m, ld_logits, elem);
  if (grad != NULL) {
    const size_t grad_bytes = fl_matrix_bytes(n, m, ld_grad, elem);
    const int in_place = grad == logits && ld_grad == ld_logits;
    if (!in_place && fl_ranges_overlap(grad, grad_bytes, logits, logits_bytes))
      return fl_fail(FASTLOSS_ERR_OVERLAP,
                     "grad overlaps logits without being the same buffer with the same leading dimension");
    if (target != NULL &&
        fl_ranges_overlap(grad, grad_bytes, target, fl_matrix_bytes(n, m, ld_target, elem)))
      return fl_fail(FASTLOSS_ERR_OVERLAP, "grad overlaps target");
    if (labels != NULL && fl_ranges_overlap(grad, grad_bytes, labels, n * sizeof(int32_t)))
      return fl_fail(FASTLOSS_ERR_OVERLAP, "grad overlaps labels");
    if (weight != NULL && fl_ranges_overlap(grad, grad_bytes, weight, m * elem))
      return fl_fail(FASTLOSS_ERR_OVERLAP, "grad overlaps the class weights");
    if (row_loss != NULL && fl_ranges_overlap(grad, grad_bytes, row_loss, n * elem))
      return fl_fail(FASTLOSS_ERR_OVERLAP, "grad overlaps row_loss");
  }
  if (row_loss != NULL) {
    if (fl_ranges_overlap(row_loss, n * elem, logits, logits_bytes))
      return fl_fail(FASTLOSS_ERR_OVERLAP, "row_loss overlaps logits");
    if (target != NULL &&
        fl_ranges_overlap(row_loss, n * elem, target, fl_matrix_bytes(n, m, ld_target, elem)))
      return fl_fail(FASTLOSS_ERR_OVERLAP, "row_loss overlaps target");
    if (labels != NULL && fl_ranges_overlap(row_loss, n * elem, labels, n * sizeof(int32_t)))
      return fl_fail(FASTLOSS_ERR_OVERLAP, "row_loss overlaps labels");
  }
  cfg->reduction = params->reduction;
  cfg->use_ignore_index = params->use_ignore_index != 0;
  cfg->ignore_index = params->ignore_index;
  cfg->smoothing = s;
  cfg->weight = weight;
  return FASTLOSS_OK;
}

/* Adds to *bad and *skipped the tallies of labels[0, count), count <= 64 (the
 * 32-bit lane sums cannot overflow); with a constant count the loop has a
 * fixed trip count, which the vectoriser likes. */
static inline void fl_xent_tally_labels(const int32_t *labels, size_t count, uint32_t bound,
                                        uint32_t ignore, uint32_t any_ignore, size_t *bad,
                                        size_t *skipped) {
  uint32_t chunk_bad = 0, chunk_skipped = 0;
  for (size_t k = 0; k < count; k++) {
    const uint32_t label = (uint32_t)labels[k];
    const uint32_t skip = (uint32_t)(label == ignore) & any_ignore;
    chunk_skipped += skip;
    chunk_bad += (uint32_t)(label >= bound) & (skip ^ 1u);
  }
  *bad += chunk_bad;
  *skipped += chunk_skipped;
}

/* Without class weights, the count of labels outside [0, m) that are not
 * the ignore index (use_ignore_index 0: every label counts) and, through
 * *ignored, how many are the ignore index.  Branch-free, in fixed-length
 * chunks, so that the compiler vectorises it for the baseline CPU (SSE2);
 * a label's unsigned value is >= m exactly when it is negative or >= m. */
static size_t fl_xent_count_bad_labels(size_t n, size_t m, const int32_t *labels,
                                       int use_ignore_index, int32_t ignore_index,
                                       size_t *ignored) {
  enum { CHUNK = 64 };
  const uint32_t bound = m > (size_t)INT32_MAX ? UINT32_C(0x80000000) : (uint32_t)m;
  const uint32_t ignore = use_ignore_index ? (uint32_t)ignore_index : UINT32_C(0);
  const uint32_t any_ignore = use_ignore_index ? UINT32_C(1) : UINT32_C(0);
  size_t bad = 0, skipped = 0, i = 0;
  for (; i + CHUNK <= n; i += CHUNK)
    fl_xent_tally_labels(labels + i, CHUNK, bound, ignore, any_ignore, &bad, &skipped);
  fl_xent_tally_labels(labels + i, n - i, bound, ignore, any_ignore, &bad, &skipped);
  *ignored = skipped;
  return bad;
}

/* Checks every label before anything is written; returns the mean's
 * denominator (summed weight of the non-ignored rows) through *denominator.
 * Without weights a branch-free pass does the common case; the loop runs
 * only with weights or to find and report the first bad label. */
#define FL_XENT_CHECK_LABELS(T)                                                                    \
  static fastloss_status fl_xent_check_labels_##T(size_t n, size_t m, const int32_t *labels,      \
                                                  const fl_xent_config *cfg,                       \
                                                  double *denominator) {                           \
    const T *w = (const T *)cfg->weight;                                                           \
    if (w == NULL) {                                                                               \
      size_t ignored = 0;                                                                          \
      if (fl_xent_count_bad_labels(n, m, labels, cfg->use_ignore_index, cfg->ignore_index,         \
                                   &ignored) == 0) {                                               \
        *denominator = (double)(n - ignored);                                                      \
        return FASTLOSS_OK;                                                                        \
      }                                                                                            \
    }                                                                                              \
    double sum = 0.0;                                                                              \
    size_t counted = 0; /* without weights: an exact count, not a chain of double adds */          \
    for (size_t i = 0; i < n; i++) {                                                               \
      const int32_t label = labels[i];                                                             \
      if (cfg->use_ignore_index && label == cfg->ignore_index) continue;                           \
      if (label < 0 || (size_t)label >= m)                                                         \
        return fl_fail(FASTLOSS_ERR_LABEL_OUT_OF_RANGE, "labels[%zu] = %d is outside [0, %zu)", i, \
                       (int)label, m);                                                             \
      if (w != NULL) sum += (double)w[label];                                                      \
      counted++;                                                                                   \
    }                                                                                              \
    *denominator = w != NULL ? sum : (double)counted;                                              \
    return FASTLOSS_OK;                                                                            \
  }
FL_XENT_CHECK_LABELS(float)
FL_XENT_CHECK_LABELS(double)

#define FL_T float
#define FL_SUFFIX f32
#define FL_KERNELS f32_xent
#define FL_KERNEL_TABLE fl_f32_xent_kernels
#include "xent-impl.h"
#undef FL_T
#undef FL_SUFFIX
#undef FL_KERNELS
#undef FL_KERNEL_TABLE

#define FL_T double
#define FL_SUFFIX f64
#define FL_KERNELS f64_xent
#define FL_KERNEL_TABLE fl_f64_xent_kernels
#include "xent-impl.h"
