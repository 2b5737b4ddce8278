/* The fused softmax cross-entropy through the public API, f32 and f64,
 * against the float64 reference (reference.c) and against the scalar
 * kernels; finite-difference gradient checks; thread-count invariance. */
#include <float.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "reference.h"
#include "testing.h"

typedef struct fl_xcase {
  size_t n, m;
  size_t ld_pad;     /* ld = m + ld_pad for logits and grad */
  int soft;          /* soft targets instead of labels */
  fastloss_reduction reduction;
  int ignore;        /* some labels are the ignore index */
  double smoothing;
  int weights;
  int in_place;      /* grad written over the logits */
  int misalign;      /* +1 element on every buffer: logits, grad, labels, target, weights */
  int kind;          /* 0 normal, 1 extremes and masks, 2 all equal, 3 a NaN row, 4 -inf label logit */
  int forward_only;
} fl_xcase;

/* Everything one call produced. */
typedef struct fl_xresult {
  double loss;
  float *row_loss;
  float *grad; /* n * ld */
} fl_xresult;

typedef struct fl_xdata {
  size_t ld;
  float *logits; /* n * ld */
  int32_t *labels;
  float *target; /* n * m */
  float *weight;
  fastloss_xent_params params;
} fl_xdata;

static void fl_xdata_make(const fl_xcase *c, fl_rng *rng, fl_xdata *d) {
  const size_t n = c->n, m = c->m;
  d->ld = m + c->ld_pad;
  d->logits = malloc(n * d->ld * sizeof(float));
  d->labels = malloc(n * sizeof(int32_t));
  d->target = c->soft ? malloc(n * m * sizeof(float)) : NULL;
  d->weight = c->weights ? malloc(m * sizeof(float)) : NULL;
  for (size_t i = 0; i < n; i++) {
    float *z = d->logits + i * d->ld;
    for (size_t j = 0; j < d->ld; j++) z[j] = (float)(3.0 * fl_rng_normal(rng));
    d->labels[i] = (int32_t)(fl_rng_u32(rng) % m);
    if (c->ignore && i % 3 == 1) d->labels[i] = -100;
    if (c->kind == 1)
      for (size_t j = 0; j < m; j++) {
        const uint32_t r = fl_rng_u32(rng) % 10;
        if (r == 0 && (int32_t)j != d->labels[i]) z[j] = -INFINITY;
        if (r == 1) z[j] = 88.0f;
        if (r == 2) z[j] = -88.0f;
        if (r == 3) z[j] = -1e30f;
        if (r == 4) z[j] = 1e30f;
      }
    if (c->kind == 2)
      for (size_t j = 0; j < m; j++) z[j] = 7.25f;
    if (c->kind == 3 && i == n / 2) z[m / 2] = NAN;
    /* Kind 4: a -inf label logit, and a row of -inf only (loss +inf,
     * gradient 0). */
    if (c->kind == 4 && i == n / 2 && d->labels[i] >= 0) z[d->labels[i]] = -INFINITY;
    if (c->kind == 4 && i == n / 2 + 1)
      for (size_t j = 0; j < m; j++) z[j] = -INFINITY;
    if (c->soft) {
      double sum = 0.0;
      for (size_t j = 0; j < m; j++) {
        const double v = fl_rng_u32(rng) % 4 == 0 ? 0.0 : fl_rng_uniform(rng);
        d->target[i * m + j] = (float)v;
        sum += v;
      }
      for (size_t j = 0; j < m; j++) d->target[i * m + j] = sum > 0 ? (float)(d->target[i * m + j] / sum) : 0.0f;
    }
  }
  if (d->weight)
    for (size_t j = 0; j < m; j++) d->weight[j] = (float)(0.25 + 1.5 * fl_rng_uniform(rng));
  memset(&d->params, 0, sizeof d->params);
  d->params.reduction = c->reduction;
  d->params.use_ignore_index = c->ignore;
  d->params.ignore_index = -100;
  d->params.label_smoothing = c->smoothing;
  d->params.weight_f32 = d->weight;
}

static void fl_xdata_free(fl_xdata *d) {
  free(d->logits);
  free(d->labels);
  free(d->target);
  free(d->weight);
}

/* A buffer of `count` elements of `elem` bytes for inputs of any type
 * (labels, targets, class weights; f64 outputs), with FL_CANARY elements of
 * canary bytes on each side and an optional +1 element misalignment. */
#define FL_XCANARY_BYTE 0xA5
typedef struct fl_xbytes {
  unsigned char *base;
  void *data;
  size_t count, elem, total; /* total: bytes allocated */
} fl_xbytes;

static fl_xbytes fl_xbytes_new(size_t count, size_t elem, int misalign) {
  fl_xbytes b;
  b.count = count;
  b.elem = elem;
  b.total = (count + 2 * FL_CANARY + 1) * elem;
  b.base = malloc(b.total);
  ck_assert_ptr_nonnull(b.base);
  memset(b.base, FL_XCANARY_BYTE, b.total);
  b.data = b.base + (FL_CANARY + (misalign ? 1 : 0)) * elem;
  return b;
}

/* A copy of src in a new buffer (src NULL: data NULL, nothing allocated). */
static fl_xbytes fl_xbytes_copy(const void *src, size_t count, size_t elem, int misalign) {
  if (src == NULL) return (fl_xbytes){0};
  fl_xbytes b = fl_xbytes_new(count, elem, misalign);
  memcpy(b.data, src, count * elem);
  return b;
}

/* Fails the test if a byte outside the buffer's elements was written or,
 * with `unchanged` non-NULL, if the elements differ from it (an input).
 * `context` names the case. */
static void fl_xbytes_check(const fl_xbytes *b, const void *unchanged, const char *what,
                            const char *context) {
  if (b->base == NULL) return;
  const unsigned char *first = b->data, *end = first + b->count * b->elem;
  for (const unsigned char *p = b->base; p < first; p++)
    FL_CHECK(*p == FL_XCANARY_BYTE, "%s %s: byte %td before the buffer was written", context, what,
             p - first);
  for (const unsigned char *p = end; p < b->base + b->total; p++)
    FL_CHECK(*p == FL_XCANARY_BYTE, "%s %s: byte %td after the buffer was written", context, what,
             p - end);
  if (unchanged != NULL)
    FL_CHECK(memcmp(b->data, unchanged, b->count * b->elem) == 0, "%s %s: an input was written",
             context, what);
}

