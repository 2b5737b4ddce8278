/* The element-type-specific half of nce.c, included once per type with
 * FL_T (float or double), FL_SUFFIX (f32, f64), FL_KERNELS (the field of
 * fl_isa_kernels), FL_KERNEL_TABLE (its type), FL_EPS (the clip of the
 * probabilities: FLT_EPSILON or DBL_EPSILON) and FL_DTYPE defined. */

#define FL_CAT_(a, b) a##b
#define FL_CAT(a, b) FL_CAT_(a, b)
#define FL_NAME(base) FL_CAT(base, FL_SUFFIX)
#define FL_STR_(x) #x
#define FL_STR(x) FL_STR_(x)

static void FL_NAME(fl_nce_apply_)(fastloss_nce *nce);

static void FL_NAME(fl_nce_init_)(fastloss_nce *nce, fastloss_rng *rng) {
  FL_T *W = nce->W;
  const size_t count = nce->classes * nce->n_in;
  for (size_t e = 0; e < count; e++) W[e] = (FL_T)fl_nce_init_value(nce, rng);
}

/* The forward pass's blocks [first, last) of block_ex examples: logits,
 * BCE terms, dz, y_pred and each block's loss sum. */
typedef struct {
  const FL_KERNEL_TABLE *kernels;
  const FL_T *X, *W, *bias;
  const double *log_q;
  const int32_t *target, *negatives;
  const FL_T **neg_rows;
  const double *neg_shift;
  const FL_T **xrows;
  FL_T *y, *q, *c, *y_pred;
  double *block_sums;
  size_t n_ex, n_c, d, used, stride, block_ex;
  int subtract, remove_hits;
} FL_NAME(fl_nce_forward_job_);

static void FL_NAME(fl_nce_forward_blocks_)(const void *arg, size_t first_block,
                                            size_t last_block) {
  const FL_NAME(fl_nce_forward_job_) *job = arg;
  const FL_KERNEL_TABLE *kernels = job->kernels;
  const FL_T *X = job->X, *W = job->W, *bias = job->bias;
  const double *log_q = job->log_q;
  const int32_t *target = job->target, *negatives = job->negatives;
  const FL_T **neg_rows = job->neg_rows;
  const double *neg_shift = job->neg_shift;
  const FL_T **xrows = job->xrows;
  FL_T *y = job->y, *q = job->q, *c = job->c, *y_pred = job->y_pred;
  const size_t n_ex = job->n_ex, n_c = job->n_c, d = job->d, used = job->used;
  const size_t stride = job->stride, block_ex = job->block_ex;
  const int subtract = job->subtract, remove_hits = job->remove_hits;
  const FL_T eps = (FL_T)FL_EPS, one_minus_eps = (FL_T)1 - (FL_T)FL_EPS;
  for (size_t block = first_block; block < last_block; block++) {
    const size_t first_ex = block * block_ex;
    const size_t last_ex = first_ex + block_ex < n_ex ? first_ex + block_ex : n_ex;
    const size_t first_row = first_ex * n_c, last_row = last_ex * n_c;
    for (size_t r = first_row; r < last_row; r++) xrows[r] = X + r * d;
    for (size_t i = first_ex; i < last_ex && i < first_ex + FL_NCE_PREFETCH_AHEAD; i++)
      fl_prefetch(W + (size_t)target[i] * d, d * sizeof(FL_T), 0);
    if (used > 0)
      kernels->nce_dots(last_row - first_row, used, d, xrows + first_row, neg_rows,
                        y + first_row * stride + 1, stride);
    for (size_t i = first_ex; i < last_ex; i++) {
      if (i + FL_NCE_PREFETCH_AHEAD < last_ex) {
        const size_t ahead = (size_t)target[i + FL_NCE_PREFETCH_AHEAD];
        fl_prefetch(W + ahead * d, d * sizeof(FL_T), 0);
        fl_prefetch(bias + ahead, sizeof(FL_T), 0);
        if (subtract) fl_prefetch(log_q + ahead, sizeof(double), 0);
      }
      const size_t t = (size_t)target[i];
      const FL_T *target_row = W + t * d;
      kernels->nce_dots(n_c, 1, d, xrows + i * n_c, &target_row, y + i * n_c * stride, stride);
      const double target_shift = (double)bias[t] - (subtract ? log_q[t] : 0.0);
      for (size_t r = i * n_c; r < (i + 1) * n_c; r++) {
        FL_T *yr = y + r * stride;
        yr[0] = (FL_T)((double)yr[0] + target_shift);
        /* Negated, so that sigmoid gives the probability of label 0. */
        for (size_t j = 0; j < used; j++) yr[1 + j] = (FL_T)(-((double)yr[1 + j] + neg_shift[j]));
      }
    }
    /* The BCE terms (-log of the clipped probability of each logit's label)
     * replace the logits, which nothing reads after this. */
    kernels->nce_sigmoid_bce((last_row - first_row) * stride, y + first_row * stride,
                             q + first_row * stride, c + first_row * stride,
                             y + first_row * stride);
    double sum = 0.0;
    for (size_t i = first_ex; i < last_ex; i++) {
      const int32_t t = target[i];
      for (size_t r = i * n_c; r < (i + 1) * n_c; r++) {
        const FL_T *qr = q + r * stride, *term = y + r * stride;
        FL_T *cr = c + r * stride;
        sum += (double)term[0];
        if (y_pred != NULL)
          y_pred[r] = qr[0] < eps ? eps : (qr[0] > one_minus_eps ? one_minus_eps : qr[0]);
        cr[0] = -cr[0]; /* dz = sigmoid(z) - 1 */
        for (size_t j = 0; j < used; j++) {
          if (remove_hits && negatives[j] == t) {
            cr[1 + j] = 0;
            continue;
          }
          sum += (double)term[1 + j];
        }
      }
    }
    job->block_sums[block] = sum;
  }
}

