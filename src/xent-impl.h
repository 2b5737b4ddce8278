/* The element-type-specific half of xent.c, included once per type with
 * FL_T (float or double), FL_SUFFIX (f32, f64), FL_KERNELS (the field of
 * fl_isa_kernels) and FL_KERNEL_TABLE (its type) defined. */

#define FL_CAT_(a, b) a##b
#define FL_CAT(a, b) FL_CAT_(a, b)
#define FL_NAME(base) FL_CAT(base, FL_SUFFIX)

/* Everything a row needs, shared read-only by the threads. */
typedef struct FL_NAME(fl_xent_job_) {
  const FL_KERNEL_TABLE *k;
  size_t m;
  const FL_T *z;
  size_t ld_z;
  const int32_t *labels; /* hard labels, or NULL */
  const FL_T *target;    /* soft labels, or NULL */
  size_t ld_target;
  const FL_T *w; /* class weights or NULL */
  int use_ignore_index;
  int32_t ignore_index;
  double smoothing;
  double wsum;  /* sum of the class weights (m without weights) */
  double scale; /* reduction scale r of the gradient */
  FL_T *row_loss;
  FL_T *grad;
  size_t ld_grad;
  fl_xent_mode mode; /* how every row of the call is computed */
} FL_NAME(fl_xent_job_);

/* A row whose logits are all -inf (the max ignores NaN, so also a row of
 * -inf and NaN): loss +inf (NaN when the row holds a NaN, which `nan_seen`
 * says), gradient 0 (NaN with a NaN). */
static double FL_NAME(fl_xent_degenerate_row_)(const FL_NAME(fl_xent_job_) * job, FL_T *g,
                                               int nan_seen, double coefficient) {
  if (g != NULL) {
    const FL_T fill = nan_seen ? (FL_T)NAN : (FL_T)0;
    for (size_t j = 0; j < job->m; j++) g[j] = fill;
  }
  if (nan_seen) return NAN;
  return coefficient != 0.0 ? INFINITY : 0.0;
}

static int FL_NAME(fl_has_nan_)(size_t m, const FL_T *x) {
  for (size_t j = 0; j < m; j++)
    if (isnan(x[j])) return 1;
  return 0;
}

/* A thread's rows in order, on the two- and three-pass paths: the exp pass
 * of row i (xent_rexpsum or xent_rexpstore) also takes the max of row i + 1,
 * whose read from memory then overlaps the exps, and row i + 1 skips its
 * max pass.  `next` is the next row's logits, or NULL for a thread's last
 * row; `next_max` is valid for row `next_row` when `have_next_max`.  A max
 * is the same value whichever kernel takes it, so results do not depend on
 * where a thread's rows begin. */
typedef struct FL_NAME(fl_xent_pipe_) {
  const FL_T *next;
  size_t next_row;
  int have_next_max;
  FL_T next_max;
} FL_NAME(fl_xent_pipe_);

/* Called by the exp pass of row i (logits z): the row whose max it takes
 * into pipe->next_max (z itself, ignored, for a thread's last row). */
static const FL_T *FL_NAME(fl_xent_pipe_advance_)(FL_NAME(fl_xent_pipe_) * pipe, size_t i,
                                                   const FL_T *z) {
  pipe->have_next_max = pipe->next != NULL;
  pipe->next_row = i + 1;
  return pipe->next != NULL ? pipe->next : z;
}

/* Phase 1 of row i, reading only: the max and, except on the three-pass
 * path, the sum of exp(z - max).  Returns 0 for a degenerate (all -inf)
 * row. */
static int FL_NAME(fl_xent_row_stats_)(const FL_NAME(fl_xent_job_) * job, size_t i, const FL_T *z,
                                       FL_NAME(fl_xent_pipe_) * pipe, FL_T *max, FL_T *sum) {
  const FL_KERNEL_TABLE *k = job->k;
  *sum = 0;
  if (job->mode == FL_XENT_ONLINE) {
    k->xent_ronline(job->m, z, max, sum);
    return *max != -INFINITY;
  }
  *max = pipe->have_next_max && pipe->next_row == i ? pipe->next_max : k->xent_rmax(job->m, z);
  if (*max == -INFINITY) return 0;
  if (job->mode == FL_XENT_TWO_PASS)
    *sum = k->xent_rexpsum(job->m, z, *max, FL_NAME(fl_xent_pipe_advance_)(pipe, i, z),
                           &pipe->next_max);
  return 1;
}

/* Phase 3 of row i, after every read the loss needs (the gradient may alias
 * the logits): g = exp(z - max) * alpha / sum - (beta + gamma t) w.  On the
 * three-pass path it computes the sum while storing the exps, and the next
 * row's max. */
