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
  FASTLOSS_ERR_OVERLAP = 11,          /* an output overlaps an input it may not alias */
  FASTLOSS_ERR_INVALID_STATE = 12     /* the call is not allowed now (e.g. grad() with no
                                         retained loss, update() on a frozen loss) */
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
   * the _f32 calls, weight_f64 for the _f64 calls; NULL means all ones.
   * Each must be finite and >= 0 (PyTorch accepts negative weights; here a
   * negative, NaN or infinite weight is FASTLOSS_ERR_INVALID_ARGUMENT naming
   * its index).  With MEAN, a summed weight of the counted rows that is
   * positive but below 1 / FLT_MAX (1 / DBL_MAX for f64) is
   * FASTLOSS_ERR_INVALID_ARGUMENT too: the gradient's scale, its
   * reciprocal, would overflow (a sum of exactly 0 is not rejected: the
   * division by it gives inf or NaN, as PyTorch's does). */
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
 *   row_loss[n]  per-row losses (0 for ignored rows); required with
 *                FASTLOSS_REDUCTION_NONE (FASTLOSS_ERR_NULL_POINTER otherwise);
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
 * does not apply.  grad may alias logits as above, never target.  Targets far
 * from probabilities can make the terms pass the type's range (a target of
 * 1e23 against logits of 1e27, in f32): the row loss is then +inf, -inf or
 * NaN, depending on the order of the ISA's sums. */
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


/* ------------------------------------------------ random streams, sampler */

/* A counter-based random stream (Philox4x32-10): (seed, stream) name the
 * sequence, so draws depend only on them and on how many were taken, never
 * on the ISA or the thread count.  Give each thread its own stream.  The
 * fields are public so a stream can live on the stack; set them with
 * fastloss_rng_init. */
typedef struct fastloss_rng {
  uint64_t key;     /* from the seed */
  uint64_t stream;  /* which sequence of the seed */
  uint64_t counter; /* blocks taken so far */
  uint32_t buffer[4];
  uint32_t used;    /* words of buffer already returned (4 = empty) */
} fastloss_rng;

FASTLOSS_API void fastloss_rng_init(fastloss_rng *rng, uint64_t seed, uint64_t stream);
/* Uniform 32-bit words; uniform doubles in [0, 1) with 53 random bits. */
FASTLOSS_API uint32_t fastloss_rng_u32(fastloss_rng *rng);
FASTLOSS_API double fastloss_rng_uniform(fastloss_rng *rng);

/* DiscreteSampler (numpy-ml): draws class ids from a distribution over n
 * classes by Vose's alias method, O(n) to build and O(1) per draw.
 *
 * weights[n] are probabilities (log_weights = 0) or log-probabilities
 * (log_weights = 1); they are normalised by their sum, so counts work too.
 * Each must be finite and >= 0 (log: not NaN, not +inf), and the sum must be
 * positive.  With with_replacement = 0 the k draws of one call are distinct
 * (successive sampling: each draw from the remaining classes, renormalised);
 * k may not exceed the number of classes of nonzero probability.
 * k = 0 draws nothing: FASTLOSS_OK, out may be NULL, the stream does not
 * move (an empty draw, like numpy's choice(n, size=0); it is NCELoss that
 * refuses num_negative_samples = 0).
 * The sampler owns a stream seeded by `seed` (stream 0); sample_rng draws
 * from a caller's stream instead and is safe to call from many threads on
 * one sampler. */
typedef struct fastloss_sampler fastloss_sampler;

FASTLOSS_API fastloss_status fastloss_sampler_create(fastloss_sampler **sampler,
                                                     const double *weights, size_t n,
                                                     int log_weights, int with_replacement,
                                                     uint64_t seed);
/* word2vec's noise distribution: P(i) proportional to counts[i]^power
 * (power 0.75 in word2vec; power <= 0 selects 0.75), with replacement. */
FASTLOSS_API fastloss_status fastloss_sampler_create_unigram(fastloss_sampler **sampler,
                                                             const uint64_t *counts, size_t n,
                                                             double power, uint64_t seed);
FASTLOSS_API void fastloss_sampler_destroy(fastloss_sampler *sampler);
FASTLOSS_API fastloss_status fastloss_sampler_sample(fastloss_sampler *sampler, size_t k,
                                                     int32_t *out);
FASTLOSS_API fastloss_status fastloss_sampler_sample_rng(const fastloss_sampler *sampler,
                                                         fastloss_rng *rng, size_t k,
                                                         int32_t *out);
/* The normalised probability of class i (0 <= i < n). */
FASTLOSS_API fastloss_status fastloss_sampler_prob(const fastloss_sampler *sampler, size_t i,
                                                   double *prob);
FASTLOSS_API size_t fastloss_sampler_size(const fastloss_sampler *sampler);

/* ------------------------------------------- skip-gram negative sampling */