fastloss_status FL_NAME(fastloss_nce_loss_)(fastloss_nce *nce, size_t n_ex, size_t n_c, size_t n_in,
                                            const FL_T *X, const int32_t *target,
                                            const int32_t *neg_samples, int retain_derived,
                                            double *loss, FL_T *y_pred) {
  size_t rows = 0;
  fastloss_status status =
      fl_nce_check_loss(nce, FL_DTYPE, "fastloss_nce_loss_" FL_STR(FL_SUFFIX), n_ex, n_c, n_in, X,
                        target, neg_samples, loss, y_pred, &rows);
  if (status != FASTLOSS_OK) return status;
  const int frozen = nce->frozen;
  const int retain = retain_derived && !frozen;
  const size_t d = nce->n_in, k = nce->k;
  const size_t used = frozen ? 0 : k; /* negatives that enter this call */
  const size_t stride = 1 + used;
  const size_t logits = rows * stride;
  const size_t block_ex = n_c >= FL_NCE_BLOCK_ROWS ? 1 : FL_NCE_BLOCK_ROWS / n_c;
  const size_t blocks = (n_ex + block_ex - 1) / block_ex;

  /* Every allocation before anything visible changes. */
  fl_carver carver = {NULL, 0};
  (void)fl_carve(&carver, rows * sizeof(FL_T *));
  (void)fl_carve(&carver, 2 * logits * sizeof(FL_T));
  (void)fl_carve(&carver, retain ? 0 : logits * sizeof(FL_T));
  (void)fl_carve(&carver, used * (sizeof(FL_T *) + sizeof(double) + sizeof(int32_t)));
  (void)fl_carve(&carver, blocks * sizeof(double));
  status = fl_nce_reserve_scratch(nce, carver.used);
  if (status != FASTLOSS_OK) return status;
  carver.base = nce->scratch;
  carver.used = 0;
  const FL_T **xrows = fl_carve(&carver, rows * sizeof(FL_T *));
  FL_T *y = fl_carve(&carver, 2 * logits * sizeof(FL_T));
  FL_T *q = y + logits;
  FL_T *c = fl_carve(&carver, retain ? 0 : logits * sizeof(FL_T));
  char *per_negative =
      fl_carve(&carver, used * (sizeof(FL_T *) + sizeof(double) + sizeof(int32_t)));
  const FL_T **neg_rows = (const FL_T **)(void *)per_negative;
  double *neg_shift = (double *)(void *)(per_negative + used * sizeof(FL_T *));
  int32_t *drawn = (int32_t *)(void *)(per_negative + used * (sizeof(FL_T *) + sizeof(double)));
  double *block_sums = fl_carve(&carver, blocks * sizeof(double));

  fl_nce_call *call = NULL;
  if (retain) {
    status = fl_nce_reserve_call(nce, n_ex, logits * sizeof(FL_T), &call);
    if (status != FASTLOSS_OK) return status;
    c = call->dz;
  }
  const int32_t *negatives = neg_samples;
  if (used > 0 && negatives == NULL) {
    status = fl_nce_draw(nce, drawn);
    if (status != FASTLOSS_OK) return status;
    negatives = drawn;
  }

  const FL_KERNEL_TABLE *kernels = fl_kernels()->FL_KERNELS;
  const FL_T *W = nce->W, *bias = nce->b;
  const double *log_q = nce->log_q;
  const int subtract = nce->subtract_log_q;
  const int remove_hits = nce->config.accidental_hits == FASTLOSS_HITS_REMOVE;
  for (size_t j = 0; j < used; j++) {
    const size_t n = (size_t)negatives[j];
    neg_rows[j] = W + n * d;
    neg_shift[j] = (double)bias[n] - (subtract ? log_q[n] : 0.0);
  }
  const FL_NAME(fl_nce_forward_job_) job = {.kernels = kernels,
                                            .X = X,
                                            .W = W,
                                            .bias = bias,
                                            .log_q = log_q,
                                            .target = target,
                                            .negatives = negatives,
                                            .neg_rows = neg_rows,
                                            .neg_shift = neg_shift,
                                            .xrows = xrows,
                                            .y = y,
                                            .q = q,
                                            .c = c,
                                            .y_pred = y_pred,
                                            .block_sums = block_sums,
                                            .n_ex = n_ex,
                                            .n_c = n_c,
                                            .d = d,
                                            .used = used,
                                            .stride = stride,
                                            .block_ex = block_ex,
                                            .subtract = subtract,
                                            .remove_hits = remove_hits};
  fl_parallel_for(fl_nce_threads((double)logits * (double)d), blocks,
                  FL_NAME(fl_nce_forward_blocks_), &job);
  *loss = fl_sum_pairwise(block_sums, blocks, sizeof(double));
  if (retain) {
    call->X = X;
    call->n_ex = n_ex;
    call->n_c = n_c;
    memcpy(call->target, target, n_ex * sizeof(int32_t));
    memcpy(call->negatives, negatives, k * sizeof(int32_t));
    nce->n_calls++;
    nce->pending_elements += rows * d;
  }
  return FASTLOSS_OK;
}

