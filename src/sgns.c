/* Skip-gram negative sampling: one SGD step over a batch of (input, target)
 * pairs, in place on both embedding tables (fastloss.h states the maths).
 *
 * A group (one pair, or the pairs sharing k negatives) is a small matrix
 * product: rows = its pairs' input vectors h, columns = the target and the
 * k negative output vectors v.  Every logit of the group comes from one
 * nce_dots call, the sigmoids from one nce_sigmoid call, and the updates
 * from nce_gemv (the input gradients, against the v before the update) and
 * nce_ger, or for a group nce_gemv over its input rows (the output updates,
 * against the h before the update): the level-3 formulation of Ji et al.
 * 2016 instead of word2vec's dot-and-axpy per logit.
 *
 * The loss of a logit is -log of the clipped probability of its label.  It
 * is accumulated as a product of probabilities in double (one log per 32
 * logits instead of one each), each probability taken as q or as 1 - c from
 * the kernel's complementary pair so that neither loses digits near 1. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "internal.h"
#include "sampler-impl.h"

#if FL_HAVE_OPENMP
#include <omp.h>
#endif

/* Groups ahead whose rows are asked for (fl_prefetch_rows).  Measured with
 * fastloss-word2vec on a 1M-token corpus (AVX2, d 100, k 5, 1 thread):
 * per-pair negatives 14-20% faster with 1, 2 or 4 groups ahead alike, shared
 * negatives (groups of about 6 pairs) a few percent. */
#define FL_SGNS_PREFETCH_AHEAD 2

/* Per-thread working memory, sized for the largest group of the batch. */
typedef struct fl_sgns_scratch {
  const float **x;  /* [rows] input rows */
  float **w;        /* [cols] target and negative rows of one row's logits */
  float *z, *q, *c; /* [rows * cols] logits (label-signed), probabilities */
  float *coef;      /* [rows * cols] learning rate times the logit gradient */
  float *column;    /* [rows] one column of coef */
  float *delta;     /* [rows * dim] input-row updates */
} fl_sgns_scratch;

/* Rounded up to 64 bytes: thread t's scratch starts at t times this, and its
 * pointer arrays need pointer alignment (a 4-byte multiple put every other
 * thread's float ** on a misaligned address: UBSan found it); 64 also keeps
 * threads off each other's cache lines. */
static size_t fl_sgns_scratch_bytes(size_t rows, size_t cols, size_t dim) {
  const size_t bytes = rows * sizeof(float *) + cols * sizeof(float *) +
                       4 * rows * cols * sizeof(float) + rows * sizeof(float) +
                       rows * dim * sizeof(float);
  return (bytes + 63) & ~(size_t)63;
}

static void fl_sgns_scratch_carve(fl_sgns_scratch *s, void *memory, size_t rows, size_t cols) {
  /* Pointer arrays first: the float arrays after them stay aligned to
   * sizeof(void *), which is enough for float. */
  char *p = memory;
  s->x = (const float **)(void *)p;
  p += rows * sizeof(float *);
  s->w = (float **)(void *)p;
  p += cols * sizeof(float *);
  s->z = (float *)(void *)p;
  s->q = s->z + rows * cols;
  s->c = s->q + rows * cols;
  s->coef = s->c + rows * cols;
  s->column = s->coef + rows * cols;
  s->delta = s->column + rows;
}

/* Drawing the negatives (fastloss_sgns_params): the draws of
 * fastloss_sampler_sample_rng, made here with the inline Philox blocks and
 * alias draw of sampler-impl.h instead of a call per word. */

/* Alias draws from uniforms first .. first + count - 1 of the stream (seed,
 * stream): uniform m is words 2(m mod 2), +1 of block m / 2, as
 * fastloss_rng_uniform takes them; the blocks are made FL_PHILOX_LANES at a
 * time, in lockstep.  With target >= 0 a draw is kept only when it differs
 * from target, and the call stops there (returning how many uniforms it
 * took); with target < 0 it makes all count draws into out. */
static size_t fl_ns_alias_draws(const fastloss_sampler *noise, uint64_t seed, uint64_t stream,
                                uint64_t first, size_t count, int32_t target, int32_t *out) {
  uint32_t block[FL_PHILOX_LANES][4];
  uint64_t batch = UINT64_MAX; /* the first block in block[], none yet */
  for (size_t j = 0; j < count; j++) {
    const uint64_t m = first + j, wanted = m / 2 / FL_PHILOX_LANES * FL_PHILOX_LANES;
    if (wanted != batch) {
      fl_philox_blocks(seed, stream, wanted, FL_PHILOX_LANES, block);
      batch = wanted;
    }
    const uint32_t *words = &block[m / 2 - batch][2 * (m % 2)];
    const int32_t drawn = fl_alias_pick(noise, fl_uniform_of(words[0], words[1]));
    if (target < 0) {
      out[j] = drawn;
    } else if (drawn != target) {
      *out = drawn;
      return j + 1;
    }
  }
  return count;
}