static void FL_NAME(fl_xent_row_grad_)(const FL_NAME(fl_xent_job_) * job, size_t i, const FL_T *z,
                                       FL_T *g, FL_NAME(fl_xent_pipe_) * pipe, FL_T max, FL_T *sum,
                                       double alpha, double beta, double gamma, const FL_T *t,
                                       const FL_T *w) {
  const FL_KERNEL_TABLE *k = job->k;
  const size_t m = job->m;
  const int affine = beta != 0.0 || t != NULL;
  if (job->mode == FL_XENT_THREE_PASS) {
    *sum = k->xent_rexpstore(m, z, max, g, FL_NAME(fl_xent_pipe_advance_)(pipe, i, z),
                             &pipe->next_max);
    k->xent_vaffine(m, g, (FL_T)(alpha / (double)*sum), (FL_T)beta, (FL_T)gamma, t,
                    affine ? w : NULL);
  } else {
    k->xent_vexpscale(m, z, max, (FL_T)(alpha / (double)*sum), g);
    if (affine) k->xent_vaffine(m, g, (FL_T)1, (FL_T)beta, (FL_T)gamma, t, w);
  }
}

/* Row i with an integer label.  Terms are taken relative to the row max, so
 * huge logits cancel exactly: loss = label_coef (max - z_y + log sum)
 *                                  + uniform_coef (wsum log sum - sum_c w_c (z_c - max)). */
static double FL_NAME(fl_xent_hard_row_)(const FL_NAME(fl_xent_job_) * job, size_t i,
                                         FL_NAME(fl_xent_pipe_) * pipe) {
  const size_t m = job->m;
  const FL_T *z = job->z + i * job->ld_z;
  FL_T *g = job->grad != NULL ? job->grad + i * job->ld_grad : NULL;
  const int32_t y = job->labels[i];
  if (job->use_ignore_index && y == job->ignore_index) {
    if (g != NULL) memset(g, 0, m * sizeof(FL_T));
    return 0.0;
  }
  const FL_T *w = job->w;
  const double s = job->smoothing;
  const double label_coef = (1.0 - s) * (w != NULL ? (double)w[y] : 1.0);
  const double uniform_coef = s / (double)m;
  const double target_sum = label_coef + uniform_coef * job->wsum;
  FL_T max, sum;
  if (!FL_NAME(fl_xent_row_stats_)(job, i, z, pipe, &max, &sum))
    return FL_NAME(fl_xent_degenerate_row_)(job, g, FL_NAME(fl_has_nan_)(m, z), target_sum);
  const double max_minus_zy = (double)max - (double)z[y];
  const double zw = s > 0.0 ? (double)job->k->xent_rdot(m, z, max, w, NULL) : 0.0;
  if (g != NULL) {
    FL_NAME(fl_xent_row_grad_)(job, i, z, g, pipe, max, &sum, job->scale * target_sum,
                               job->scale * uniform_coef, 0.0, NULL, w);
    g[y] -= (FL_T)(job->scale * label_coef);
  }
  const double log_sum = log((double)sum);
  double loss = 0.0;
  if (label_coef != 0.0) loss += label_coef * (max_minus_zy + log_sum);
  if (uniform_coef != 0.0) loss += uniform_coef * (job->wsum * log_sum - zw);
  return loss;
}

/* Row i with a soft target row: loss = target_sum log sum - sum_c t_c (z_c - max). */
static double FL_NAME(fl_xent_soft_row_)(const FL_NAME(fl_xent_job_) * job, size_t i,
                                         FL_NAME(fl_xent_pipe_) * pipe) {
  const FL_KERNEL_TABLE *k = job->k;
  const size_t m = job->m;
  const FL_T *z = job->z + i * job->ld_z;
  const FL_T *t = job->target + i * job->ld_target;
  FL_T *g = job->grad != NULL ? job->grad + i * job->ld_grad : NULL;
  const FL_T *w = job->w;
  const double s = job->smoothing;
  const double uniform_coef = s / (double)m;
  const double target_sum =
      (1.0 - s) * (double)k->xent_rdot(m, t, (FL_T)0, w, NULL) + uniform_coef * job->wsum;
  FL_T max, sum;
  if (!FL_NAME(fl_xent_row_stats_)(job, i, z, pipe, &max, &sum))
    return FL_NAME(fl_xent_degenerate_row_)(job, g, FL_NAME(fl_has_nan_)(m, z), target_sum);
  double tz = (1.0 - s) * (double)k->xent_rdot(m, z, max, t, w);
  if (s > 0.0) tz += uniform_coef * (double)k->xent_rdot(m, z, max, w, NULL);
  if (g != NULL)
    FL_NAME(fl_xent_row_grad_)(job, i, z, g, pipe, max, &sum,
                               job->scale * target_sum, job->scale * uniform_coef,
                               job->scale * (1.0 - s), t, w);
  return target_sum * log((double)sum) - tz;
}