/* Scratch of one dW chunk task: k output row pointers, n_c context row
 * pointers and n_c coefficients, rounded up so the next task's pointers
 * stay aligned. */
static size_t FL_NAME(fl_nce_chunk_bytes_)(size_t k, size_t n_c) {
  const size_t bytes = k * sizeof(FL_T *) + n_c * (sizeof(FL_T *) + sizeof(FL_T));
  return (bytes + 63) / 64 * 64;
}

/* Scratch bytes the backward pass of `call` needs. */
static size_t FL_NAME(fl_nce_backward_scratch_)(const fastloss_nce *nce, const fl_nce_call *call,
                                                fl_carver *carver) {
  const size_t k = nce->k, n_c = call->n_c;
  const size_t block_ex = n_c >= FL_NCE_BLOCK_ROWS ? 1 : FL_NCE_BLOCK_ROWS / n_c;
  const size_t blocks = (call->n_ex + block_ex - 1) / block_ex;
  const size_t chunks = (nce->n_in + FL_NCE_CHUNK - 1) / FL_NCE_CHUNK;
  (void)fl_carve(carver, blocks * (1 + k) * sizeof(FL_T *));
  (void)fl_carve(carver, call->n_ex);
  (void)fl_carve(carver, chunks * FL_NAME(fl_nce_chunk_bytes_)(k, n_c));
  return carver->used;
}

/* The backward pass of one call: its dX blocks [first, last) of block_ex
 * examples (fl_nce_dx_blocks_), then its dW chunks [first, last) of
 * FL_NCE_CHUNK columns (fl_nce_dw_chunks_). */
typedef struct {
  const FL_KERNEL_TABLE *kernels;
  const FL_T *X, *W, *dz;
  const int32_t *target, *negatives;
  const FL_T **block_rows;
  FL_T *dX, *dW;
  const unsigned char *skip_target;
  char *per_chunk;
  size_t chunk_bytes, n_ex, n_c, rows, d, k, stride, block_ex;
} FL_NAME(fl_nce_backward_job_);

