/* NCELoss (numpy-ml): noise-contrastive estimation and negative sampling
 * over a (n_classes, n_in) output layer W, b, with numpy-ml's optimizers.
 *
 * Per example i, context c and each of the k negatives n_j shared by the
 * minibatch (s = 1 for NCE, 0 for negative sampling):
 *   z_t = X[i,c] . W[t_i] + b[t_i] - s log Q(t_i)
 *   z_n = X[i,c] . W[n_j] + b[n_j] - s log Q(n_j)
 *   loss = -sum log clip(sigmoid(z_t)) - sum log clip(1 - sigmoid(z_n))
 *   dz   = sigmoid(z) - label
 * Every logit is fed to nce_sigmoid_bce with the sign that makes q the
 * probability of the correct label (y = z_t, y = -z_n), so c = 1 - q is
 * computed without cancellation: the loss term is -log q (or -log1p(-c)
 * when q is near 1, where log(q) would lose c's digits), clipped, and dz =
 * -c for the target, +c for a negative.  The kernel computes the terms in
 * the element type with the ISA's log (f32: within 2 ULP of the formula on
 * its own q and c; f64: libm's, or SLEEF's with -Dexp=sleef), and they are
 * summed here in double.
 *
 * Cost: a step touches only the target and negative rows of W (never
 * O(n_classes * n_in)) unless a stateful optimizer runs in numpy-ml's dense
 * mode.  Touched rows are listed so the gradient flush clears only them.
 *
 * Determinism: the forward runs over fixed blocks of examples whose loss
 * sums are combined pairwise; dX is per row; dW is accumulated in fixed
 * column chunks of W, each chunk running the whole serial sequence of
 * updates, so each element of dW sees the same operations in the same order
 * whatever the thread count.
 *
 * Decisions the spec leaves open, taken here:
 * - Initialisation follows numpy-ml's calc_fan, which reads a 2-D shape as
 *   (fan_in, fan_out): for W of shape (n_classes, n_in) that gives
 *   fan_in = n_classes, fan_out = n_in.  Glorot is symmetric in the two;
 *   He uses fan_in = n_classes, as numpy-ml does.  The normal variants draw
 *   from numpy-ml's truncated normal: a value 2 standard deviations or more
 *   from 0 is redrawn until one falls inside (numpy-ml rejects >= and <=
 *   the bounds; so does this), so the spread is std * 0.8796, not std.
 *   W is drawn row-major from stream 1 of the seed, each value taking as
 *   many draws as it needs; negatives come from stream 2.
 * - In NCE mode a target or negative whose noise probability is 0 would get
 *   a +inf logit; such calls are rejected with FASTLOSS_ERR_INVALID_ARGUMENT.
 * - A frozen loss (evaluation mode) ignores negatives, draws none and keeps
 *   no call for grad(), whatever retain_derived says.
 * - flush (and so update) also drops retained calls not yet consumed by
 *   grad(), as numpy-ml's flush_gradients erases the derived variables.
 * - Adam's t counts update() calls; the lazy mode uses the same global t
 *   (as TensorFlow's LazyAdam and PyTorch's SparseAdam do). */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "internal.h"
#include "sampler-impl.h"

/* Rows per forward and dX block: the block's logits and X rows stay in L1/L2. */
#define FL_NCE_BLOCK_ROWS 64
/* Elements of a W row per dW task.  Fixed, so a task's arithmetic does not
 * depend on how many threads share the tasks; a multiple of every vector
 * width, so the kernels see the same lane grouping as on whole rows. */
#define FL_NCE_CHUNK 128
/* Examples ahead whose target rows are prefetched: target rows are random
 * rows of a table far larger than the caches, so without it every row is a
 * serialised trip to memory. */