/* The loss of one row from the smallrows kernel's results, terms relative
 * to the row max as in fl_xent_hard_row_; a zero coefficient drops its term
 * (so that, e.g., a class weight of 0 gives 0, not 0 * inf). */
static inline double FL_NAME(fl_xent_small_loss_)(double label_coef, double uniform_coef, size_t m,
                                                  FL_T max, FL_T zy, FL_T logsum, FL_T zsum) {
  double loss = 0.0;
  if (label_coef != 0.0) loss += label_coef * (((double)max - (double)zy) + (double)logsum);
  if (uniform_coef != 0.0) loss += uniform_coef * ((double)m * (double)logsum - (double)zsum);
  return loss;
}

/* Rows [first, first + count) of at most FL_XENT_SMALL_M classes, hard
 * labels, through the rows-across-lanes kernel, which also applies the label
 * term of the gradient and reads z at the label.  Returns the summed loss.
 * Without weights every row has the same coefficients; an ignored row's
 * kernel results are then computed for nothing and overwritten here. */
static double FL_NAME(fl_xent_small_rows_)(const FL_NAME(fl_xent_job_) * job, size_t first,
                                           size_t count) {
  const size_t m = job->m;
  const FL_T *w = job->w;
  const int32_t *labels = job->labels + first;
  const double s = job->smoothing;
  const double uniform_coef = s / (double)m;
  const double uniform_sum = uniform_coef * job->wsum;
  FL_T alpha[FL_XENT_SMALL_ROWS], beta[FL_XENT_SMALL_ROWS], label_scaled[FL_XENT_SMALL_ROWS];
  FL_T max[FL_XENT_SMALL_ROWS], logsum[FL_XENT_SMALL_ROWS], zsum[FL_XENT_SMALL_ROWS];
  FL_T zy[FL_XENT_SMALL_ROWS];
  FL_T *g = job->grad != NULL ? job->grad + first * job->ld_grad : NULL;
  if (g != NULL) {
    if (w == NULL) {
      const FL_T a = (FL_T)(job->scale * ((1.0 - s) + uniform_sum));
      const FL_T b = (FL_T)(job->scale * uniform_coef), l = (FL_T)(job->scale * (1.0 - s));
      for (size_t r = 0; r < count; r++) {
        alpha[r] = a;
        beta[r] = b;
        label_scaled[r] = l;
      }
    } else {
      for (size_t r = 0; r < count; r++) {
        const int32_t y = labels[r];
        if (job->use_ignore_index && y == job->ignore_index) {
          alpha[r] = beta[r] = label_scaled[r] = 0;
          continue;
        }
        const double label_coef = (1.0 - s) * (double)w[y];
        alpha[r] = (FL_T)(job->scale * (label_coef + uniform_sum));
        beta[r] = (FL_T)(job->scale * uniform_coef);
        label_scaled[r] = (FL_T)(job->scale * label_coef);
      }
    }
  }
  const int with_grad = g != NULL; /* without a gradient the coefficients are not read */
  job->k->xent_smallrows(count, m, job->z + first * job->ld_z, job->ld_z, labels,
                         with_grad ? alpha : NULL, with_grad ? beta : NULL,
                         with_grad ? label_scaled : NULL, g, job->ld_grad, max, logsum, zsum, zy);
  /* Without weights, the losses of every row first (a loop the compiler
   * vectorises: the coefficients are the same for every row), then the rare
   * rows (ignored, all -inf) again below. */
  double loss[FL_XENT_SMALL_ROWS];
  int special = w != NULL;
  if (!special) {
    for (size_t r = 0; r < count; r++) {
      loss[r] = FL_NAME(fl_xent_small_loss_)(1.0 - s, uniform_coef, m, max[r], zy[r], logsum[r],
                                             zsum[r]);
      special |= max[r] == -INFINITY;
    }
    if (job->use_ignore_index)
      for (size_t r = 0; r < count; r++) special |= labels[r] == job->ignore_index;
  }
  for (size_t r = 0; special && r < count; r++) {
    FL_T *gi = g != NULL ? g + r * job->ld_grad : NULL;
    const int32_t y = labels[r];
    if (job->use_ignore_index && y == job->ignore_index) {
      if (gi != NULL) memset(gi, 0, m * sizeof(FL_T));
      loss[r] = 0.0;
      continue;
    }
    const double label_coef = (1.0 - s) * (w != NULL ? (double)w[y] : 1.0);
    if (max[r] == -INFINITY) {
      /* zsum is NaN exactly when the row held a NaN (-inf otherwise); the
       * logits themselves may already be overwritten by an in-place gradient. */
      loss[r] = FL_NAME(fl_xent_degenerate_row_)(job, gi, isnan(zsum[r]), label_coef + uniform_sum);
      continue;
    }
    loss[r] = FL_NAME(fl_xent_small_loss_)(label_coef, uniform_coef, m, max[r], zy[r], logsum[r],
                                           zsum[r]);
  }
  if (job->row_loss != NULL)
    for (size_t r = 0; r < count; r++) job->row_loss[first + r] = (FL_T)loss[r];
  double total = 0.0;
  for (size_t r = 0; r < count; r++) total += loss[r];
  return total;
}

