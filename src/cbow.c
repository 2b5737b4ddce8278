/* CBOW with negative sampling: one SGD step over a batch of examples (a
 * centre word and its context), in place on both embedding tables
 * (fastloss.h states the maths).
 *
 * An example is one row of the skip-gram step's matrix product: the hidden
 * vector h (the mean of the context rows, one nce_gemv) against the target
 * and the k negative output rows.  Its logits come from one nce_dots call,
 * the sigmoids from one nce_sigmoid call, the context error e (word2vec's
 * neu1e) from nce_gemv against the v before the update, the output updates
 * from one nce_ger against h, and the context updates from one nce_ger
 * that adds e (coefficient 1) to every context row.
 *
 * The loss is accumulated as in sgns.c: the clipped probability of each
 * label, taken as q or 1 - c from the kernel's complementary pair, summed as
 * logs of products of at most 32 factors. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "internal.h"

/* Examples ahead whose rows are asked for (fl_prefetch_rows): about 10%
 * off the 1-thread step of fastloss-word2vec -cbow 1 on a 1M-token corpus
 * (AVX2, d 100); 1, 2 and 4 ahead measured alike for the skip-gram step. */
#define FL_CBOW_PREFETCH_AHEAD 2

/* Per-thread working memory, sized for the largest context of the batch. */
typedef struct fl_cbow_scratch {
  float **x;        /* [contexts] context rows */
  float *ones;      /* [contexts] 1.0f: coefficients of the sums over them */
  float **w;        /* [cols] target and negative rows */
  float *z, *q, *c; /* [cols] logits (label-signed), probabilities */
  float *coef;      /* [cols] learning rate times the logit gradient */
  float *h;         /* [dim] mean of the context rows */
  float *error;     /* [dim] the update of every context row (neu1e) */
} fl_cbow_scratch;

/* Rounded up to 64 bytes: thread t's scratch starts at t times this, and its
 * pointer arrays need pointer alignment (an odd context count made the size
 * 4 mod 8); 64 also keeps threads off each other's cache lines. */
static size_t fl_cbow_scratch_bytes(size_t contexts, size_t cols, size_t dim) {
  const size_t bytes = contexts * sizeof(float *) + cols * sizeof(float *) +
                       4 * cols * sizeof(float) + 2 * dim * sizeof(float) +
                       contexts * sizeof(float);
  return (bytes + 63) & ~(size_t)63;
}

static void fl_cbow_scratch_carve(fl_cbow_scratch *s, void *memory, size_t contexts, size_t cols,
                                  size_t dim) {
  /* Pointer arrays first: the float arrays after them stay aligned to
   * sizeof(void *), which is enough for float. */
  char *p = memory;
  s->x = (float **)(void *)p;
  p += contexts * sizeof(float *);
  s->w = (float **)(void *)p;
  p += cols * sizeof(float *);
  s->z = (float *)(void *)p;
  s->q = s->z + cols;
  s->c = s->q + cols;
  s->coef = s->c + cols;
  s->h = s->coef + cols;
  s->error = s->h + dim;
  s->ones = s->error + dim;
  for (size_t i = 0; i < contexts; i++) s->ones[i] = 1.0f;
}

/* One example: the context rows contexts[0..n_context) (n_context >= 1),
 * the target and the negatives neg[0..k). */