#define FL_NCE_PREFETCH_AHEAD 6
/* The forward and backward passes share their blocks among threads only
 * from this many multiply-adds (logits times n_in), the optimizer step its
 * rows from this many elements; below that, one thread.  Measured on a
 * 2-vCPU Zen 4 VM at V = 100000, d = 128, k = 5 (loss + grad + SGD, best of
 * five 0.2 s runs on one object, 1 and 2 threads alternating): before this
 * threshold 2 threads took 1.05x, 1.03x and 0.97-1.12x of 1 thread's time at
 * n_ex 32, 64 and 128 (98304 multiply-adds), and 0.87x at n_ex 256; the
 * call's four parallel regions cost about what a second thread saves below
 * about 10^5.  fl_threads_for's general threshold counts element-operations
 * of the other losses, which cost more. */
#define FL_NCE_PARALLEL_MIN_WORK 131072.0

/* Threads for a pass of `work` (FL_NCE_PARALLEL_MIN_WORK). */
static int fl_nce_threads(double work) {
  return work < FL_NCE_PARALLEL_MIN_WORK ? 1 : fl_threads_for(work);
}
/* Stream numbers of the object's seed. */
#define FL_NCE_STREAM_INIT 1
#define FL_NCE_STREAM_NEGATIVES 2

/* A loss call retained for grad(). */
typedef struct fl_nce_call {
  const void *X;
  size_t n_ex, n_c;
  int32_t *target;
  size_t target_capacity;
  int32_t *negatives; /* k entries */
  void *dz;           /* (n_ex * n_c, 1 + k): target first, then the negatives */
  size_t dz_capacity; /* bytes */
} fl_nce_call;

struct fastloss_nce {
  fastloss_nce_config config;
  fastloss_optimizer opt; /* with numpy-ml's defaults filled in */
  size_t elem;            /* sizeof(float) or sizeof(double) */
  size_t classes, n_in, k;
  int subtract_log_q;
  int frozen;
  void *W, *b, *dW, *db;
  double *log_q; /* log Q of every class (NCE only) */

  /* Optimizer state, allocated on the first update: first and second moment
   * (velocity, cache or Adam's mean and var) for W and for b. */
  void *state_W[2], *state_b[2];
  uint64_t steps;

  /* Rows of dW/db that may be nonzero. */
  unsigned char *touched;
  int32_t *touched_rows;
  size_t n_touched, touched_capacity;

  fl_nce_call *calls;
  size_t n_calls, calls_capacity;
  size_t pending_elements; /* sum of n_ex * n_c * n_in of the retained calls */

  void *scratch;
  size_t scratch_bytes;
  fastloss_rng rng; /* negative draws */
};

/* ------------------------------------------------------------- helpers */

static int fl_mul_overflows(size_t a, size_t b, size_t *out) {
  if (a != 0 && b > SIZE_MAX / a) return 1;
  *out = a * b;
  return 0;
}

/* Grows *buffer to at least `bytes`; the contents are not kept. */
static int fl_nce_grow(void **buffer, size_t *capacity, size_t bytes) {
  if (*capacity >= bytes) return 1;
  size_t want = bytes < 256 ? 256 : bytes;
  if (want < *capacity + *capacity / 2 && *capacity + *capacity / 2 > *capacity)
    want = *capacity + *capacity / 2;
  void *p = malloc(want);
  if (p == NULL) return 0;
  free(*buffer);
  *buffer = p;
  *capacity = want;
  return 1;
}

/* Carves aligned pieces out of the scratch buffer: first a pass with
 * base = NULL to size it, then the real pass. */
typedef struct fl_carver {
  char *base;
  size_t used;
} fl_carver;

static void *fl_carve(fl_carver *c, size_t bytes) {
  const size_t align = 64;
  c->used = (c->used + align - 1) / align * align;
  void *p = c->base != NULL ? c->base + c->used : NULL;
  c->used += bytes;
  return p;
}

static fastloss_status fl_nce_reserve_scratch(fastloss_nce *nce, size_t bytes) {
  if (!fl_nce_grow(&nce->scratch, &nce->scratch_bytes, bytes))
    return fl_fail(FASTLOSS_ERR_OUT_OF_MEMORY, "could not allocate %zu bytes of NCE scratch",
                   bytes);
  return FASTLOSS_OK;
}