static void FL_NAME(fl_nce_dx_blocks_)(const void *arg, size_t first_block, size_t last_block) {
  const FL_NAME(fl_nce_backward_job_) *job = arg;
  const FL_KERNEL_TABLE *kernels = job->kernels;
  const FL_T *W = job->W, *dz = job->dz;
  const int32_t *target = job->target, *negatives = job->negatives;
  const FL_T **block_rows = job->block_rows;
  FL_T *dX = job->dX;
  const size_t n_ex = job->n_ex, n_c = job->n_c, d = job->d, k = job->k;
  const size_t stride = job->stride, block_ex = job->block_ex;
  for (size_t block = first_block; block < last_block; block++) {
    const FL_T **w = block_rows + block * stride;
    for (size_t j = 0; j < k; j++) w[1 + j] = W + (size_t)negatives[j] * d;
    const size_t first_ex = block * block_ex;
    const size_t last_ex = first_ex + block_ex < n_ex ? first_ex + block_ex : n_ex;
    for (size_t i = first_ex; i < last_ex; i++) {
      if (i + FL_NCE_PREFETCH_AHEAD < last_ex)
        fl_prefetch(W + (size_t)target[i + FL_NCE_PREFETCH_AHEAD] * d, d * sizeof(FL_T), 0);
      w[0] = W + (size_t)target[i] * d;
      for (size_t r = i * n_c; r < (i + 1) * n_c; r++) {
        FL_T *out = dX + r * d;
        memset(out, 0, d * sizeof(FL_T));
        kernels->nce_gemv(stride, d, dz + r * stride, w, out);
      }
    }
  }
}

static void FL_NAME(fl_nce_dw_chunks_)(const void *arg, size_t first_chunk, size_t last_chunk) {
  const FL_NAME(fl_nce_backward_job_) *job = arg;
  const FL_KERNEL_TABLE *kernels = job->kernels;
  const FL_T *X = job->X, *dz = job->dz;
  const int32_t *target = job->target, *negatives = job->negatives;
  FL_T *dW = job->dW;
  const unsigned char *skip_target = job->skip_target;
  char *per_chunk = job->per_chunk;
  const size_t chunk_bytes = job->chunk_bytes, n_ex = job->n_ex, n_c = job->n_c;
  const size_t rows = job->rows, d = job->d, k = job->k, stride = job->stride;
  for (size_t chunk = first_chunk; chunk < last_chunk; chunk++) {
    const size_t offset = chunk * FL_NCE_CHUNK;
    const size_t len = d - offset < FL_NCE_CHUNK ? d - offset : FL_NCE_CHUNK;
    char *mine = per_chunk + chunk * chunk_bytes;
    FL_T **neg_out = (FL_T **)(void *)mine;
    const FL_T **context = (const FL_T **)(void *)(mine + k * sizeof(FL_T *));
    FL_T *coef = (FL_T *)(void *)(mine + k * sizeof(FL_T *) + n_c * sizeof(FL_T *));
    for (size_t j = 0; j < k; j++) neg_out[j] = dW + (size_t)negatives[j] * d + offset;
    /* Every negative contribution first, then every target one: a fixed
     * order per element whatever the chunking. */
    for (size_t r = 0; r < rows; r++)
      kernels->nce_ger(k, len, dz + r * stride + 1, X + r * d + offset, neg_out);
    for (size_t i = 0; i < n_ex && i < FL_NCE_PREFETCH_AHEAD; i++)
      fl_prefetch(dW + (size_t)target[i] * d + offset, len * sizeof(FL_T), 1);
    for (size_t i = 0; i < n_ex; i++) {
      if (i + FL_NCE_PREFETCH_AHEAD < n_ex)
        fl_prefetch(dW + (size_t)target[i + FL_NCE_PREFETCH_AHEAD] * d + offset, len * sizeof(FL_T),
                    1);
      if (skip_target[i]) continue;
      for (size_t cc = 0; cc < n_c; cc++) {
        const size_t r = i * n_c + cc;
        context[cc] = X + r * d + offset;
        coef[cc] = dz[r * stride];
      }
      kernels->nce_gemv(n_c, len, coef, context, dW + (size_t)target[i] * d + offset);
    }
  }
}