/* With replacement: redraws each out[j] (j < k) equal to `target` from
 * the uniforms after the first k of the stream (key, sequence), in order of
 * j, up to FL_NS_REDRAWS of them each. */
static void fl_ns_alias_redraws(const fastloss_sampler *noise, uint64_t key, uint64_t sequence,
                                size_t k, int32_t target, int32_t *out) {
  uint64_t next = k;
  for (size_t j = 0; j < k; j++)
    if (out[j] == target)
      next += fl_ns_alias_draws(noise, key, sequence, next, FL_NS_REDRAWS, target, &out[j]);
}

/* Draws `out[0..k)` for group or example `index` from its own stream
 * (see fastloss_sgns_params), redrawing a draw equal to `target` up to
 * FL_NS_REDRAWS times. */
static void fl_ns_draw(const fastloss_sgns_params *params, size_t index, size_t k, int32_t target,
                       int32_t *out) {
  const fastloss_sampler *noise = params->noise;
  if (!noise->with_replacement) {
    /* Successive sampling: the sampler's own path, call by call. */
    fastloss_rng rng;
    fastloss_rng_init(&rng, params->seed, params->stream + index);
    /* Cannot fail: the same call succeeded before anything was written, and
     * whether it succeeds depends on the sampler and k only. */
    (void)fastloss_sampler_sample_rng(noise, &rng, k, out);
    for (size_t j = 0; j < k; j++)
      for (int tries = 0; out[j] == target && tries < FL_NS_REDRAWS; tries++)
        (void)fastloss_sampler_sample_rng(noise, &rng, 1, &out[j]);
    return;
  }
  /* With replacement each draw is one alias draw of the next uniform, as
   * fastloss_sampler_sample_rng makes it: k draws from uniforms 0..k-1,
   * then each redraw from the next. */
  const uint64_t key = params->seed, sequence = params->stream + index;
  (void)fl_ns_alias_draws(noise, key, sequence, 0, k, -1, out);
  fl_ns_alias_redraws(noise, key, sequence, k, target, out);
}

/* The helpers below are shared with cbow.c (declared in internal.h). */

/* -sum of log(clipped probability of the label) over `count` logits. */
double fl_ns_loss(size_t count, const float *q, const float *c) {
  double loss = 0.0, product = 1.0;
  for (size_t j = 0; j < count; j++) {
    /* Written so that a NaN probability stays NaN through the clip. */
    double p;
    if (q[j] >= 0.5f)
      p = 1.0 - (c[j] < FLT_EPSILON ? (double)FLT_EPSILON : (double)c[j]);
    else
      p = q[j] < FLT_EPSILON ? (double)FLT_EPSILON : (double)q[j];
    product *= p;
    if ((j + 1) % FL_NS_LOG_BATCH == 0) {
      loss -= log(product);
      product = 1.0;
    }
  }
  return loss - log(product);
}

fastloss_status fl_ns_check_ids(const char *what, const int32_t *ids, size_t count, size_t vocab) {
  for (size_t i = 0; i < count; i++)
    if (ids[i] < 0 || (size_t)ids[i] >= vocab)
      return fl_fail(FASTLOSS_ERR_LABEL_OUT_OF_RANGE, "%s[%zu] = %ld is outside [0, %zu)", what, i,
                     (long)ids[i], vocab);
  return FASTLOSS_OK;
}

int fl_ns_thread(void) {
#if FL_HAVE_OPENMP
  return omp_get_thread_num();
#else
  return 0;
#endif
}

fastloss_status fl_ns_check_tables(size_t vocab, size_t dim, const float *in_emb,
                                   const float *out_emb) {
  if (in_emb == NULL) return fl_fail(FASTLOSS_ERR_NULL_POINTER, "in_emb is NULL");
  if (out_emb == NULL) return fl_fail(FASTLOSS_ERR_NULL_POINTER, "out_emb is NULL");
  if (vocab == 0) return fl_fail(FASTLOSS_ERR_INVALID_SHAPE, "vocab = 0");
  if (dim == 0) return fl_fail(FASTLOSS_ERR_INVALID_SHAPE, "dim = 0");
  if (vocab > SIZE_MAX / sizeof(float) / dim)
    return fl_fail(FASTLOSS_ERR_SIZE_OVERFLOW, "vocab * dim = %zu * %zu overflows", vocab, dim);
  return FASTLOSS_OK;
}

