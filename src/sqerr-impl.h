/* The element-type-specific half of sqerr.c, included once per type with
 * FL_T (float or double), FL_SUFFIX (f32, f64), FL_KERNELS (the field of
 * fl_isa_kernels) and FL_KERNEL_TABLE (its type) defined. */

#define FL_CAT_(a, b) a##b
#define FL_CAT(a, b) FL_CAT_(a, b)
#define FL_NAME(base) FL_CAT(base, FL_SUFFIX)

/* One call's arguments for the chunk loops below. */
typedef struct {
  const FL_KERNEL_TABLE *k;
  size_t count;
  const fl_act_args *act;
  const FL_T *z, *y, *p; /* sqerr_act's inputs (y, p may be NULL); sqerr_sum's y, y_pred */
  FL_T *f, *d;           /* sqerr_act's outputs */
  double *sums;          /* sqerr_sum's per-chunk sums */
} FL_NAME(fl_sqerr_job_);

/* Chunks [first, last) of the activation. */
static void FL_NAME(fl_sqerr_act_chunks_)(const void *arg, size_t first_chunk, size_t last_chunk) {
  const FL_NAME(fl_sqerr_job_) *job = arg;
  for (size_t c = first_chunk; c < last_chunk; c++) {
    const size_t first = c * FL_SQERR_CHUNK;
    const size_t len = job->count - first < FL_SQERR_CHUNK ? job->count - first : FL_SQERR_CHUNK;
    job->k->sqerr_act(len, job->act, job->z + first, job->y != NULL ? job->y + first : NULL,
                      job->p != NULL ? job->p + first : NULL,
                      job->f != NULL ? job->f + first : NULL,
                      job->d != NULL ? job->d + first : NULL);
  }
}

/* sqerr_act over count elements in chunks, in parallel.  z, y, p are the
 * kernel's inputs (y, p may be NULL), f and d its outputs. */
static void FL_NAME(fl_sqerr_act_run_)(size_t count, const fl_act_args *act, const FL_T *z,
                                       const FL_T *y, const FL_T *p, FL_T *f, FL_T *d) {
  const FL_NAME(fl_sqerr_job_) job = {.k = fl_kernels()->FL_KERNELS,
                                      .count = count,
                                      .act = act,
                                      .z = z,
                                      .y = y,
                                      .p = p,
                                      .f = f,
                                      .d = d};
  const size_t chunks = (count + FL_SQERR_CHUNK - 1) / FL_SQERR_CHUNK;
  fl_parallel_for(fl_threads_for(fl_act_cost(act->kind) * (double)count), chunks,
                  FL_NAME(fl_sqerr_act_chunks_), &job);
}

/* Chunks [first, last) of the loss: one sum each. */
static void FL_NAME(fl_sqerr_sum_chunks_)(const void *arg, size_t first_chunk, size_t last_chunk) {
  const FL_NAME(fl_sqerr_job_) *job = arg;
  for (size_t c = first_chunk; c < last_chunk; c++) {
    const size_t first = c * FL_SQERR_CHUNK;
    const size_t len = job->count - first < FL_SQERR_CHUNK ? job->count - first : FL_SQERR_CHUNK;
    job->sums[c] = job->k->sqerr_sum(len, job->y + first, job->p + first);
  }
}

/* fn (grad = 0) or grad (grad = 1) of the activation on its own. */
static fastloss_status FL_NAME(fl_activation_)(const fastloss_activation *act, size_t count,
                                               const FL_T *z, FL_T *out, int grad) {
  if (count == 0) return fl_fail(FASTLOSS_ERR_INVALID_SHAPE, "count = 0: must be at least 1");
  fastloss_status status = fl_check_matrix(z, "z", 1, count, count);
  if (status == FASTLOSS_OK && out == NULL)
    status = fl_fail(FASTLOSS_ERR_NULL_POINTER, "out is NULL");
  fl_act_args args;
  if (status == FASTLOSS_OK) status = fl_act_resolve(act, &args);
  if (status != FASTLOSS_OK) return status;
  const char *const names[] = {"z"};
  const void *const inputs[] = {z};
  status = fl_sqerr_check_output("out", out, names, inputs, 1, count * sizeof(FL_T));
  if (status != FASTLOSS_OK) return status;
  FL_NAME(fl_sqerr_act_run_)(count, &args, z, NULL, NULL, grad ? NULL : out, grad ? out : NULL);
  return FASTLOSS_OK;
}