static double fl_cbow_example(const fl_f32_nce_kernels *kernels, size_t dim,
                              const fl_ns_table *in_emb, const fl_ns_table *out_emb,
                              const int32_t *contexts, size_t n_context, int32_t target,
                              const int32_t *neg, size_t k, float lr, int want_loss,
                              fl_cbow_scratch *s) {
  const size_t cols = k + 1;
  for (size_t i = 0; i < n_context; i++) s->x[i] = fl_ns_row(in_emb, contexts[i], dim);
  s->w[0] = fl_ns_row(out_emb, target, dim);
  for (size_t j = 0; j < k; j++) s->w[1 + j] = fl_ns_row(out_emb, neg[j], dim);

  /* h: the sum of the context rows, then divided by their number, as
   * word2vec.c computes its neu1. */
  memset(s->h, 0, dim * sizeof(float));
  kernels->nce_gemv(n_context, dim, s->ones, (const float *const *)s->x, s->h);
  if (n_context > 1) {
    const float count = (float)n_context;
    for (size_t j = 0; j < dim; j++) s->h[j] /= count;
  }

  const float *h = s->h;
  kernels->nce_dots(1, cols, dim, &h, (const float *const *)s->w, s->z, cols);
  /* Signed by label so that q is the probability of the label and c its
   * complement: the gradient of the logit is -c (target) or +c (negative). */
  for (size_t j = 1; j < cols; j++) s->z[j] = -s->z[j];
  kernels->nce_sigmoid(cols, s->z, s->q, s->c);
  s->coef[0] = lr * s->c[0];
  for (size_t j = 1; j < cols; j++) s->coef[j] = -lr * s->c[j];
  const double loss = want_loss ? fl_ns_loss(cols, s->q, s->c) : 0.0;

  /* The context error against the output rows as the example found them,
   * then the output rows (a repeated one receives each of its updates) ... */
  memset(s->error, 0, dim * sizeof(float));
  kernels->nce_gemv(cols, dim, s->coef, (const float *const *)s->w, s->error);
  kernels->nce_ger(cols, dim, s->coef, s->h, s->w);
  /* ... and the error added whole to every context position (word2vec.c's
   * hidden -> in loop): ger adds in order of position, so a repeated
   * context word receives it once per occurrence. */
  kernels->nce_ger(n_context, dim, s->ones, s->error, s->x);
  return loss;
}

/* One step's examples, run by each thread of the step's region
 * (fl_parallel). */
typedef struct fl_cbow_job {
  const fl_f32_nce_kernels *nce;
  const fastloss_sgns_params *params;
  fl_ns_work *work;
  const fastloss_cbow_batch *batch;
  const int32_t *negatives;
  fl_ns_table in_emb, out_emb;
  unsigned char *in_touched, *out_touched;
  size_t dim, n, k, max_context;
  float lr;
  int want_loss;
} fl_cbow_job;

static void fl_cbow_region(const void *arg) {
  const fl_cbow_job *j = arg;
  const size_t dim = j->dim, n = j->n, k = j->k, cols = k + 1;
  const size_t *offsets = j->batch->context_offsets;
  const int32_t *targets = j->batch->targets, *contexts = j->batch->contexts;
  const int32_t *negatives = j->negatives;
  const fl_ns_table *in_emb = &j->in_emb, *out_emb = &j->out_emb;
  const int t = fl_ns_thread();
  fl_cbow_scratch s;
  fl_cbow_scratch_carve(&s, j->work->scratch + j->work->scratch_bytes * (size_t)t, j->max_context,
                        cols, dim);
  double sum = 0.0;
  fl_ns_draw_pass(j->params, j->work, n, k, targets, offsets, 0);
#if FL_HAVE_OPENMP
#pragma omp for schedule(static)
#endif
  for (size_t e = 0; e < n; e++) {
    const size_t first = offsets[e], count = offsets[e + 1] - offsets[e];
    if (e + FL_CBOW_PREFETCH_AHEAD < n) {
      const size_t ahead = e + FL_CBOW_PREFETCH_AHEAD;
      const size_t a_first = offsets[ahead], a_count = offsets[ahead + 1] - a_first;
      if (a_count > 0) {
        fl_ns_prefetch_rows(in_emb, contexts + a_first, a_count, dim);
        fl_ns_prefetch_rows(out_emb, targets + ahead, 1, dim);
        if (k > 0) fl_ns_prefetch_rows(out_emb, negatives + ahead * k, k, dim);
      }
    }
    if (count == 0) continue;
    sum += fl_cbow_example(j->nce, dim, in_emb, out_emb, contexts + first, count, targets[e],
                           k > 0 ? negatives + e * k : NULL, k, j->lr, j->want_loss, &s);
    fl_ns_mark(j->in_touched, contexts + first, count);
    fl_ns_mark(j->out_touched, targets + e, 1);
    if (k > 0) fl_ns_mark(j->out_touched, negatives + e * k, k);
  }
  j->work->thread_loss[t] = sum;
}