/* One SGD step of skip-gram with negative sampling (word2vec's SGNS) on a
 * batch of (input, target) pairs, in place on both embedding tables:
 * in_emb (vocab, dim) holds the vectors h of input words, out_emb (vocab,
 * dim) the output vectors v (word2vec's syn0 and syn1neg; for skip-gram the
 * input is the context word and the target the centre word).
 *
 * Pairs are processed in groups.  A group's k negatives are shared by all of
 * its pairs (HogBatch, Ji et al. 2016) or, with group_offsets = NULL, every
 * pair is its own group with its own k negatives (word2vec's estimator).
 * Within a group every logit is computed first, from the tables as the
 * group found them:
 *     z_t = h_i . v_{target_i},  z_s = h_i . v_{neg_s}
 *     g_t = lr * (1 - sigmoid(z_t)),  g_s = -lr * sigmoid(z_s)
 * then h_i += g_t v_t + sum_s g_s v_s (with the v before this group's update)
 * and v_t += g_t h_i, v_s += g_s h_i (with the h before it).  Repeated
 * indices in a group add up.  The loss, when wanted, is the sum over pairs of
 * -log p_t - sum_s log(1 - p_s), p = sigmoid(z) clipped to
 * [eps32, 1 - eps32], at the logits before the update.  The sigmoid is exact
 * to a few ULP for any finite z (no lookup table).
 *
 * Threads: with deterministic = 0 groups run in parallel and update the
 * shared tables without locks (Hogwild, as word2vec and fastText do): racing
 * updates of a row may be lost or mixed, harmless for SGD on sparse rows, but
 * results then vary run to run.  deterministic = 1 runs the groups one after
 * another in order: bit-identical for any thread count.
 *
 * Private rows (fastloss_sgns_params.private_rows = H > 0, Hogwild with more
 * than one thread only): rows [0, H) of both tables, the most frequent words
 * when ids are numbered by falling count as word2vec numbers its
 * vocabulary, are trained in each thread's own copy during the call (a
 * thread copies such a row when it first uses it), and when all groups are
 * done each row r < H becomes the mean of the copies of the threads that
 * used it: summed in thread order, then divided by their count; a row one
 * thread used takes its copy as is.  This is model averaging on those rows:
 * within the call a thread does not see the other threads' updates of them,
 * and the threads no longer pass their cache lines back and forth, which on
 * hosts with slow transfers between cores made two Hogwild threads slower
 * than one.  The other rows stay Hogwild.  Ignored (the call is exactly as
 * with H = 0) with deterministic = 1 or one thread; H above vocab counts as
 * vocab.  fastloss_cbow_step_f32 ignores it. */
typedef struct fastloss_sgns_batch {
  size_t n_pairs;
  const int32_t *inputs;        /* [n_pairs] rows of in_emb */
  const int32_t *targets;       /* [n_pairs] rows of out_emb, label 1 */
  size_t k;                     /* negatives per group, may be 0 */
  const int32_t *negatives;     /* [n_groups * k] rows of out_emb, label 0; NULL:
                                   drawn by the step (fastloss_sgns_params.noise) */
  size_t n_groups;              /* ignored when group_offsets is NULL */
  const size_t *group_offsets;  /* [n_groups + 1], 0 = first <= ... <= last = n_pairs;
                                   NULL: n_groups = n_pairs, one pair each */
} fastloss_sgns_batch;

typedef struct fastloss_sgns_params {
  int deterministic; /* 0 (default): Hogwild across threads */
  /* Negatives drawn by the step itself, in parallel, when batch->negatives
   * is NULL and noise is not: group g draws its k negatives with
   * fastloss_sampler_sample_rng(noise, &rng, k, ...) from the stream
   * fastloss_rng_init(&rng, seed, stream + g), so the draws depend only on
   * (seed, stream, g), never on the thread count; a draw equal to the
   * target of the group's first pair is drawn again (up to 16 times, as
   * word2vec never trains a word against itself).  Give each call its own
   * range of streams (e.g. stream = pairs or groups done so far).  noise
   * must have at most vocab classes. */
  const fastloss_sampler *noise;
  uint64_t seed, stream;
  /* Rows [0, private_rows) trained in per-thread copies, merged at the end
   * of the call (see above); 0 (default): every row shared. */
  size_t private_rows;
  /* Touched rows, for callers that keep copies of the tables (per-thread
   * replicas, a parameter server) and want to merge or send only the rows a
   * step changed: when not NULL, in_touched (vocab bytes) gets
   * in_touched[r] = 1 for every row r of in_emb the step trains, and
   * out_touched (vocab bytes) out_touched[r] = 1 for every row of out_emb
   * (targets and negatives, drawn or given).  Other bytes are left as they
   * were (the step never clears one), and nothing is marked when the call
   * fails.  A row is marked when an update is applied to it, even if that
   * update is 0 (lr = 0); an empty group or CBOW example marks nothing.
   * Marks are relaxed atomic byte stores, so Hogwild threads may mark the
   * same row at once.  Both the skip-gram and CBOW steps honour them. */
  unsigned char *in_touched, *out_touched;
  /* Head rows, for callers that keep the frequent rows apart (per-thread
   * copies of them, with the rest of the tables shared between threads):
   * when head_rows > 0, rows [0, head_rows) of in_emb are read and written
   * at in_head instead, and those of out_emb at out_head, each a
   * (head_rows, dim) table; the first head_rows rows of in_emb and out_emb
   * are then never read or written.  Everything else is as without heads
   * (with private_rows, a private row is copied from and merged into its
   * head row).  head_rows above vocab, a NULL head, or a head that
   * overlaps the other head or either table is an error.  0 (default): no
   * heads.  Both the skip-gram and CBOW steps honour them. */
  size_t head_rows;
  float *in_head, *out_head;
} fastloss_sgns_params;

