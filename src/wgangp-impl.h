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

/* sum_i (||g_i|| - 1)^2 over the rows, writing dGradInterp when wanted;
 * blocks in parallel. */
static fastloss_status FL_NAME(fl_wgangp_penalty_)(size_t n, size_t n_feats, const FL_T *g,
                                                   size_t ld, double lambda, FL_T *dg,
                                                   double *total) {
  const FL_KERNEL_TABLE *k = fl_kernels()->FL_KERNELS;
  const size_t block_rows = fl_wgangp_block_rows(n_feats);
  const size_t blocks = (n + block_rows - 1) / block_rows;
  double stack_sums[FL_WGANGP_STACK_BLOCKS];
  double *block_sums = stack_sums;
  if (blocks > FL_WGANGP_STACK_BLOCKS) {
    block_sums = malloc(blocks * sizeof(double));
    if (block_sums == NULL)
      return fl_fail(FASTLOSS_ERR_OUT_OF_MEMORY, "could not allocate %zu block sums", blocks);
  }
  const double factor = 2.0 * lambda / (double)n;
  const int threads = fl_threads_for(2.0 * (double)n * (double)n_feats);
  (void)threads;
#if FL_HAVE_OPENMP
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
#endif
  for (size_t b = 0; b < blocks; b++) {
    const size_t first = b * block_rows;
    const size_t last = first + block_rows < n ? first + block_rows : n;
    double sum = 0.0;
    for (size_t i = first; i < last; i++) {
      const double norm = k->wgangp_norm(n_feats, g + i * ld);
      const double deviation = norm - 1.0;
      sum += deviation * deviation;
      if (dg != NULL) {
        /* A zero row: the coefficient is large but finite, the gradient 0. */
        const double coef = factor * deviation / (norm + FL_WGANGP_EPS64);
        k->wgangp_scale(n_feats, g + i * ld, (FL_T)coef, dg + i * ld);
      }
    }
    block_sums[b] = sum;
  }
  *total = fl_sum_pairwise(block_sums, blocks, sizeof(double));
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
    *loss = mean_fake - mean_real + lambda * (penalty / (double)n);
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