static void fl_xbytes_free(fl_xbytes *b) {
  free(b->base);
  b->base = NULL;
  b->data = NULL;
}

/* One call of the f32 API on copies of d, with canaries around every output
 * and every input (targets, labels and class weights are misaligned with
 * the logits when c->misalign, and must come back unchanged). */
static fl_xresult fl_xrun(const fl_xcase *c, const fl_xdata *d) {
  const size_t n = c->n, m = c->m, ld = d->ld;
  fl_buf logits = fl_buf_new(n * ld, c->misalign), grad = fl_buf_new(n * ld, c->misalign);
  fl_buf row_loss = fl_buf_new(n, !c->misalign);
  memcpy(logits.data, d->logits, n * ld * sizeof(float));
  fl_xbytes target = fl_xbytes_copy(d->target, n * m, sizeof(float), c->misalign);
  fl_xbytes labels = fl_xbytes_copy(d->labels, n, sizeof(int32_t), c->misalign);
  fl_xbytes weight = fl_xbytes_copy(d->weight, m, sizeof(float), c->misalign);
  fastloss_xent_params params = d->params;
  params.weight_f32 = weight.data;
  float *g = c->forward_only ? NULL : (c->in_place ? logits.data : grad.data);
  double loss = -12345.0;
  fastloss_status status;
  if (c->soft)
    status = fastloss_xent_soft_f32(n, m, logits.data, ld, target.data, m, &params, row_loss.data,
                                    &loss, g, ld);
  else
    status =
        fastloss_xent_f32(n, m, logits.data, ld, labels.data, &params, row_loss.data, &loss, g, ld);
  FL_CHECK(status == FASTLOSS_OK, "xent n=%zu m=%zu: %s %s", n, m, fastloss_status_str(status),
           fastloss_last_error());
  fl_buf_check_canaries(&logits, "logits");
  fl_buf_check_canaries(&grad, "grad");
  fl_buf_check_canaries(&row_loss, "row_loss");
  char context[64];
  snprintf(context, sizeof context, "xent %s n=%zu m=%zu", fl_run.mode, n, m);
  fl_xbytes_check(&target, d->target, "target", context);
  fl_xbytes_check(&labels, d->labels, "labels", context);
  fl_xbytes_check(&weight, d->weight, "class weights", context);
  fl_xbytes_free(&target);
  fl_xbytes_free(&labels);
  fl_xbytes_free(&weight);
  fl_xresult r;
  r.loss = loss;
  r.row_loss = malloc(n * sizeof(float));
  memcpy(r.row_loss, row_loss.data, n * sizeof(float));
  r.grad = NULL;
  if (g != NULL) {
    r.grad = malloc(n * ld * sizeof(float));
    memcpy(r.grad, g, n * ld * sizeof(float));
    /* Gaps between rows (ld > m) are never written. */
    if (!c->in_place)
      for (size_t i = 0; i + 1 < n; i++)
        for (size_t j = m; j < ld; j++) FL_CHECK1(isnan(grad.data[i * ld + j]));
    else
      for (size_t i = 0; i + 1 < n; i++)
        for (size_t j = m; j < ld; j++) FL_CHECK1(fl_same_bits(g[i * ld + j], d->logits[i * ld + j]));
  }
  fl_buf_free(&logits);
  fl_buf_free(&grad);
  fl_buf_free(&row_loss);
  return r;
}

static void fl_xresult_free(fl_xresult *r) {
  free(r->row_loss);
  free(r->grad);
}

/* Tolerances against the float64 reference.  scripts/accuracy measured
 * at most 1.4e-7 relative for row losses and 28 ULP (71 at m = 32000) for
 * gradients on every ISA; these keep about 10x of margin: an absolute part
 * for losses near 0 (the float sum of exps over a long row) and for
 * gradient entries far below the row's scale. */
static double fl_row_tol(size_t m) { return m > 20000 ? 2e-5 : 2e-6; }
#define FL_XENT_ROW_REL 2e-6
/* Long rows sum their exps in float lanes: NEON's 4 lanes over m = 262144
 * reached 3.7e-5 (qemu run), hence 1e-4 past 20000 classes. */
static double fl_grad_rel(size_t m) { return m > 20000 ? 1e-4 : 2e-5; }

/* Compares a result with the float64 reference. */
static void fl_xcompare_reference(const fl_xcase *c, const fl_xdata *d, const fl_xresult *r) {
  const size_t n = c->n, m = c->m, ld = d->ld;
  double *z = malloc(n * ld * sizeof(double)), *t = NULL, *w = NULL;
  for (size_t k = 0; k < n * ld; k++) z[k] = d->logits[k];
  if (c->soft) {
    t = malloc(n * m * sizeof(double));
    for (size_t k = 0; k < n * m; k++) t[k] = d->target[k];
  }
  if (c->weights) {
    w = malloc(m * sizeof(double));
    for (size_t j = 0; j < m; j++) w[j] = d->weight[j];
  }
  double *row = malloc(n * sizeof(double)), *grad = malloc(n * m * sizeof(double)), loss;
  double *grad_scale = malloc(n * sizeof(double));
  ref_xent(n, m, z, ld, c->soft ? NULL : d->labels, t, m, w, c->smoothing, c->reduction, c->ignore,
           -100, row, &loss, grad, grad_scale);
  char what[160];
  snprintf(what, sizeof what, "%s n=%zu m=%zu kind=%d soft=%d red=%d ignore=%d s=%g w=%d inplace=%d ld=%zu",
           fl_run.mode, n, m, c->kind, c->soft, (int)c->reduction, c->ignore, c->smoothing, c->weights,
           c->in_place, ld);
  double abs_sum = 0.0;
  for (size_t i = 0; i < n; i++) {
    FL_CHECK(fl_close(r->row_loss[i], row[i], fl_row_tol(m), FL_XENT_ROW_REL),
                  "%s row %zu: loss %.9g, reference %.9g", what, i, (double)r->row_loss[i], row[i]);
    abs_sum += fabs(row[i]);
  }
  double scale = 1.0;
  if (c->reduction == FASTLOSS_REDUCTION_MEAN) scale = fabs(loss) / (abs_sum > 0 ? abs_sum : 1.0);
  FL_CHECK(fl_close(r->loss, loss, (double)n * fl_row_tol(m) * (isfinite(scale) ? scale : 1.0),
                          FL_XENT_ROW_REL),
                "%s: total %.12g, reference %.12g", what, r->loss, loss);
  if (r->grad != NULL)
    for (size_t i = 0; i < n; i++) {
      for (size_t j = 0; j < m; j++)
        FL_CHECK(fl_close(r->grad[i * ld + j], grad[i * m + j], 4e-7 * grad_scale[i], fl_grad_rel(m)),
                      "%s grad[%zu][%zu] = %.9g, reference %.9g", what, i, j,
                      (double)r->grad[i * ld + j], grad[i * m + j]);
    }
  free(z);
  free(t);
  free(w);
  free(row);
  free(grad);
  free(grad_scale);
}