/* Checks every index and offset before writing anything.  loss may be NULL. */
FASTLOSS_API fastloss_status fastloss_sgns_step_f32(size_t vocab, size_t dim, float *in_emb,
                                                    float *out_emb,
                                                    const fastloss_sgns_batch *batch, float lr,
                                                    const fastloss_sgns_params *params,
                                                    double *loss);

/* ---------------------------------------------- CBOW negative sampling */

/* One SGD step of CBOW with negative sampling (word2vec.c's -cbow 1
 * -negative k) on a batch of examples, in place on both embedding tables
 * (in_emb: word2vec's syn0, out_emb: syn1neg, each (vocab, dim)).  Example e
 * has a centre word t = targets[e] and a context of C >= 0 words
 * contexts[context_offsets[e] .. context_offsets[e + 1]) (word2vec.c: the
 * words of the reduced window around t, t itself excluded; a word may
 * repeat).  With the k negatives n_1..n_k of the example:
 *     h = (1 / C) sum_c in_emb[c]             (the mean, as word2vec.c's -cbow 1)
 *     z_t = h . v_t,  z_s = h . v_{n_s}       (all from the tables as the
 *                                              example found them)
 *     g_t = lr * (1 - sigmoid(z_t)),  g_s = -lr * sigmoid(z_s)
 *     e = g_t v_t + sum_s g_s v_s             (word2vec.c's neu1e, v before
 *                                              this example's update)
 *     v_t += g_t h,  v_{n_s} += g_s h
 *     in_emb[c] += e for every context position c: e is added unscaled (not
 *     e / C), once per occurrence, as word2vec.c does.
 * So an output row moves by -lr times the gradient of the example's loss,
 * and a context row by -lr * C times it, however often it occurs (-lr times
 * the gradient with respect to h, once per occurrence).  Repeated output
 * rows of an example (a negative equal to another negative or to the
 * target) add up their updates; a given negative equal to the target is
 * trained with label 0.  word2vec.c instead runs its k + 1 logits one after
 * another, so a repeated row's later logit sees the earlier update, and it
 * skips a draw equal to the target; besides these, and its sigmoid table
 * with |z| > 6 clamped (here the sigmoid is exact to a few ULP), the
 * arithmetic is word2vec.c's.  An example with an empty context (C = 0) is
 * skipped, as word2vec.c's "if (cw)": no update, no loss (its negatives,
 * when given, must still be valid ids).
 * The loss, when wanted, is the sum over examples of
 * -log p_t - sum_s log(1 - p_s), p = sigmoid(z) clipped to
 * [eps32, 1 - eps32], at the logits before the update.
 *
 * params (NULL = defaults) is the skip-gram step's: deterministic = 0 runs
 * examples in parallel with Hogwild updates (results vary run to run);
 * deterministic = 1 runs them one after another in order, bit-identical for
 * any thread count.  With batch->negatives NULL and params->noise set,
 * example e draws its k negatives from the stream
 * fastloss_rng_init(&rng, seed, stream + e) with
 * fastloss_sampler_sample_rng(noise, &rng, k, ...), each draw equal to
 * targets[e] drawn again (up to 16 times); examples with an empty context
 * draw nothing.  Give each call its own range of streams (stream += the
 * examples done so far). */
typedef struct fastloss_cbow_batch {
  size_t n_examples;
  const int32_t *targets;        /* [n_examples] centre words: rows of out_emb, label 1 */
  const size_t *context_offsets; /* [n_examples + 1], 0 = first <= ... <= last = n_contexts */
  size_t n_contexts;
  const int32_t *contexts;       /* [n_contexts] rows of in_emb */
  size_t k;                      /* negatives per example, may be 0 */
  const int32_t *negatives;      /* [n_examples * k] rows of out_emb, label 0; NULL:
                                    drawn by the step (fastloss_sgns_params.noise) */
} fastloss_cbow_batch;

/* Checks every index and offset before writing anything.  loss may be NULL. */
FASTLOSS_API fastloss_status fastloss_cbow_step_f32(size_t vocab, size_t dim, float *in_emb,
                                                    float *out_emb,
                                                    const fastloss_cbow_batch *batch, float lr,
                                                    const fastloss_sgns_params *params,
                                                    double *loss);

/* ------------------------------------------------------------- NCELoss */

typedef enum fastloss_dtype { FASTLOSS_F32 = 0, FASTLOSS_F64 = 1 } fastloss_dtype;

typedef enum fastloss_optimizer_kind {
  FASTLOSS_OPT_SGD = 0, /* u = momentum * u + lr * g; p -= u        (lr 0.01) */
  FASTLOSS_OPT_ADAGRAD, /* c += g^2; p -= lr * g / (sqrt(c) + eps)  (lr 0.01) */
  FASTLOSS_OPT_RMSPROP, /* c = decay c + (1 - decay) g^2; as AdaGrad (lr 0.001) */
  FASTLOSS_OPT_ADAM     /* numpy-ml's Adam with bias correction      (lr 0.001) */
} fastloss_optimizer_kind;