fastloss_status fl_ns_check_step(size_t vocab, size_t dim, const float *in_emb,
                                 const float *out_emb, float lr) {
  const fastloss_status status = fl_ns_check_tables(vocab, dim, in_emb, out_emb);
  if (status != FASTLOSS_OK) return status;
  if (fl_ranges_overlap(in_emb, vocab * dim * sizeof(float), out_emb, vocab * dim * sizeof(float)))
    return fl_fail(FASTLOSS_ERR_OVERLAP, "in_emb and out_emb overlap");
  if (!(lr >= 0.0f) || isinf(lr))
    return fl_fail(FASTLOSS_ERR_INVALID_ARGUMENT, "lr = %g is not a finite value >= 0", (double)lr);
  return FASTLOSS_OK;
}

fastloss_status fl_ns_tables(size_t vocab, size_t dim, float *in_emb, float *out_emb,
                             const fastloss_sgns_params *params, fl_ns_table *in,
                             fl_ns_table *out) {
  *in = (fl_ns_table){.rows = in_emb, .head = in_emb, .head_rows = 0};
  *out = (fl_ns_table){.rows = out_emb, .head = out_emb, .head_rows = 0};
  if (params == NULL || params->head_rows == 0) return FASTLOSS_OK;
  const size_t head_rows = params->head_rows;
  if (head_rows > vocab)
    return fl_fail(FASTLOSS_ERR_INVALID_ARGUMENT, "params->head_rows = %zu is above vocab = %zu",
                   head_rows, vocab);
  if (params->in_head == NULL)
    return fl_fail(FASTLOSS_ERR_NULL_POINTER, "params->in_head is NULL (head_rows = %zu)",
                   head_rows);
  if (params->out_head == NULL)
    return fl_fail(FASTLOSS_ERR_NULL_POINTER, "params->out_head is NULL (head_rows = %zu)",
                   head_rows);
  const size_t head_bytes = head_rows * dim * sizeof(float);
  const size_t table_bytes = vocab * dim * sizeof(float);
  const struct {
    const char *name;
    const float *p;
    size_t bytes;
  } other[] = {{"out_head", params->out_head, head_bytes},
               {"in_emb", in_emb, table_bytes},
               {"out_emb", out_emb, table_bytes}};
  for (int h = 0; h < 2; h++) {
    const float *head = h ? params->out_head : params->in_head;
    for (int o = h; o < 3; o++) /* out_head is not checked against itself */
      if (fl_ranges_overlap(head, head_bytes, other[o].p, other[o].bytes))
        return fl_fail(FASTLOSS_ERR_OVERLAP, "params->%s overlaps %s%s", h ? "out_head" : "in_head",
                       o == 0 ? "params->" : "", other[o].name);
  }
  *in = (fl_ns_table){.rows = in_emb, .head = params->in_head, .head_rows = head_rows};
  *out = (fl_ns_table){.rows = out_emb, .head = params->out_head, .head_rows = head_rows};
  return FASTLOSS_OK;
}

fastloss_status fl_ns_check_negatives(const int32_t *negatives, const fastloss_sgns_params *params,
                                      const char *groups, size_t n_groups, size_t k, size_t vocab,
                                      int *draw) {
  *draw = negatives == NULL && params != NULL && params->noise != NULL;
  if (k > 0 && n_groups > 0 && negatives == NULL && !*draw)
    return fl_fail(FASTLOSS_ERR_NULL_POINTER, "batch->negatives is NULL (and params->noise too)");
  if (*draw && fastloss_sampler_size(params->noise) > vocab)
    return fl_fail(FASTLOSS_ERR_INVALID_ARGUMENT,
                   "params->noise has %zu classes, more than vocab = %zu",
                   fastloss_sampler_size(params->noise), vocab);
  if (k >= SIZE_MAX / sizeof(float) / 8 || (n_groups > 0 && k > SIZE_MAX / n_groups))
    return fl_fail(FASTLOSS_ERR_SIZE_OVERFLOW, "%s * k = %zu * %zu overflows", groups, n_groups, k);
  return FASTLOSS_OK;
}

fastloss_status fl_ns_check_offsets(const char *what, const size_t *offsets, const char *count_name,
                                    size_t count, const char *total_name, size_t total,
                                    size_t *largest) {
  if (offsets[0] != 0)
    return fl_fail(FASTLOSS_ERR_INVALID_ARGUMENT, "%s[0] = %zu, must be 0", what, offsets[0]);
  for (size_t i = 0; i < count; i++) {
    if (offsets[i + 1] < offsets[i])
      return fl_fail(FASTLOSS_ERR_INVALID_ARGUMENT, "%s[%zu] = %zu is below %s[%zu] = %zu", what,
                     i + 1, offsets[i + 1], what, i, offsets[i]);
    if (offsets[i + 1] - offsets[i] > *largest) *largest = offsets[i + 1] - offsets[i];
  }
  if (offsets[count] != total)
    return fl_fail(FASTLOSS_ERR_INVALID_ARGUMENT, "%s[%s = %zu] = %zu, must equal %s = %zu", what,
                   count_name, count, offsets[count], total_name, total);
  return FASTLOSS_OK;
}

