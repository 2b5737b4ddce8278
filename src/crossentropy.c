/* numpy-ml's CrossEntropy on probabilities: the input checks of is_binary and
 * is_stochastic, the summed loss with eps64 inside the log, and the gradient
 * y_pred - y.  Memory-bound and rarely hot, so plain C: the per-ISA kernels
 * are reserved for the fused call that training loops use.
 *
 * The loss and the checks share one parallel pass over row blocks; the
 * lowest offending index wins whatever the thread count, and block sums are
 * combined in a fixed order, so the result is deterministic. */
#include <float.h>
#include <math.h>
#include <stdlib.h>

#include "config.h"
#include "internal.h"

#define FL_EPS64 2.220446049250313e-16
#define FL_CE_BLOCK_ELEMS 16384
#define FL_CE_STACK_BLOCKS 256

/* What a block found: the first bad entry of y, the first bad row of y_pred. */
typedef struct fl_ce_block {
  double loss;
  size_t bad_y;    /* index into y, or SIZE_MAX */
  size_t bad_row;  /* row of y_pred, or SIZE_MAX */
  size_t bad_pred; /* entry of y_pred outside [0, 1] within bad_row, or SIZE_MAX */
  double row_sum;  /* sum of bad_row */
} fl_ce_block;

/* One call's pass: the check (and loss) over blocks of block_rows rows, or
 * the gradient over n * m elements. */
typedef struct fl_ce_job {
  size_t n, m, block_rows;
  const void *y, *y_pred;
  void *grad;
  int want_loss;
  fl_ce_block *blocks;
} fl_ce_job;

static fastloss_status fl_ce_args(size_t n, size_t m, const void *y, const void *y_pred,
                                  const void *out, const char *out_name) {
  if (y == NULL) return fl_fail(FASTLOSS_ERR_NULL_POINTER, "y is NULL");
  if (y_pred == NULL) return fl_fail(FASTLOSS_ERR_NULL_POINTER, "y_pred is NULL");
  if (out == NULL) return fl_fail(FASTLOSS_ERR_NULL_POINTER, "%s is NULL", out_name);
  if (n == 0 || m == 0)
    return fl_fail(FASTLOSS_ERR_INVALID_SHAPE, "n = %zu, m = %zu: both must be at least 1", n, m);
  if (n > SIZE_MAX / 8 / m)
    return fl_fail(FASTLOSS_ERR_SIZE_OVERFLOW, "n * m = %zu * %zu overflows", n, m);
  return FASTLOSS_OK;
}

static fastloss_status fl_ce_report(const fl_ce_block *blocks, size_t count, size_t m) {
  for (size_t b = 0; b < count; b++) {
    const fl_ce_block *blk = &blocks[b];
    if (blk->bad_y == SIZE_MAX && blk->bad_row == SIZE_MAX) continue;
    /* Within a block rows are scanned in order, so the earlier of the two
     * failures (by row) is the one to report; y first on a tie. */
    const size_t y_row = blk->bad_y == SIZE_MAX ? SIZE_MAX : blk->bad_y / m;
    if (y_row <= blk->bad_row)
      return fl_fail(FASTLOSS_ERR_NOT_BINARY, "y[%zu][%zu] is not 0 or 1 (y must be one-hot)", y_row,
                     blk->bad_y % m);
    if (blk->bad_pred != SIZE_MAX)
      return fl_fail(FASTLOSS_ERR_NOT_STOCHASTIC, "y_pred[%zu][%zu] is outside [0, 1]", blk->bad_row,
                     blk->bad_pred);
    return fl_fail(FASTLOSS_ERR_NOT_STOCHASTIC,
                   "row %zu of y_pred sums to %.7g, not 1 (tolerance 1e-5 + m * eps)", blk->bad_row,
                   blk->row_sum);
  }
  return FASTLOSS_OK;
}