/* Room for `extra` more touched rows (at most n_classes in all). */
static fastloss_status fl_nce_reserve_touched(fastloss_nce *nce, size_t extra) {
  size_t want = nce->n_touched + extra;
  if (want > nce->classes || want < extra) want = nce->classes;
  if (want <= nce->touched_capacity) return FASTLOSS_OK;
  size_t grown = nce->touched_capacity * 2;
  if (grown < want) grown = want;
  if (grown > nce->classes) grown = nce->classes;
  int32_t *rows = realloc(nce->touched_rows, grown * sizeof(int32_t));
  if (rows == NULL)
    return fl_fail(FASTLOSS_ERR_OUT_OF_MEMORY, "could not allocate %zu touched-row slots", grown);
  nce->touched_rows = rows;
  nce->touched_capacity = grown;
  return FASTLOSS_OK;
}

static void fl_nce_touch(fastloss_nce *nce, int32_t row) {
  if (nce->touched[row]) return;
  nce->touched[row] = 1;
  nce->touched_rows[nce->n_touched++] = row;
}

/* Whether update() must visit every row: numpy-ml's dense semantics for the
 * optimizers whose state moves rows without a gradient. */
static int fl_nce_dense_update(const fastloss_nce *nce) {
  if (nce->opt.lazy) return 0;
  return !(nce->opt.kind == FASTLOSS_OPT_SGD && nce->opt.momentum == 0.0);
}

static int fl_nce_state_count(const fastloss_optimizer *opt) {
  switch (opt->kind) {
    case FASTLOSS_OPT_SGD:
      return opt->momentum != 0.0 ? 1 : 0;
    case FASTLOSS_OPT_ADAGRAD:
    case FASTLOSS_OPT_RMSPROP:
      return 1;
    case FASTLOSS_OPT_ADAM:
      return 2;
  }
  return 0;
}

/* Allocates the optimizer state (zeros) if the optimizer has one and it is
 * not there yet; called before anything is modified. */
static fastloss_status fl_nce_ensure_state(fastloss_nce *nce) {
  const int count = fl_nce_state_count(&nce->opt);
  for (int s = 0; s < count; s++) {
    if (nce->state_W[s] == NULL) nce->state_W[s] = calloc(nce->classes * nce->n_in, nce->elem);
    if (nce->state_b[s] == NULL) nce->state_b[s] = calloc(nce->classes, nce->elem);
    if (nce->state_W[s] == NULL || nce->state_b[s] == NULL)
      return fl_fail(FASTLOSS_ERR_OUT_OF_MEMORY,
                     "could not allocate the optimizer state (%zu x %zu elements)", nce->classes,
                     nce->n_in);
  }
  return FASTLOSS_OK;
}

/* Zeroes the touched rows of dW and db and drops retained calls. */
static void fl_nce_flush(fastloss_nce *nce) {
  const size_t row_bytes = nce->n_in * nce->elem;
  for (size_t t = 0; t < nce->n_touched; t++) {
    const size_t row = (size_t)nce->touched_rows[t];
    memset((char *)nce->dW + row * row_bytes, 0, row_bytes);
    memset((char *)nce->db + row * nce->elem, 0, nce->elem);
    nce->touched[row] = 0;
  }
  nce->n_touched = 0;
  nce->n_calls = 0;
  nce->pending_elements = 0;
}

/* Checks the loss() arguments shared by both types, before anything is
 * written.  Returns the row count n_ex * n_c through *rows. */