/* Runs the case on the kernels under test, compares with the reference and,
 * for SIMD kernels, with the scalar kernels. */
static void fl_xcheck(const fl_xcase *c, uint64_t seed) {
  fl_rng rng;
  fl_rng_seed(&rng, seed);
  fl_xdata d;
  fl_xdata_make(c, &rng, &d);
  fl_xresult r = fl_xrun(c, &d);
  fl_xcompare_reference(c, &d, &r);
  if (fl_run.isa != FASTLOSS_ISA_SCALAR) {
    ck_assert_int_eq(fastloss_set_isa(FASTLOSS_ISA_SCALAR), FASTLOSS_OK);
    fl_xresult s = fl_xrun(c, &d);
    fl_test_restore_isa();
    for (size_t i = 0; i < c->n; i++)
      FL_CHECK(fl_close(r.row_loss[i], s.row_loss[i], fl_row_tol(c->m), FL_XENT_ROW_REL),
                    "%s vs scalar n=%zu m=%zu row %zu: %.9g vs %.9g", fl_run.mode, c->n, c->m, i,
                    (double)r.row_loss[i], (double)s.row_loss[i]);
    if (r.grad)
      for (size_t k = 0; k < c->n * d.ld; k++)
        FL_CHECK(fl_close(r.grad[k], s.grad[k], 1e-6, fl_grad_rel(c->m)), "%s vs scalar grad[%zu]: %g vs %g",
                      fl_run.mode, k, (double)r.grad[k], (double)s.grad[k]);
    fl_xresult_free(&s);
  }
  fl_xresult_free(&r);
  fl_xdata_free(&d);
}

static size_t fl_lanes(void) { return fl_run.lanes > 1 ? fl_run.lanes : 8; }

START_TEST(xent_sizes) {
  /* m = 1..67 and around multiples of the vector width, n = 1, 3, 257. */
  const size_t w = fl_lanes();
  size_t ms[96], count = 0;
  for (size_t m = 1; m <= 67; m++) ms[count++] = m;
  const size_t mults[] = {w * 9, w * 16, w * 17, w * 32};
  for (size_t k = 0; k < 4; k++) {
    ms[count++] = mults[k] - 1;
    ms[count++] = mults[k] + 1;
  }
  ms[count++] = 1009;
  for (size_t k = 0; k < count; k++) {
    const size_t ns[] = {1, 3, 257};
    for (size_t a = 0; a < 3; a++) {
      if (fl_run.slow && ns[a] == 257 && ms[k] > 16) continue;
      fl_xcase c = {.n = ns[a], .m = ms[k], .misalign = (int)(k % 2), .ld_pad = k % 3 == 0 ? 5 : 0};
      fl_xcheck(&c, 100 + k * 3 + a);
    }
  }
}
END_TEST

START_TEST(xent_large_rows) {
  /* Around the three-pass limit (262144) the gradient switches to the
   * online pass plus vexpscale. */
  const size_t ms[] = {32000, 32768, 32769, 128000, 262144, 262145, 300007};
  for (size_t k = 0; k < sizeof ms / sizeof ms[0]; k++)
    for (int fwd = 0; fwd < 2; fwd++) {
      fl_xcase c = {.n = fl_run.slow || k > 3 ? 1 : (k == 3 ? 3 : 257), .m = ms[k],
                    .forward_only = fwd, .misalign = 1, .smoothing = k == 6 ? 0.1 : 0.0};
      fl_xcheck(&c, 200 + k);
      if (fl_run.slow) break;
    }
}
END_TEST

static const size_t fl_feature_ms[] = {1, 2, 5, 10, 16, 17, 31, 67, 129, 1000, 33000};

/* Every option on its own and together, over representative sizes. */
START_TEST(xent_options) {
  const size_t count = sizeof fl_feature_ms / sizeof fl_feature_ms[0] - (fl_run.slow ? 1 : 0);
  for (size_t k = 0; k < count; k++)
    for (int variant = 0; variant < 14; variant++) {
      const size_t m = fl_feature_ms[k];
      fl_xcase c = {.n = m > 20000 ? 3 : 37, .m = m};
      switch (variant) {
        case 0: c.ignore = 1; break;
        case 1: c.smoothing = 0.1; break;
        case 2: c.weights = 1; break;
        case 3: c.reduction = FASTLOSS_REDUCTION_MEAN; c.ignore = 1; c.weights = 1; break;
        case 4: c.reduction = FASTLOSS_REDUCTION_NONE; c.smoothing = 0.3; break;
        case 5: c.smoothing = 0.2; c.weights = 1; c.ignore = 1; break;
        case 6: c.in_place = 1; c.ld_pad = 3; c.smoothing = 0.05; break;
        case 7: c.soft = 1; break;
        case 8: c.soft = 1; c.smoothing = 0.1; c.weights = 1; c.reduction = FASTLOSS_REDUCTION_MEAN; break;
        case 9: c.soft = 1; c.in_place = 1; c.misalign = 1; break;
        case 10: c.forward_only = 1; c.smoothing = 0.1; c.ignore = 1; break;
        case 11: c.reduction = FASTLOSS_REDUCTION_MEAN; c.misalign = 1; c.ld_pad = 1; break;
        /* Misaligned class weights, soft targets and labels (m <= 16: the
         * small-rows kernel reads the labels). */
        case 12: c.soft = 1; c.weights = 1; c.smoothing = 0.1; c.misalign = 1; c.ld_pad = 2; break;
        case 13: c.weights = 1; c.ignore = 1; c.reduction = FASTLOSS_REDUCTION_MEAN; c.misalign = 1; break;
      }
      fl_xcheck(&c, 300 + k * 16 + (size_t)variant);
    }
}
END_TEST

/* Extreme logits: +-88, +-1e30, -inf masks, all equal, NaN rows, a -inf
 * label logit; NaN and inf stay in their own row. */
