/* The element-type-specific half of wgangp.c, included once per type with
 * FL_T (float or double), FL_SUFFIX (f32, f64), FL_KERNELS (the field of
 * fl_isa_kernels) and FL_KERNEL_TABLE (its type) defined. */

#define FL_CAT_(a, b) a##b
#define FL_CAT(a, b) FL_CAT_(a, b)
#define FL_NAME(base) FL_CAT(base, FL_SUFFIX)

/* sum_k x_k in double, in order. */
static double FL_NAME(fl_wgangp_sum_)(size_t count, const FL_T *x) {
  double sum = 0.0;
  for (size_t k = 0; k < count; k++) sum += (double)x[k];
  return sum;
}

/* The penalty's blocks [first, last) of block_rows rows: each block's sum
 * of (||g_i|| - 1)^2 and of (sqrt(lambda) (||g_i|| - 1))^2, and dg's rows
 * when dg is not NULL. */
typedef struct {
  const FL_KERNEL_TABLE *k;
  size_t n, n_feats, ld, block_rows;
  const FL_T *g;
  FL_T *dg;
  double factor, root_lambda;
  double *block_sums, *scaled_sums;
} FL_NAME(fl_wgangp_job_);

static void FL_NAME(fl_wgangp_blocks_)(const void *arg, size_t first_block, size_t last_block) {
  const FL_NAME(fl_wgangp_job_) *job = arg;
  const FL_KERNEL_TABLE *k = job->k;
  const size_t n = job->n, n_feats = job->n_feats, ld = job->ld, block_rows = job->block_rows;
  const FL_T *g = job->g;
  FL_T *dg = job->dg;
  const double factor = job->factor, root_lambda = job->root_lambda;
  /* The smallest and largest finite magnitudes of FL_T. */
  const double t_min = sizeof(FL_T) == sizeof(float) ? FLT_MIN : DBL_MIN;
  const double t_max = sizeof(FL_T) == sizeof(float) ? FLT_MAX : DBL_MAX;
  for (size_t b = first_block; b < last_block; b++) {
    const size_t first = b * block_rows;
    const size_t last = first + block_rows < n ? first + block_rows : n;
    double sum = 0.0, scaled_sum = 0.0;
    for (size_t i = first; i < last; i++) {
      const double norm = k->wgangp_norm(n_feats, g + i * ld);
      const double deviation = norm - 1.0;
      const double scaled = root_lambda * deviation;
      sum += deviation * deviation;
      scaled_sum += scaled * scaled;
      if (dg != NULL) {
        /* A zero row's gradient is 0 (the coefficient would be huge, and
         * past FL_T's range inf * 0): any negative coefficient gives the
         * signed zeros of coef * g. */
        const double coef = norm == 0.0 ? -1.0 : factor * deviation / (norm + FL_WGANGP_EPS64);
        const FL_T coef_t = (FL_T)coef;
        if (coef == 0.0 || (fabs((double)coef_t) >= t_min && fabs((double)coef_t) <= t_max)) {
          k->wgangp_scale(n_feats, g + i * ld, coef_t, dg + i * ld);
        } else {
          /* The coefficient overflows FL_T or loses its digits in it (a
           * huge or tiny lambda): scale in double, where coef * g may
           * still be an ordinary FL_T. */
          for (size_t j = 0; j < n_feats; j++)
            dg[i * ld + j] = (FL_T)(coef * (double)g[i * ld + j]);
        }
      }
    }
    job->block_sums[b] = sum;
    job->scaled_sums[b] = scaled_sum;
  }
}

/* lambda sum_i (||g_i|| - 1)^2 over the rows: lambda times the sum, or,
 * where that sum overflows and lambda < 1, the sum of
 * (sqrt(lambda) (||g_i|| - 1))^2, which a tiny lambda keeps finite (with
 * lambda = 0 that is 0 * deviation: 0, or NaN for a NaN or infinite row).
 * Writes dGradInterp when wanted; blocks in parallel. */
static fastloss_status FL_NAME(fl_wgangp_penalty_)(size_t n, size_t n_feats, const FL_T *g,
                                                   size_t ld, double lambda, FL_T *dg,
                                                   double *total) {
  const FL_KERNEL_TABLE *k = fl_kernels()->FL_KERNELS;
  const size_t block_rows = fl_wgangp_block_rows(n_feats);
  const size_t blocks = (n + block_rows - 1) / block_rows;
  double stack_sums[2 * FL_WGANGP_STACK_BLOCKS];
  double *block_sums = stack_sums;
  if (blocks > FL_WGANGP_STACK_BLOCKS) {
    block_sums = malloc(2 * blocks * sizeof(double));
    if (block_sums == NULL)
      return fl_fail(FASTLOSS_ERR_OUT_OF_MEMORY, "could not allocate %zu block sums", 2 * blocks);
  }
  double *scaled_sums = block_sums + blocks;
  const FL_NAME(fl_wgangp_job_) job = {.k = k,
                                       .n = n,
                                       .n_feats = n_feats,
                                       .ld = ld,
                                       .block_rows = block_rows,
                                       .g = g,
                                       .dg = dg,
                                       .factor = 2.0 * lambda / (double)n,
                                       .root_lambda = sqrt(lambda),
                                       .block_sums = block_sums,
                                       .scaled_sums = scaled_sums};
  fl_parallel_for(fl_threads_for(2.0 * (double)n * (double)n_feats), blocks,
                  FL_NAME(fl_wgangp_blocks_), &job);
  const double plain = fl_sum_pairwise(block_sums, blocks, sizeof(double));
  if (lambda == 0.0 || (isinf(plain) && lambda < 1.0))
    *total = fl_sum_pairwise(scaled_sums, blocks, sizeof(double)); /* lambda = 0: 0 * deviation */
  else
    *total = lambda * plain;
  if (block_sums != stack_sums) free(block_sums);
  return FASTLOSS_OK;
}