/* numpy-ml's optimizers.  A zero field means numpy-ml's default: lr as
 * above, momentum 0, clip_norm none, decay 0.9, decay1 0.9, decay2 0.999,
 * eps 1e-7.  clip_norm > 0 rescales a parameter's whole gradient (W or b)
 * to that L2 norm when it is longer, before the update.
 * lazy = 0 follows numpy-ml: optimizers with state update every row of W
 * and b each step (O(n_classes * n_in)).  lazy = 1 updates only the rows
 * touched since the last update (as LazyAdam does: untouched rows keep
 * their state and their momentum does not move them).  Plain SGD with
 * momentum 0 only ever touches used rows; both settings agree for it. */
typedef struct fastloss_optimizer {
  fastloss_optimizer_kind kind;
  double lr, momentum, clip_norm, decay, decay1, decay2, eps;
  int lazy;
} fastloss_optimizer;

/* numpy-ml's initialisations of W (n_classes, n_in), with numpy-ml's
 * calc_fan: fan_in = n_classes, fan_out = n_in; gain 1.
 *   GLOROT_UNIFORM  U(-b, b), b = sqrt(6 / (fan_in + fan_out))
 *   GLOROT_NORMAL   truncated normal, std = sqrt(2 / (fan_in + fan_out))
 *   HE_UNIFORM      U(-b, b), b = sqrt(6 / fan_in)
 *   HE_NORMAL       truncated normal, std = sqrt(2 / fan_in)
 * The truncated normal is numpy-ml's truncated_normal: N(0, std^2), each
 * value 2 std or more from 0 redrawn until none is left, so every weight
 * lies in (-2 std, 2 std) and their standard deviation is std * 0.8796
 * (sqrt(1 - 4 phi(2) / (Phi(2) - Phi(-2)))).  The draws are deterministic:
 * they come from the config's seed alone.  b starts at 0. */
typedef enum fastloss_init {
  FASTLOSS_INIT_GLOROT_UNIFORM = 0,
  FASTLOSS_INIT_GLOROT_NORMAL,
  FASTLOSS_INIT_HE_UNIFORM,
  FASTLOSS_INIT_HE_NORMAL
} fastloss_init;

typedef enum fastloss_accidental_hits {
  FASTLOSS_HITS_KEEP = 0,   /* default: a negative equal to the target stays a
                               negative in loss and gradient (consistent) */
  FASTLOSS_HITS_REMOVE,     /* TensorFlow's remove_accidental_hits: left out of
                               loss and gradient for that example */
  FASTLOSS_HITS_NUMPY_ML    /* numpy-ml's code: kept in loss and dX, but the
                               target's dW/db drop that example's contribution */
} fastloss_accidental_hits;

typedef struct fastloss_nce_config {
  fastloss_dtype dtype;
  size_t n_classes, n_in;
  size_t num_negative_samples;        /* k >= 1; when the sampler draws without
                                         replacement, at most its classes of nonzero
                                         probability (create refuses more) */
  const fastloss_sampler *sampler;    /* noise distribution Q; not owned, must outlive the loss */
  fastloss_optimizer optimizer;
  fastloss_init init;
  int negative_sampling;              /* 0: NCE (subtract log Q); 1: negative sampling */
  fastloss_accidental_hits accidental_hits;
  uint64_t seed;                      /* initialisation and negative draws */
} fastloss_nce_config;

typedef struct fastloss_nce fastloss_nce;

FASTLOSS_API fastloss_status fastloss_nce_create(fastloss_nce **nce,
                                                 const fastloss_nce_config *config);
FASTLOSS_API void fastloss_nce_destroy(fastloss_nce *nce);

/* loss(X, target, neg_samples, retain_derived): X (n_ex, n_c, n_in), target
 * [n_ex]; neg_samples [k] or NULL to draw k from the sampler.  Writes the
 * summed loss and, if y_pred is not NULL, y_pred (n_ex, n_c) = p_t.  With
 * retain_derived the call is kept for the next grad(); X must then stay
 * valid and unchanged until that grad().  n_in is X's last dimension, passed
 * so that it can be checked: one other than the config's n_in is
 * FASTLOSS_ERR_INVALID_SHAPE ("X has n_in = 64, but the loss was created
 * with n_in = 128"), and like every error it writes nothing and retains
 * nothing. */
FASTLOSS_API fastloss_status fastloss_nce_loss_f32(fastloss_nce *nce, size_t n_ex, size_t n_c,
                                                   size_t n_in, const float *X,
                                                   const int32_t *target,
                                                   const int32_t *neg_samples, int retain_derived,
                                                   double *loss, float *y_pred);
FASTLOSS_API fastloss_status fastloss_nce_loss_f64(fastloss_nce *nce, size_t n_ex, size_t n_c,
                                                   size_t n_in, const double *X,
                                                   const int32_t *target,
                                                   const int32_t *neg_samples, int retain_derived,
                                                   double *loss, double *y_pred);
/* The number of retained loss calls and the total elements of their dX. */
FASTLOSS_API fastloss_status fastloss_nce_pending(const fastloss_nce *nce, size_t *calls,
                                                  size_t *dX_elements);
/* grad(retain_grads, update_params): dX of every retained call, in call order,
 * one after another in dX (fastloss_nce_pending's dX_elements).  With
 * retain_grads dW and db accumulate; then update_params applies update(). */