START_TEST(xent_extremes) {
  const size_t count = sizeof fl_feature_ms / sizeof fl_feature_ms[0];
  for (size_t k = 0; k < count; k++)
    for (int kind = 1; kind <= 4; kind++)
      for (int variant = 0; variant < 5; variant++) {
        /* Variants 3 and 4: forward only (two passes up to 32768 classes,
         * the online pass beyond), hard and soft labels. */
        fl_xcase c = {.n = 9, .m = fl_feature_ms[k], .kind = kind, .in_place = variant == 1,
                      .smoothing = variant == 2 ? 0.1 : 0.0,
                      .soft = (variant == 2 || variant == 4) && kind != 4,
                      .forward_only = variant >= 3};
        fl_xcheck(&c, 400 + k * 32 + (size_t)kind * 5 + (size_t)variant);
      }
}
END_TEST

/* A class weight of 0 on the label drops the label term even where the
 * label's logit is -inf (0 * inf would be NaN): row loss 0, total 0 and a
 * zero gradient, f32 and f64, through the small-vocabulary path (m <= 16)
 * and the general one. */
START_TEST(xent_zero_weight_masked_label) {
  enum { N = 11, MAX_M = 40 };
  const size_t ms[] = {2, 3, 8, 13, 16, 17, 40};
  for (size_t k = 0; k < sizeof ms / sizeof ms[0]; k++) {
    const size_t m = ms[k];
    const int32_t label = (int32_t)(k % 2 == 0 ? 0 : m - 1);
    float z[N * MAX_M], g[N * MAX_M], row_loss[N], w[MAX_M];
    double zd[N * MAX_M], gd[N * MAX_M], row_lossd[N], wd[MAX_M];
    int32_t y[N];
    for (size_t j = 0; j < m; j++) w[j] = (float)(1 + j % 3);
    w[label] = 0.0f;
    for (size_t i = 0; i < N; i++) {
      y[i] = label;
      for (size_t j = 0; j < m; j++) z[i * m + j] = (float)((i * 7 + j * 3) % 11) - 5.0f;
      z[i * m + (size_t)label] = -INFINITY;
    }
    for (size_t j = 0; j < m; j++) wd[j] = w[j];
    for (size_t q = 0; q < N * m; q++) zd[q] = z[q];
    fastloss_xent_params p;
    memset(&p, 0, sizeof p);
    p.reduction = FASTLOSS_REDUCTION_SUM;
    p.weight_f32 = w;
    p.weight_f64 = wd;
    double loss = -1.0, lossd = -1.0;
    ck_assert_int_eq(fastloss_xent_f32(N, m, z, m, y, &p, row_loss, &loss, g, m), FASTLOSS_OK);
    ck_assert_int_eq(fastloss_xent_f64(N, m, zd, m, y, &p, row_lossd, &lossd, gd, m), FASTLOSS_OK);
    FL_CHECK(loss == 0.0 && lossd == 0.0, "m %zu: loss %g (f32), %g (f64), want 0", m, loss, lossd);
    for (size_t i = 0; i < N; i++)
      FL_CHECK(row_loss[i] == 0.0f && row_lossd[i] == 0.0, "m %zu: row %zu loss %g, %g", m, i,
               (double)row_loss[i], row_lossd[i]);
    for (size_t q = 0; q < N * m; q++)
      FL_CHECK(g[q] == 0.0f && gd[q] == 0.0, "m %zu: grad[%zu] %g, %g", m, q, (double)g[q], gd[q]);
  }
}
END_TEST

/* Bit-identical results for 1, 2, 3 and 8 threads. */
START_TEST(xent_thread_invariance) {
  const fl_xcase cases[] = {{.n = 257, .m = 1000, .smoothing = 0.1},
                            {.n = 4099, .m = 10, .reduction = FASTLOSS_REDUCTION_MEAN},
                            {.n = 300, .m = 257, .soft = 1},
                            {.n = 8, .m = 40000},
                            /* Forward only: two pipelined passes, and online. */
                            {.n = 257, .m = 1000, .smoothing = 0.1, .forward_only = 1},
                            {.n = 300, .m = 257, .soft = 1, .forward_only = 1},
                            {.n = 8, .m = 40000, .forward_only = 1}};
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    fl_rng rng;
    fl_rng_seed(&rng, 500 + k);
    fl_xdata d;
    fl_xdata_make(&cases[k], &rng, &d);
    const int threads[] = {1, 2, 3, 8};
    fl_xresult first = {0};
    for (int t = 0; t < 4; t++) {
      ck_assert_int_eq(fastloss_set_num_threads(threads[t]), FASTLOSS_OK);
      fl_xresult r = fl_xrun(&cases[k], &d);
      if (t == 0) {
        first = r;
        continue;
      }
      FL_CHECK(memcmp(&r.loss, &first.loss, sizeof(double)) == 0,
                    "case %zu: loss %.17g with %d threads, %.17g with 1", k, r.loss, threads[t],
                    first.loss);
      FL_CHECK1(memcmp(r.row_loss, first.row_loss, cases[k].n * sizeof(float)) == 0);
      if (!cases[k].forward_only)
        FL_CHECK1(memcmp(r.grad, first.grad, cases[k].n * d.ld * sizeof(float)) == 0);
      fl_xresult_free(&r);
    }
    fastloss_set_num_threads(0);
    fl_xresult_free(&first);
    fl_xdata_free(&d);
  }
}
END_TEST

/* ------------------------------------------------------------------ f64 */

/* The f64 entry points: against the reference tightly, and their gradient
 * against central finite differences of their own loss. */