#define FL_CE_DEFINE(T, SUFFIX, EPS_T)                                                             \
  /* Checks (and, when want_loss, sums the loss of) rows [first, last). */                          \
  static void fl_ce_block_##SUFFIX(size_t first, size_t last, size_t m, const T *y,                \
                                   const T *y_pred, int want_loss, fl_ce_block *out) {             \
    const double tolerance = 1e-5 + (double)m * (EPS_T);                                           \
    out->loss = 0.0;                                                                               \
    out->bad_y = out->bad_row = out->bad_pred = SIZE_MAX;                                          \
    for (size_t i = first; i < last; i++) {                                                        \
      const T *yi = y + i * m, *pi = y_pred + i * m;                                               \
      double row_sum = 0.0, row_loss = 0.0;                                                        \
      size_t bad_pred = SIZE_MAX;                                                                  \
      for (size_t j = 0; j < m; j++) {                                                             \
        const T yv = yi[j], pv = pi[j];                                                            \
        if (yv != (T)0 && yv != (T)1 && out->bad_y == SIZE_MAX) out->bad_y = i * m + j;            \
        if (!(pv >= (T)0 && pv <= (T)1) && bad_pred == SIZE_MAX) bad_pred = j;                     \
        row_sum += (double)pv;                                                                     \
        if (want_loss && yv != (T)0) row_loss -= (double)yv * log((double)pv + FL_EPS64);           \
      }                                                                                            \
      if (out->bad_y != SIZE_MAX) return;                                                          \
      if (bad_pred != SIZE_MAX || !(fabs(row_sum - 1.0) <= tolerance)) {                           \
        out->bad_row = i;                                                                          \
        out->bad_pred = bad_pred;                                                                  \
        out->row_sum = row_sum;                                                                    \
        return;                                                                                    \
      }                                                                                            \
      out->loss += row_loss;                                                                       \
    }                                                                                              \
  }                                                                                                \
                                                                                                   \
  /* Blocks [first_block, last_block) of the pass over the rows. */                                \
  static void fl_ce_blocks_##SUFFIX(const void *arg, size_t first_block, size_t last_block) {      \
    const fl_ce_job *job = arg;                                                                    \
    for (size_t b = first_block; b < last_block; b++) {                                            \
      const size_t first = b * job->block_rows;                                                    \
      const size_t last = first + job->block_rows < job->n ? first + job->block_rows : job->n;     \
      fl_ce_block_##SUFFIX(first, last, job->m, job->y, job->y_pred, job->want_loss,               \
                           &job->blocks[b]);                                                       \
    }                                                                                              \
  }                                                                                                \
                                                                                                   \
  /* The gradient's elements [first, last). */                                                     \
  static void fl_ce_diff_##SUFFIX(const void *arg, size_t first, size_t last) {                    \
    const fl_ce_job *job = arg;                                                                    \
    const T *y = job->y, *y_pred = job->y_pred;                                                    \
    T *grad = job->grad;                                                                           \
    for (size_t k = first; k < last; k++) grad[k] = y_pred[k] - y[k];                              \
  }                                                                                                \
                                                                                                   \
  /* One pass over all rows; returns the first error, else the total. */                           \
  static fastloss_status fl_ce_scan_##SUFFIX(size_t n, size_t m, const T *y, const T *y_pred,      \
                                             int want_loss, double *total) {                       \
    size_t block_rows = FL_CE_BLOCK_ELEMS / m;                                                     \
    if (block_rows == 0) block_rows = 1;                                                           \
    const size_t count = (n + block_rows - 1) / block_rows;                                        \
    /* Zeroed (and calloc below) so that every read is defined to the                              \
     * compiler's eye: the blocks pass writes every block anyway. */                               \
    fl_ce_block stack_blocks[FL_CE_STACK_BLOCKS] = {{0}};                                          \
    fl_ce_block *blocks = stack_blocks;                                                            \
    if (count > FL_CE_STACK_BLOCKS) {                                                              \
      blocks = calloc(count, sizeof *blocks);                                                      \
      if (blocks == NULL)                                                                          \
        return fl_fail(FASTLOSS_ERR_OUT_OF_MEMORY, "could not allocate %zu block records", count); \
    }                                                                                              \
    const fl_ce_job job = {.n = n,                                                                 \
                           .m = m,                                                                 \
                           .block_rows = block_rows,                                               \
                           .y = y,                                                                 \
                           .y_pred = y_pred,                                                       \
                           .want_loss = want_loss,                                                 \
                           .blocks = blocks};                                                      \
    fl_parallel_for(fl_threads_for((double)n * (double)m), count, fl_ce_blocks_##SUFFIX, &job);    \
    fastloss_status status = fl_ce_report(blocks, count, m);                                       \
    if (status == FASTLOSS_OK && want_loss) {                                                      \
      *total = fl_sum_pairwise(&blocks[0].loss, count, sizeof *blocks);                            \
    }                                                                                              \
    if (blocks != stack_blocks) free(blocks);                                                      \
    return status;                                                                                 \
  }                                                                                                \
                                                                                                   \
  fastloss_status fastloss_crossentropy_loss_##SUFFIX(size_t n, size_t m, const T *y,              \
                                                      const T *y_pred, double *loss) {             \
    fastloss_status status = fl_ce_args(n, m, y, y_pred, loss, "loss");                            \
    if (status != FASTLOSS_OK) return status;                                                      \
    double total = 0.0;                                                                            \
    status = fl_ce_scan_##SUFFIX(n, m, y, y_pred, 1, &total);                                      \
    if (status == FASTLOSS_OK) *loss = total;                                                      \
    return status;                                                                                 \
  }                                                                                                \
                                                                                                   \
  fastloss_status fastloss_crossentropy_grad_##SUFFIX(size_t n, size_t m, const T *y,              \
                                                      const T *y_pred, T *grad) {                  \
    fastloss_status status = fl_ce_args(n, m, y, y_pred, grad, "grad");                            \
    if (status != FASTLOSS_OK) return status;                                                      \
    const size_t bytes = n * m * sizeof(T);                                                        \
    if ((grad != y && fl_ranges_overlap(grad, bytes, y, bytes)) ||                                 \
        (grad != y_pred && fl_ranges_overlap(grad, bytes, y_pred, bytes)))                         \
      return fl_fail(FASTLOSS_ERR_OVERLAP, "grad partly overlaps y or y_pred");                    \
    status = fl_ce_scan_##SUFFIX(n, m, y, y_pred, 0, NULL);                                        \
    if (status != FASTLOSS_OK) return status;                                                      \
    const size_t total = n * m;                                                                    \
    const fl_ce_job job = {.y = y, .y_pred = y_pred, .grad = grad};                                \
    fl_parallel_for(fl_threads_for((double)total), total, fl_ce_diff_##SUFFIX, &job);              \
    return FASTLOSS_OK;                                                                            \
  }

FL_CE_DEFINE(float, f32, FLT_EPSILON)
FL_CE_DEFINE(double, f64, DBL_EPSILON)
