/* The element-type-specific half of vae.c, included once per type with FL_T
 * (float or double), FL_SUFFIX (f32, f64), FL_KERNELS (the field of
 * fl_isa_kernels), FL_KERNEL_TABLE (its type) and FL_EPS (the clip) defined. */

#define FL_CAT_(a, b) a##b
#define FL_CAT(a, b) FL_CAT_(a, b)
#define FL_NAME(base) FL_CAT(base, FL_SUFFIX)

/* Everything a row needs, shared read-only by the threads. */
typedef struct FL_NAME(fl_vae_job_) {
  const FL_KERNEL_TABLE *k;
  size_t N, T;
  const FL_T *y;
  size_t ld_y;
  const FL_T *y_pred;
  size_t ld_y_pred;
  const FL_T *t_mean, *t_log_var;
  size_t ld_t;
  int from_logits;
  FL_T scale; /* 1 / n */
  FL_T *row_rec, *row_kl;
  FL_T *dY_pred, *dLogVar, *dMean;
} FL_NAME(fl_vae_job_);

/* n rows in blocks of block_rows, for the range check (first_bad) or the
 * row terms (block_sums). */
typedef struct {
  const FL_NAME(fl_vae_job_) * job;
  size_t n, block_rows;
  size_t *first_bad;  /* per block: its first row outside [0, 1], or n */
  double *block_sums; /* per block: the sum of its row terms */
} FL_NAME(fl_vae_blocks_job_);

/* The range check's blocks [first, last). */
static void FL_NAME(fl_vae_range_blocks_)(const void *arg, size_t first_block, size_t last_block) {
  const FL_NAME(fl_vae_blocks_job_) *range = arg;
  const FL_NAME(fl_vae_job_) *job = range->job;
  for (size_t b = first_block; b < last_block; b++) {
    const size_t first = b * range->block_rows;
    const size_t last = first + range->block_rows < range->n ? first + range->block_rows : range->n;
    size_t bad = range->n;
    for (size_t i = first; i < last && bad == range->n; i++)
      if (job->k->vae_outside(job->N, job->y_pred + i * job->ld_y_pred) < job->N) bad = i;
    range->first_bad[b] = bad;
  }
}

/* The first y_pred value outside [0, 1], in row-major order, as an error;
 * FASTLOSS_OK if none.  At most FL_VAE_STACK_BLOCKS blocks of rows are
 * scanned in parallel; the smallest bad row is then scanned again for its
 * column. */
static fastloss_status FL_NAME(fl_vae_check_range_)(const FL_NAME(fl_vae_job_) * job, size_t n) {
  const size_t block_rows = (n + FL_VAE_STACK_BLOCKS - 1) / FL_VAE_STACK_BLOCKS;
  const size_t blocks = (n + block_rows - 1) / block_rows;
  size_t block_bad[FL_VAE_STACK_BLOCKS];
  const FL_NAME(fl_vae_blocks_job_)
      range = {.job = job, .n = n, .block_rows = block_rows, .first_bad = block_bad};
  fl_parallel_for(fl_threads_for((double)n * (double)job->N), blocks, FL_NAME(fl_vae_range_blocks_),
                  &range);
  size_t first_bad = n;
  for (size_t b = 0; b < blocks && first_bad == n; b++) first_bad = block_bad[b];
  if (first_bad == n) return FASTLOSS_OK;
  const FL_T *row = job->y_pred + first_bad * job->ld_y_pred;
  const size_t j = job->k->vae_outside(job->N, row);
  return fl_fail(FASTLOSS_ERR_INVALID_ARGUMENT, "y_pred[%zu][%zu] = %.9g is outside [0, 1]",
                 first_bad, j, (double)row[j]);
}

/* Row i: writes its gradients and per-row terms; returns rec_i + kl_i. */
static double FL_NAME(fl_vae_row_)(const FL_NAME(fl_vae_job_) * job, size_t i) {
  const FL_KERNEL_TABLE *k = job->k;
  const FL_T *y = job->y + i * job->ld_y;
  const FL_T *p = job->y_pred + i * job->ld_y_pred;
  FL_T *g = job->dY_pred != NULL ? job->dY_pred + i * job->ld_y_pred : NULL;
  const double rec = job->from_logits ? k->vae_bce_logits(job->N, y, p, job->scale, g)
                                      : k->vae_bce(job->N, y, p, (FL_T)FL_EPS, job->scale, g);
  const size_t t = i * job->ld_t;
  const double kl = k->vae_kl(job->T, job->t_mean + t, job->t_log_var + t, job->scale,
                              job->dLogVar != NULL ? job->dLogVar + t : NULL,
                              job->dMean != NULL ? job->dMean + t : NULL);
  if (job->row_rec != NULL) job->row_rec[i] = (FL_T)rec;
  if (job->row_kl != NULL) job->row_kl[i] = (FL_T)kl;
  return rec + kl;
}