static void fl_x64_case(size_t n, size_t m, int soft, fastloss_reduction reduction, int ignore,
                        double smoothing, int weights, uint64_t seed) {
  fl_rng rng;
  fl_rng_seed(&rng, seed);
  double *z = malloc(n * m * sizeof(double)), *t = malloc(n * m * sizeof(double));
  double *w = malloc(m * sizeof(double)), *g = malloc(n * m * sizeof(double));
  double *rg = malloc(n * m * sizeof(double)), *row = malloc(n * sizeof(double));
  double *rrow = malloc(n * sizeof(double));
  int32_t *labels = malloc(n * sizeof(int32_t));
  for (size_t k = 0; k < n * m; k++) {
    z[k] = 2.0 * fl_rng_normal(&rng);
    t[k] = fl_rng_uniform(&rng);
  }
  for (size_t i = 0; i < n; i++) labels[i] = (ignore && i == 1) ? -1 : (int32_t)(fl_rng_u32(&rng) % m);
  for (size_t j = 0; j < m; j++) w[j] = 0.5 + fl_rng_uniform(&rng);
  fastloss_xent_params p = {.reduction = reduction, .use_ignore_index = ignore, .ignore_index = -1,
                            .label_smoothing = smoothing, .weight_f64 = weights ? w : NULL};
  double loss, rloss;
#define FL_CALL64(zz, gg, rr, ll)                                                               \
  (soft ? fastloss_xent_soft_f64(n, m, zz, m, t, m, &p, rr, ll, gg, m)                          \
        : fastloss_xent_f64(n, m, zz, m, labels, &p, rr, ll, gg, m))
  ck_assert_int_eq(FL_CALL64(z, g, row, &loss), FASTLOSS_OK);
  ref_xent(n, m, z, m, soft ? NULL : labels, soft ? t : NULL, m, weights ? w : NULL, smoothing,
           reduction, ignore, -1, rrow, &rloss, rg, NULL);
  FL_CHECK(fl_close(loss, rloss, 1e-12, 1e-12), "f64 loss %.17g vs %.17g", loss, rloss);
  for (size_t i = 0; i < n; i++) FL_CHECK1(fl_close(row[i], rrow[i], 1e-12, 1e-12));
  for (size_t k = 0; k < n * m; k++) FL_CHECK1(fl_close(g[k], rg[k], 1e-13, 1e-11));
  /* Forward only (the two-pass rows from m = 17 on, rexpsum): the same loss. */
  double fwd_loss;
  ck_assert_int_eq(FL_CALL64(z, NULL, row, &fwd_loss), FASTLOSS_OK);
  FL_CHECK(fl_close(fwd_loss, rloss, 1e-12, 1e-12), "f64 forward-only loss %.17g vs %.17g", fwd_loss,
           rloss);
  for (size_t i = 0; i < n; i++) FL_CHECK1(fl_close(row[i], rrow[i], 1e-12, 1e-12));
  /* Central differences of the reduced loss (NONE needs row_loss: the row
   * losses are written to a scratch buffer, the check reads the sum). */
  double *rows_fd = reduction == FASTLOSS_REDUCTION_NONE ? rrow : NULL;
  for (size_t k = 0; k < n * m; k++) {
    const double h = 1e-6, saved = z[k];
    double up, down;
    z[k] = saved + h;
    ck_assert_int_eq(FL_CALL64(z, NULL, rows_fd, &up), FASTLOSS_OK);
    z[k] = saved - h;
    ck_assert_int_eq(FL_CALL64(z, NULL, rows_fd, &down), FASTLOSS_OK);
    z[k] = saved;
    const double fd = (up - down) / (2 * h);
    FL_CHECK(fabs(fd - g[k]) <= 1e-7 + 1e-6 * fabs(g[k]),
                  "f64 n=%zu m=%zu soft=%d red=%d s=%g w=%d: d/dz[%zu] = %.10g, finite difference %.10g",
                  n, m, soft, (int)reduction, smoothing, weights, k, g[k], fd);
  }
#undef FL_CALL64
  free(z);
  free(t);
  free(w);
  free(g);
  free(rg);
  free(row);
  free(rrow);
  free(labels);
}

START_TEST(xent_f64_finite_differences) {
  uint64_t seed = 600;
  const size_t ms[] = {1, 2, 7, 17};
  for (size_t a = 0; a < 4; a++)
    for (int soft = 0; soft < 2; soft++)
      for (int red = 0; red < 3; red++)
        for (int opt = 0; opt < 4; opt++)
          fl_x64_case(4, ms[a], soft, (fastloss_reduction)red, !soft && (opt & 1), (opt & 2) ? 0.15 : 0.0,
                      opt == 3 || opt == 1, seed++);
}
END_TEST

/* --------------------------------------------- f64: long rows, extremes */

/* The reference in long double (x87 extended on x86-64: 11 more bits than
 * double), from SEMANTICS.md as ref_xent is, for the f64 API: target
 * t_j = w_j ((1 - s) y_j + s / m), loss_i = sum_{t_j != 0} t_j ((max - z_j)
 * + log sum_k exp(z_k - max)), grad_ij = r (p_j sum_k t_k - t_j).  Writes
 * row_loss[n], *loss, grad (n, m) contiguous and grad_mag (n, m): the size
 * r (p_j |sum_k t_k| + |t_j|) of the two terms of each gradient entry, which
 * scales its tolerance.  A row of -inf only: loss +inf (0 when its target
 * sums to 0), gradient 0; a NaN in a row: NaN loss and gradient. */
static void fl_ref_xent_ld(size_t n, size_t m, const double *z, size_t ld, const int32_t *labels,
                           const double *target, const double *w, double smoothing,
                           fastloss_reduction reduction, int use_ignore, int32_t ignore_index,
                           double *row_loss, double *loss, double *grad, double *grad_mag) {
  long double *t = malloc(m * sizeof *t), *e = malloc(m * sizeof *e);
  ck_assert_ptr_nonnull(t);
  ck_assert_ptr_nonnull(e);
  const long double s = smoothing;
  long double denominator = 0.0L, total = 0.0L;
  for (size_t i = 0; i < n; i++) {
    if (labels == NULL)
      denominator += 1.0L;
    else if (!(use_ignore && labels[i] == ignore_index))
      denominator += w != NULL ? (long double)w[labels[i]] : 1.0L;
  }
  const long double scale = reduction == FASTLOSS_REDUCTION_MEAN ? 1.0L / denominator : 1.0L;
  for (size_t i = 0; i < n; i++) {
    const double *zi = z + i * ld;
    double *gi = grad + i * m, *mi = grad_mag + i * m;
    if (labels != NULL && use_ignore && labels[i] == ignore_index) {
      row_loss[i] = 0.0;
      for (size_t j = 0; j < m; j++) gi[j] = mi[j] = 0.0;
      continue;
    }
    long double tsum = 0.0L;
    for (size_t j = 0; j < m; j++) {
      const long double y =
          labels != NULL ? ((int32_t)j == labels[i] ? 1.0L : 0.0L) : (long double)target[i * m + j];
      t[j] = (w != NULL ? (long double)w[j] : 1.0L) * ((1.0L - s) * y + s / (long double)m);
      tsum += t[j];
    }
    long double max = -INFINITY;
    int nan_seen = 0;
    for (size_t j = 0; j < m; j++) {
      nan_seen |= isnan(zi[j]);
      if (zi[j] > max) max = zi[j];
    }
    if (nan_seen || max == -INFINITY) {
      row_loss[i] = nan_seen ? NAN : (tsum != 0.0L ? INFINITY : 0.0);
      for (size_t j = 0; j < m; j++) {
        gi[j] = nan_seen ? NAN : 0.0;
        mi[j] = 0.0;
      }
      total += row_loss[i];
      continue;
    }
    long double sum = 0.0L;
    for (size_t j = 0; j < m; j++) {
      e[j] = expl((long double)zi[j] - max); /* NaN for a +inf logit, as in double */
      sum += e[j];
    }
    const long double log_sum = logl(sum);
    long double l = 0.0L;
    for (size_t j = 0; j < m; j++)
      if (t[j] != 0.0L) l += t[j] * ((max - (long double)zi[j]) + log_sum);
    row_loss[i] = (double)l;
    total += l;
    for (size_t j = 0; j < m; j++) {
      const long double p = e[j] / sum;
      gi[j] = (double)(scale * (p * tsum - t[j]));
      mi[j] = (double)(scale * (p * fabsl(tsum) + fabsl(t[j])));
    }
  }
  *loss = (double)(reduction == FASTLOSS_REDUCTION_MEAN ? total / denominator : total);
  free(t);
  free(e);
}