/* The blocks of rows, run by each thread of the call's region
 * (fl_parallel). */
typedef struct FL_NAME(fl_xent_blocks_) {
  const FL_NAME(fl_xent_job_) * job;
  size_t n, block_rows, blocks;
  int small;
  double *block_sums; /* [blocks] */
} FL_NAME(fl_xent_blocks_);

static void FL_NAME(fl_xent_region_)(const void *arg) {
  const FL_NAME(fl_xent_blocks_) *r = arg;
  const FL_NAME(fl_xent_job_) *job = r->job;
  const size_t n = r->n, block_rows = r->block_rows;
  /* Each thread takes a contiguous share of the blocks, so that its rows
   * follow one another (fl_xent_pipe_). */
  size_t b_first, b_last;
  fl_thread_share(r->blocks, &b_first, &b_last);
  const size_t rows_end = b_last * block_rows < n ? b_last * block_rows : n;
  FL_NAME(fl_xent_pipe_) pipe = {0};
  for (size_t b = b_first; b < b_last; b++) {
    const size_t first = b * block_rows;
    const size_t last = first + block_rows < n ? first + block_rows : n;
    double sum = 0.0;
    if (r->small) {
      for (size_t i = first; i < last; i += FL_XENT_SMALL_ROWS) {
        const size_t count = last - i < FL_XENT_SMALL_ROWS ? last - i : FL_XENT_SMALL_ROWS;
        sum += FL_NAME(fl_xent_small_rows_)(job, i, count);
      }
    } else {
      for (size_t i = first; i < last; i++) {
        pipe.next = i + 1 < rows_end ? job->z + (i + 1) * job->ld_z : NULL;
        const double loss = job->labels != NULL ? FL_NAME(fl_xent_hard_row_)(job, i, &pipe)
                                                : FL_NAME(fl_xent_soft_row_)(job, i, &pipe);
        if (job->row_loss != NULL) job->row_loss[i] = (FL_T)loss;
        sum += loss;
      }
    }
    r->block_sums[b] = sum;
  }
}

/* Runs every row, in parallel over blocks; returns the total loss. */
static fastloss_status FL_NAME(fl_xent_run_)(const FL_NAME(fl_xent_job_) * job, size_t n,
                                             double *total) {
  const size_t m = job->m;
  const size_t block_rows = fl_xent_block_rows(m);
  const size_t blocks = (n + block_rows - 1) / block_rows;
  double stack_sums[FL_XENT_STACK_BLOCKS];
  double *block_sums = stack_sums;
  if (blocks > FL_XENT_STACK_BLOCKS) {
    block_sums = malloc(blocks * sizeof(double));
    if (block_sums == NULL)
      return fl_fail(FASTLOSS_ERR_OUT_OF_MEMORY, "could not allocate %zu block sums", blocks);
  }
  const FL_NAME(fl_xent_blocks_) run = {.job = job,
                                        .n = n,
                                        .block_rows = block_rows,
                                        .blocks = blocks,
                                        .small = job->labels != NULL && m <= FL_XENT_SMALL_M &&
                                                 !(job->smoothing > 0.0 && job->w != NULL),
                                        .block_sums = block_sums};
  fl_parallel(fl_threads_for((double)n * (double)m), FL_NAME(fl_xent_region_), &run);
  *total = fl_sum_pairwise(block_sums, blocks, sizeof(double));
  if (block_sums != stack_sums) free(block_sums);
  return FASTLOSS_OK;
}

static double FL_NAME(fl_weight_sum_)(const FL_T *w, size_t m) {
  if (w == NULL) return (double)m;
  double sum = 0.0;
  for (size_t j = 0; j < m; j++) sum += (double)w[j];
  return sum;
}