FASTLOSS_API fastloss_status fastloss_nce_grad_f32(fastloss_nce *nce, int retain_grads,
                                                   int update_params, float *dX);
FASTLOSS_API fastloss_status fastloss_nce_grad_f64(fastloss_nce *nce, int retain_grads,
                                                   int update_params, double *dX);
FASTLOSS_API fastloss_status fastloss_nce_update(fastloss_nce *nce);
FASTLOSS_API fastloss_status fastloss_nce_flush_gradients(fastloss_nce *nce);
FASTLOSS_API fastloss_status fastloss_nce_freeze(fastloss_nce *nce);
FASTLOSS_API fastloss_status fastloss_nce_unfreeze(fastloss_nce *nce);
/* Direct access to the parameters W (n_classes, n_in), b (n_classes) and the
 * accumulated gradients dW, db (dense views), as float* or double* by dtype.
 * Writes through W and b are allowed between calls.  Writes through dW and
 * db are too, but the object tracks which rows grad() touched and updates
 * (plain SGD, lazy mode) and clears (flush, update) only those: after
 * writing a gradient, call fastloss_nce_gradients_written. */
FASTLOSS_API fastloss_status fastloss_nce_params(fastloss_nce *nce, void **W, void **b,
                                                 void **dW, void **db);
/* Call after writing through dW or db: the next update and flush treat every
 * row as touched (O(n_classes * n_in) once; later grad() calls add to the
 * written values as usual).  FASTLOSS_ERR_OUT_OF_MEMORY if the row list
 * cannot grow, with nothing changed. */
FASTLOSS_API fastloss_status fastloss_nce_gradients_written(fastloss_nce *nce);

/* ------------------------------------------------------------- VAELoss */

/* numpy-ml's VAELoss: the variational lower bound of a VAE with a Bernoulli
 * decoder and a unit Gaussian prior.  y, y_pred (n, N); t_mean, t_log_var
 * (n, T).  For row i, with p = y_pred clipped to [eps, 1 - eps] (eps =
 * FLT_EPSILON for f32, DBL_EPSILON for f64: 1 - DBL_EPSILON would round to 1
 * in float, and log(0) = -inf):
 *   rec_i = -sum_j [y_ij log p_ij + (1 - y_ij) log(1 - p_ij)]
 *   kl_i  = -0.5 sum_t [1 + lv_it - mu_it^2 - exp(lv_it)]
 *   loss  = (1 / n) sum_i (rec_i + kl_i)      (accumulated in double)
 * and the gradients of that loss:
 *   dY_pred = -y / (n p) - (y - 1) / (n - n p)  = (p - y) / (n p (1 - p))
 *   dLogVar = (exp(lv) - 1) / (2n),  dMean = mu / n.
 * dY_pred is evaluated at the clipped p, as numpy-ml does: where y_pred is
 * outside [eps, 1 - eps] the loss is flat in y_pred (the true derivative is
 * 0) and dY_pred is the derivative at the clip boundary instead, which keeps
 * pushing a saturated output back.
 * y need not be binary; where it is exactly 0 or 1 (binarised images) the
 * kernels take one log per element instead of two.  exp(lv) overflows to
 * +inf for lv > 88.72 in f32 (709.78 in f64): kl_i, the loss and dLogVar are
 * then +inf, the true values (lv = -inf gives +inf too; lv = +inf gives NaN,
 * as inf - inf does).  NaN in a row makes that row's terms and gradients NaN
 * (and the loss NaN) and touches no other row. */
typedef struct fastloss_vae_params {
  /* 0 (default): y_pred holds probabilities, which must lie in [0, 1].
   * 1: y_pred holds the decoder's logits z (p = sigmoid(z)); the term is
   * softplus(z) - y z, exact for saturated outputs and with no clip, and
   * dY_pred is the gradient with respect to the logits, (sigmoid(z) - y) / n.
   * Logits must be finite (+-inf gives NaN where y z is 0 * inf or inf - inf);
   * past |z| = 87.3 the f32 softplus tail exp(-|z|) flushes to 0. */
  int from_logits;
} fastloss_vae_params;

/* The fused call: every output in one pass over the rows (after a read-only
 * pass checking y_pred is in [0, 1]).  y has leading dimension ld_y, y_pred
 * and dY_pred ld_y_pred, t_mean, t_log_var, dLogVar and dMean ld_t.  Outputs,
 * each optional (NULL skips it): row_rec[n] and row_kl[n], the per-row terms;
 * *loss; the gradients.  dY_pred may be y_pred itself, dLogVar t_log_var and
 * dMean t_mean (in place); no other overlap is allowed.
 * Errors: n, N or T = 0 (FASTLOSS_ERR_INVALID_SHAPE); a NULL input; a leading
 * dimension smaller than its row (FASTLOSS_ERR_INVALID_STRIDE); an overlap
 * other than the in-place pairs (FASTLOSS_ERR_OVERLAP); y_pred outside [0, 1]
 * without from_logits (FASTLOSS_ERR_INVALID_ARGUMENT, naming the first
 * offending index, e.g. "y_pred[2][4] = 1.5 is outside [0, 1]"; NaN is not
 * outside, it propagates). */