fastloss_status fastloss_cbow_step_f32(size_t vocab, size_t dim, float *in_emb, float *out_emb,
                                       const fastloss_cbow_batch *batch, float lr,
                                       const fastloss_sgns_params *params, double *loss) {
  if (batch == NULL) return fl_fail(FASTLOSS_ERR_NULL_POINTER, "batch is NULL");
  fastloss_status status = fl_ns_check_step(vocab, dim, in_emb, out_emb, lr);
  if (status != FASTLOSS_OK) return status;
  fl_ns_table in_table, out_table;
  status = fl_ns_tables(vocab, dim, in_emb, out_emb, params, &in_table, &out_table);
  if (status != FASTLOSS_OK) return status;

  const size_t n = batch->n_examples, k = batch->k, n_contexts = batch->n_contexts;
  if (n > 0 && batch->targets == NULL)
    return fl_fail(FASTLOSS_ERR_NULL_POINTER, "batch->targets is NULL");
  if (n > 0 && batch->context_offsets == NULL)
    return fl_fail(FASTLOSS_ERR_NULL_POINTER, "batch->context_offsets is NULL");
  if (n_contexts > 0 && batch->contexts == NULL)
    return fl_fail(FASTLOSS_ERR_NULL_POINTER, "batch->contexts is NULL");
  int draw;
  status = fl_ns_check_negatives(batch->negatives, params, "n_examples", n, k, vocab, &draw);
  if (status != FASTLOSS_OK) return status;

  /* Context bounds and the largest context, which sizes the scratch. */
  size_t max_context = 0;
  if (n > 0) {
    status = fl_ns_check_offsets("context_offsets", batch->context_offsets, "n_examples", n,
                                 "n_contexts", n_contexts, &max_context);
    if (status != FASTLOSS_OK) return status;
  } else if (n_contexts != 0) {
    return fl_fail(FASTLOSS_ERR_INVALID_ARGUMENT, "n_contexts = %zu with no examples", n_contexts);
  }
  status = fl_ns_check_ids("targets", batch->targets, n, vocab);
  if (status == FASTLOSS_OK)
    status = fl_ns_check_ids("contexts", batch->contexts, n_contexts, vocab);
  if (status == FASTLOSS_OK && !draw)
    status = fl_ns_check_ids("negatives", batch->negatives, n * k, vocab);
  if (status != FASTLOSS_OK) return status;
  if (max_context == 0) { /* no example, or only empty contexts: nothing to train */
    if (loss != NULL) *loss = 0.0;
    return FASTLOSS_OK;
  }
  if (max_context > SIZE_MAX / 2 / sizeof(float *) || dim > SIZE_MAX / 8 / sizeof(float))
    return fl_fail(FASTLOSS_ERR_SIZE_OVERFLOW, "a context of %zu words is too large", max_context);

  const fl_isa_kernels *kernels = fl_kernels();
  const int deterministic = params != NULL && params->deterministic;
  const size_t cols = k + 1;
  const int threads =
      deterministic
          ? 1
          : fl_threads_for((double)n * ((double)cols * 3.0 + 2.0 * (double)n_contexts / (double)n) *
                           (double)dim);
  fl_ns_work work;
  status = fl_ns_work_alloc(&work, threads, fl_cbow_scratch_bytes(max_context, cols, dim), params,
                            draw, n, k);
  if (status != FASTLOSS_OK) return status;

  const fl_cbow_job job = {.nce = kernels->f32_nce,
                           .params = params,
                           .work = &work,
                           .batch = batch,
                           .negatives = work.drawn != NULL ? work.drawn : batch->negatives,
                           .in_emb = in_table,
                           .out_emb = out_table,
                           .in_touched = params != NULL ? params->in_touched : NULL,
                           .out_touched = params != NULL ? params->out_touched : NULL,
                           .dim = dim,
                           .n = n,
                           .k = k,
                           .max_context = max_context,
                           .lr = lr,
                           .want_loss = loss != NULL};
  /* Hogwild: threads share the tables without locks (see fastloss.h). */
  fl_parallel(threads, fl_cbow_region, &job);
  fl_ns_work_finish(&work, loss);
  return FASTLOSS_OK;
}