static fastloss_status fl_nce_check_loss(const fastloss_nce *nce, fastloss_dtype dtype,
                                         const char *entry, size_t n_ex, size_t n_c, size_t n_in,
                                         const void *X, const int32_t *target,
                                         const int32_t *neg_samples, const double *loss,
                                         const void *y_pred, size_t *rows) {
  if (nce == NULL) return fl_fail(FASTLOSS_ERR_NULL_POINTER, "nce is NULL");
  if (X == NULL) return fl_fail(FASTLOSS_ERR_NULL_POINTER, "X is NULL");
  if (target == NULL) return fl_fail(FASTLOSS_ERR_NULL_POINTER, "target is NULL");
  if (loss == NULL) return fl_fail(FASTLOSS_ERR_NULL_POINTER, "loss is NULL");
  if (nce->config.dtype != dtype)
    return fl_fail(FASTLOSS_ERR_INVALID_ARGUMENT, "%s called on an %s loss", entry,
                   nce->config.dtype == FASTLOSS_F32 ? "f32" : "f64");
  if (n_ex == 0 || n_c == 0)
    return fl_fail(FASTLOSS_ERR_INVALID_SHAPE, "n_ex = %zu, n_c = %zu: both must be at least 1",
                   n_ex, n_c);
  if (n_in != nce->n_in)
    return fl_fail(FASTLOSS_ERR_INVALID_SHAPE,
                   "X has n_in = %zu, but the loss was created with n_in = %zu", n_in, nce->n_in);
  size_t r, elements, logits;
  if (fl_mul_overflows(n_ex, n_c, &r) || fl_mul_overflows(r, nce->n_in, &elements) ||
      elements > SIZE_MAX / 8 || fl_mul_overflows(r, nce->k + 1, &logits) || logits > SIZE_MAX / 32)
    return fl_fail(FASTLOSS_ERR_SIZE_OVERFLOW, "n_ex * n_c * n_in = %zu * %zu * %zu overflows",
                   n_ex, n_c, nce->n_in);
  const size_t classes = nce->classes;
  for (size_t i = 0; i < n_ex; i++) {
    const int32_t t = target[i];
    if (t < 0 || (size_t)t >= classes)
      return fl_fail(FASTLOSS_ERR_LABEL_OUT_OF_RANGE, "target[%zu] = %d is outside [0, %zu)", i,
                     (int)t, classes);
    if (nce->subtract_log_q && nce->log_q[t] == -INFINITY)
      return fl_fail(FASTLOSS_ERR_INVALID_ARGUMENT,
                     "target[%zu] = %d has noise probability 0, so its NCE logit would be +inf", i,
                     (int)t);
  }
  if (neg_samples != NULL)
    for (size_t j = 0; j < nce->k; j++) {
      const int32_t n = neg_samples[j];
      if (n < 0 || (size_t)n >= classes)
        return fl_fail(FASTLOSS_ERR_LABEL_OUT_OF_RANGE, "neg_samples[%zu] = %d is outside [0, %zu)",
                       j, (int)n, classes);
      if (nce->subtract_log_q && nce->log_q[n] == -INFINITY)
        return fl_fail(
            FASTLOSS_ERR_INVALID_ARGUMENT,
            "neg_samples[%zu] = %d has noise probability 0, so its NCE logit would be +inf", j,
            (int)n);
    }
  if (y_pred != NULL && fl_ranges_overlap(y_pred, r * nce->elem, X, elements * nce->elem))
    return fl_fail(FASTLOSS_ERR_OVERLAP, "y_pred overlaps X");
  if (nce->pending_elements > SIZE_MAX / 8 - elements)
    return fl_fail(FASTLOSS_ERR_SIZE_OVERFLOW, "the retained calls' dX would overflow");
  *rows = r;
  return FASTLOSS_OK;
}

/* A slot for a retained call with room for n_ex targets and `dz_bytes` of
 * logit gradients; it only counts once n_calls is raised. */
static fastloss_status fl_nce_reserve_call(fastloss_nce *nce, size_t n_ex, size_t dz_bytes,
                                           fl_nce_call **slot) {
  if (nce->n_calls == nce->calls_capacity) {
    const size_t grown = nce->calls_capacity == 0 ? 4 : nce->calls_capacity * 2;
    fl_nce_call *calls = realloc(nce->calls, grown * sizeof(fl_nce_call));
    if (calls == NULL)
      return fl_fail(FASTLOSS_ERR_OUT_OF_MEMORY, "could not allocate room for more retained calls");
    memset(calls + nce->calls_capacity, 0, (grown - nce->calls_capacity) * sizeof(fl_nce_call));
    nce->calls = calls;
    nce->calls_capacity = grown;
  }
  fl_nce_call *call = &nce->calls[nce->n_calls];
  if (call->negatives == NULL) call->negatives = malloc(nce->k * sizeof(int32_t));
  void *target = call->target;
  size_t target_bytes = call->target_capacity * sizeof(int32_t);
  const int ok = call->negatives != NULL &&
                 fl_nce_grow(&target, &target_bytes, n_ex * sizeof(int32_t)) &&
                 fl_nce_grow(&call->dz, &call->dz_capacity, dz_bytes);
  call->target = target;
  call->target_capacity = target_bytes / sizeof(int32_t);
  if (!ok) return fl_fail(FASTLOSS_ERR_OUT_OF_MEMORY, "could not allocate a retained call");
  *slot = call;
  return FASTLOSS_OK;
}