fastloss_status FL_NAME(fastloss_activation_fn_)(const fastloss_activation *act, size_t count,
                                                 const FL_T *z, FL_T *out) {
  return FL_NAME(fl_activation_)(act, count, z, out, 0);
}

fastloss_status FL_NAME(fastloss_activation_grad_)(const fastloss_activation *act, size_t count,
                                                   const FL_T *z, FL_T *out) {
  return FL_NAME(fl_activation_)(act, count, z, out, 1);
}

fastloss_status FL_NAME(fastloss_sqerr_loss_)(size_t n, size_t m, const FL_T *y, const FL_T *y_pred,
                                              double *loss) {
  size_t count = 0;
  fastloss_status status = fl_sqerr_count(n, m, y, "y", &count);
  if (status == FASTLOSS_OK) status = fl_check_matrix(y_pred, "y_pred", n, m, m);
  if (status == FASTLOSS_OK && loss == NULL)
    status = fl_fail(FASTLOSS_ERR_NULL_POINTER, "loss is NULL");
  if (status != FASTLOSS_OK) return status;
  const size_t chunks = (count + FL_SQERR_CHUNK - 1) / FL_SQERR_CHUNK;
  double stack_sums[FL_SQERR_STACK_CHUNKS];
  double *sums = stack_sums;
  if (chunks > FL_SQERR_STACK_CHUNKS) {
    sums = malloc(chunks * sizeof(double));
    if (sums == NULL)
      return fl_fail(FASTLOSS_ERR_OUT_OF_MEMORY, "could not allocate %zu chunk sums", chunks);
  }
  const FL_NAME(fl_sqerr_job_)
      job = {.k = fl_kernels()->FL_KERNELS, .count = count, .y = y, .p = y_pred, .sums = sums};
  fl_parallel_for(fl_threads_for((double)count), chunks, FL_NAME(fl_sqerr_sum_chunks_), &job);
  *loss = 0.5 * fl_sum_pairwise(sums, chunks, sizeof(double));
  if (sums != stack_sums) free(sums);
  return FASTLOSS_OK;
}

fastloss_status FL_NAME(fastloss_sqerr_grad_)(size_t n, size_t m, const FL_T *y, const FL_T *y_pred,
                                              const FL_T *z, const fastloss_activation *act,
                                              FL_T *grad) {
  size_t count = 0;
  fastloss_status status = fl_sqerr_count(n, m, y, "y", &count);
  if (status == FASTLOSS_OK) status = fl_check_matrix(y_pred, "y_pred", n, m, m);
  if (status == FASTLOSS_OK) status = fl_check_matrix(z, "z", n, m, m);
  if (status == FASTLOSS_OK) status = fl_check_matrix(grad, "grad", n, m, m);
  fl_act_args args;
  if (status == FASTLOSS_OK) status = fl_act_resolve(act, &args);
  if (status != FASTLOSS_OK) return status;
  const char *const names[] = {"y", "y_pred", "z"};
  const void *const inputs[] = {y, y_pred, z};
  status = fl_sqerr_check_output("grad", grad, names, inputs, 3, count * sizeof(FL_T));
  if (status != FASTLOSS_OK) return status;
  FL_NAME(fl_sqerr_act_run_)(count, &args, z, y, y_pred, NULL, grad);
  return FASTLOSS_OK;
}

#undef FL_NAME
#undef FL_CAT
#undef FL_CAT_
