/* Shared by the libFuzzer targets of tests/fuzz/: decoding the fuzz input
 * into sizes, parameters and float bit patterns, the list of kernel tables
 * to compare (scalar first), exact-size buffers and the comparisons.
 *
 * Every buffer is allocated with its exact size (ASan's redzones catch any
 * write past either end); the bytes between rows of a strided output are
 * pre-filled with a sentinel and must keep it; on any status other than
 * FASTLOSS_OK every output must be bit-for-bit as it was.  A mismatch calls
 * fz_fail(), which prints and aborts, so libFuzzer saves the input. */
#ifndef FASTLOSS_FUZZ_H
#define FASTLOSS_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include "fastloss.h"
#include "internal.h"

/* The fuzz input, consumed from the front; reads past the end give zeros. */
typedef struct fz_input {
  const uint8_t *data;
  size_t size;
} fz_input;

uint8_t fz_u8(fz_input *in);
uint32_t fz_u32(fz_input *in);
/* An integer in [lo, hi]. */
size_t fz_range(fz_input *in, size_t lo, size_t hi);
/* A float: one selector byte picks a special value (0, -0, +-inf, NaN,
 * denormals, FLT_MIN, FLT_MAX, 88.7, ...), a moderate value in [-32, 32],
 * a value in [0, 1], or four raw bytes (any bit pattern). */
float fz_float(fz_input *in);
double fz_double(fz_input *in);
void fz_floats(fz_input *in, float *out, size_t count);

/* The kernel tables to run: [0] is scalar, then AVX2, native AVX-512 and
 * the SIMDe-emulated AVX-512 where the host and the build have them. */
size_t fz_isas(const fl_isa_kernels **out, size_t max);

/* Exact-size allocations (count 0 gives a 1-element buffer); never NULL. */
float *fz_alloc_f32(size_t count);
double *fz_alloc_f64(size_t count);
void *fz_alloc_bytes(size_t bytes);
/* Fills count elements of elem bytes (sizeof(float) or sizeof(double))
 * with that type's sentinel (a NaN payload no kernel makes); whether the
 * element at p is the sentinel.  The typed forms call these. */
void fz_sentinel(void *p, size_t count, size_t elem);
int fz_is_sentinel(const void *p, size_t elem);
void fz_sentinel_f32(float *p, size_t count);
int fz_is_sentinel_f32(float v);
void fz_sentinel_f64(double *p, size_t count);
int fz_is_sentinel_f64(double v);
/* Element k of an array of floats (elem 4, widened: exact) or doubles. */
double fz_get(const void *p, size_t k, size_t elem);
/* count doubles: each fz_double's value (a float, widened) times 2^e for a
 * fuzzed e in [-600, 600] when wide is set (values only a double holds:
 * past FLT_MAX, below FLT_TRUE_MIN, denormal doubles). */
void fz_doubles(fz_input *in, double *out, size_t count, int wide);

/* Prints "fuzz mismatch: ..." with the ISA name and aborts. */
void fz_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* |a - b| <= abs_tol + rel_tol * max(|a|, |b|); NaN only equals NaN, an
 * infinity only the same infinity or a finite value of its sign beyond 1e37
 * (overflow may round either way: FMA versus multiply-add). */
int fz_close(double a, double b, double abs_tol, double rel_tol);
/* Whether every element is finite; the largest finite |element| (0 when
 * none).  One implementation (on the values widened to double, exact) for
 * both types. */
int fz_all_finite(const float *p, size_t count);
float fz_max_abs(const float *p, size_t count);
int fz_all_finite_f64(const double *p, size_t count);
double fz_max_abs_f64(const double *p, size_t count);

/* Rows x cols stored with leading dimension ld: the elements it spans. */
size_t fz_extent(size_t rows, size_t cols, size_t ld);
/* A leading dimension for rows of m: m + 0..2, or m - 1 (too small: an
 * error) for 6 selector values in 256. */
size_t fz_ld(fz_input *in, size_t m);
/* An embedding id: in [0, vocab) mostly, else any 32 bits (often out of
 * range or negative). */