/* One f64 case.  kind: 0 normal logits; 1 extremes: -inf masks (never on
 * the label), +-700 (exp of their difference, 1400, overflows double) and
 * +-1e300 (z - max far beyond exp's range), and a row that opens with a run
 * of -inf (the online pass then starts from max = -inf); 2 every logit
 * equal; 3 a NaN in row n / 2 and a +inf in row n / 2 + 1 (also a NaN row:
 * inf - inf); 4 the label's logit -inf in row n / 2 and a row of -inf only
 * at n / 2 + 1. */
typedef struct fl_x64case {
  size_t n, m;
  size_t ld_pad; /* ld = m + ld_pad for logits and grad */
  int soft;
  fastloss_reduction reduction;
  int ignore; /* label -1 on row 1, ignored */
  double smoothing;
  int weights;
  int in_place;
  int misalign; /* +1 double (int32_t for labels) on every buffer */
  int kind;
} fl_x64case;

/* Tolerances against the long double reference.  Every f64 kernel sums in
 * double from left to right, so a row's sum of m exps carries a relative
 * error of about sqrt(m) eps (a few 1e-14 at m = 262145; the worst case,
 * m eps, is never approached by these seeded rows), which reaches the loss
 * (through log sum) and every gradient entry (through 1 / sum); exp adds
 * 1 ULP per entry.  These cases measured at most 3e-14 relative on row
 * losses and 5.7e-14 of the terms' size on gradient entries: 1e-12 keeps
 * over 15x of margin, and a relative error of 1e-11 in a row's sum still
 * fails (its gradient entries, and the loss of rows whose loss is below
 * about 10). */
#define FL_X64_LOSS_REL 1e-12
#define FL_X64_LOSS_ABS 1e-13
#define FL_X64_GRAD_REL 1e-12

static void fl_x64_describe(const fl_x64case *c, int forward_only, char *what, size_t size) {
  snprintf(what, size,
           "f64 %s n=%zu m=%zu kind=%d soft=%d red=%d ignore=%d s=%g w=%d inplace=%d misalign=%d "
           "ld=%zu %s",
           fl_run.mode, c->n, c->m, c->kind, c->soft, (int)c->reduction, c->ignore, c->smoothing,
           c->weights, c->in_place, c->misalign, c->m + c->ld_pad,
           forward_only ? "forward only" : "with gradient");
}

/* Runs the f64 API on misaligned copies of the inputs, with canaries around
 * every buffer; forward_only: grad NULL.  The gradient buffer starts out NaN,
 * so an entry a kernel skips fails the comparison. */