fastloss_status fl_ns_work_alloc(fl_ns_work *work, int threads, size_t scratch_bytes,
                                 const fastloss_sgns_params *params, int draw, size_t n_groups,
                                 size_t k) {
  work->threads = threads;
  work->scratch_bytes = scratch_bytes;
  work->scratch = fl_malloc_lines(scratch_bytes * (size_t)threads, &work->scratch_block);
  work->thread_loss = calloc((size_t)threads, sizeof(double)); /* 0 for threads never started */
  work->drawn = NULL;
  work->rng = fl_kernels()->u32_rng;
  fastloss_status status = FASTLOSS_OK;
  if (work->scratch == NULL || work->thread_loss == NULL) {
    status = fl_fail(FASTLOSS_ERR_OUT_OF_MEMORY, "cannot allocate %zu bytes of scratch",
                     scratch_bytes * (size_t)threads);
  } else if (draw && k > 0) {
    work->drawn = malloc(sizeof(int32_t) * n_groups * k);
    if (work->drawn == NULL) {
      status = fl_fail(FASTLOSS_ERR_OUT_OF_MEMORY, "cannot allocate %zu negatives", n_groups * k);
    } else {
      /* A trial draw, so that a sampler that cannot give k distinct classes
       * fails here, before any table is written. */
      fastloss_rng rng;
      fastloss_rng_init(&rng, params->seed, params->stream);
      status = fastloss_sampler_sample_rng(params->noise, &rng, k, work->drawn);
    }
  }
  if (status != FASTLOSS_OK) fl_ns_work_finish(work, NULL);
  return status;
}

/* Uniforms drawn in one chunk of groups (fl_ns_draw_chunk) at most: a
 * chunk is FL_NS_DRAW_UNIFORMS / k groups. */
#define FL_NS_DRAW_UNIFORMS 256

/* With replacement, groups [g0, g1) (at most FL_NS_DRAW_UNIFORMS / k of
 * them): the draws of fl_ns_draw, made in passes over the chunk.  First
 * every group's k uniforms, scaled by the class count: the Philox blocks of
 * all the chunk's groups in one call of the ISA's kernel (a group of k = 5
 * takes 3 blocks).  Then the alias picks, whose loads from the table are
 * independent of each other, no longer each queued behind a group's ten
 * Philox rounds.  Then the redraws, group by group. */
static void fl_ns_draw_chunk(const fastloss_sgns_params *params, const fl_ns_work *work, size_t g0,
                             size_t g1, size_t k, const int32_t *targets, const size_t *offsets,
                             int target_by_pair) {
  const fastloss_sampler *noise = params->noise;
  const double classes = (double)noise->n;
  const size_t blocks = (k + 1) / 2;
  uint64_t stream[FL_NS_DRAW_UNIFORMS], counter[FL_NS_DRAW_UNIFORMS];
  size_t at[FL_NS_DRAW_UNIFORMS]; /* block i's first uniform is x[at[i]] */
  uint32_t words[4 * FL_NS_DRAW_UNIFORMS];
  double x[FL_NS_DRAW_UNIFORMS];
  size_t n = 0;
  stream[0] = counter[0] = 0; /* (a chunk of empty groups hands over none) */
  for (size_t g = g0; g < g1; g++) {
    if (offsets != NULL && offsets[g + 1] == offsets[g]) continue;
    for (size_t b = 0; b < blocks; b++, n++) {
      stream[n] = params->stream + g;
      counter[n] = b;
      at[n] = (g - g0) * k + 2 * b;
    }
  }
  work->rng->philox(n, params->seed, stream, counter, words);
  for (size_t i = 0; i < n; i++) {
    /* uniform m is words 2 (m mod 2), +1 of block m / 2 */
    x[at[i]] = fl_uniform_of(words[i], words[n + i]) * classes;
    if (at[i] % k + 1 < k)
      x[at[i] + 1] = fl_uniform_of(words[2 * n + i], words[3 * n + i]) * classes;
  }
  int32_t *drawn = work->drawn;
  for (size_t g = g0; g < g1; g++) {
    if (offsets != NULL && offsets[g + 1] == offsets[g]) continue;
    for (size_t j = 0; j < k; j++)
      drawn[g * k + j] = fl_alias_pick_scaled(noise, x[(g - g0) * k + j]);
  }
  for (size_t g = g0; g < g1; g++) {
    if (offsets != NULL && offsets[g + 1] == offsets[g]) continue;
    const int32_t target = targets[offsets != NULL && target_by_pair ? offsets[g] : g];
    fl_ns_alias_redraws(noise, params->seed, params->stream + g, k, target, drawn + g * k);
  }
}