/* dX of one retained call into dX; with retain_grads, its dW and db. */
static void FL_NAME(fl_nce_backward_)(fastloss_nce *nce, const fl_nce_call *call, int retain_grads,
                                      FL_T *dX) {
  const size_t n_ex = call->n_ex, n_c = call->n_c, rows = n_ex * n_c;
  const size_t k = nce->k, stride = 1 + k, d = nce->n_in;
  const FL_T *X = call->X;
  const FL_T *dz = call->dz;
  const int32_t *target = call->target, *negatives = call->negatives;
  const FL_T *W = nce->W;
  FL_T *dW = nce->dW, *db = nce->db;
  const FL_KERNEL_TABLE *kernels = fl_kernels()->FL_KERNELS;
  const size_t block_ex = n_c >= FL_NCE_BLOCK_ROWS ? 1 : FL_NCE_BLOCK_ROWS / n_c;
  const size_t blocks = (n_ex + block_ex - 1) / block_ex;
  const size_t chunks = (d + FL_NCE_CHUNK - 1) / FL_NCE_CHUNK;

  fl_carver carver = {nce->scratch, 0};
  const FL_T **block_rows = fl_carve(&carver, blocks * stride * sizeof(FL_T *));
  unsigned char *skip_target = fl_carve(&carver, n_ex);
  const size_t chunk_bytes = FL_NAME(fl_nce_chunk_bytes_)(k, n_c);
  char *per_chunk = fl_carve(&carver, chunks * chunk_bytes);

  const double work = (double)rows * (double)stride * (double)d;
  const int threads = fl_nce_threads(work);
  const FL_NAME(fl_nce_backward_job_) job = {.kernels = kernels,
                                             .X = X,
                                             .W = W,
                                             .dz = dz,
                                             .target = target,
                                             .negatives = negatives,
                                             .block_rows = block_rows,
                                             .dX = dX,
                                             .dW = dW,
                                             .skip_target = skip_target,
                                             .per_chunk = per_chunk,
                                             .chunk_bytes = chunk_bytes,
                                             .n_ex = n_ex,
                                             .n_c = n_c,
                                             .rows = rows,
                                             .d = d,
                                             .k = k,
                                             .stride = stride,
                                             .block_ex = block_ex};
  fl_parallel_for(threads, blocks, FL_NAME(fl_nce_dx_blocks_), &job);
  if (!retain_grads) return;

  /* numpy-ml drops the target's dW/db contribution of an example whose
   * target is among the negatives. */
  const int numpy_hits = nce->config.accidental_hits == FASTLOSS_HITS_NUMPY_ML;
  for (size_t i = 0; i < n_ex; i++) {
    skip_target[i] = 0;
    if (numpy_hits)
      for (size_t j = 0; j < k; j++)
        if (negatives[j] == target[i]) skip_target[i] = 1;
  }
  for (size_t j = 0; j < k; j++) fl_nce_touch(nce, negatives[j]);
  for (size_t i = 0; i < n_ex; i++) fl_nce_touch(nce, target[i]);

  const int chunk_threads = threads < (int)chunks ? threads : (int)chunks;
  fl_parallel_for(chunk_threads, chunks, FL_NAME(fl_nce_dw_chunks_), &job);
  for (size_t j = 0; j < k; j++) {
    double sum = 0.0;
    for (size_t r = 0; r < rows; r++) sum += (double)dz[r * stride + 1 + j];
    db[negatives[j]] += (FL_T)sum;
  }
  for (size_t i = 0; i < n_ex; i++) {
    if (skip_target[i]) continue;
    double sum = 0.0;
    for (size_t r = i * n_c; r < (i + 1) * n_c; r++) sum += (double)dz[r * stride];
    db[target[i]] += (FL_T)sum;
  }
}