static void fl_x64_run(const fl_x64case *c, int forward_only, const double *z,
                       const int32_t *labels, const double *target, const double *w,
                       const double *ref_row, double ref_loss, const double *ref_grad,
                       const double *ref_mag) {
  const size_t n = c->n, m = c->m, ld = m + c->ld_pad;
  char what[240];
  fl_x64_describe(c, forward_only, what, sizeof what);
  fl_xbytes zb = fl_xbytes_copy(z, n * ld, sizeof(double), c->misalign);
  fl_xbytes tb = fl_xbytes_copy(target, n * m, sizeof(double), c->misalign);
  fl_xbytes yb = fl_xbytes_copy(labels, n, sizeof(int32_t), c->misalign);
  fl_xbytes wb = fl_xbytes_copy(w, m, sizeof(double), c->misalign);
  fl_xbytes gb = fl_xbytes_new(n * ld, sizeof(double), c->misalign);
  fl_xbytes rb = fl_xbytes_new(n, sizeof(double), c->misalign);
  double *zd = zb.data, *gd = gb.data, *row = rb.data;
  for (size_t k = 0; k < n * ld; k++) gd[k] = NAN;
  double *g = forward_only ? NULL : (c->in_place ? zd : gd);
  const fastloss_xent_params p = {.reduction = c->reduction, .use_ignore_index = c->ignore,
                                  .ignore_index = -1, .label_smoothing = c->smoothing,
                                  .weight_f64 = wb.data};
  double loss = -12345.0;
  const fastloss_status status =
      c->soft ? fastloss_xent_soft_f64(n, m, zd, ld, tb.data, m, &p, row, &loss, g, ld)
              : fastloss_xent_f64(n, m, zd, ld, yb.data, &p, row, &loss, g, ld);
  FL_CHECK(status == FASTLOSS_OK, "%s: %s %s", what, fastloss_status_str(status),
           fastloss_last_error());
  fl_xbytes_check(&zb, g == zd ? NULL : (const void *)z, "logits", what);
  fl_xbytes_check(&tb, target, "target", what);
  fl_xbytes_check(&yb, labels, "labels", what);
  fl_xbytes_check(&wb, w, "class weights", what);
  fl_xbytes_check(&gb, NULL, "grad", what);
  fl_xbytes_check(&rb, NULL, "row_loss", what);
  for (size_t i = 0; i < n; i++)
    FL_CHECK(fl_close(row[i], ref_row[i], FL_X64_LOSS_ABS, FL_X64_LOSS_REL),
             "%s: row %zu loss %.17g, reference %.17g", what, i, row[i], ref_row[i]);
  FL_CHECK(fl_close(loss, ref_loss, FL_X64_LOSS_ABS * (double)n, FL_X64_LOSS_REL),
           "%s: loss %.17g, reference %.17g", what, loss, ref_loss);
  if (g != NULL)
    for (size_t i = 0; i < n; i++) {
      for (size_t j = 0; j < m; j++) {
        const double got = g[i * ld + j], want = ref_grad[i * m + j];
        /* 1e-300 absolute: exps that underflow to subnormals or 0. */
        FL_CHECK(isnan(want) ? isnan(got)
                             : fabs(got - want) <= FL_X64_GRAD_REL * ref_mag[i * m + j] + 1e-300,
                 "%s: grad[%zu][%zu] = %.17g, reference %.17g (terms of size %.3g)", what, i, j,
                 got, want, ref_mag[i * m + j]);
      }
      /* The gaps between rows (ld > m) are never written. */
      if (i + 1 < n)
        for (size_t j = m; j < ld; j++)
          FL_CHECK(g == zd ? memcmp(&g[i * ld + j], &z[i * ld + j], sizeof(double)) == 0
                           : isnan(g[i * ld + j]),
                   "%s: grad gap [%zu][%zu] written", what, i, j);
    }
  /* The loss alone (row_loss NULL) is the same number; reduction NONE
   * requires row_loss (FASTLOSS_ERR_NULL_POINTER, tests/test_errors.c). */
  if (forward_only && p.reduction != FASTLOSS_REDUCTION_NONE) {
    double alone = -12345.0;
    ck_assert_int_eq(
        c->soft ? fastloss_xent_soft_f64(n, m, zd, ld, tb.data, m, &p, NULL, &alone, NULL, ld)
                : fastloss_xent_f64(n, m, zd, ld, yb.data, &p, NULL, &alone, NULL, ld),
        FASTLOSS_OK);
    FL_CHECK(memcmp(&alone, &loss, sizeof loss) == 0, "%s: loss without row_loss %.17g, with %.17g",
             what, alone, loss);
  }
  fl_xbytes_free(&zb);
  fl_xbytes_free(&tb);
  fl_xbytes_free(&yb);
  fl_xbytes_free(&wb);
  fl_xbytes_free(&gb);
  fl_xbytes_free(&rb);
}

/* Makes the case's data, computes the reference once and checks the call
 * with the gradient and the call without (both unless `only` is 1 (with)
 * or 2 (forward only)). */
static void fl_x64_check(const fl_x64case *c, int only, uint64_t seed) {
  const size_t n = c->n, m = c->m, ld = m + c->ld_pad;
  fl_rng rng;
  fl_rng_seed(&rng, seed);
  double *z = malloc(n * ld * sizeof(double)), *t = c->soft ? malloc(n * m * sizeof(double)) : NULL;
  double *w = c->weights ? malloc(m * sizeof(double)) : NULL;
  int32_t *labels = malloc(n * sizeof(int32_t));
  double *ref_grad = malloc(n * m * sizeof(double)), *ref_mag = malloc(n * m * sizeof(double));
  double *ref_row = malloc(n * sizeof(double)), ref_loss;
  ck_assert_ptr_nonnull(z);
  ck_assert_ptr_nonnull(ref_grad);
  ck_assert_ptr_nonnull(ref_mag);
  for (size_t i = 0; i < n; i++) {
    double *zi = z + i * ld;
    for (size_t j = 0; j < ld; j++) zi[j] = 3.0 * fl_rng_normal(&rng);
    labels[i] = (int32_t)(fl_rng_u32(&rng) % m);
    if (c->ignore && i == 1) labels[i] = -1;
    const size_t y = labels[i] >= 0 ? (size_t)labels[i] : m;
    if (c->kind == 1) {
      for (size_t j = 0; j < m; j++) {
        const uint32_t r = fl_rng_u32(&rng) % 10;
        if (r == 0 && j != y) zi[j] = -INFINITY;
        if (r == 1) zi[j] = 700.0;
        if (r == 2) zi[j] = -700.0;
        if (r == 3) zi[j] = -1e300;
        if (r == 4) zi[j] = 1e300;
      }
      if (i == 0)
        for (size_t j = 0; j < m && j < 5; j++)
          if (j != y) zi[j] = -INFINITY;
    }
    if (c->kind == 2)
      for (size_t j = 0; j < m; j++) zi[j] = -3.5;
    if (c->kind == 3 && i == n / 2) zi[m / 2] = NAN;
    if (c->kind == 3 && i == n / 2 + 1) zi[m / 3] = INFINITY;
    if (c->kind == 4 && i == n / 2 && y < m) zi[y] = -INFINITY;
    if (c->kind == 4 && i == n / 2 + 1)
      for (size_t j = 0; j < m; j++) zi[j] = -INFINITY;
    if (t != NULL) {
      double sum = 0.0;
      for (size_t j = 0; j < m; j++) {
        t[i * m + j] = fl_rng_u32(&rng) % 4 == 0 ? 0.0 : fl_rng_uniform(&rng);
        sum += t[i * m + j];
      }
      /* Rows sum to 1, except row 2, whose targets sum to about 3 m / 8. */
      for (size_t j = 0; j < m && i != 2; j++) t[i * m + j] = sum > 0.0 ? t[i * m + j] / sum : 0.0;
    }
  }
  for (size_t j = 0; w != NULL && j < m; j++) w[j] = 0.25 + 1.5 * fl_rng_uniform(&rng);
  fl_ref_xent_ld(n, m, z, ld, c->soft ? NULL : labels, t, w, c->smoothing, c->reduction, c->ignore,
                 -1, ref_row, &ref_loss, ref_grad, ref_mag);
  if (only != 2)
    fl_x64_run(c, 0, z, c->soft ? NULL : labels, t, w, ref_row, ref_loss, ref_grad, ref_mag);
  if (only != 1)
    fl_x64_run(c, 1, z, c->soft ? NULL : labels, t, w, ref_row, ref_loss, ref_grad, ref_mag);
  free(z);
  free(t);
  free(w);
  free(labels);
  free(ref_grad);
  free(ref_mag);
  free(ref_row);
}