void fl_ns_draw_pass(const fastloss_sgns_params *params, const fl_ns_work *work, size_t n_groups,
                     size_t k, const int32_t *targets, const size_t *offsets, int target_by_pair) {
  if (work->drawn == NULL) return;
  if (params->noise->with_replacement && k <= FL_NS_DRAW_UNIFORMS) {
    const size_t per_chunk = FL_NS_DRAW_UNIFORMS / k;
    const size_t chunks = (n_groups + per_chunk - 1) / per_chunk;
#if FL_HAVE_OPENMP
#pragma omp for schedule(static)
#endif
    for (size_t c = 0; c < chunks; c++) {
      const size_t g0 = c * per_chunk, g1 = g0 + per_chunk < n_groups ? g0 + per_chunk : n_groups;
      fl_ns_draw_chunk(params, work, g0, g1, k, targets, offsets, target_by_pair);
    }
    return;
  }
#if FL_HAVE_OPENMP
#pragma omp for schedule(static)
#endif
  for (size_t g = 0; g < n_groups; g++) {
    if (offsets != NULL && offsets[g + 1] == offsets[g]) continue;
    const size_t first = offsets != NULL && target_by_pair ? offsets[g] : g;
    fl_ns_draw(params, g, k, targets[first], work->drawn + g * k);
  }
}

void fl_ns_work_finish(fl_ns_work *work, double *loss) {
  if (loss != NULL) {
    double total = 0.0;
    for (int t = 0; t < work->threads; t++) total += work->thread_loss[t];
    *loss = total;
  }
  free(work->drawn);
  free(work->scratch_block);
  free(work->thread_loss);
  work->drawn = NULL;
  work->scratch = NULL;
  work->scratch_block = NULL;
  work->thread_loss = NULL;
}

/* Private rows (fastloss_sgns_params.private_rows): thread t trains rows
 * [0, hot) of each table in its own copy, taken when the row is first used
 * in the call (fresh[id] set), and the copies are merged into the tables
 * after the last group (fl_sgns_merge_row).  hot = 0: every row shared.
 * The arrays are indexed by table: FL_SGNS_IN (in_emb), FL_SGNS_OUT. */
enum { FL_SGNS_IN = 0, FL_SGNS_OUT = 1 };
typedef struct fl_sgns_private {
  size_t hot;
  float *copies[2];        /* [hot * dim] this thread's copies */
  unsigned char *fresh[2]; /* [hot] 1: copied in this call */
} fl_sgns_private;

/* Bytes of one thread's copies and flags, a multiple of 64. */
static size_t fl_sgns_private_bytes(size_t hot, size_t dim) {
  const size_t bytes = 2 * hot * dim * sizeof(float) + 2 * hot;
  return (bytes + 63) & ~(size_t)63;
}

static void fl_sgns_private_carve(fl_sgns_private *p, char *memory, size_t hot, size_t dim) {
  p->hot = hot;
  p->copies[FL_SGNS_IN] = (float *)(void *)memory;
  p->copies[FL_SGNS_OUT] = p->copies[FL_SGNS_IN] + hot * dim;
  p->fresh[FL_SGNS_IN] = (unsigned char *)(p->copies[FL_SGNS_OUT] + hot * dim);
  p->fresh[FL_SGNS_OUT] = p->fresh[FL_SGNS_IN] + hot;
}

/* The row `id` of table `which` (at `table`) as this thread trains it: its
 * own copy when the row is private (copied now if this is its first use in
 * the call). */
static inline float *fl_sgns_row(const fl_sgns_private *p, int which, const fl_ns_table *table,
                                 int32_t id, size_t dim) {
  float *row = fl_ns_row(table, id, dim);
  if ((size_t)id >= p->hot) return row;
  float *copy = p->copies[which] + (size_t)id * dim;
  if (!p->fresh[which][id]) {
    memcpy(copy, row, dim * sizeof(float));
    p->fresh[which][id] = 1;
  }
  return copy;
}

/* fl_prefetch_rows for rows that may be private: a private row already
 * copied is asked for in the copy, any other in the table. */
static inline void fl_sgns_prefetch_rows(const fl_sgns_private *p, int which,
                                         const fl_ns_table *table, const int32_t *ids, size_t count,
                                         size_t dim) {
  for (size_t i = 0; i < count; i++) {
    const size_t id = (size_t)ids[i];
    const float *row = id < p->hot && p->fresh[which][id] ? p->copies[which] + id * dim
                                                          : fl_ns_row(table, ids[i], dim);
    fl_prefetch(row, dim * sizeof(float), 1);
  }
}