fastloss_status FL_NAME(fastloss_nce_grad_)(fastloss_nce *nce, int retain_grads, int update_params,
                                            FL_T *dX) {
  if (nce == NULL) return fl_fail(FASTLOSS_ERR_NULL_POINTER, "nce is NULL");
  if (dX == NULL) return fl_fail(FASTLOSS_ERR_NULL_POINTER, "dX is NULL");
  if (nce->config.dtype != FL_DTYPE)
    return fl_fail(FASTLOSS_ERR_INVALID_ARGUMENT,
                   "fastloss_nce_grad_" FL_STR(FL_SUFFIX) " called on an %s loss",
                   nce->config.dtype == FASTLOSS_F32 ? "f32" : "f64");
  if (nce->frozen) return fl_fail(FASTLOSS_ERR_INVALID_STATE, "grad() on a frozen NCE loss");
  if (nce->n_calls == 0)
    return fl_fail(FASTLOSS_ERR_INVALID_STATE, "grad() with no retained loss() call");
  size_t scratch = 0, touches = 0;
  for (size_t c = 0; c < nce->n_calls; c++) {
    fl_carver carver = {NULL, 0};
    const size_t bytes = FL_NAME(fl_nce_backward_scratch_)(nce, &nce->calls[c], &carver);
    if (bytes > scratch) scratch = bytes;
    touches += nce->calls[c].n_ex + nce->k;
  }
  fastloss_status status = fl_nce_reserve_scratch(nce, scratch);
  if (status != FASTLOSS_OK) return status;
  if (retain_grads) {
    status = fl_nce_reserve_touched(nce, touches);
    if (status != FASTLOSS_OK) return status;
    if (update_params) {
      status = fl_nce_ensure_state(nce);
      if (status != FASTLOSS_OK) return status;
    }
  }
  FL_T *out = dX;
  for (size_t c = 0; c < nce->n_calls; c++) {
    const fl_nce_call *call = &nce->calls[c];
    FL_NAME(fl_nce_backward_)(nce, call, retain_grads, out);
    out += call->n_ex * call->n_c * nce->n_in;
  }
  nce->n_calls = 0;
  nce->pending_elements = 0;
  if (retain_grads && update_params) {
    FL_NAME(fl_nce_apply_)(nce);
    fl_nce_flush(nce);
  }
  return FASTLOSS_OK;
}

/* The optimizer constants of one step. */
typedef struct FL_NAME(fl_nce_step_) {
  fastloss_optimizer_kind kind;
  double lr, momentum, decay, decay1, decay2, eps;
  double bias1, bias2; /* Adam's 1 - decay^t */
  double clip, norm;   /* g is scaled by clip / norm when norm > clip > 0 */
} FL_NAME(fl_nce_step_);

/* One row of `len` parameters p with gradient g and state s0, s1.  One
 * loop per optimizer, so each vectorises. */
static void FL_NAME(fl_nce_step_row_)(const FL_NAME(fl_nce_step_) * step, size_t len, FL_T *p,
                                      const FL_T *g, FL_T *s0, FL_T *s1) {
  /* numpy-ml's rescaling g * clip / norm, as one factor: a division per
   * element would cost more than the whole SGD step. */
  const double scale = step->clip > 0.0 && step->norm > step->clip ? step->clip / step->norm : 1.0;
  const double lr = step->lr, eps = step->eps;
  switch (step->kind) {
    case FASTLOSS_OPT_SGD:
      if (s0 == NULL) {
        /* In the element type: the hot loop of sparse training, where a
         * round trip through double would halve the vector width. */
        const FL_T rate = (FL_T)(lr * scale);
        for (size_t e = 0; e < len; e++) p[e] -= rate * g[e];
      } else {
        const double momentum = step->momentum;
        for (size_t e = 0; e < len; e++) {
          const double update = momentum * (double)s0[e] + lr * ((double)g[e] * scale);
          s0[e] = (FL_T)update;
          p[e] = (FL_T)((double)p[e] - update);
        }
      }
      break;
    case FASTLOSS_OPT_ADAGRAD:
      for (size_t e = 0; e < len; e++) {
        const double grad = (double)g[e] * scale;
        const double cache = (double)s0[e] + grad * grad;
        s0[e] = (FL_T)cache;
        p[e] = (FL_T)((double)p[e] - lr * grad / (sqrt(cache) + eps));
      }
      break;
    case FASTLOSS_OPT_RMSPROP: {
      const double decay = step->decay;
      for (size_t e = 0; e < len; e++) {
        const double grad = (double)g[e] * scale;
        const double cache = decay * (double)s0[e] + (1.0 - decay) * grad * grad;
        s0[e] = (FL_T)cache;
        p[e] = (FL_T)((double)p[e] - lr * grad / (sqrt(cache) + eps));
      }
      break;
    }
    case FASTLOSS_OPT_ADAM: {
      const double d1 = step->decay1, d2 = step->decay2, bias1 = step->bias1, bias2 = step->bias2;
      for (size_t e = 0; e < len; e++) {
        const double grad = (double)g[e] * scale;
        const double mean = d1 * (double)s0[e] + (1.0 - d1) * grad;
        const double var = d2 * (double)s1[e] + (1.0 - d2) * grad * grad;
        s0[e] = (FL_T)mean;
        s1[e] = (FL_T)var;
        p[e] = (FL_T)((double)p[e] - lr * (mean / bias1) / (sqrt(var / bias2) + eps));
      }
      break;
    }
  }
}