fastloss_status FL_NAME(fastloss_xent_)(size_t n, size_t m, const FL_T *logits, size_t ld_logits,
                                        const int32_t *labels, const fastloss_xent_params *params,
                                        FL_T *row_loss, double *loss, FL_T *grad, size_t ld_grad) {
  fl_xent_config cfg = {0};
  if (labels == NULL) return fl_fail(FASTLOSS_ERR_NULL_POINTER, "labels is NULL");
  fastloss_status status = fl_xent_check(n, m, logits, ld_logits, NULL, 0, labels, params, row_loss,
                                         grad, ld_grad, sizeof(FL_T), &cfg);
  if (status != FASTLOSS_OK) return status;
  double denominator = 0.0;
  status = FL_CAT(fl_xent_check_labels_, FL_T)(n, m, labels, &cfg, &denominator);
  if (status != FASTLOSS_OK) return status;
  /* MEAN scales the gradient by 1 / denominator inside FL_T kernels: a
   * positive summed weight so small that this overflows FL_T would give
   * inf where the true gradient is finite. */
  const double t_max = sizeof(FL_T) == sizeof(float) ? FLT_MAX : DBL_MAX;
  if (cfg.reduction == FASTLOSS_REDUCTION_MEAN && denominator > 0.0 && !(1.0 / denominator <= t_max))
    return fl_fail(FASTLOSS_ERR_INVALID_ARGUMENT,
                   "reduction MEAN: the summed class weight of the counted rows, %g, is below "
                   "1 / %s_MAX, so its reciprocal (the gradient's scale) overflows",
                   denominator, sizeof(FL_T) == sizeof(float) ? "FLT" : "DBL");
  const FL_NAME(fl_xent_job_) job = {
      .k = fl_kernels()->FL_KERNELS,
      .m = m,
      .z = logits,
      .ld_z = ld_logits,
      .labels = labels,
      .w = (const FL_T *)cfg.weight,
      .use_ignore_index = cfg.use_ignore_index,
      .ignore_index = cfg.ignore_index,
      .smoothing = cfg.smoothing,
      .wsum = FL_NAME(fl_weight_sum_)((const FL_T *)cfg.weight, m),
      .scale = cfg.reduction == FASTLOSS_REDUCTION_MEAN ? 1.0 / denominator : 1.0,
      .row_loss = row_loss,
      .grad = grad,
      .ld_grad = ld_grad,
      .mode = fl_xent_mode_for(m, grad != NULL),
  };
  double total = 0.0;
  status = FL_NAME(fl_xent_run_)(&job, n, &total);
  if (status != FASTLOSS_OK) return status;
  if (loss != NULL) *loss = cfg.reduction == FASTLOSS_REDUCTION_MEAN ? total / denominator : total;
  return FASTLOSS_OK;
}

fastloss_status FL_NAME(fastloss_xent_soft_)(size_t n, size_t m, const FL_T *logits,
                                             size_t ld_logits, const FL_T *target,
                                             size_t ld_target, const fastloss_xent_params *params,
                                             FL_T *row_loss, double *loss, FL_T *grad,
                                             size_t ld_grad) {
  fl_xent_config cfg = {0};
  if (target == NULL) return fl_fail(FASTLOSS_ERR_NULL_POINTER, "target is NULL");
  fastloss_status status = fl_xent_check(n, m, logits, ld_logits, target, ld_target, NULL, params,
                                         row_loss, grad, ld_grad, sizeof(FL_T), &cfg);
  if (status != FASTLOSS_OK) return status;
  const FL_NAME(fl_xent_job_) job = {
      .k = fl_kernels()->FL_KERNELS,
      .m = m,
      .z = logits,
      .ld_z = ld_logits,
      .target = target,
      .ld_target = ld_target,
      .w = (const FL_T *)cfg.weight,
      .smoothing = cfg.smoothing,
      .wsum = FL_NAME(fl_weight_sum_)((const FL_T *)cfg.weight, m),
      .scale = cfg.reduction == FASTLOSS_REDUCTION_MEAN ? 1.0 / (double)n : 1.0,
      .row_loss = row_loss,
      .grad = grad,
      .ld_grad = ld_grad,
      .mode = fl_xent_mode_for(m, grad != NULL),
  };
  double total = 0.0;
  status = FL_NAME(fl_xent_run_)(&job, n, &total);
  if (status != FASTLOSS_OK) return status;
  if (loss != NULL) *loss = cfg.reduction == FASTLOSS_REDUCTION_MEAN ? total / (double)n : total;
  return FASTLOSS_OK;
}

#undef FL_NAME
#undef FL_CAT
#undef FL_CAT_