/* Row r of table `which` after the call: the mean of the copies of the
 * threads that used it (summed in thread order, then divided by their
 * count); a row one thread used takes its copy as is, one no thread used
 * stays. */
static void fl_sgns_merge_row(float *row, size_t dim, const fl_sgns_private *threads, int n,
                              size_t r, int which) {
  int users = 0;
  for (int t = 0; t < n; t++) {
    if (!threads[t].fresh[which][r]) continue;
    const float *copy = threads[t].copies[which] + r * dim;
    if (users++ == 0)
      memcpy(row, copy, dim * sizeof(float));
    else
      for (size_t j = 0; j < dim; j++) row[j] += copy[j];
  }
  if (users > 1)
    for (size_t j = 0; j < dim; j++) row[j] /= (float)users;
}

/* One group: pairs [first, first + rows) with negatives neg[0..k). */
static double fl_sgns_group(const fl_f32_nce_kernels *kernels, size_t dim,
                            const fl_ns_table *in_emb, const fl_ns_table *out_emb,
                            const fastloss_sgns_batch *batch, size_t first, size_t rows,
                            const int32_t *neg, float lr, int want_loss, fl_sgns_scratch *s,
                            const fl_sgns_private *p) {
  const size_t k = batch->k, cols = k + 1;
  const int32_t *inputs = batch->inputs + first, *targets = batch->targets + first;
  for (size_t j = 0; j < k; j++) s->w[1 + j] = fl_sgns_row(p, FL_SGNS_OUT, out_emb, neg[j], dim);
  for (size_t r = 0; r < rows; r++) s->x[r] = fl_sgns_row(p, FL_SGNS_IN, in_emb, inputs[r], dim);

  /* Logits: one call when the rows share their target (skip-gram's groups
   * are the contexts of one centre word), else one call per row. */
  int same_target = 1;
  for (size_t r = 1; r < rows; r++) same_target &= targets[r] == targets[0];
  if (same_target) {
    s->w[0] = fl_sgns_row(p, FL_SGNS_OUT, out_emb, targets[0], dim);
    kernels->nce_dots(rows, cols, dim, s->x, (const float *const *)s->w, s->z, cols);
  } else {
    for (size_t r = 0; r < rows; r++) {
      s->w[0] = fl_sgns_row(p, FL_SGNS_OUT, out_emb, targets[r], dim);
      kernels->nce_dots(1, cols, dim, &s->x[r], (const float *const *)s->w, s->z + r * cols, cols);
    }
  }
  /* Signed by label so that q is the probability of the label and c its
   * complement: the gradient of the logit is -c (target) or +c (negative). */
  for (size_t r = 0; r < rows; r++)
    for (size_t j = 1; j < cols; j++) s->z[r * cols + j] = -s->z[r * cols + j];
  kernels->nce_sigmoid(rows * cols, s->z, s->q, s->c);
  for (size_t r = 0; r < rows; r++) {
    s->coef[r * cols] = lr * s->c[r * cols];
    for (size_t j = 1; j < cols; j++) s->coef[r * cols + j] = -lr * s->c[r * cols + j];
  }
  const double loss = want_loss ? fl_ns_loss(rows * cols, s->q, s->c) : 0.0;

  /* Input updates against the output rows as the group found them ... */
  memset(s->delta, 0, rows * dim * sizeof(float));
  for (size_t r = 0; r < rows; r++) {
    if (!same_target) s->w[0] = fl_sgns_row(p, FL_SGNS_OUT, out_emb, targets[r], dim);
    kernels->nce_gemv(cols, dim, s->coef + r * cols, (const float *const *)s->w,
                      s->delta + r * dim);
  }
  /* ... output updates against the input rows as the group found them:
   * a single pair updates its rows with one ger; in a larger group each
   * output row takes the sum of its rows' updates at once (a gemv over the
   * group's input rows), so it is written once per group instead of once
   * per pair, which also halves the cache-line traffic between Hogwild
   * threads on frequent words ... */
  if (rows == 1) {
    kernels->nce_ger(cols, dim, s->coef, s->x[0], s->w);
  } else {
    for (size_t j = same_target ? 0 : 1; j < cols; j++) {
      for (size_t r = 0; r < rows; r++) s->column[r] = s->coef[r * cols + j];
      kernels->nce_gemv(rows, dim, s->column, s->x, s->w[j]);
    }
    if (!same_target)
      for (size_t r = 0; r < rows; r++) {
        float *target = fl_sgns_row(p, FL_SGNS_OUT, out_emb, targets[r], dim);
        kernels->nce_ger(1, dim, s->coef + r * cols, s->x[r], &target);
      }
  }
  /* ... and only then the inputs, so a row repeated in the group gets the
   * sum of its updates. */
  for (size_t r = 0; r < rows; r++) {
    float *h = fl_sgns_row(p, FL_SGNS_IN, in_emb, inputs[r], dim);
    const float *delta = s->delta + r * dim;
    for (size_t j = 0; j < dim; j++) h[j] += delta[j];
  }
  return loss;
}