int32_t fz_index(fz_input *in, size_t vocab);

/* ------------------------------------- cross-entropy (fuzz-xent*.c) */

/* One fastloss_xent(_soft) case, decoded as fuzz-xent.c and fuzz-xent64.c
 * read their input: a flags byte (bit 0 soft, 1 in-place gradient, 2/3/4
 * row loss/loss/gradient NOT wanted, 5 class weights, 6 use_ignore_index),
 * n <= 24, m <= 70, the leading dimensions of logits, grad and target, the
 * reduction (sometimes a bad one), ignore_index, label smoothing (sometimes
 * outside [0, 1) or NaN), the logits, labels (sometimes out of range or
 * negative), the soft targets, the weights.  Arrays not used (target when
 * hard, weights when not wanted) are zero; params.weight_f32 is set when
 * weights are wanted.  The f64 arrays are the f32 ones widened, after
 * fz_xent_widen(). */
typedef struct fz_xent_case {
  size_t n, m, ld, ld_grad, ld_target;
  int soft, in_place, want_row, want_loss, want_grad, want_weights;
  fastloss_xent_params params;
  float *logits, *target, *weights;
  double *logits64, *target64, *weights64;
  int32_t *labels;
} fz_xent_case;

/* With FASTLOSS_FUZZ_VERBOSE set, also prints the case (target_name
 * first) to stderr. */
void fz_xent_decode(fz_input *in, fz_xent_case *c, const char *target_name);
void fz_xent_widen(fz_xent_case *c);
void fz_xent_free(fz_xent_case *c);
/* The gradient's extent (ld_grad, or ld when in place). */
size_t fz_xent_grad_ld(const fz_xent_case *c);

/* One call's results: row and grad hold elem-byte elements (float for the
 * f32 call, double for f64); loss is the double the call wrote, if any. */
typedef struct fz_xent_out {
  fastloss_status status;
  size_t elem;
  void *row, *grad;
  double loss;
} fz_xent_out;

/* Runs the f32 (f64 = 0) or f64 call of the case on the current kernel
 * table into fresh exact-size outputs (sentinel-filled, or the logits for
 * the in-place gradient), and checks that nothing is written on error and
 * nothing but the outputs asked for (not the gaps between gradient rows)
 * on success.  name: the kernel table, for fz_fail. */
void fz_xent_run(const fz_xent_case *c, int f64, fz_xent_out *o, const char *name);
void fz_xent_out_free(fz_xent_out *o);

/* The comparison scales of the case: W the largest |weight| (1 without
 * weights) and whether every weight is finite; r the MEAN scale (1 / the
 * summed weight of the counted rows, 1 otherwise or when that sum is 0 or
 * not finite). */
void fz_xent_scales(const fz_xent_case *c, float *w_max, int *w_finite, double *r);
/* Row i: M the largest finite |logit|; scale (1 + max|target|) m for soft
 * rows, else 1; returns whether the row's logits (and soft targets) are
 * all finite and below 1e30 in size. */
int fz_xent_row(const fz_xent_case *c, size_t i, float *M, double *scale);

/* ------------------------------- negative sampling (sgns, cbow targets) */

/* A step's case, as fuzz-sgns.c and fuzz-cbow.c read their input: a flags
 * byte, vocab <= 40, dim <= 40, count <= max_count (pairs, examples),
 * k <= 4, lr, then the two (vocab, dim) embedding tables (in_emb's values,
 * then out_emb's).  The target then sets batch: a fastloss_sgns_batch
 * (fastloss_sgns_step_f32) or, with cbow set, a fastloss_cbow_batch
 * (fastloss_cbow_step_f32). */
typedef struct fz_ns_case {
  int cbow;
  uint8_t flags;
  size_t vocab, dim, count, k, table;
  float lr;
  float *in_emb, *out_emb;
  const void *batch;
} fz_ns_case;

void fz_ns_read(fz_input *in, fz_ns_case *t, int cbow, size_t max_count);
void fz_ns_free(fz_ns_case *t);
/* The largest finite |value| of both tables; whether both and lr are
 * finite. */
