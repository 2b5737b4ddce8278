/* The skip-gram negative-sampling loss and its gradients, with nothing
 * updated: the forward and backward of an autograd function (fastloss.torch
 * .sgns_loss), where fastloss_sgns_step_f32 fuses them into an SGD step.
 * fastloss.h states the maths.
 *
 * Pairs are independent, so they run in parallel, each written by one thread
 * only; the per-pair losses are kept and added in a fixed pairwise order, so
 * every output is bit-identical for any thread count.  The logits, sigmoids
 * and gradient rows come from the NCE kernels (nce_dots, nce_sigmoid,
 * nce_gemv), as in sgns.c.
 *
 * A logit's loss is softplus(-y) = -log sigmoid(y) for the label-signed
 * logit y, unclipped (PyTorch's logsigmoid): -log of the probability q when
 * q is not tiny, as -log1p(-c) from its accurate complement c near 1, and
 * from y itself below 2^-20, where q loses digits to flushing; the logs
 * of up to FL_NS_LOG_BATCH factors are taken at once, as in sgns.c. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "internal.h"

#if FL_HAVE_OPENMP
#include <omp.h>
#endif

/* Factors at least this large go into the product (32 of them stay above
 * 2^-640, far from double's underflow); smaller ones are summed from y. */
#define FL_NSLOSS_MIN_FACTOR 0x1p-20f

/* softplus(-y) = -log sigmoid(y) summed over one pair's cols logits. */
static double fl_nsloss_pair_loss(size_t cols, const float *y, const float *q, const float *c) {
  double loss = 0.0, product = 1.0;
  size_t factors = 0;
  for (size_t j = 0; j < cols; j++) {
    if (q[j] >= 0.5f) {
      product *= 1.0 - (double)c[j];
    } else if (q[j] >= FL_NSLOSS_MIN_FACTOR) {
      product *= (double)q[j];
    } else {
      /* Also NaN (every comparison false) and y = -inf (gives +inf). */
      const double t = (double)y[j];
      loss += -t + log1p(exp(t));
      continue;
    }
    if (++factors == FL_NS_LOG_BATCH) {
      loss -= log(product);
      product = 1.0;
      factors = 0;
    }
  }
  return loss - log(product);
}

/* Per-thread working memory: pointer arrays first (pointer alignment), then
 * the floats; rounded up to 64 bytes so threads keep to their cache lines. */
static size_t fl_nsloss_scratch_bytes(size_t cols) {
  const size_t bytes = (cols + 1) * sizeof(float *) + 4 * cols * sizeof(float);
  return (bytes + 63) & ~(size_t)63;
}

/* The pairs, run by each thread of the call's region (fl_parallel). */
typedef struct fl_nsloss_job {
  const fl_f32_nce_kernels *nce;
  const float *in_emb, *out_emb;
  const int32_t *centers, *contexts, *negatives;
  char *memory; /* a thread's scratch every scratch_bytes */
  double *pair_loss;
  float *row_loss, *grad_in, *grad_out;
  size_t dim, n, k, scratch_bytes;
  float scale;
  int want_loss;
} fl_nsloss_job;