/* One step's groups, run by each thread of the step's region (fl_parallel). */
typedef struct fl_sgns_job {
  const fl_f32_nce_kernels *nce;
  const fastloss_sgns_params *params;
  fl_ns_work *work;
  const fastloss_sgns_batch *batch;
  const int32_t *negatives;
  const fl_sgns_private *priv; /* [threads], or NULL: no private rows */
  fl_ns_table in_emb, out_emb;
  unsigned char *in_touched, *out_touched;
  size_t dim, n_groups, k, max_rows, hot;
  float lr;
  int want_loss;
} fl_sgns_job;

static void fl_sgns_region(const void *arg) {
  const fl_sgns_job *j = arg;
  const fl_sgns_private shared = {0, {NULL, NULL}, {NULL, NULL}};
  const size_t dim = j->dim, n_groups = j->n_groups, k = j->k, cols = k + 1;
  const size_t *offsets = j->batch->group_offsets;
  const int32_t *inputs = j->batch->inputs, *targets = j->batch->targets;
  const int32_t *negatives = j->negatives;
  const fl_ns_table *in_emb = &j->in_emb, *out_emb = &j->out_emb;
  const int t = fl_ns_thread();
  fl_sgns_scratch s;
  fl_sgns_scratch_carve(&s, j->work->scratch + j->work->scratch_bytes * (size_t)t, j->max_rows,
                        cols);
  const fl_sgns_private *p = j->priv != NULL ? &j->priv[t] : &shared;
  double sum = 0.0;
  fl_ns_draw_pass(j->params, j->work, n_groups, k, targets, offsets, 1);
#if FL_HAVE_OPENMP
#pragma omp for schedule(static)
#endif
  for (size_t g = 0; g < n_groups; g++) {
    const size_t first = offsets != NULL ? offsets[g] : g;
    const size_t rows = offsets != NULL ? offsets[g + 1] - offsets[g] : 1;
    if (g + FL_SGNS_PREFETCH_AHEAD < n_groups) {
      const size_t ahead = g + FL_SGNS_PREFETCH_AHEAD;
      const size_t a_first = offsets != NULL ? offsets[ahead] : ahead;
      const size_t a_rows = offsets != NULL ? offsets[ahead + 1] - a_first : 1;
      if (a_rows > 0) {
        fl_sgns_prefetch_rows(p, FL_SGNS_IN, in_emb, inputs + a_first, a_rows, dim);
        fl_sgns_prefetch_rows(p, FL_SGNS_OUT, out_emb, targets + a_first, 1, dim);
        if (k > 0) fl_sgns_prefetch_rows(p, FL_SGNS_OUT, out_emb, negatives + ahead * k, k, dim);
      }
    }
    if (rows == 0) continue;
    sum += fl_sgns_group(j->nce, dim, in_emb, out_emb, j->batch, first, rows,
                         k > 0 ? negatives + g * k : NULL, j->lr, j->want_loss, &s, p);
    fl_ns_mark(j->in_touched, inputs + first, rows);
    fl_ns_mark(j->out_touched, targets + first, rows);
    if (k > 0) fl_ns_mark(j->out_touched, negatives + g * k, k);
  }
  j->work->thread_loss[t] = sum;
  if (j->priv != NULL) {
    /* After the loop's barrier every copy is final: merge them, the rows
     * split between the threads. */
#if FL_HAVE_OPENMP
    const int team = omp_get_num_threads();
#pragma omp for schedule(static)
#else
    const int team = 1;
#endif
    for (size_t r = 0; r < j->hot; r++) {
      fl_sgns_merge_row(fl_ns_row(in_emb, (int32_t)r, dim), dim, j->priv, team, r, FL_SGNS_IN);
      fl_sgns_merge_row(fl_ns_row(out_emb, (int32_t)r, dim), dim, j->priv, team, r, FL_SGNS_OUT);
    }
  }
}