fastloss_status FL_NAME(fastloss_wgangp_)(int module, size_t n_fake, const FL_T *Y_fake,
                                          size_t n_real, const FL_T *Y_real, size_t n,
                                          size_t n_feats, const FL_T *gradInterp, size_t ld_grad,
                                          const fastloss_wgangp_params *params, double *loss,
                                          FL_T *dY_fake, FL_T *dY_real, FL_T *dGradInterp) {
  int critic = 0;
  double lambda = 0.0;
  fastloss_status status =
      fl_wgangp_check(module, n_fake, Y_fake, n_real, Y_real, n, n_feats, gradInterp, ld_grad,
                      params, loss, dY_fake, dY_real, dGradInterp, sizeof(FL_T), &critic, &lambda);
  if (status != FASTLOSS_OK) return status;
  const double mean_fake =
      loss != NULL ? FL_NAME(fl_wgangp_sum_)(n_fake, Y_fake) / (double)n_fake : 0.0;
  if (!critic) {
    if (loss != NULL) *loss = -mean_fake;
    if (dY_fake != NULL) {
      const FL_T value = (FL_T)(-1.0 / (double)n_fake);
      for (size_t k = 0; k < n_fake; k++) dY_fake[k] = value;
    }
    return FASTLOSS_OK;
  }
  double penalty = 0.0;
  if (loss != NULL || dGradInterp != NULL) {
    status =
        FL_NAME(fl_wgangp_penalty_)(n, n_feats, gradInterp, ld_grad, lambda, dGradInterp, &penalty);
    if (status != FASTLOSS_OK) return status;
  }
  if (loss != NULL) {
    const double mean_real = FL_NAME(fl_wgangp_sum_)(n_real, Y_real) / (double)n_real;
    *loss = mean_fake - mean_real + penalty / (double)n;
  }
  if (dY_fake != NULL) {
    const FL_T value = (FL_T)(1.0 / (double)n_fake);
    for (size_t k = 0; k < n_fake; k++) dY_fake[k] = value;
  }
  if (dY_real != NULL) {
    const FL_T value = (FL_T)(-1.0 / (double)n_real);
    for (size_t k = 0; k < n_real; k++) dY_real[k] = value;
  }
  return FASTLOSS_OK;
}

fastloss_status FL_NAME(fastloss_wgangp_loss_)(int module, size_t n_ex, size_t n_feats,
                                               const FL_T *Y_fake, const FL_T *Y_real,
                                               const FL_T *gradInterp,
                                               const fastloss_wgangp_params *params, double *loss) {
  if (loss == NULL) return fl_fail(FASTLOSS_ERR_NULL_POINTER, "loss is NULL");
  return FL_NAME(fastloss_wgangp_)(module, n_ex, Y_fake, n_ex, Y_real, n_ex, n_feats, gradInterp,
                                   n_feats, params, loss, NULL, NULL, NULL);
}

fastloss_status FL_NAME(fastloss_wgangp_grad_)(int module, size_t n_ex, size_t n_feats,
                                               const FL_T *Y_fake, const FL_T *Y_real,
                                               const FL_T *gradInterp,
                                               const fastloss_wgangp_params *params, FL_T *dY_fake,
                                               FL_T *dY_real, FL_T *dGradInterp) {
  if (dY_fake == NULL) return fl_fail(FASTLOSS_ERR_NULL_POINTER, "dY_fake is NULL");
  if (module == FASTLOSS_WGANGP_CRITIC) {
    if (dY_real == NULL) return fl_fail(FASTLOSS_ERR_NULL_POINTER, "dY_real is NULL");
    if (dGradInterp == NULL) return fl_fail(FASTLOSS_ERR_NULL_POINTER, "dGradInterp is NULL");
  }
  return FL_NAME(fastloss_wgangp_)(module, n_ex, Y_fake, n_ex, Y_real, n_ex, n_feats, gradInterp,
                                   n_feats, params, NULL, dY_fake, dY_real, dGradInterp);
}

#undef FL_NAME
#undef FL_CAT
#undef FL_CAT_