static void fl_nsloss_region(const void *arg) {
  const fl_nsloss_job *job = arg;
  const fl_f32_nce_kernels *nce = job->nce;
  const size_t dim = job->dim, n = job->n, k = job->k, cols = k + 1;
  const float *in_emb = job->in_emb, *out_emb = job->out_emb;
  const int32_t *centers = job->centers, *contexts = job->contexts, *negatives = job->negatives;
  double *pair_loss = job->pair_loss;
  float *row_loss = job->row_loss, *grad_in = job->grad_in, *grad_out = job->grad_out;
  const float scale = job->scale;
  int t = 0;
#if FL_HAVE_OPENMP
  t = omp_get_thread_num();
#endif
  char *p = job->memory + job->scratch_bytes * (size_t)t;
  const float **x = (const float **)(void *)p;
  const float **w = x + 1;
  float *y = (float *)(void *)(p + (cols + 1) * sizeof(float *));
  float *q = y + cols, *c = q + cols, *coef = c + cols;
#if FL_HAVE_OPENMP
#pragma omp for schedule(static)
#endif
  for (size_t i = 0; i < n; i++) {
    x[0] = in_emb + (size_t)centers[i] * dim;
    w[0] = out_emb + (size_t)contexts[i] * dim;
    for (size_t j = 0; j < k; j++) w[1 + j] = out_emb + (size_t)negatives[i * k + j] * dim;
    nce->nce_dots(1, cols, dim, x, w, y, cols);
    /* Signed by label: q is the probability of the label, c = 1 - q, and
     * the logit's gradient is -c for the context, +c for a negative. */
    for (size_t j = 1; j < cols; j++) y[j] = -y[j];
    nce->nce_sigmoid(cols, y, q, c);
    if (job->want_loss) {
      const double l = fl_nsloss_pair_loss(cols, y, q, c);
      if (pair_loss != NULL) pair_loss[i] = l;
      if (row_loss != NULL) row_loss[i] = (float)l;
    }
    coef[0] = -scale * c[0];
    for (size_t j = 1; j < cols; j++) coef[j] = scale * c[j];
    if (grad_in != NULL) {
      float *g = grad_in + i * dim;
      memset(g, 0, dim * sizeof(float));
      nce->nce_gemv(cols, dim, coef, w, g);
    }
    if (grad_out != NULL) {
      float *g = grad_out + i * cols * dim;
      for (size_t j = 0; j < cols; j++)
        for (size_t e = 0; e < dim; e++) g[j * dim + e] = coef[j] * x[0][e];
    }
  }
}