float fz_ns_max_abs(const fz_ns_case *t);
int fz_ns_finite(const fz_ns_case *t);
/* The step's parameters, read after the batch: deterministic = 1, seed
 * (4 bytes), stream (1 byte) and, with flags bit 1, a noise sampler of
 * 1 .. vocab + 2 classes with fuzzed weights (|value| of fz_double) for the
 * in-step draws (params->noise; NULL where fastloss_sampler_create refuses
 * the weights).  Returns the sampler (the caller destroys it) or NULL. */
fastloss_sampler *fz_ns_params(fz_input *in, const fz_ns_case *t, fastloss_sgns_params *params);

/* One step's results. */
typedef struct fz_ns_result {
  fastloss_status status;
  float *in_emb, *out_emb;
  double loss;
} fz_ns_result;

/* Rows a step may write: in[r] / out[r] nonzero for each row of in_emb /
 * out_emb that some id of the batch (or a draw) names.  The others must
 * keep their bits after any step, successful or not. */
typedef struct fz_ns_rows {
  unsigned char *in, *out;
} fz_ns_rows;

/* The rows: in_emb's of in_ids[0 .. n_in) (sgns: the inputs, cbow: the
 * contexts), out_emb's of targets[0 .. count) and of negatives[0 .. n_neg)
 * when given, and with noise every row below the sampler's size (the
 * draws).  Ids out of range are left out: they can only make an error. */
void fz_ns_rows_init(fz_ns_rows *rows, const fz_ns_case *t, const int32_t *in_ids, size_t n_in,
                     const int32_t *targets, const int32_t *negatives, size_t n_neg,
                     const fastloss_sampler *noise);
void fz_ns_rows_free(fz_ns_rows *rows);

/* Runs the step on copies of the tables on the current kernel table and
 * checks: on error both tables and the loss untouched; without want_loss
 * the loss untouched; always, the rows not in `rows` untouched. */
void fz_ns_run(const fz_ns_case *t, const fastloss_sgns_params *params, int want_loss,
               const fz_ns_rows *rows, fz_ns_result *r, const char *name);
void fz_ns_result_free(fz_ns_result *r);

/* Every other table's result against scalar's (r[0]): the same status and,
 * when compare is set and the status is OK, tables within tab_tol abs +
 * 1e-4 rel and the loss (want_loss) within loss_tol abs + 1e-5 rel. */
void fz_ns_compare(const fz_ns_case *t, const fz_ns_result *r, const fl_isa_kernels *const *isas,
                   size_t n_isas, int compare, double tab_tol, double loss_tol, int want_loss);

/* The same step in the other threading mode (Hogwild when `det` ran
 * deterministic = 1, and the reverse), on the current kernel table (the
 * one det ran on), checked against det's result: without OpenMP (the fuzz tree)
 * bit-identical status, tables and loss (the modes differ only in their
 * thread count, 1 without OpenMP); with OpenMP the same status, the rows
 * outside `rows` untouched (fz_ns_run), and bit-identical results when at
 * most one group or example trains (nothing to race with). */
void fz_ns_other_mode(const fz_ns_case *t, const fastloss_sgns_params *other, int want_loss,
                      const fz_ns_rows *rows, const fz_ns_result *det, int single,
                      const char *name);

/* The same step as `det` (which ran with params `base`, NULL for none) with
 * the first head_rows (<= vocab) rows of both tables in heads of their own
 * (fastloss_sgns_params.head_rows) and the tables' own first rows set to a
 * NaN pattern: the same status; the pattern never written; on an error
 * nothing written, heads included; on success, where det's result is
 * exact (no OpenMP, deterministic, or `single` as for fz_ns_other_mode),
 * heads and the other rows bit-identical to det's tables, and the loss. */
void fz_ns_heads(const fz_ns_case *t, const fastloss_sgns_params *base, size_t head_rows,
                 int want_loss, const fz_ns_result *det, int single, const char *name);

#endif