FASTLOSS_API fastloss_status fastloss_vae_f32(size_t n, size_t N, size_t T, const float *y,
                                              size_t ld_y, const float *y_pred, size_t ld_y_pred,
                                              const float *t_mean, const float *t_log_var,
                                              size_t ld_t, const fastloss_vae_params *params,
                                              float *row_rec, float *row_kl, double *loss,
                                              float *dY_pred, float *dLogVar, float *dMean);
FASTLOSS_API fastloss_status fastloss_vae_f64(size_t n, size_t N, size_t T, const double *y,
                                              size_t ld_y, const double *y_pred, size_t ld_y_pred,
                                              const double *t_mean, const double *t_log_var,
                                              size_t ld_t, const fastloss_vae_params *params,
                                              double *row_rec, double *row_kl, double *loss,
                                              double *dY_pred, double *dLogVar, double *dMean);

/* numpy-ml's VAELoss.loss and VAELoss.grad: contiguous arrays, probabilities,
 * every output required. */
FASTLOSS_API fastloss_status fastloss_vae_loss_f32(size_t n, size_t N, size_t T, const float *y,
                                                   const float *y_pred, const float *t_mean,
                                                   const float *t_log_var, double *loss);
FASTLOSS_API fastloss_status fastloss_vae_loss_f64(size_t n, size_t N, size_t T, const double *y,
                                                   const double *y_pred, const double *t_mean,
                                                   const double *t_log_var, double *loss);
FASTLOSS_API fastloss_status fastloss_vae_grad_f32(size_t n, size_t N, size_t T, const float *y,
                                                   const float *y_pred, const float *t_mean,
                                                   const float *t_log_var, float *dY_pred,
                                                   float *dLogVar, float *dMean);
FASTLOSS_API fastloss_status fastloss_vae_grad_f64(size_t n, size_t N, size_t T, const double *y,
                                                   const double *y_pred, const double *t_mean,
                                                   const double *t_log_var, double *dY_pred,
                                                   double *dLogVar, double *dMean);

/* ------------------------------------------ activations and SquaredError */

/* numpy-ml's activations (numpy_ml.neural_nets.activations), with act(z)
 * and the derivative act'(z) that SquaredError.grad multiplies in: */
typedef enum fastloss_activation_kind {
  FASTLOSS_ACT_IDENTITY = 0, /* z; 1 */
  FASTLOSS_ACT_AFFINE,       /* slope z + intercept; slope */
  FASTLOSS_ACT_SIGMOID,      /* s = 1 / (1 + e^-z); s (1 - s) */
  FASTLOSS_ACT_TANH,         /* tanh z; 1 - tanh^2 z */
  FASTLOSS_ACT_RELU,         /* max(z, 0); 1 if z > 0 else 0 */
  FASTLOSS_ACT_LEAKY_RELU,   /* z if z >= 0 else alpha z; 1, times alpha where z < 0 */
  FASTLOSS_ACT_ELU,          /* z if z > 0 else alpha (e^z - 1); 1 if z > 0 else alpha e^z */
  FASTLOSS_ACT_SELU,         /* scale ELU(z) with alpha = 1.6732632423543772,
                                scale = 1.0507009873554805; scale ELU'(z) */
  FASTLOSS_ACT_EXPONENTIAL,  /* e^z; e^z */
  FASTLOSS_ACT_SOFTPLUS,     /* log(1 + e^z); e^z / (e^z + 1) */
  FASTLOSS_ACT_HARD_SIGMOID, /* clip(0.2 z + 0.5, 0, 1); 0.2 if -2.5 <= z <= 2.5 else 0 */
  FASTLOSS_ACT_GELU          /* 0.5 z (1 + tanh(sqrt(2/pi) (z + 0.044715 z^3))) by default
                                (numpy-ml's approximate=True); z Phi(z) = 0.5 z (1 +
                                erf(z / sqrt 2)) with exact = 1 */
} fastloss_activation_kind;

/* An activation and its parameters.  The zero value is Identity, and a zero
 * field means numpy-ml's default, so that designated initialisers read as
 * numpy-ml's constructors: {.kind = FASTLOSS_ACT_LEAKY_RELU} is
 * LeakyReLU(alpha=0.3), {.kind = FASTLOSS_ACT_ELU, .alpha = 2} is
 * ELU(alpha=2).  Defaults: LeakyReLU alpha 0.3, ELU alpha 1.0, Affine slope
 * 1 and intercept 0, GELU the tanh approximation.  A parameter that should
 * really be 0 (LeakyReLU(alpha=0), Affine(slope=0)) needs use_params = 1,
 * which takes alpha, slope and intercept as written, zeros included.
 * Fields a kind does not use are ignored; the ones it uses must be finite.
 * GELU's derivative is the true derivative of the form computed (numpy-ml's
 * GELU.grad with approximate=True adds the erf form's density term to the
 * tanh form instead; SEMANTICS.md asks for true gradients). */
typedef struct fastloss_activation {
  fastloss_activation_kind kind;
  double alpha;            /* LeakyReLU, ELU */
  double slope, intercept; /* Affine */
  int use_params;          /* 1: zero parameters are zeros, not defaults */
  int exact;               /* GELU: 0 (default) tanh approximation, 1 erf form */
} fastloss_activation;