fastloss_status fastloss_nsloss_f32(size_t vocab, size_t dim, const float *in_emb,
                                    const float *out_emb, size_t n, const int32_t *centers,
                                    const int32_t *contexts, size_t k, const int32_t *negatives,
                                    const fastloss_nsloss_params *params, float *row_loss,
                                    double *loss, float *grad_in, float *grad_out) {
  const fastloss_status tables = fl_ns_check_tables(vocab, dim, in_emb, out_emb);
  if (tables != FASTLOSS_OK) return tables;
  const size_t cols = k + 1;
  if (k >= SIZE_MAX / sizeof(float) / 8 || (n > 0 && cols > SIZE_MAX / sizeof(float) / dim / n))
    return fl_fail(FASTLOSS_ERR_SIZE_OVERFLOW, "n * (k + 1) * dim = %zu * %zu * %zu overflows", n,
                   cols, dim);
  if (n > 0 && centers == NULL) return fl_fail(FASTLOSS_ERR_NULL_POINTER, "centers is NULL");
  if (n > 0 && contexts == NULL) return fl_fail(FASTLOSS_ERR_NULL_POINTER, "contexts is NULL");
  if (n > 0 && k > 0 && negatives == NULL)
    return fl_fail(FASTLOSS_ERR_NULL_POINTER, "negatives is NULL");
  const fastloss_reduction reduction = params != NULL ? params->reduction : FASTLOSS_REDUCTION_SUM;
  if (reduction != FASTLOSS_REDUCTION_SUM && reduction != FASTLOSS_REDUCTION_MEAN &&
      reduction != FASTLOSS_REDUCTION_NONE)
    return fl_fail(FASTLOSS_ERR_INVALID_ARGUMENT, "params->reduction = %d is not SUM, MEAN or NONE",
                   (int)reduction);
  if (reduction == FASTLOSS_REDUCTION_NONE && row_loss == NULL && n > 0)
    return fl_fail(FASTLOSS_ERR_NULL_POINTER, "row_loss is NULL with reduction NONE");

  /* No output may overlap an input or another output: a pair's gradient
   * written into a table row would change the logits of later pairs. */
  const size_t table_bytes = vocab * dim * sizeof(float);
  const size_t in_grad_bytes = n * dim * sizeof(float);
  const size_t out_grad_bytes = n * cols * dim * sizeof(float);
  const struct {
    const void *p;
    size_t bytes;
    const char *name;
  } buffers[] = {{in_emb, table_bytes, "in_emb"},
                 {out_emb, table_bytes, "out_emb"},
                 {centers, n * sizeof(int32_t), "centers"},
                 {contexts, n * sizeof(int32_t), "contexts"},
                 {negatives, n * k * sizeof(int32_t), "negatives"},
                 {row_loss, n * sizeof(float), "row_loss"},
                 {loss, sizeof(double), "loss"},
                 {grad_in, in_grad_bytes, "grad_in"},
                 {grad_out, out_grad_bytes, "grad_out"}};
  const size_t n_buffers = sizeof buffers / sizeof buffers[0];
  for (size_t a = 5; a < n_buffers; a++) /* the outputs */
    for (size_t b = 0; b < a; b++)
      if (buffers[a].p != NULL && buffers[b].p != NULL && buffers[a].bytes > 0 &&
          buffers[b].bytes > 0 &&
          fl_ranges_overlap(buffers[a].p, buffers[a].bytes, buffers[b].p, buffers[b].bytes))
        return fl_fail(FASTLOSS_ERR_OVERLAP, "%s and %s overlap", buffers[a].name, buffers[b].name);

  fastloss_status status = fl_ns_check_ids("centers", centers, n, vocab);
  if (status == FASTLOSS_OK) status = fl_ns_check_ids("contexts", contexts, n, vocab);
  if (status == FASTLOSS_OK) status = fl_ns_check_ids("negatives", negatives, n * k, vocab);
  if (status != FASTLOSS_OK) return status;
  if (n == 0) {
    /* The mean of no pairs is 0 / 0, as PyTorch's mean of an empty tensor. */
    if (loss != NULL) *loss = reduction == FASTLOSS_REDUCTION_MEAN ? NAN : 0.0;
    return FASTLOSS_OK;
  }

  const fl_isa_kernels *kernels = fl_kernels();
  const fl_f32_nce_kernels *nce = kernels->f32_nce;
  const int threads = fl_threads_for((double)n * (double)cols * (double)dim * 3.0);
  const size_t scratch_bytes = fl_nsloss_scratch_bytes(cols);
  void *block;
  char *memory = fl_malloc_lines(scratch_bytes * (size_t)threads, &block);
  double *pair_loss = loss != NULL ? malloc(n * sizeof(double)) : NULL;
  if (memory == NULL || (loss != NULL && pair_loss == NULL)) {
    free(block);
    free(pair_loss);
    return fl_fail(FASTLOSS_ERR_OUT_OF_MEMORY, "cannot allocate %zu bytes of scratch",
                   scratch_bytes * (size_t)threads + (loss != NULL ? n * sizeof(double) : 0));
  }
  const float scale = reduction == FASTLOSS_REDUCTION_MEAN ? (float)(1.0 / (double)n) : 1.0f;

  const fl_nsloss_job job = {.nce = nce,
                             .in_emb = in_emb,
                             .out_emb = out_emb,
                             .centers = centers,
                             .contexts = contexts,
                             .negatives = negatives,
                             .memory = memory,
                             .pair_loss = pair_loss,
                             .row_loss = row_loss,
                             .grad_in = grad_in,
                             .grad_out = grad_out,
                             .dim = dim,
                             .n = n,
                             .k = k,
                             .scratch_bytes = scratch_bytes,
                             .scale = scale,
                             .want_loss = loss != NULL || row_loss != NULL};
  fl_parallel(threads, fl_nsloss_region, &job);
  if (loss != NULL) {
    const double total = fl_sum_pairwise(pair_loss, n, sizeof(double));
    *loss = reduction == FASTLOSS_REDUCTION_MEAN ? total / (double)n : total;
  }
  free(pair_loss);
  free(block);
  return FASTLOSS_OK;
}