fastloss_status fastloss_sgns_step_f32(size_t vocab, size_t dim, float *in_emb, float *out_emb,
                                       const fastloss_sgns_batch *batch, float lr,
                                       const fastloss_sgns_params *params, double *loss) {
  if (batch == NULL) return fl_fail(FASTLOSS_ERR_NULL_POINTER, "batch is NULL");
  fastloss_status status = fl_ns_check_step(vocab, dim, in_emb, out_emb, lr);
  if (status != FASTLOSS_OK) return status;
  fl_ns_table in_table, out_table;
  status = fl_ns_tables(vocab, dim, in_emb, out_emb, params, &in_table, &out_table);
  if (status != FASTLOSS_OK) return status;

  const size_t n_pairs = batch->n_pairs, k = batch->k;
  const size_t n_groups = batch->group_offsets != NULL ? batch->n_groups : n_pairs;
  if (n_pairs > 0 && batch->inputs == NULL)
    return fl_fail(FASTLOSS_ERR_NULL_POINTER, "batch->inputs is NULL");
  if (n_pairs > 0 && batch->targets == NULL)
    return fl_fail(FASTLOSS_ERR_NULL_POINTER, "batch->targets is NULL");
  int draw;
  status = fl_ns_check_negatives(batch->negatives, params, "n_groups", n_groups, k, vocab, &draw);
  if (status != FASTLOSS_OK) return status;

  /* Group bounds and the largest group, which sizes the scratch. */
  size_t max_rows = n_pairs > 0 ? 1 : 0;
  if (batch->group_offsets != NULL) {
    status = fl_ns_check_offsets("group_offsets", batch->group_offsets, "n_groups", n_groups,
                                 "n_pairs", n_pairs, &max_rows);
    if (status != FASTLOSS_OK) return status;
  }
  status = fl_ns_check_ids("inputs", batch->inputs, n_pairs, vocab);
  if (status == FASTLOSS_OK) status = fl_ns_check_ids("targets", batch->targets, n_pairs, vocab);
  if (status == FASTLOSS_OK && !draw)
    status = fl_ns_check_ids("negatives", batch->negatives, n_groups * k, vocab);
  if (status != FASTLOSS_OK) return status;
  if (n_pairs == 0) {
    if (loss != NULL) *loss = 0.0;
    return FASTLOSS_OK;
  }
  if (max_rows > SIZE_MAX / 8 / (k + 1 + dim) / sizeof(float))
    return fl_fail(FASTLOSS_ERR_SIZE_OVERFLOW, "a group of %zu pairs is too large", max_rows);

  const fl_isa_kernels *kernels = fl_kernels();
  const int deterministic = params != NULL && params->deterministic;
  const size_t cols = k + 1;
  const int threads =
      deterministic ? 1 : fl_threads_for((double)n_pairs * (double)cols * (double)dim * 3.0);
  fl_ns_work work;
  status = fl_ns_work_alloc(&work, threads, fl_sgns_scratch_bytes(max_rows, cols, dim), params,
                            draw, n_groups, k);
  if (status != FASTLOSS_OK) return status;
  /* Private rows: Hogwild with more than one thread only. */
  size_t hot = threads > 1 && params != NULL ? params->private_rows : 0;
  if (hot > vocab) hot = vocab;
  fl_sgns_private *priv = NULL;
  void *priv_block = NULL;
  size_t priv_bytes = 0;
  if (hot > 0) {
    priv_bytes = fl_sgns_private_bytes(hot, dim);
    priv = malloc(sizeof(fl_sgns_private) * (size_t)threads);
    char *memory = priv == NULL || priv_bytes > SIZE_MAX / (size_t)threads
                       ? NULL
                       : fl_malloc_lines(priv_bytes * (size_t)threads, &priv_block);
    if (memory == NULL) {
      free(priv);
      fl_ns_work_finish(&work, NULL);
      return fl_fail(FASTLOSS_ERR_OUT_OF_MEMORY,
                     "cannot allocate the private copies of %zu rows for %d threads", hot, threads);
    }
    for (int t = 0; t < threads; t++) {
      fl_sgns_private_carve(&priv[t], memory + priv_bytes * (size_t)t, hot, dim);
      /* all flags clear, also of threads the runtime may not start */
      memset(priv[t].fresh[FL_SGNS_IN], 0, 2 * hot);
    }
  }
  const int32_t *negatives = work.drawn != NULL ? work.drawn : batch->negatives;

  const fl_sgns_job job = {.nce = kernels->f32_nce,
                           .params = params,
                           .work = &work,
                           .batch = batch,
                           .negatives = negatives,
                           .priv = priv,
                           .in_emb = in_table,
                           .out_emb = out_table,
                           .in_touched = params != NULL ? params->in_touched : NULL,
                           .out_touched = params != NULL ? params->out_touched : NULL,
                           .dim = dim,
                           .n_groups = n_groups,
                           .k = k,
                           .max_rows = max_rows,
                           .hot = hot,
                           .lr = lr,
                           .want_loss = loss != NULL};
  /* Hogwild: threads share the tables without locks (see fastloss.h). */
  fl_parallel(threads, fl_sgns_region, &job);
  free(priv);
  free(priv_block);
  fl_ns_work_finish(&work, loss);
  return FASTLOSS_OK;
}