/* out[k] = act(z[k]) (fn) or act'(z[k]) (grad) for k < count; act NULL is
 * Identity.  out may be z (in place); no other overlap.  NaN in z gives NaN
 * in its own output only (ReLU', LeakyReLU' and HardSigmoid' of NaN are NaN
 * too, where numpy-ml's comparisons would give 0).  Accuracy (f32): within
 * a few ULP of the float64 functions (measured maximum 4.4 ULP, for the
 * sigmoid's and tanh's derivatives; tests/test_sqerr.c prints it per kind and
 * ISA); exp flushes below FLT_MIN, so tail values below ~1e-35 (FLT_MIN
 * times a factor such as GELU's z v') may be 0; the tanh
 * GELU's far negative tail (z < -4) loses relative accuracy as |z|^3 eps
 * (1e-5 relative at z = -8, where GELU is -1e-21).  GELU's erf form goes
 * through a float erf of the lower tail Phi(-|z|) on every ISA: within 4.5
 * ULP with FMA (7 without) of the float64 value, and of Phi + |z phi| for
 * the derivative, whose zero near z = -0.75 it meets only to that absolute
 * accuracy; the f64 entry points use libm's erf. */
FASTLOSS_API fastloss_status fastloss_activation_fn_f32(const fastloss_activation *act,
                                                        size_t count, const float *z, float *out);
FASTLOSS_API fastloss_status fastloss_activation_fn_f64(const fastloss_activation *act,
                                                        size_t count, const double *z, double *out);
FASTLOSS_API fastloss_status fastloss_activation_grad_f32(const fastloss_activation *act,
                                                          size_t count, const float *z, float *out);
FASTLOSS_API fastloss_status fastloss_activation_grad_f64(const fastloss_activation *act,
                                                          size_t count, const double *z,
                                                          double *out);

/* numpy-ml's SquaredError on contiguous (n, m) arrays:
 *   loss = 0.5 ||y_pred - y||_F^2, the SUM over examples and outputs, with
 *          every square exact in double and summed in double in a fixed
 *          order (any finite f32 input, 1e30 included, gives a finite loss);
 *   grad = (y_pred - y) * act'(z), elementwise, the gradient with respect
 *          to the pre-activation z when y_pred = act(z) (y_pred is taken as
 *          given, as numpy-ml does; act NULL is Identity).
 * grad may be y, y_pred or z itself (in place); no other overlap.  NaN
 * propagates elementwise (and makes the loss NaN).  Errors: n or m = 0
 * (FASTLOSS_ERR_INVALID_SHAPE), n * m overflowing, a NULL buffer, an
 * unknown activation kind or a non-finite parameter
 * (FASTLOSS_ERR_INVALID_ARGUMENT); nothing is written then. */
FASTLOSS_API fastloss_status fastloss_sqerr_loss_f32(size_t n, size_t m, const float *y,
                                                     const float *y_pred, double *loss);
FASTLOSS_API fastloss_status fastloss_sqerr_loss_f64(size_t n, size_t m, const double *y,
                                                     const double *y_pred, double *loss);
FASTLOSS_API fastloss_status fastloss_sqerr_grad_f32(size_t n, size_t m, const float *y,
                                                     const float *y_pred, const float *z,
                                                     const fastloss_activation *act, float *grad);
FASTLOSS_API fastloss_status fastloss_sqerr_grad_f64(size_t n, size_t m, const double *y,
                                                     const double *y_pred, const double *z,
                                                     const fastloss_activation *act, double *grad);

/* ---------------------------------------------------------- WGAN_GPLoss */

/* numpy-ml's module argument: 'C' (critic) or 'G' (generator). */
typedef enum fastloss_wgangp_module {
  FASTLOSS_WGANGP_CRITIC = 'C',
  FASTLOSS_WGANGP_GENERATOR = 'G'
} fastloss_wgangp_module;

typedef struct fastloss_wgangp_params {
  /* The gradient-penalty coefficient lambda_, finite and >= 0; 0 means
   * numpy-ml's default 10 unless use_lambda = 1 (then 0 is no penalty). */
  double lambda;
  int use_lambda;
} fastloss_wgangp_params;

/* WGAN_GPLoss(lambda_).  With g_i the rows of gradInterp (n, n_feats,
 * leading dimension ld_grad):
 *   critic ('C'):    loss = mean(Y_fake) - mean(Y_real) + lambda mean_i (||g_i|| - 1)^2
 *                    dY_fake = 1 / n_fake, dY_real = -1 / n_real,
 *                    dGradInterp_i = (2 lambda / n) (||g_i|| - 1) g_i / (||g_i|| + eps64)
 *   generator ('G'): loss = -mean(Y_fake), dY_fake = -1 / n_fake
 * (eps64 = 2.220446049250313e-16).  These are the true gradients of the
 * returned loss, as numpy-ml's documentation states; numpy-ml's code
 * returns the critic's dY_fake and dY_real with the opposite signs.  A zero
 * row has dGradInterp 0.  Norms are computed without overflow or underflow
 * (f32: squares in double), and every sum is in double in a fixed order:
 * bit-identical for any thread count.  n_fake, n_real and n may differ
 * (numpy-ml has them all n_ex).  For 'G', Y_real, gradInterp, dY_real and
 * dGradInterp are not used (may be NULL) and n_real, n, n_feats, ld_grad
 * are ignored.  Outputs are optional (NULL skips); dY_fake may be Y_fake,
 * dY_real Y_real, dGradInterp gradInterp (in place); no other overlap.
 * NaN in a row of gradInterp makes that row's gradient and the loss NaN.
 * Errors: a module other than 'C' or 'G' and a bad lambda
 * (FASTLOSS_ERR_INVALID_ARGUMENT), n_fake, n_real, n or n_feats = 0 (the
 * means need an element; FASTLOSS_ERR_INVALID_SHAPE), NULL inputs,
 * ld_grad < n_feats, overlaps; nothing is written then. */