/* Draws k negatives into out from the object's stream; the stream advances
 * only on success. */
static fastloss_status fl_nce_draw(fastloss_nce *nce, int32_t *out) {
  fastloss_rng rng = nce->rng;
  const fastloss_status status =
      fastloss_sampler_sample_rng(nce->config.sampler, &rng, nce->k, out);
  if (status != FASTLOSS_OK) return status;
  nce->rng = rng;
  return FASTLOSS_OK;
}

static double fl_nce_normal(fastloss_rng *rng) {
  const double u1 = 1.0 - fastloss_rng_uniform(rng); /* (0, 1] */
  const double u2 = fastloss_rng_uniform(rng);
  return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* numpy-ml's truncated_normal with mean 0 and std 1: N(0, 1) redrawn while
 * |z| >= 2 (about 4.6% of draws). */
static double fl_nce_truncated_normal(fastloss_rng *rng) {
  double z;
  do z = fl_nce_normal(rng);
  while (!(fabs(z) < 2.0));
  return z;
}

/* The value of W's element from the config's init, in double. */
static double fl_nce_init_value(const fastloss_nce *nce, fastloss_rng *rng) {
  const double fan_in = (double)nce->classes, fan_out = (double)nce->n_in;
  switch (nce->config.init) {
    case FASTLOSS_INIT_GLOROT_UNIFORM: {
      const double b = sqrt(6.0 / (fan_in + fan_out));
      return -b + 2.0 * b * fastloss_rng_uniform(rng);
    }
    case FASTLOSS_INIT_GLOROT_NORMAL:
      return sqrt(2.0 / (fan_in + fan_out)) * fl_nce_truncated_normal(rng);
    case FASTLOSS_INIT_HE_UNIFORM: {
      const double b = sqrt(6.0 / fan_in);
      return -b + 2.0 * b * fastloss_rng_uniform(rng);
    }
    case FASTLOSS_INIT_HE_NORMAL:
      return sqrt(2.0 / fan_in) * fl_nce_truncated_normal(rng);
  }
  return 0.0;
}

#define FL_T float
#define FL_SUFFIX f32
#define FL_KERNELS f32_nce
#define FL_KERNEL_TABLE fl_f32_nce_kernels
#define FL_EPS FLT_EPSILON
#define FL_DTYPE FASTLOSS_F32
#include "nce-impl.h"
#undef FL_T
#undef FL_SUFFIX
#undef FL_KERNELS
#undef FL_KERNEL_TABLE
#undef FL_EPS
#undef FL_DTYPE

#define FL_T double
#define FL_SUFFIX f64
#define FL_KERNELS f64_nce
#define FL_KERNEL_TABLE fl_f64_nce_kernels
#define FL_EPS DBL_EPSILON
#define FL_DTYPE FASTLOSS_F64
#include "nce-impl.h"
#undef FL_T
#undef FL_SUFFIX
#undef FL_KERNELS
#undef FL_KERNEL_TABLE
#undef FL_EPS
#undef FL_DTYPE

/* --------------------------------------------------------- the object */

static fastloss_status fl_nce_check_unit(const char *name, double value) {
  if (!(value >= 0.0 && value < 1.0))
    return fl_fail(FASTLOSS_ERR_INVALID_ARGUMENT, "config->optimizer.%s = %g is outside [0, 1)",
                   name, value);
  return FASTLOSS_OK;
}

static fastloss_status fl_nce_check_nonnegative(const char *name, double value) {
  if (!(value >= 0.0 && value < INFINITY))
    return fl_fail(FASTLOSS_ERR_INVALID_ARGUMENT,
                   "config->optimizer.%s = %g must be finite and >= 0", name, value);
  return FASTLOSS_OK;
}

/* Validates the optimizer and fills numpy-ml's defaults into *out. */
static fastloss_status fl_nce_resolve_optimizer(const fastloss_optimizer *in,
                                                fastloss_optimizer *out) {
  if (in->kind != FASTLOSS_OPT_SGD && in->kind != FASTLOSS_OPT_ADAGRAD &&
      in->kind != FASTLOSS_OPT_RMSPROP && in->kind != FASTLOSS_OPT_ADAM)
    return fl_fail(FASTLOSS_ERR_INVALID_ARGUMENT,
                   "config->optimizer.kind = %d is not a fastloss_optimizer_kind", (int)in->kind);
  fastloss_status status;
  if ((status = fl_nce_check_nonnegative("lr", in->lr)) != FASTLOSS_OK ||
      (status = fl_nce_check_nonnegative("momentum", in->momentum)) != FASTLOSS_OK ||
      (status = fl_nce_check_nonnegative("clip_norm", in->clip_norm)) != FASTLOSS_OK ||
      (status = fl_nce_check_nonnegative("eps", in->eps)) != FASTLOSS_OK ||
      (status = fl_nce_check_unit("decay", in->decay)) != FASTLOSS_OK ||
      (status = fl_nce_check_unit("decay1", in->decay1)) != FASTLOSS_OK ||
      (status = fl_nce_check_unit("decay2", in->decay2)) != FASTLOSS_OK)
    return status;
  *out = *in;
  if (out->lr == 0.0)
    out->lr = in->kind == FASTLOSS_OPT_SGD || in->kind == FASTLOSS_OPT_ADAGRAD ? 0.01 : 0.001;
  if (out->decay == 0.0) out->decay = 0.9;
  if (out->decay1 == 0.0) out->decay1 = 0.9;
  if (out->decay2 == 0.0) out->decay2 = 0.999;
  if (out->eps == 0.0) out->eps = 1e-7;
  out->lazy = in->lazy != 0;
  return FASTLOSS_OK;
}

static fastloss_status fl_nce_check_config(const fastloss_nce_config *config) {
  if (config->dtype != FASTLOSS_F32 && config->dtype != FASTLOSS_F64)
    return fl_fail(FASTLOSS_ERR_INVALID_ARGUMENT, "config->dtype = %d is not a fastloss_dtype",
                   (int)config->dtype);
  if (config->n_classes == 0)
    return fl_fail(FASTLOSS_ERR_INVALID_SHAPE, "config->n_classes = 0: must be at least 1");
  if (config->n_classes > (size_t)INT32_MAX)
    return fl_fail(FASTLOSS_ERR_INVALID_ARGUMENT,
                   "config->n_classes = %zu exceeds INT32_MAX (class ids are int32_t)",
                   config->n_classes);
  if (config->n_in == 0)
    return fl_fail(FASTLOSS_ERR_INVALID_SHAPE, "config->n_in = 0: must be at least 1");
  size_t elements;
  if (fl_mul_overflows(config->n_classes, config->n_in, &elements) || elements > SIZE_MAX / 8)
    return fl_fail(FASTLOSS_ERR_SIZE_OVERFLOW, "n_classes * n_in = %zu * %zu overflows",
                   config->n_classes, config->n_in);
  if (config->num_negative_samples == 0)
    return fl_fail(FASTLOSS_ERR_INVALID_ARGUMENT,
                   "config->num_negative_samples = 0: must be at least 1");
  if (config->num_negative_samples > (size_t)INT32_MAX)
    return fl_fail(FASTLOSS_ERR_INVALID_ARGUMENT,
                   "config->num_negative_samples = %zu exceeds INT32_MAX",
                   config->num_negative_samples);
  if (config->sampler == NULL) return fl_fail(FASTLOSS_ERR_NULL_POINTER, "config->sampler is NULL");
  const size_t sampler_size = fastloss_sampler_size(config->sampler);
  if (sampler_size != config->n_classes)
    return fl_fail(FASTLOSS_ERR_INVALID_ARGUMENT,
                   "config->sampler has %zu classes, config->n_classes = %zu", sampler_size,
                   config->n_classes);
  /* Without replacement the k draws of a call must be distinct classes of
   * nonzero probability: a k above them would pass create and fail every
   * loss() that draws.  The sampler is immutable, so this holds for good. */
  if (!config->sampler->with_replacement) {
    const size_t k = config->num_negative_samples;
    if (k > config->n_classes)
      return fl_fail(FASTLOSS_ERR_INVALID_ARGUMENT,
                     "config->num_negative_samples = %zu exceeds config->n_classes = %zu, and "
                     "config->sampler draws without replacement",
                     k, config->n_classes);
    if (k > config->sampler->nonzero)
      return fl_fail(FASTLOSS_ERR_INVALID_ARGUMENT,
                     "config->num_negative_samples = %zu exceeds the %zu classes of nonzero "
                     "probability of config->sampler, which draws without replacement",
                     k, config->sampler->nonzero);
  }
  if (config->init != FASTLOSS_INIT_GLOROT_UNIFORM && config->init != FASTLOSS_INIT_GLOROT_NORMAL &&
      config->init != FASTLOSS_INIT_HE_UNIFORM && config->init != FASTLOSS_INIT_HE_NORMAL)
    return fl_fail(FASTLOSS_ERR_INVALID_ARGUMENT, "config->init = %d is not a fastloss_init",
                   (int)config->init);
  if (config->accidental_hits != FASTLOSS_HITS_KEEP &&
      config->accidental_hits != FASTLOSS_HITS_REMOVE &&
      config->accidental_hits != FASTLOSS_HITS_NUMPY_ML)
    return fl_fail(FASTLOSS_ERR_INVALID_ARGUMENT,
                   "config->accidental_hits = %d is not a fastloss_accidental_hits",
                   (int)config->accidental_hits);
  return FASTLOSS_OK;
}

fastloss_status fastloss_nce_create(fastloss_nce **nce, const fastloss_nce_config *config) {
  if (nce == NULL) return fl_fail(FASTLOSS_ERR_NULL_POINTER, "nce is NULL");
  if (config == NULL) return fl_fail(FASTLOSS_ERR_NULL_POINTER, "config is NULL");
  fastloss_status status = fl_nce_check_config(config);
  if (status != FASTLOSS_OK) return status;
  fastloss_optimizer opt;
  status = fl_nce_resolve_optimizer(&config->optimizer, &opt);
  if (status != FASTLOSS_OK) return status;

  fastloss_nce *self = calloc(1, sizeof *self);
  if (self == NULL) return fl_fail(FASTLOSS_ERR_OUT_OF_MEMORY, "could not allocate the NCE loss");
  self->config = *config;
  self->opt = opt;
  self->elem = config->dtype == FASTLOSS_F32 ? sizeof(float) : sizeof(double);
  self->classes = config->n_classes;
  self->n_in = config->n_in;
  self->k = config->num_negative_samples;
  self->subtract_log_q = config->negative_sampling == 0;
  const size_t V = self->classes, d = self->n_in;
  self->W = malloc(V * d * self->elem);
  self->b = calloc(V, self->elem);
  self->dW = calloc(V * d, self->elem);
  self->db = calloc(V, self->elem);
  self->touched = calloc(V, 1);
  if (self->subtract_log_q) self->log_q = malloc(V * sizeof(double));
  if (self->W == NULL || self->b == NULL || self->dW == NULL || self->db == NULL ||
      self->touched == NULL || (self->subtract_log_q && self->log_q == NULL)) {
    fastloss_nce_destroy(self);
    return fl_fail(FASTLOSS_ERR_OUT_OF_MEMORY,
                   "could not allocate the NCE parameters (%zu x %zu elements)", V, d);
  }
  if (self->subtract_log_q)
    for (size_t i = 0; i < V; i++) {
      double p = 0.0;
      status = fastloss_sampler_prob(config->sampler, i, &p);
      if (status != FASTLOSS_OK) {
        fastloss_nce_destroy(self);
        return status;
      }
      self->log_q[i] = log(p);
    }
  fastloss_rng init_rng;
  fastloss_rng_init(&init_rng, config->seed, FL_NCE_STREAM_INIT);
  if (config->dtype == FASTLOSS_F32)
    fl_nce_init_f32(self, &init_rng);
  else
    fl_nce_init_f64(self, &init_rng);
  fastloss_rng_init(&self->rng, config->seed, FL_NCE_STREAM_NEGATIVES);
  *nce = self;
  return FASTLOSS_OK;
}

void fastloss_nce_destroy(fastloss_nce *nce) {
  if (nce == NULL) return;
  free(nce->W);
  free(nce->b);
  free(nce->dW);
  free(nce->db);
  free(nce->log_q);
  for (int s = 0; s < 2; s++) {
    free(nce->state_W[s]);
    free(nce->state_b[s]);
  }
  free(nce->touched);
  free(nce->touched_rows);
  for (size_t c = 0; c < nce->calls_capacity; c++) {
    free(nce->calls[c].target);
    free(nce->calls[c].negatives);
    free(nce->calls[c].dz);
  }
  free(nce->calls);
  free(nce->scratch);
  free(nce);
}

fastloss_status fastloss_nce_pending(const fastloss_nce *nce, size_t *calls, size_t *dX_elements) {
  if (nce == NULL) return fl_fail(FASTLOSS_ERR_NULL_POINTER, "nce is NULL");
  if (calls != NULL) *calls = nce->n_calls;
  if (dX_elements != NULL) *dX_elements = nce->pending_elements;
  return FASTLOSS_OK;
}

fastloss_status fastloss_nce_update(fastloss_nce *nce) {
  if (nce == NULL) return fl_fail(FASTLOSS_ERR_NULL_POINTER, "nce is NULL");
  if (nce->frozen) return fl_fail(FASTLOSS_ERR_INVALID_STATE, "update() on a frozen NCE loss");
  const fastloss_status status = fl_nce_ensure_state(nce);
  if (status != FASTLOSS_OK) return status;
  if (nce->config.dtype == FASTLOSS_F32)
    fl_nce_apply_f32(nce);
  else
    fl_nce_apply_f64(nce);
  fl_nce_flush(nce);
  return FASTLOSS_OK;
}

fastloss_status fastloss_nce_flush_gradients(fastloss_nce *nce) {
  if (nce == NULL) return fl_fail(FASTLOSS_ERR_NULL_POINTER, "nce is NULL");
  if (nce->frozen)
    return fl_fail(FASTLOSS_ERR_INVALID_STATE, "flush_gradients() on a frozen NCE loss");
  fl_nce_flush(nce);
  return FASTLOSS_OK;
}

fastloss_status fastloss_nce_freeze(fastloss_nce *nce) {
  if (nce == NULL) return fl_fail(FASTLOSS_ERR_NULL_POINTER, "nce is NULL");
  nce->frozen = 1;
  return FASTLOSS_OK;
}

fastloss_status fastloss_nce_unfreeze(fastloss_nce *nce) {
  if (nce == NULL) return fl_fail(FASTLOSS_ERR_NULL_POINTER, "nce is NULL");
  nce->frozen = 0;
  return FASTLOSS_OK;
}

fastloss_status fastloss_nce_gradients_written(fastloss_nce *nce) {
  if (nce == NULL) return fl_fail(FASTLOSS_ERR_NULL_POINTER, "nce is NULL");
  /* The touched list becomes every row; flush clears the flags again. */
  const fastloss_status status = fl_nce_reserve_touched(nce, nce->classes);
  if (status != FASTLOSS_OK) return status;
  for (size_t row = 0; row < nce->classes; row++) fl_nce_touch(nce, (int32_t)row);
  return FASTLOSS_OK;
}

fastloss_status fastloss_nce_params(fastloss_nce *nce, void **W, void **b, void **dW, void **db) {
  if (nce == NULL) return fl_fail(FASTLOSS_ERR_NULL_POINTER, "nce is NULL");
  if (W != NULL) *W = nce->W;
  if (b != NULL) *b = nce->b;
  if (dW != NULL) *dW = nce->dW;
  if (db != NULL) *db = nce->db;
  return FASTLOSS_OK;
}