/* f64 rows on every side of the mode limits of src/xent.c: forward only,
 * two passes up to 32768 classes and the online pass (ronline) beyond;
 * with the gradient, three passes up to 262144 and ronline + vexpscale
 * beyond.  Hard and soft targets, each option, against long double.
 * Under qemu and valgrind (fl_run.slow) only the online rows (32769 and
 * 262145 classes) and the variants with every option (1 and 4). */
START_TEST(xent_f64_large_rows) {
  const size_t ms[] = {32768, 32769, 40000, 262144, 262145};
  for (size_t k = 0; k < sizeof ms / sizeof ms[0]; k++)
    for (int variant = 0; variant < 6; variant++) {
      const size_t m = ms[k];
      if (fl_run.slow && ((variant != 1 && variant != 4) || (m != 32769 && m != 262145))) continue;
      fl_x64case c = {.n = m > 100000 ? 2 : 3, .m = m};
      switch (variant) {
        case 0: break;
        case 1: c.smoothing = 0.1; c.weights = 1; c.reduction = FASTLOSS_REDUCTION_MEAN; c.ignore = 1; break;
        case 2: c.reduction = FASTLOSS_REDUCTION_NONE; c.in_place = 1; c.ld_pad = 3; c.misalign = 1; break;
        case 3: c.soft = 1; break;
        case 4: c.soft = 1; c.smoothing = 0.2; c.weights = 1; c.reduction = FASTLOSS_REDUCTION_MEAN; break;
        case 5: c.soft = 1; c.in_place = 1; c.misalign = 1; c.ld_pad = 1; c.n = 3; break;
      }
      /* Forward only at every m (two passes at 32768, online from 32769 on).
       * Below 100000 classes the gradient takes three passes either way and
       * is checked on the odd variants only; at 262144 / 262145 (three
       * passes / online + vexpscale) on every variant. */
      fl_x64_check(&c, m < 100000 ? (variant % 2 ? 0 : 2) : 0, 800 + k * 8 + (uint64_t)variant);
    }
}
END_TEST

/* f64 extreme logits, the f64 counterpart of xent_extremes, through the
 * small-rows kernel (m = 7), the two- and three-pass rows (m = 67) and the
 * online rows: forward only at m = 40000, with the gradient at 262145
 * (under qemu and valgrind: the long rows of kind 1 only, 2 of them). */
START_TEST(xent_f64_extremes) {
  for (int size = 0; size < 3; size++)
    for (int kind = 1; kind <= 4; kind++)
      for (int variant = 0; variant < 5; variant++) {
        /* Variants 0-2 with the gradient (in place, soft with smoothing),
         * 3-4 forward only, hard and soft. */
        const int forward_only = variant >= 3;
        if (fl_run.slow && size == 2 && kind != 1) continue;
        size_t m = size == 0 ? 7 : 67;
        if (size == 2) m = forward_only ? 40000 : 262145;
        fl_x64case c = {.n = size < 2 ? 9 : (fl_run.slow ? 2 : 4), .m = m, .kind = kind, .in_place = variant == 1,
                        .smoothing = variant == 2 ? 0.1 : 0.0, .soft = variant == 2 || variant == 4,
                        .weights = variant == 2, .misalign = variant == 1 || variant == 3};
        fl_x64_check(&c, forward_only ? 2 : 1, 900 + (uint64_t)(size * 32 + kind * 5 + variant));
      }
}
END_TEST

/* The f32 gradient against finite differences of the f32 loss (coarse:
 * float rounding limits the step). */
START_TEST(xent_f32_finite_differences) {
  const size_t n = 3, m = 11;
  fl_rng rng;
  fl_rng_seed(&rng, 700);
  for (int variant = 0; variant < 3; variant++) {
    float z[33], t[33], g[33], w[11];
    int32_t labels[3] = {4, 0, 10};
    for (size_t k = 0; k < n * m; k++) {
      z[k] = (float)fl_rng_normal(&rng);
      t[k] = (float)(fl_rng_uniform(&rng) / m);
    }
    for (size_t j = 0; j < m; j++) w[j] = (float)(0.5 + fl_rng_uniform(&rng));
    fastloss_xent_params p = {.reduction = FASTLOSS_REDUCTION_MEAN, .label_smoothing = 0.1,
                              .weight_f32 = variant == 1 ? w : NULL};
    double loss;
    if (variant == 2)
      ck_assert_int_eq(fastloss_xent_soft_f32(n, m, z, m, t, m, &p, NULL, &loss, g, m), FASTLOSS_OK);
    else
      ck_assert_int_eq(fastloss_xent_f32(n, m, z, m, labels, &p, NULL, &loss, g, m), FASTLOSS_OK);
    for (size_t k = 0; k < n * m; k++) {
      const float saved = z[k], h = 1e-2f;
      double up, down;
      z[k] = saved + h;
      if (variant == 2)
        fastloss_xent_soft_f32(n, m, z, m, t, m, &p, NULL, &up, NULL, m);
      else
        fastloss_xent_f32(n, m, z, m, labels, &p, NULL, &up, NULL, m);
      z[k] = saved - h;
      if (variant == 2)
        fastloss_xent_soft_f32(n, m, z, m, t, m, &p, NULL, &down, NULL, m);
      else
        fastloss_xent_f32(n, m, z, m, labels, &p, NULL, &down, NULL, m);
      z[k] = saved;
      const double fd = (up - down) / (2.0 * (double)h);
      FL_CHECK(fabs(fd - g[k]) <= 2e-4 + 1e-2 * fabs(g[k]), "f32 variant %d d/dz[%zu] = %g, fd %g",
                    variant, k, (double)g[k], fd);
    }
  }
}
END_TEST

Suite *fl_suite_xent(void) {
  Suite *s = suite_create("xent");
  TCase *tc = tcase_create("fused softmax cross-entropy");
  tcase_set_timeout(tc, 1200);
  tcase_add_test(tc, xent_sizes);
  tcase_add_test(tc, xent_large_rows);
  tcase_add_test(tc, xent_options);
  tcase_add_test(tc, xent_extremes);
  tcase_add_test(tc, xent_zero_weight_masked_label);
  tcase_add_test(tc, xent_thread_invariance);
  tcase_add_test(tc, xent_f64_finite_differences);
  tcase_add_test(tc, xent_f64_large_rows);
  tcase_add_test(tc, xent_f64_extremes);
  tcase_add_test(tc, xent_f32_finite_differences);
  suite_add_tcase(s, tc);
  return s;
}