FASTLOSS_API fastloss_status fastloss_wgangp_f32(
    int module, size_t n_fake, const float *Y_fake, size_t n_real, const float *Y_real, size_t n,
    size_t n_feats, const float *gradInterp, size_t ld_grad, const fastloss_wgangp_params *params,
    double *loss, float *dY_fake, float *dY_real, float *dGradInterp);
FASTLOSS_API fastloss_status fastloss_wgangp_f64(
    int module, size_t n_fake, const double *Y_fake, size_t n_real, const double *Y_real, size_t n,
    size_t n_feats, const double *gradInterp, size_t ld_grad, const fastloss_wgangp_params *params,
    double *loss, double *dY_fake, double *dY_real, double *dGradInterp);

/* numpy-ml's WGAN_GPLoss.loss and .grad: n_ex rows everywhere, contiguous
 * gradInterp (n_ex, n_feats); every output of the module required. */
FASTLOSS_API fastloss_status fastloss_wgangp_loss_f32(int module, size_t n_ex, size_t n_feats,
                                                      const float *Y_fake, const float *Y_real,
                                                      const float *gradInterp,
                                                      const fastloss_wgangp_params *params,
                                                      double *loss);
FASTLOSS_API fastloss_status fastloss_wgangp_loss_f64(int module, size_t n_ex, size_t n_feats,
                                                      const double *Y_fake, const double *Y_real,
                                                      const double *gradInterp,
                                                      const fastloss_wgangp_params *params,
                                                      double *loss);
FASTLOSS_API fastloss_status fastloss_wgangp_grad_f32(int module, size_t n_ex, size_t n_feats,
                                                      const float *Y_fake, const float *Y_real,
                                                      const float *gradInterp,
                                                      const fastloss_wgangp_params *params,
                                                      float *dY_fake, float *dY_real,
                                                      float *dGradInterp);
FASTLOSS_API fastloss_status fastloss_wgangp_grad_f64(int module, size_t n_ex, size_t n_feats,
                                                      const double *Y_fake, const double *Y_real,
                                                      const double *gradInterp,
                                                      const fastloss_wgangp_params *params,
                                                      double *dY_fake, double *dY_real,
                                                      double *dGradInterp);

/* ------------------------------- negative-sampling loss, no update */

/* The skip-gram negative-sampling loss of n (center, context) pairs with k
 * negatives each, and its gradients with respect to the rows it reads,
 * updating nothing (the forward and backward of an autograd function;
 * fastloss_sgns_step_f32 fuses the same maths into an SGD step).  With
 * v = in_emb[centers[i]], u_o = out_emb[contexts[i]] and
 * u_s = out_emb[negatives[i * k + s]]:
 *   row_loss_i = -log sigmoid(u_o . v) - sum_s log sigmoid(-u_s . v)
 * exactly (no clipping: PyTorch's logsigmoid), accumulated in double.
 * With r = 1 for SUM and NONE, 1 / n for MEAN, the gradients of r times
 * the sum of the row losses, one row per occurrence (repeated ids are not
 * added up here: the caller scatters the rows, e.g. with index_add_):
 *   grad_in  (n, dim):           row i = r (-(1 - sigmoid(z_o)) u_o
 *                                          + sum_s sigmoid(z_s) u_s)
 *   grad_out (n * (k + 1), dim): row i (k + 1) = -r (1 - sigmoid(z_o)) v,
 *                                row i (k + 1) + 1 + s = r sigmoid(z_s) v
 * (z_o = u_o . v, z_s = u_s . v).  The tables are (vocab, dim) row-major.
 * Outputs, each optional (NULL skips it): row_loss[n] (required for NONE),
 * *loss the reduced loss (the sum for NONE; NaN for MEAN with n = 0),
 * grad_in, grad_out.  No output may overlap an input or another output
 * (FASTLOSS_ERR_OVERLAP).  Every id is checked before anything is written.
 * Pairs run in parallel; every output is bit-identical for any thread count. */
typedef struct fastloss_nsloss_params {
  fastloss_reduction reduction; /* SUM (default), MEAN over pairs, NONE */
} fastloss_nsloss_params;

FASTLOSS_API fastloss_status fastloss_nsloss_f32(size_t vocab, size_t dim, const float *in_emb,
                                                 const float *out_emb, size_t n,
                                                 const int32_t *centers, const int32_t *contexts,
                                                 size_t k, const int32_t *negatives,
                                                 const fastloss_nsloss_params *params,
                                                 float *row_loss, double *loss, float *grad_in,
                                                 float *grad_out);

#ifdef __cplusplus
}
#endif

#endif /* FASTLOSS_H */