/* The optimizer's rows [first, last): every row when dense, else the
 * touched ones. */
typedef struct {
  const fastloss_nce *nce;
  const FL_NAME(fl_nce_step_) * step;
  size_t len;
  FL_T *P, *s0, *s1;
  const FL_T *G;
  int dense;
} FL_NAME(fl_nce_apply_job_);

static void FL_NAME(fl_nce_apply_rows_)(const void *arg, size_t first, size_t last) {
  const FL_NAME(fl_nce_apply_job_) *job = arg;
  const fastloss_nce *nce = job->nce;
  const size_t len = job->len;
  FL_T *P = job->P, *s0 = job->s0, *s1 = job->s1;
  const FL_T *G = job->G;
  const int dense = job->dense;
  for (size_t t = first; t < last; t++) {
    if (!dense && t + FL_NCE_PREFETCH_AHEAD < last) {
      const size_t ahead = (size_t)nce->touched_rows[t + FL_NCE_PREFETCH_AHEAD] * len;
      fl_prefetch(P + ahead, len * sizeof(FL_T), 1);
      fl_prefetch(G + ahead, len * sizeof(FL_T), 0);
      if (s0 != NULL) fl_prefetch(s0 + ahead, len * sizeof(FL_T), 1);
      if (s1 != NULL) fl_prefetch(s1 + ahead, len * sizeof(FL_T), 1);
    }
    const size_t row = dense ? t : (size_t)nce->touched_rows[t];
    const size_t at = row * len;
    FL_NAME(fl_nce_step_row_)
    (job->step, len, P + at, G + at, s0 != NULL ? s0 + at : NULL, s1 != NULL ? s1 + at : NULL);
  }
}

/* Applies the optimizer to one parameter P (rows of len) with gradient G. */
static void FL_NAME(fl_nce_apply_param_)(const fastloss_nce *nce, FL_NAME(fl_nce_step_) step,
                                         size_t len, FL_T *P, const FL_T *G, FL_T *s0, FL_T *s1) {
  if (step.clip > 0.0) {
    /* Only touched rows can hold a nonzero gradient. */
    double squares = 0.0;
    for (size_t t = 0; t < nce->n_touched; t++) {
      const FL_T *g = G + (size_t)nce->touched_rows[t] * len;
      for (size_t e = 0; e < len; e++) squares += (double)g[e] * (double)g[e];
    }
    step.norm = sqrt(squares);
  }
  const int dense = fl_nce_dense_update(nce);
  const size_t count = dense ? nce->classes : nce->n_touched;
  const FL_NAME(fl_nce_apply_job_) job = {
      .nce = nce, .step = &step, .len = len, .P = P, .G = G, .s0 = s0, .s1 = s1, .dense = dense};
  fl_parallel_for(fl_nce_threads((double)count * (double)len), count, FL_NAME(fl_nce_apply_rows_),
                  &job);
}

/* update(): the optimizer over W and b (state already allocated). */
static void FL_NAME(fl_nce_apply_)(fastloss_nce *nce) {
  const fastloss_optimizer *o = &nce->opt;
  nce->steps++;
  FL_NAME(fl_nce_step_)
  step = {
      .kind = o->kind,
      .lr = o->lr,
      .momentum = o->momentum,
      .decay = o->decay,
      .decay1 = o->decay1,
      .decay2 = o->decay2,
      .eps = o->eps,
      .bias1 = 1.0 - pow(o->decay1, (double)nce->steps),
      .bias2 = 1.0 - pow(o->decay2, (double)nce->steps),
      .clip = o->clip_norm,
      .norm = 0.0,
  };
  FL_NAME(fl_nce_apply_param_)
  (nce, step, nce->n_in, nce->W, nce->dW, nce->state_W[0], nce->state_W[1]);
  FL_NAME(fl_nce_apply_param_)(nce, step, 1, nce->b, nce->db, nce->state_b[0], nce->state_b[1]);
}

#undef FL_STR
#undef FL_STR_
#undef FL_NAME
#undef FL_CAT
#undef FL_CAT_