/* The row terms' blocks [first, last). */
static void FL_NAME(fl_vae_blocks_)(const void *arg, size_t first_block, size_t last_block) {
  const FL_NAME(fl_vae_blocks_job_) *blocks = arg;
  for (size_t b = first_block; b < last_block; b++) {
    const size_t first = b * blocks->block_rows;
    const size_t last =
        first + blocks->block_rows < blocks->n ? first + blocks->block_rows : blocks->n;
    double sum = 0.0;
    for (size_t i = first; i < last; i++) sum += FL_NAME(fl_vae_row_)(blocks->job, i);
    blocks->block_sums[b] = sum;
  }
}

/* Runs every row, in parallel over blocks; returns the sum of the row terms. */
static fastloss_status FL_NAME(fl_vae_run_)(const FL_NAME(fl_vae_job_) * job, size_t n,
                                            double *total) {
  const size_t block_rows = fl_vae_block_rows(job->N, job->T);
  const size_t blocks = (n + block_rows - 1) / block_rows;
  double stack_sums[FL_VAE_STACK_BLOCKS];
  double *block_sums = stack_sums;
  if (blocks > FL_VAE_STACK_BLOCKS) {
    block_sums = malloc(blocks * sizeof(double));
    if (block_sums == NULL)
      return fl_fail(FASTLOSS_ERR_OUT_OF_MEMORY, "could not allocate %zu block sums", blocks);
  }
  /* The logs cost a few times a copy per element: weigh the work so that
   * small batches stay on one thread. */
  const FL_NAME(fl_vae_blocks_job_)
      blocks_job = {.job = job, .n = n, .block_rows = block_rows, .block_sums = block_sums};
  fl_parallel_for(fl_threads_for(4.0 * (double)n * (double)(job->N + job->T)), blocks,
                  FL_NAME(fl_vae_blocks_), &blocks_job);
  *total = fl_sum_pairwise(block_sums, blocks, sizeof(double));
  if (block_sums != stack_sums) free(block_sums);
  return FASTLOSS_OK;
}

fastloss_status FL_NAME(fastloss_vae_)(size_t n, size_t N, size_t T, const FL_T *y, size_t ld_y,
                                       const FL_T *y_pred, size_t ld_y_pred, const FL_T *t_mean,
                                       const FL_T *t_log_var, size_t ld_t,
                                       const fastloss_vae_params *params, FL_T *row_rec,
                                       FL_T *row_kl, double *loss, FL_T *dY_pred, FL_T *dLogVar,
                                       FL_T *dMean) {
  int from_logits = 0;
  fastloss_status status =
      fl_vae_check(n, N, T, y, ld_y, y_pred, ld_y_pred, t_mean, t_log_var, ld_t, params, row_rec,
                   row_kl, loss, dY_pred, dLogVar, dMean, sizeof(FL_T), &from_logits);
  if (status != FASTLOSS_OK) return status;
  const FL_NAME(fl_vae_job_) job = {
      .k = fl_kernels()->FL_KERNELS,
      .N = N,
      .T = T,
      .y = y,
      .ld_y = ld_y,
      .y_pred = y_pred,
      .ld_y_pred = ld_y_pred,
      .t_mean = t_mean,
      .t_log_var = t_log_var,
      .ld_t = ld_t,
      .from_logits = from_logits,
      .scale = (FL_T)(1.0 / (double)n),
      .row_rec = row_rec,
      .row_kl = row_kl,
      .dY_pred = dY_pred,
      .dLogVar = dLogVar,
      .dMean = dMean,
  };
  if (!from_logits) {
    status = FL_NAME(fl_vae_check_range_)(&job, n);
    if (status != FASTLOSS_OK) return status;
  }
  double total = 0.0;
  status = FL_NAME(fl_vae_run_)(&job, n, &total);
  if (status != FASTLOSS_OK) return status;
  if (loss != NULL) *loss = total / (double)n;
  return FASTLOSS_OK;
}

fastloss_status FL_NAME(fastloss_vae_loss_)(size_t n, size_t N, size_t T, const FL_T *y,
                                            const FL_T *y_pred, const FL_T *t_mean,
                                            const FL_T *t_log_var, double *loss) {
  if (loss == NULL) return fl_fail(FASTLOSS_ERR_NULL_POINTER, "loss is NULL");
  return FL_NAME(fastloss_vae_)(n, N, T, y, N, y_pred, N, t_mean, t_log_var, T, NULL, NULL, NULL,
                                loss, NULL, NULL, NULL);
}

fastloss_status FL_NAME(fastloss_vae_grad_)(size_t n, size_t N, size_t T, const FL_T *y,
                                            const FL_T *y_pred, const FL_T *t_mean,
                                            const FL_T *t_log_var, FL_T *dY_pred, FL_T *dLogVar,
                                            FL_T *dMean) {
  if (dY_pred == NULL) return fl_fail(FASTLOSS_ERR_NULL_POINTER, "dY_pred is NULL");
  if (dLogVar == NULL) return fl_fail(FASTLOSS_ERR_NULL_POINTER, "dLogVar is NULL");
  if (dMean == NULL) return fl_fail(FASTLOSS_ERR_NULL_POINTER, "dMean is NULL");
  return FL_NAME(fastloss_vae_)(n, N, T, y, N, y_pred, N, t_mean, t_log_var, T, NULL, NULL, NULL,
                                NULL, dY_pred, dLogVar, dMean);
}

#undef FL_NAME
#undef FL_CAT
#undef FL_CAT_
