/* NCELoss through the public API: loss, y_pred and gradients against a
 * float64 reference written here from SEMANTICS.md (NCELoss), central finite
 * differences of the loss, the accidental-hit modes, the optimizers against
 * hand-computed steps, freeze, thread-count invariance, seeded draws and
 * every error status. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testing.h"

/* ------------------------------------------------------------ fixtures */

/* Noise weights 1..5 in a pattern, so Q differs between classes; q gets
 * the normalised probabilities, computed here independently of the
 * sampler.  zero_class >= 0 gets weight 0. */
static fastloss_sampler *fl_nce_sampler(size_t V, double *q, long zero_class) {
  double *w = malloc(V * sizeof(double));
  double sum = 0.0;
  for (size_t i = 0; i < V; i++) {
    w[i] = (long)i == zero_class ? 0.0 : (double)(1 + (i * 7) % 5);
    sum += w[i];
  }
  if (q != NULL)
    for (size_t i = 0; i < V; i++) q[i] = w[i] / sum;
  fastloss_sampler *s = NULL;
  const fastloss_status status = fastloss_sampler_create(&s, w, V, 0, 1, 99);
  ck_assert_msg(status == FASTLOSS_OK, "sampler: %s", fastloss_last_error());
  free(w);
  return s;
}

static fastloss_nce_config fl_nce_config(fastloss_dtype dtype, size_t V, size_t d, size_t k,
                                         const fastloss_sampler *s) {
  fastloss_nce_config c;
  memset(&c, 0, sizeof c);
  c.dtype = dtype;
  c.n_classes = V;
  c.n_in = d;
  c.num_negative_samples = k;
  c.sampler = s;
  c.seed = 1234;
  return c;
}

static fastloss_nce *fl_nce_new(const fastloss_nce_config *c) {
  fastloss_nce *nce = NULL;
  const fastloss_status status = fastloss_nce_create(&nce, c);
  ck_assert_msg(status == FASTLOSS_OK, "create: %s", fastloss_last_error());
  return nce;
}

/* The parameters as doubles, whatever the dtype. */
static void fl_nce_read(fastloss_nce *nce, fastloss_dtype dtype, size_t V, size_t d, double *W,
                        double *b, double *dW, double *db) {
  void *pW, *pb, *pdW, *pdb;
  ck_assert_int_eq(fastloss_nce_params(nce, &pW, &pb, &pdW, &pdb), FASTLOSS_OK);
  for (size_t e = 0; e < V * d; e++) {
    if (W) W[e] = dtype == FASTLOSS_F32 ? ((float *)pW)[e] : ((double *)pW)[e];
    if (dW) dW[e] = dtype == FASTLOSS_F32 ? ((float *)pdW)[e] : ((double *)pdW)[e];
  }
  for (size_t e = 0; e < V; e++) {
    if (b) b[e] = dtype == FASTLOSS_F32 ? ((float *)pb)[e] : ((double *)pb)[e];
    if (db) db[e] = dtype == FASTLOSS_F32 ? ((float *)pdb)[e] : ((double *)pdb)[e];
  }
}

/* Random biases, and W scaled so logits stay well inside the clip. */
static void fl_nce_randomize(fastloss_nce *nce, fastloss_dtype dtype, size_t V, size_t d,
                             double w_scale, fl_rng *rng) {
  void *pW, *pb;
  ck_assert_int_eq(fastloss_nce_params(nce, &pW, &pb, NULL, NULL), FASTLOSS_OK);
  for (size_t e = 0; e < V * d; e++) {
    const double v = w_scale * fl_rng_normal(rng);
    if (dtype == FASTLOSS_F32)
      ((float *)pW)[e] = (float)v;
    else
      ((double *)pW)[e] = v;
  }
  for (size_t e = 0; e < V; e++) {
    const double v = 0.3 * fl_rng_normal(rng);
    if (dtype == FASTLOSS_F32)
      ((float *)pb)[e] = (float)v;
    else
      ((double *)pb)[e] = v;
  }
}

/* ----------------------------------------------------- float64 reference */

typedef struct fl_ref {
  size_t V, d, k;
  const double *W, *b, *q;
  int negative_sampling;
  fastloss_accidental_hits hits;
  int frozen;
} fl_ref;

static double fl_ref_sigmoid(double z) { return 1.0 / (1.0 + exp(-z)); }

static double fl_ref_clip(double p, double eps) {
  return p < eps ? eps : (p > 1.0 - eps ? 1.0 - eps : p);
}

/* Loss, y_pred (n_ex * n_c) and, when the pointers are set, dX, and dW, db
 * accumulated into the given arrays, straight from SEMANTICS.md. */
static double fl_ref_nce(const fl_ref *m, double eps, size_t n_ex, size_t n_c, const double *X,
                         const int32_t *target, const int32_t *neg, double *y_pred, double *dX,
                         double *dW, double *db) {
  const size_t d = m->d;
  const double s = m->negative_sampling ? 0.0 : 1.0;
  double loss = 0.0;
  for (size_t i = 0; i < n_ex; i++) {
    int hit = 0;
    for (size_t j = 0; j < m->k; j++) hit |= neg[j] == target[i];
    for (size_t c = 0; c < n_c; c++) {
      const double *x = X + (i * n_c + c) * d;
      double *dx = dX ? dX + (i * n_c + c) * d : NULL;
      if (dx) memset(dx, 0, d * sizeof(double));
      for (size_t col = 0; col <= (m->frozen ? 0 : m->k); col++) {
        const int32_t cls = col == 0 ? target[i] : neg[col - 1];
        if (col > 0 && m->hits == FASTLOSS_HITS_REMOVE && cls == target[i]) continue;
        double z = m->b[cls] - s * log(m->q[cls]);
        for (size_t e = 0; e < d; e++) z += x[e] * m->W[cls * d + e];
        const double p = fl_ref_sigmoid(z), pc = fl_ref_clip(p, eps);
        const double label = col == 0 ? 1.0 : 0.0;
        /* 1 - clip(p) = clip(1 - p), and 1 - p = sigmoid(-z) without the
         * cancellation of 1.0 - p, which loses digits once p nears 1. */
        loss -= col == 0 ? log(pc) : log(fl_ref_clip(fl_ref_sigmoid(-z), eps));
        if (col == 0 && y_pred) y_pred[i * n_c + c] = pc;
        const double dz = p - label;
        if (dx)
          for (size_t e = 0; e < d; e++) dx[e] += dz * m->W[cls * d + e];
        const int drop = col == 0 && m->hits == FASTLOSS_HITS_NUMPY_ML && hit;
        if (dW && !drop)
          for (size_t e = 0; e < d; e++) dW[cls * d + e] += dz * x[e];
        if (db && !drop) db[cls] += dz;
      }
    }
  }
  return loss;
}

/* ---------------------------------------------------------- test cases */

typedef struct fl_case {
  fastloss_dtype dtype;
  size_t V, d, k, n_ex, n_c;
  int negative_sampling;
  fastloss_accidental_hits hits;
  double w_scale;
} fl_case;

/* Targets and negatives with repeats and accidental hits built in. */
static void fl_case_labels(const fl_case *t, fl_rng *rng, int32_t *target, int32_t *neg) {
  for (size_t i = 0; i < t->n_ex; i++) target[i] = (int32_t)(fl_rng_u32(rng) % t->V);
  for (size_t j = 0; j < t->k; j++) neg[j] = (int32_t)(fl_rng_u32(rng) % t->V);
  if (t->n_ex > 2) target[2] = target[0];          /* repeated target */
  if (t->k > 1) neg[t->k - 1] = neg[0];            /* repeated negative */
  if (t->k > 2 && t->n_ex > 1) neg[1] = target[1]; /* accidental hit */
}

static void *fl_alloc_x(fastloss_dtype dtype, size_t count, const double *values) {
  if (dtype == FASTLOSS_F32) {
    float *x = malloc(count * sizeof(float));
    for (size_t e = 0; e < count; e++) x[e] = (float)values[e];
    return x;
  }
  double *x = malloc(count * sizeof(double));
  memcpy(x, values, count * sizeof(double));
  return x;
}

static fastloss_status fl_loss_any(fastloss_nce *nce, fastloss_dtype dtype, size_t n_ex, size_t n_c,
                                   size_t n_in, const void *X, const int32_t *target,
                                   const int32_t *neg, int retain, double *loss, void *y_pred) {
  if (dtype == FASTLOSS_F32)
    return fastloss_nce_loss_f32(nce, n_ex, n_c, n_in, X, target, neg, retain, loss, y_pred);
  return fastloss_nce_loss_f64(nce, n_ex, n_c, n_in, X, target, neg, retain, loss, y_pred);
}

static fastloss_status fl_grad_any(fastloss_nce *nce, fastloss_dtype dtype, int retain, int update,
                                   void *dX) {
  if (dtype == FASTLOSS_F32) return fastloss_nce_grad_f32(nce, retain, update, dX);
  return fastloss_nce_grad_f64(nce, retain, update, dX);
}

static double fl_get(fastloss_dtype dtype, const void *p, size_t e) {
  return dtype == FASTLOSS_F32 ? ((const float *)p)[e] : ((const double *)p)[e];
}

/* One loss + grad (no update) against the reference. */
static void fl_check_reference(const fl_case *t, uint64_t seed) {
  fl_rng rng;
  fl_rng_seed(&rng, seed);
  const size_t V = t->V, d = t->d, k = t->k, rows = t->n_ex * t->n_c;
  double *q = malloc(V * sizeof(double));
  fastloss_sampler *s = fl_nce_sampler(V, q, -1);
  fastloss_nce_config cfg = fl_nce_config(t->dtype, V, d, k, s);
  cfg.negative_sampling = t->negative_sampling;
  cfg.accidental_hits = t->hits;
  fastloss_nce *nce = fl_nce_new(&cfg);
  fl_nce_randomize(nce, t->dtype, V, d, t->w_scale, &rng);
  int32_t *target = malloc(t->n_ex * sizeof(int32_t)), *neg = malloc(k * sizeof(int32_t));
  fl_case_labels(t, &rng, target, neg);
  double *Xd = malloc(rows * d * sizeof(double));
  for (size_t e = 0; e < rows * d; e++) Xd[e] = fl_rng_normal(&rng);
  void *X = fl_alloc_x(t->dtype, rows * d, Xd);
  if (t->dtype == FASTLOSS_F32) /* the reference sees the rounded inputs */
    for (size_t e = 0; e < rows * d; e++) Xd[e] = ((float *)X)[e];

  double *W = malloc(V * d * sizeof(double)), *b = malloc(V * sizeof(double));
  fl_nce_read(nce, t->dtype, V, d, W, b, NULL, NULL);
  const fl_ref m = {V, d, k, W, b, q, t->negative_sampling, t->hits, 0};
  const double eps = t->dtype == FASTLOSS_F32 ? FLT_EPSILON : DBL_EPSILON;
  double *ref_y = malloc(rows * sizeof(double)), *ref_dX = malloc(rows * d * sizeof(double));
  double *ref_dW = calloc(V * d, sizeof(double)), *ref_db = calloc(V, sizeof(double));
  const double ref_loss =
      fl_ref_nce(&m, eps, t->n_ex, t->n_c, Xd, target, neg, ref_y, ref_dX, ref_dW, ref_db);

  const size_t elem = t->dtype == FASTLOSS_F32 ? sizeof(float) : sizeof(double);
  void *y_pred = malloc(rows * elem), *dX = malloc(rows * d * elem);
  double loss = -1.0;
  fastloss_status st =
      fl_loss_any(nce, t->dtype, t->n_ex, t->n_c, t->d, X, target, neg, 1, &loss, y_pred);
  FL_CHECK(st == FASTLOSS_OK, "loss: %s", fastloss_last_error());
  size_t calls = 0, elements = 0;
  ck_assert_int_eq(fastloss_nce_pending(nce, &calls, &elements), FASTLOSS_OK);
  FL_CHECK1(calls == 1 && elements == rows * d);
  st = fl_grad_any(nce, t->dtype, 1, 0, dX);
  FL_CHECK(st == FASTLOSS_OK, "grad: %s", fastloss_last_error());
  double *dW = malloc(V * d * sizeof(double)), *db = malloc(V * sizeof(double));
  fl_nce_read(nce, t->dtype, V, d, NULL, NULL, dW, db);

  const int f32 = t->dtype == FASTLOSS_F32;
  const double rel = f32 ? 2e-5 : 1e-12, abs_tol = f32 ? 2e-5 : 1e-12;
  char what[200];
  snprintf(what, sizeof what, "%s %s V=%zu d=%zu k=%zu n_ex=%zu n_c=%zu ns=%d hits=%d scale=%g",
           fl_run.mode, f32 ? "f32" : "f64", V, d, k, t->n_ex, t->n_c, t->negative_sampling,
           (int)t->hits, t->w_scale);
  FL_CHECK(fl_close(loss, ref_loss, abs_tol * (double)rows, rel), "%s: loss %.15g, reference %.15g",
           what, loss, ref_loss);
  for (size_t r = 0; r < rows; r++)
    FL_CHECK(fl_close(fl_get(t->dtype, y_pred, r), ref_y[r], f32 ? 1e-6 : 1e-15, rel),
             "%s: y_pred[%zu] = %.9g, reference %.9g", what, r, fl_get(t->dtype, y_pred, r),
             ref_y[r]);
  for (size_t e = 0; e < rows * d; e++)
    FL_CHECK(fl_close(fl_get(t->dtype, dX, e), ref_dX[e], abs_tol, rel),
             "%s: dX[%zu] = %.9g, reference %.9g", what, e, fl_get(t->dtype, dX, e), ref_dX[e]);
  for (size_t e = 0; e < V * d; e++)
    FL_CHECK(fl_close(dW[e], ref_dW[e], abs_tol * 10, rel), "%s: dW[%zu] = %.9g, reference %.9g",
             what, e, dW[e], ref_dW[e]);
  for (size_t e = 0; e < V; e++)
    FL_CHECK(fl_close(db[e], ref_db[e], abs_tol * 10, rel), "%s: db[%zu] = %.9g, reference %.9g",
             what, e, db[e], ref_db[e]);
  ck_assert_int_eq(fastloss_nce_pending(nce, &calls, &elements), FASTLOSS_OK);
  FL_CHECK1(calls == 0 && elements == 0);

  fastloss_nce_destroy(nce);
  fastloss_sampler_destroy(s);
  free(q);
  free(target);
  free(neg);
  free(Xd);
  free(X);
  free(W);
  free(b);
  free(ref_y);
  free(ref_dX);
  free(ref_dW);
  free(ref_db);
  free(y_pred);
  free(dX);
  free(dW);
  free(db);
}

START_TEST(nce_matches_reference) {
  static const size_t shapes[][5] = {
      /* V, d, k, n_ex, n_c */
      {7, 3, 1, 1, 1},      {13, 5, 4, 6, 3},   {50, 17, 5, 70, 1}, {40, 33, 8, 9, 2},
      {200, 130, 6, 33, 3}, {11, 8, 11, 5, 70}, {5, 2, 3, 130, 1},
  };
  uint64_t seed = 1;
  for (size_t sh = 0; sh < sizeof shapes / sizeof shapes[0]; sh++)
    for (int dtype = 0; dtype < 2; dtype++)
      for (int ns = 0; ns < 2; ns++)
        for (int hits = 0; hits < 3; hits++) {
          const fl_case t = {(fastloss_dtype)dtype,
                             shapes[sh][0],
                             shapes[sh][1],
                             shapes[sh][2],
                             shapes[sh][3],
                             shapes[sh][4],
                             ns,
                             (fastloss_accidental_hits)hits,
                             0.7 / sqrt((double)shapes[sh][1])};
          fl_check_reference(&t, seed++);
        }
  /* Saturated logits: the clip is active in the loss and y_pred. */
  for (int dtype = 0; dtype < 2; dtype++) {
    const fl_case t = {(fastloss_dtype)dtype, 9, 4, 3, 8, 2, 0, FASTLOSS_HITS_KEEP, 30.0};
    fl_check_reference(&t, 777 + (uint64_t)dtype);
  }
}
END_TEST

/* ------------------------------------------------ finite differences */

static double fl_fd_loss(fastloss_nce *nce, const fl_case *t, const double *X,
                         const int32_t *target, const int32_t *neg) {
  double loss = 0.0;
  const fastloss_status st =
      fastloss_nce_loss_f64(nce, t->n_ex, t->n_c, t->d, X, target, neg, 0, &loss, NULL);
  FL_CHECK(st == FASTLOSS_OK, "%s", fastloss_last_error());
  return loss;
}

static void fl_check_fd(const fl_case *t, uint64_t seed) {
  fl_rng rng;
  fl_rng_seed(&rng, seed);
  const size_t V = t->V, d = t->d, k = t->k, rows = t->n_ex * t->n_c;
  fastloss_sampler *s = fl_nce_sampler(V, NULL, -1);
  fastloss_nce_config cfg = fl_nce_config(FASTLOSS_F64, V, d, k, s);
  cfg.negative_sampling = t->negative_sampling;
  cfg.accidental_hits = t->hits;
  fastloss_nce *nce = fl_nce_new(&cfg);
  fl_nce_randomize(nce, FASTLOSS_F64, V, d, t->w_scale, &rng);
  int32_t *target = malloc(t->n_ex * sizeof(int32_t)), *neg = malloc(k * sizeof(int32_t));
  fl_case_labels(t, &rng, target, neg);
  double *X = malloc(rows * d * sizeof(double)), *dX = malloc(rows * d * sizeof(double));
  for (size_t e = 0; e < rows * d; e++) X[e] = fl_rng_normal(&rng);
  double loss;
  ck_assert_int_eq(
      fastloss_nce_loss_f64(nce, t->n_ex, t->n_c, t->d, X, target, neg, 1, &loss, NULL),
      FASTLOSS_OK);
  ck_assert_int_eq(fastloss_nce_grad_f64(nce, 1, 0, dX), FASTLOSS_OK);
  double *W, *b, *dW, *db;
  ck_assert_int_eq(fastloss_nce_params(nce, (void **)&W, (void **)&b, (void **)&dW, (void **)&db),
                   FASTLOSS_OK);
  const double h = 1e-6, tol = 2e-7;
  char what[160];
  snprintf(what, sizeof what, "%s V=%zu d=%zu k=%zu n_ex=%zu n_c=%zu ns=%d hits=%d", fl_run.mode, V,
           d, k, t->n_ex, t->n_c, t->negative_sampling, (int)t->hits);
  for (size_t e = 0; e < rows * d; e++) {
    const double keep = X[e];
    X[e] = keep + h;
    const double up = fl_fd_loss(nce, t, X, target, neg);
    X[e] = keep - h;
    const double down = fl_fd_loss(nce, t, X, target, neg);
    X[e] = keep;
    const double fd = (up - down) / (2 * h);
    FL_CHECK(fl_close(dX[e], fd, tol, 1e-6), "%s: dX[%zu] = %.10g, finite difference %.10g", what,
             e, dX[e], fd);
  }
  for (size_t e = 0; e < V * d; e++) {
    const double keep = W[e];
    W[e] = keep + h;
    const double up = fl_fd_loss(nce, t, X, target, neg);
    W[e] = keep - h;
    const double down = fl_fd_loss(nce, t, X, target, neg);
    W[e] = keep;
    const double fd = (up - down) / (2 * h);
    FL_CHECK(fl_close(dW[e], fd, tol, 1e-6), "%s: dW[%zu] = %.10g, finite difference %.10g", what,
             e, dW[e], fd);
  }
  for (size_t e = 0; e < V; e++) {
    const double keep = b[e];
    b[e] = keep + h;
    const double up = fl_fd_loss(nce, t, X, target, neg);
    b[e] = keep - h;
    const double down = fl_fd_loss(nce, t, X, target, neg);
    b[e] = keep;
    const double fd = (up - down) / (2 * h);
    FL_CHECK(fl_close(db[e], fd, tol, 1e-6), "%s: db[%zu] = %.10g, finite difference %.10g", what,
             e, db[e], fd);
  }
  fastloss_nce_destroy(nce);
  fastloss_sampler_destroy(s);
  free(target);
  free(neg);
  free(X);
  free(dX);
}

START_TEST(nce_finite_differences) {
  uint64_t seed = 100;
  for (int ns = 0; ns < 2; ns++)
    for (int hits = 0; hits < 2; hits++) { /* KEEP and REMOVE are true gradients */
      const fl_case a = {FASTLOSS_F64, 9, 4, 4, 5, 2, ns, (fastloss_accidental_hits)hits, 0.5};
      fl_check_fd(&a, seed++);
      const fl_case b = {FASTLOSS_F64, 6, 3, 7, 3, 1, ns, (fastloss_accidental_hits)hits, 0.5};
      fl_check_fd(&b, seed++);
    }
}
END_TEST

/* numpy-ml's hit handling: dX as KEEP, dW/db as KEEP minus the target
 * contribution of every example whose target is among the negatives. */
START_TEST(nce_numpy_ml_hits) {
  const size_t V = 6, d = 3, k = 3, n_ex = 4, n_c = 2, rows = n_ex * n_c;
  fastloss_sampler *s = fl_nce_sampler(V, NULL, -1);
  fl_rng rng;
  fl_rng_seed(&rng, 5);
  double X[4 * 2 * 3];
  for (size_t e = 0; e < rows * d; e++) X[e] = fl_rng_normal(&rng);
  const int32_t target[4] = {2, 5, 2, 0};
  const int32_t neg[3] = {2, 4, 4}; /* examples 0 and 2 are hits */
  double dX[2][4 * 2 * 3], dW[2][6 * 3], db[2][6], keep_db = 0.0;
  for (int mode = 0; mode < 2; mode++) {
    fastloss_nce_config cfg = fl_nce_config(FASTLOSS_F64, V, d, k, s);
    cfg.accidental_hits = mode == 0 ? FASTLOSS_HITS_KEEP : FASTLOSS_HITS_NUMPY_ML;
    fastloss_nce *nce = fl_nce_new(&cfg);
    double loss;
    ck_assert_int_eq(fastloss_nce_loss_f64(nce, n_ex, n_c, d, X, target, neg, 1, &loss, NULL),
                     FASTLOSS_OK);
    ck_assert_int_eq(fastloss_nce_grad_f64(nce, 1, 0, dX[mode]), FASTLOSS_OK);
    fl_nce_read(nce, FASTLOSS_F64, V, d, NULL, NULL, dW[mode], db[mode]);
    if (mode == 1) {
      keep_db = db[0][2];
      /* The documented formula: subtract each hit example's target terms. */
      double *W;
      double *bias;
      ck_assert_int_eq(fastloss_nce_params(nce, (void **)&W, (void **)&bias, NULL, NULL),
                       FASTLOSS_OK);
      double q[6];
      fastloss_sampler *s2 = fl_nce_sampler(V, q, -1);
      fastloss_sampler_destroy(s2);
      for (size_t i = 0; i < n_ex; i++) {
        if (target[i] != 2) continue;
        for (size_t c = 0; c < n_c; c++) {
          const double *x = X + (i * n_c + c) * d;
          double z = bias[2] - log(q[2]);
          for (size_t e = 0; e < d; e++) z += x[e] * W[2 * d + e];
          const double dz = fl_ref_sigmoid(z) - 1.0;
          for (size_t e = 0; e < d; e++) dW[0][2 * d + e] -= dz * x[e];
          db[0][2] -= dz;
        }
      }
    }
    fastloss_nce_destroy(nce);
  }
  for (size_t e = 0; e < rows * d; e++) ck_assert_msg(dX[0][e] == dX[1][e], "dX[%zu] differs", e);
  for (size_t e = 0; e < V * d; e++)
    ck_assert_msg(fl_close(dW[1][e], dW[0][e], 1e-12, 1e-12), "dW[%zu] = %g, formula %g", e,
                  dW[1][e], dW[0][e]);
  for (size_t e = 0; e < V; e++)
    ck_assert_msg(fl_close(db[1][e], db[0][e], 1e-12, 1e-12), "db[%zu] = %g, formula %g", e,
                  db[1][e], db[0][e]);
  /* The hit really changed something. */
  ck_assert(fabs(db[1][2] - keep_db) > 1e-3);
  fastloss_sampler_destroy(s);
}
END_TEST

/* Two loss calls, one grad: dX concatenated in call order, dW and db summed. */
START_TEST(nce_multiple_calls) {
  const size_t V = 10, d = 4, k = 3;
  fastloss_sampler *s = fl_nce_sampler(V, NULL, -1);
  fastloss_nce_config cfg = fl_nce_config(FASTLOSS_F64, V, d, k, s);
  fl_rng rng;
  fl_rng_seed(&rng, 8);
  double X1[3 * 2 * 4], X2[5 * 1 * 4];
  for (size_t e = 0; e < 24; e++) X1[e] = fl_rng_normal(&rng);
  for (size_t e = 0; e < 20; e++) X2[e] = fl_rng_normal(&rng);
  const int32_t t1[3] = {1, 7, 1}, t2[5] = {3, 3, 9, 0, 7}, n1[3] = {4, 7, 2}, n2[3] = {5, 5, 1};
  /* Separately. */
  double dX1[24], dX2[20], dW_sep[40] = {0}, db_sep[10] = {0}, loss;
  for (int call = 0; call < 2; call++) {
    fastloss_nce *nce = fl_nce_new(&cfg);
    if (call == 0)
      ck_assert_int_eq(fastloss_nce_loss_f64(nce, 3, 2, d, X1, t1, n1, 1, &loss, NULL),
                       FASTLOSS_OK);
    else
      ck_assert_int_eq(fastloss_nce_loss_f64(nce, 5, 1, d, X2, t2, n2, 1, &loss, NULL),
                       FASTLOSS_OK);
    ck_assert_int_eq(fastloss_nce_grad_f64(nce, 1, 0, call == 0 ? dX1 : dX2), FASTLOSS_OK);
    double dW[40], db[10];
    fl_nce_read(nce, FASTLOSS_F64, V, d, NULL, NULL, dW, db);
    for (size_t e = 0; e < 40; e++) dW_sep[e] += dW[e];
    for (size_t e = 0; e < 10; e++) db_sep[e] += db[e];
    fastloss_nce_destroy(nce);
  }
  /* Together. */
  fastloss_nce *nce = fl_nce_new(&cfg);
  ck_assert_int_eq(fastloss_nce_loss_f64(nce, 3, 2, d, X1, t1, n1, 1, &loss, NULL), FASTLOSS_OK);
  ck_assert_int_eq(fastloss_nce_loss_f64(nce, 5, 1, d, X2, t2, n2, 0, &loss, NULL), FASTLOSS_OK);
  ck_assert_int_eq(fastloss_nce_loss_f64(nce, 5, 1, d, X2, t2, n2, 1, &loss, NULL), FASTLOSS_OK);
  size_t calls, elements;
  ck_assert_int_eq(fastloss_nce_pending(nce, &calls, &elements), FASTLOSS_OK);
  ck_assert_uint_eq(calls, 2);
  ck_assert_uint_eq(elements, 44);
  double dX[44], dW[40], db[10];
  ck_assert_int_eq(fastloss_nce_grad_f64(nce, 1, 0, dX), FASTLOSS_OK);
  fl_nce_read(nce, FASTLOSS_F64, V, d, NULL, NULL, dW, db);
  for (size_t e = 0; e < 24; e++) ck_assert(dX[e] == dX1[e]);
  for (size_t e = 0; e < 20; e++) ck_assert(dX[24 + e] == dX2[e]);
  for (size_t e = 0; e < 40; e++) ck_assert(fl_close(dW[e], dW_sep[e], 1e-14, 1e-13));
  for (size_t e = 0; e < 10; e++) ck_assert(fl_close(db[e], db_sep[e], 1e-14, 1e-13));
  /* retain_grads = 0: dX only, dW untouched, the calls consumed. */
  ck_assert_int_eq(fastloss_nce_loss_f64(nce, 3, 2, d, X1, t1, n1, 1, &loss, NULL), FASTLOSS_OK);
  double dX3[24];
  ck_assert_int_eq(fastloss_nce_grad_f64(nce, 0, 1, dX3), FASTLOSS_OK);
  for (size_t e = 0; e < 24; e++) ck_assert(dX3[e] == dX1[e]);
  double dW2[40];
  fl_nce_read(nce, FASTLOSS_F64, V, d, NULL, NULL, dW2, NULL);
  for (size_t e = 0; e < 40; e++) ck_assert(dW2[e] == dW[e]);
  ck_assert_int_eq(fastloss_nce_grad_f64(nce, 1, 0, dX3), FASTLOSS_ERR_INVALID_STATE);
  /* flush zeroes the gradients. */
  ck_assert_int_eq(fastloss_nce_flush_gradients(nce), FASTLOSS_OK);
  fl_nce_read(nce, FASTLOSS_F64, V, d, NULL, NULL, dW, db);
  for (size_t e = 0; e < 40; e++) ck_assert(dW[e] == 0.0);
  for (size_t e = 0; e < 10; e++) ck_assert(db[e] == 0.0);
  /* As numpy-ml's flush_gradients, flush (and so update) also drops the
   * retained calls. */
  ck_assert_int_eq(fastloss_nce_loss_f64(nce, 3, 2, d, X1, t1, n1, 1, &loss, NULL), FASTLOSS_OK);
  ck_assert_int_eq(fastloss_nce_flush_gradients(nce), FASTLOSS_OK);
  ck_assert_int_eq(fastloss_nce_pending(nce, &calls, &elements), FASTLOSS_OK);
  ck_assert(calls == 0 && elements == 0);
  ck_assert_int_eq(fastloss_nce_loss_f64(nce, 3, 2, d, X1, t1, n1, 1, &loss, NULL), FASTLOSS_OK);
  ck_assert_int_eq(fastloss_nce_update(nce), FASTLOSS_OK);
  ck_assert_int_eq(fastloss_nce_pending(nce, &calls, &elements), FASTLOSS_OK);
  ck_assert(calls == 0 && elements == 0);
  fastloss_nce_destroy(nce);
  fastloss_sampler_destroy(s);
}
END_TEST

/* ---------------------------------------------------------- optimizers */

/* Runs `steps` loss + grad(update) steps on a fresh object with `opt`
 * (f64 and f32), and checks W and b after each step against the step
 * computed here from the gradient of the same step (read from an
 * identical object with update_params = 0) and the test's own state. */
static void fl_check_optimizer(fastloss_dtype dtype, const fastloss_optimizer *opt, int steps) {
  const size_t V = 8, d = 3, k = 2, n_ex = 3, n_c = 1;
  fastloss_sampler *s = fl_nce_sampler(V, NULL, -1);
  fastloss_nce_config cfg = fl_nce_config(dtype, V, d, k, s);
  cfg.optimizer = *opt;
  fastloss_nce *nce = fl_nce_new(&cfg);
  fastloss_nce_config probe_cfg = cfg;
  probe_cfg.optimizer = (fastloss_optimizer){0};
  fastloss_nce *probe = fl_nce_new(&probe_cfg);
  const double lr = opt->lr != 0                                                           ? opt->lr
                    : (opt->kind == FASTLOSS_OPT_SGD || opt->kind == FASTLOSS_OPT_ADAGRAD) ? 0.01
                                                                                           : 0.001;
  const double decay = opt->decay != 0 ? opt->decay : 0.9,
               d1 = opt->decay1 != 0 ? opt->decay1 : 0.9;
  const double d2 = opt->decay2 != 0 ? opt->decay2 : 0.999, eps = opt->eps != 0 ? opt->eps : 1e-7;
  const int dense = !opt->lazy && !(opt->kind == FASTLOSS_OPT_SGD && opt->momentum == 0);
  double P[2][8 * 3], S0[2][8 * 3] = {{0}}, S1[2][8 * 3] = {{0}};
  fl_nce_read(nce, dtype, V, d, P[0], P[1], NULL, NULL);
  fl_rng rng;
  fl_rng_seed(&rng, 77);
  const size_t elem = dtype == FASTLOSS_F32 ? sizeof(float) : sizeof(double);
  const int f32 = dtype == FASTLOSS_F32;
  for (int step = 1; step <= steps; step++) {
    double Xd[3 * 3];
    for (size_t e = 0; e < 9; e++) Xd[e] = 2.0 * fl_rng_normal(&rng);
    void *X = fl_alloc_x(dtype, 9, Xd);
    /* Step 2 uses other rows: untouched rows show dense vs lazy. */
    const int32_t target[3] = {step == 2 ? 6 : 1, 4, step == 2 ? 6 : 1};
    const int32_t neg[2] = {step == 2 ? 7 : 3, 0};
    /* The probe gets this step's parameters and yields its gradient. */
    void *pW, *pb;
    ck_assert_int_eq(fastloss_nce_params(probe, &pW, &pb, NULL, NULL), FASTLOSS_OK);
    void *nW, *nb;
    ck_assert_int_eq(fastloss_nce_params(nce, &nW, &nb, NULL, NULL), FASTLOSS_OK);
    memcpy(pW, nW, V * d * elem);
    memcpy(pb, nb, V * elem);
    double loss;
    unsigned char dX[9 * sizeof(double)];
    ck_assert_int_eq(fl_loss_any(probe, dtype, n_ex, n_c, d, X, target, neg, 1, &loss, NULL),
                     FASTLOSS_OK);
    ck_assert_int_eq(fl_grad_any(probe, dtype, 1, 0, dX), FASTLOSS_OK);
    double G[2][8 * 3];
    fl_nce_read(probe, dtype, V, d, NULL, NULL, G[0], G[1]);
    ck_assert_int_eq(fastloss_nce_flush_gradients(probe), FASTLOSS_OK);
    ck_assert_int_eq(fl_loss_any(nce, dtype, n_ex, n_c, d, X, target, neg, 1, &loss, NULL),
                     FASTLOSS_OK);
    ck_assert_int_eq(fl_grad_any(nce, dtype, 1, 1, dX), FASTLOSS_OK);
    for (int param = 0; param < 2; param++) {
      const size_t count = param == 0 ? V * d : V, len = param == 0 ? d : 1;
      double norm = 0.0;
      for (size_t e = 0; e < count; e++) norm += G[param][e] * G[param][e];
      norm = sqrt(norm);
      for (size_t e = 0; e < count; e++) {
        const size_t row = e / len;
        int touched = row == (size_t)target[0] || row == 4 || row == (size_t)neg[0] || row == 0;
        if (!dense && !touched) continue;
        double g = G[param][e];
        if (opt->clip_norm > 0 && norm > opt->clip_norm) g = g * opt->clip_norm / norm;
        double u;
        switch (opt->kind) {
          case FASTLOSS_OPT_SGD:
            u = opt->momentum * S0[param][e] + lr * g;
            S0[param][e] = u;
            break;
          case FASTLOSS_OPT_ADAGRAD:
            S0[param][e] += g * g;
            u = lr * g / (sqrt(S0[param][e]) + eps);
            break;
          case FASTLOSS_OPT_RMSPROP:
            S0[param][e] = decay * S0[param][e] + (1 - decay) * g * g;
            u = lr * g / (sqrt(S0[param][e]) + eps);
            break;
          default:
            S0[param][e] = d1 * S0[param][e] + (1 - d1) * g;
            S1[param][e] = d2 * S1[param][e] + (1 - d2) * g * g;
            u = lr * (S0[param][e] / (1 - pow(d1, step))) /
                (sqrt(S1[param][e] / (1 - pow(d2, step))) + eps);
            break;
        }
        P[param][e] -= u;
        if (f32) P[param][e] = (float)P[param][e];
      }
    }
    double W[8 * 3], b[8], dW[8 * 3], db[8];
    fl_nce_read(nce, dtype, V, d, W, b, dW, db);
    for (size_t e = 0; e < V * d; e++) {
      FL_CHECK(fl_close(W[e], P[0][e], f32 ? 1e-6 : 1e-14, f32 ? 1e-6 : 1e-13),
               "%s opt %d lazy %d step %d: W[%zu] = %.12g, expected %.12g", f32 ? "f32" : "f64",
               (int)opt->kind, opt->lazy, step, e, W[e], P[0][e]);
      FL_CHECK1(dW[e] == 0.0);
    }
    for (size_t e = 0; e < V; e++) {
      FL_CHECK(fl_close(b[e], P[1][e], f32 ? 1e-6 : 1e-14, f32 ? 1e-6 : 1e-13),
               "%s opt %d lazy %d step %d: b[%zu] = %.12g, expected %.12g", f32 ? "f32" : "f64",
               (int)opt->kind, opt->lazy, step, e, b[e], P[1][e]);
      FL_CHECK1(db[e] == 0.0);
    }
    free(X);
  }
  fastloss_nce_destroy(nce);
  fastloss_nce_destroy(probe);
  fastloss_sampler_destroy(s);
}

START_TEST(nce_optimizers) {
  const fastloss_optimizer opts[] = {
      {.kind = FASTLOSS_OPT_SGD},
      {.kind = FASTLOSS_OPT_SGD, .lr = 0.3},
      {.kind = FASTLOSS_OPT_SGD, .lr = 0.2, .momentum = 0.9},
      {.kind = FASTLOSS_OPT_SGD, .lr = 0.2, .momentum = 0.9, .lazy = 1},
      {.kind = FASTLOSS_OPT_SGD, .lr = 0.5, .clip_norm = 0.05},
      {.kind = FASTLOSS_OPT_ADAGRAD},
      {.kind = FASTLOSS_OPT_ADAGRAD, .lr = 0.1, .eps = 1e-3, .clip_norm = 0.1},
      {.kind = FASTLOSS_OPT_RMSPROP},
      {.kind = FASTLOSS_OPT_RMSPROP, .lr = 0.01, .decay = 0.5, .lazy = 1},
      {.kind = FASTLOSS_OPT_ADAM},
      {.kind = FASTLOSS_OPT_ADAM, .lr = 0.05, .decay1 = 0.8, .decay2 = 0.99, .eps = 1e-4},
      {.kind = FASTLOSS_OPT_ADAM, .lr = 0.05, .lazy = 1, .clip_norm = 0.2},
  };
  for (size_t o = 0; o < sizeof opts / sizeof opts[0]; o++) {
    fl_check_optimizer(FASTLOSS_F64, &opts[o], 3);
    fl_check_optimizer(FASTLOSS_F32, &opts[o], 3);
  }
}
END_TEST

/* Adam touching row 5 only in step 1: numpy-ml's dense mode keeps moving
 * it in step 2 (its mean is nonzero); the lazy mode leaves it alone. */
START_TEST(nce_lazy_vs_dense) {
  const size_t V = 8, d = 2;
  fastloss_sampler *s = fl_nce_sampler(V, NULL, -1);
  double W[2][3][16];
  for (int lazy = 0; lazy < 2; lazy++) {
    fastloss_nce_config cfg = fl_nce_config(FASTLOSS_F64, V, d, 1, s);
    cfg.optimizer.kind = FASTLOSS_OPT_ADAM;
    cfg.optimizer.lazy = lazy;
    fastloss_nce *nce = fl_nce_new(&cfg);
    const double X[2] = {0.5, -1.0};
    double loss, dX[2];
    fl_nce_read(nce, FASTLOSS_F64, V, d, W[lazy][0], NULL, NULL, NULL);
    for (int step = 0; step < 2; step++) {
      const int32_t target[1] = {step == 0 ? 5 : 1}, neg[1] = {step == 0 ? 5 : 2};
      ck_assert_int_eq(fastloss_nce_loss_f64(nce, 1, 1, d, X, target, neg, 1, &loss, NULL),
                       FASTLOSS_OK);
      ck_assert_int_eq(fastloss_nce_grad_f64(nce, 1, 1, dX), FASTLOSS_OK);
      fl_nce_read(nce, FASTLOSS_F64, V, d, W[lazy][step + 1], NULL, NULL, NULL);
    }
    fastloss_nce_destroy(nce);
  }
  for (int lazy = 0; lazy < 2; lazy++) {
    ck_assert(W[lazy][1][10] != W[lazy][0][10]); /* step 1 moved row 5 */
    ck_assert(W[lazy][1][0] == W[lazy][0][0]);   /* and not row 0 (no gradient yet) */
  }
  ck_assert(W[0][2][10] != W[0][1][10]); /* dense: momentum moves it again */
  ck_assert(W[1][2][10] == W[1][1][10] && W[1][2][11] == W[1][1][11]); /* lazy: untouched */
  fastloss_sampler_destroy(s);
}
END_TEST

/* SGD (the default): one step is exactly params - lr * grad. */
START_TEST(nce_sgd_step) {
  const size_t V = 12, d = 5, k = 4, n_ex = 6, n_c = 2;
  fastloss_sampler *s = fl_nce_sampler(V, NULL, -1);
  fastloss_nce_config cfg = fl_nce_config(FASTLOSS_F64, V, d, k, s);
  fastloss_nce *a = fl_nce_new(&cfg), *b = fl_nce_new(&cfg);
  fl_rng rng;
  fl_rng_seed(&rng, 3);
  double X[6 * 2 * 5], dX[60];
  for (size_t e = 0; e < 60; e++) X[e] = fl_rng_normal(&rng);
  const int32_t target[6] = {0, 3, 3, 11, 5, 0}, neg[4] = {3, 8, 8, 2};
  double loss;
  ck_assert_int_eq(fastloss_nce_loss_f64(a, n_ex, n_c, d, X, target, neg, 1, &loss, NULL),
                   FASTLOSS_OK);
  ck_assert_int_eq(fastloss_nce_grad_f64(a, 1, 0, dX), FASTLOSS_OK);
  ck_assert_int_eq(fastloss_nce_loss_f64(b, n_ex, n_c, d, X, target, neg, 1, &loss, NULL),
                   FASTLOSS_OK);
  ck_assert_int_eq(fastloss_nce_grad_f64(b, 1, 1, dX), FASTLOSS_OK);
  double W0[60], b0[12], G[60], g[12], W1[60], b1[12];
  fl_nce_read(a, FASTLOSS_F64, V, d, W0, b0, G, g);
  fl_nce_read(b, FASTLOSS_F64, V, d, W1, b1, NULL, NULL);
  for (size_t e = 0; e < V * d; e++) ck_assert(W1[e] == W0[e] - 0.01 * G[e]);
  for (size_t e = 0; e < V; e++) ck_assert(b1[e] == b0[e] - 0.01 * g[e]);
  /* update() on a with the same gradient gives the same parameters. */
  ck_assert_int_eq(fastloss_nce_update(a), FASTLOSS_OK);
  fl_nce_read(a, FASTLOSS_F64, V, d, W0, b0, G, g);
  for (size_t e = 0; e < V * d; e++) ck_assert(W0[e] == W1[e] && G[e] == 0.0);
  fastloss_nce_destroy(a);
  fastloss_nce_destroy(b);
  fastloss_sampler_destroy(s);
}
END_TEST

/* ---------------------------------------------------------------- freeze */

START_TEST(nce_freeze) {
  const size_t V = 9, d = 4, k = 3, n_ex = 4, n_c = 2, rows = 8;
  double q[9];
  fastloss_sampler *s = fl_nce_sampler(V, q, -1);
  fastloss_nce_config cfg = fl_nce_config(FASTLOSS_F64, V, d, k, s);
  fastloss_nce *nce = fl_nce_new(&cfg);
  fl_rng rng;
  fl_rng_seed(&rng, 4);
  fl_nce_randomize(nce, FASTLOSS_F64, V, d, 0.5, &rng);
  double X[32], dX[32], y[8], W[36], b[9];
  for (size_t e = 0; e < 32; e++) X[e] = fl_rng_normal(&rng);
  const int32_t target[4] = {1, 2, 8, 1}, neg[3] = {0, 1, 5};
  double loss;
  /* A call retained before freezing stays pending. */
  ck_assert_int_eq(fastloss_nce_loss_f64(nce, n_ex, n_c, d, X, target, neg, 1, &loss, NULL),
                   FASTLOSS_OK);
  ck_assert_int_eq(fastloss_nce_freeze(nce), FASTLOSS_OK);
  fl_nce_read(nce, FASTLOSS_F64, V, d, W, b, NULL, NULL);
  fl_ref m = {V, d, k, W, b, q, 0, FASTLOSS_HITS_KEEP, 1};
  double ref_y[8];
  const double ref =
      fl_ref_nce(&m, DBL_EPSILON, n_ex, n_c, X, target, neg, ref_y, NULL, NULL, NULL);
  ck_assert_int_eq(fastloss_nce_loss_f64(nce, n_ex, n_c, d, X, target, NULL, 1, &loss, y),
                   FASTLOSS_OK);
  ck_assert_msg(fl_close(loss, ref, 1e-13, 1e-13), "frozen loss %.15g, target-only reference %.15g",
                loss, ref);
  for (size_t r = 0; r < rows; r++) ck_assert(fl_close(y[r], ref_y[r], 1e-15, 1e-13));
  size_t calls;
  ck_assert_int_eq(fastloss_nce_pending(nce, &calls, NULL), FASTLOSS_OK);
  ck_assert_uint_eq(calls, 1);
  ck_assert_int_eq(fastloss_nce_grad_f64(nce, 1, 1, dX), FASTLOSS_ERR_INVALID_STATE);
  ck_assert_ptr_nonnull(strstr(fastloss_last_error(), "frozen"));
  ck_assert_int_eq(fastloss_nce_update(nce), FASTLOSS_ERR_INVALID_STATE);
  ck_assert_int_eq(fastloss_nce_flush_gradients(nce), FASTLOSS_ERR_INVALID_STATE);
  double W2[36], b2[9];
  fl_nce_read(nce, FASTLOSS_F64, V, d, W2, b2, NULL, NULL);
  ck_assert(memcmp(W, W2, sizeof W) == 0 && memcmp(b, b2, sizeof b) == 0);
  ck_assert_int_eq(fastloss_nce_unfreeze(nce), FASTLOSS_OK);
  ck_assert_int_eq(fastloss_nce_grad_f64(nce, 1, 1, dX), FASTLOSS_OK);
  fl_nce_read(nce, FASTLOSS_F64, V, d, W2, b2, NULL, NULL);
  ck_assert(memcmp(W, W2, sizeof W) != 0);
  /* Unfrozen, the full loss again. */
  m.frozen = 0;
  fl_nce_read(nce, FASTLOSS_F64, V, d, W, b, NULL, NULL);
  const double full =
      fl_ref_nce(&m, DBL_EPSILON, n_ex, n_c, X, target, neg, NULL, NULL, NULL, NULL);
  ck_assert_int_eq(fastloss_nce_loss_f64(nce, n_ex, n_c, d, X, target, neg, 0, &loss, NULL),
                   FASTLOSS_OK);
  ck_assert(fl_close(loss, full, 1e-13, 1e-13));
  fastloss_nce_destroy(nce);
  fastloss_sampler_destroy(s);
}
END_TEST

/* ------------------------------------------------------------- threads */

/* A training run of a few steps; everything it produced, as bytes. */
static void fl_thread_run(fastloss_dtype dtype, int threads, fastloss_optimizer opt,
                          unsigned char **out, size_t *out_bytes) {
  /* V * d = 156000: Adam's dense step too runs on several threads */
  const size_t V = 600, d = 260, k = 7, n_ex = 300, n_c = 2, rows = n_ex * n_c;
  const size_t elem = dtype == FASTLOSS_F32 ? sizeof(float) : sizeof(double);
  fastloss_sampler *s = fl_nce_sampler(V, NULL, -1);
  fastloss_nce_config cfg = fl_nce_config(dtype, V, d, k, s);
  cfg.optimizer = opt;
  fastloss_nce *nce = fl_nce_new(&cfg);
  ck_assert_int_eq(fastloss_set_num_threads(threads), FASTLOSS_OK);
  fl_rng rng;
  fl_rng_seed(&rng, 11);
  double *Xd = malloc(rows * d * sizeof(double));
  int32_t *target = malloc(n_ex * sizeof(int32_t));
  const int steps = 3;
  *out_bytes =
      (size_t)steps * (sizeof(double) + rows * elem + rows * d * elem) + V * d * elem + V * elem;
  *out = malloc(*out_bytes);
  unsigned char *p = *out;
  void *y = malloc(rows * elem), *dX = malloc(rows * d * elem);
  for (int step = 0; step < steps; step++) {
    for (size_t e = 0; e < rows * d; e++) Xd[e] = fl_rng_normal(&rng);
    for (size_t i = 0; i < n_ex; i++)
      target[i] = (int32_t)(fl_rng_u32(&rng) % 40); /* many repeats */
    void *X = fl_alloc_x(dtype, rows * d, Xd);
    double loss;
    ck_assert_int_eq(fl_loss_any(nce, dtype, n_ex, n_c, d, X, target, NULL, 1, &loss, y),
                     FASTLOSS_OK);
    ck_assert_int_eq(fl_grad_any(nce, dtype, 1, 1, dX), FASTLOSS_OK);
    memcpy(p, &loss, sizeof loss);
    p += sizeof loss;
    memcpy(p, y, rows * elem);
    p += rows * elem;
    memcpy(p, dX, rows * d * elem);
    p += rows * d * elem;
    free(X);
  }
  void *W, *b;
  ck_assert_int_eq(fastloss_nce_params(nce, &W, &b, NULL, NULL), FASTLOSS_OK);
  memcpy(p, W, V * d * elem);
  p += V * d * elem;
  memcpy(p, b, V * elem);
  ck_assert_int_eq(fastloss_set_num_threads(0), FASTLOSS_OK);
  free(Xd);
  free(target);
  free(y);
  free(dX);
  fastloss_nce_destroy(nce);
  fastloss_sampler_destroy(s);
}

START_TEST(nce_thread_invariance) {
  const fastloss_optimizer opts[] = {{.kind = FASTLOSS_OPT_SGD, .lr = 0.1},
                                     {.kind = FASTLOSS_OPT_ADAM, .clip_norm = 1.0}};
  for (int dtype = 0; dtype < 2; dtype++)
    for (size_t o = 0; o < 2; o++) {
      unsigned char *one, *many;
      size_t one_bytes, many_bytes;
      fl_thread_run((fastloss_dtype)dtype, 1, opts[o], &one, &one_bytes);
      for (int threads = 2; threads <= 5; threads += 3) {
        fl_thread_run((fastloss_dtype)dtype, threads, opts[o], &many, &many_bytes);
        ck_assert_uint_eq(one_bytes, many_bytes);
        ck_assert_msg(memcmp(one, many, one_bytes) == 0,
                      "dtype %d opt %zu: %d threads differ from 1", dtype, o, threads);
        free(many);
      }
      free(one);
    }
}
END_TEST

/* ------------------------------------------------------------- seeding */

START_TEST(nce_seeded_draws) {
  const size_t V = 20, d = 3, k = 4, n_ex = 5;
  fastloss_sampler *s = fl_nce_sampler(V, NULL, -1);
  fastloss_nce_config cfg = fl_nce_config(FASTLOSS_F64, V, d, k, s);
  cfg.seed = 42;
  fastloss_nce *a = fl_nce_new(&cfg), *b = fl_nce_new(&cfg), *explicit_negs = fl_nce_new(&cfg);
  cfg.seed = 43;
  fastloss_nce *other = fl_nce_new(&cfg);
  double Wa[60], Wb[60], Wo[60];
  fl_nce_read(a, FASTLOSS_F64, V, d, Wa, NULL, NULL, NULL);
  fl_nce_read(b, FASTLOSS_F64, V, d, Wb, NULL, NULL, NULL);
  fl_nce_read(other, FASTLOSS_F64, V, d, Wo, NULL, NULL, NULL);
  ck_assert(memcmp(Wa, Wb, sizeof Wa) == 0);
  ck_assert(memcmp(Wa, Wo, sizeof Wa) != 0);
  /* Negatives come from stream 2 of the seed. */
  fastloss_rng rng;
  fastloss_rng_init(&rng, 42, 2);
  fl_rng data;
  fl_rng_seed(&data, 6);
  double X[15];
  const int32_t target[5] = {0, 4, 19, 7, 7};
  for (int step = 0; step < 4; step++) {
    for (size_t e = 0; e < 15; e++) X[e] = fl_rng_normal(&data);
    int32_t neg[4];
    ck_assert_int_eq(fastloss_sampler_sample_rng(s, &rng, k, neg), FASTLOSS_OK);
    double la, lb, le, lo;
    ck_assert_int_eq(fastloss_nce_loss_f64(a, n_ex, 1, d, X, target, NULL, 0, &la, NULL),
                     FASTLOSS_OK);
    ck_assert_int_eq(fastloss_nce_loss_f64(b, n_ex, 1, d, X, target, NULL, 0, &lb, NULL),
                     FASTLOSS_OK);
    ck_assert_int_eq(fastloss_nce_loss_f64(explicit_negs, n_ex, 1, d, X, target, neg, 0, &le, NULL),
                     FASTLOSS_OK);
    ck_assert_int_eq(fastloss_nce_loss_f64(other, n_ex, 1, d, X, target, NULL, 0, &lo, NULL),
                     FASTLOSS_OK);
    ck_assert(la == lb && la != lo);
    ck_assert_msg(la == le, "step %d: drawn negatives give %.17g, stream-2 negatives %.17g", step,
                  la, le);
  }
  fastloss_nce_destroy(a);
  fastloss_nce_destroy(b);
  fastloss_nce_destroy(explicit_negs);
  fastloss_nce_destroy(other);
  fastloss_sampler_destroy(s);
}
END_TEST

/* Initialisation: range and spread of each scheme (numpy-ml's fans:
 * fan_in = n_classes, fan_out = n_in for W of shape (n_classes, n_in)).
 * The normal schemes are numpy-ml's truncated normal: every |w| < 2 std and
 * the spread of N(0, 1) truncated to (-2, 2),
 *   m2 = E[z^2] = 1 - 2 a phi(a) / Z,  m4 = E[z^4] = 3 m2 - 2 a^3 phi(a) / Z
 * (a = 2, Z = Phi(a) - Phi(-a) = erf(a / sqrt 2)), so the weights' standard
 * deviation is std sqrt(m2) = 0.8796 std.  Uniform(-b, b): m2 = b^2 / 3,
 * m4 = b^4 / 5.  Tolerances: 5 standard errors of the sample mean
 * (sqrt(m2 / N)) and of the sample standard deviation (by the delta
 * method, sqrt((m4 - m2^2) / N) / (2 sqrt(m2))) over N weights; a plain
 * normal (std 1.137 times the truncated one, and values beyond 2 std)
 * fails both the bound and the spread. */
START_TEST(nce_init) {
  const size_t V = 1000, d = 200, N = V * d;
  const double a = 2.0, phi = exp(-0.5 * a * a) / sqrt(2.0 * acos(-1.0)), Z = erf(a / sqrt(2.0));
  const double trunc_m2 = 1.0 - 2.0 * a * phi / Z,
               trunc_m4 = 3.0 * trunc_m2 - 2.0 * a * a * a * phi / Z;
  ck_assert_msg(fabs(sqrt(trunc_m2) - 0.8796) < 5e-5, "truncated spread %.6f", sqrt(trunc_m2));
  fastloss_sampler *s = fl_nce_sampler(V, NULL, -1);
  for (int dtype_pass = 0; dtype_pass < 2; dtype_pass++) {
    const fastloss_dtype dtype = dtype_pass == 0 ? FASTLOSS_F64 : FASTLOSS_F32;
    for (int init = 0; init < 4; init++) {
      fastloss_nce_config cfg = fl_nce_config(dtype, V, d, 2, s);
      cfg.init = (fastloss_init)init;
      fastloss_nce *nce = fl_nce_new(&cfg);
      void *W, *b;
      ck_assert_int_eq(fastloss_nce_params(nce, &W, &b, NULL, NULL), FASTLOSS_OK);
      const int normal = init == FASTLOSS_INIT_GLOROT_NORMAL || init == FASTLOSS_INIT_HE_NORMAL;
      const double fan_sum = (double)(V + d), fan_in = (double)V;
      /* bound: b of the uniform schemes, 2 std of the normal ones. */
      const double uniform_b =
          init == FASTLOSS_INIT_GLOROT_UNIFORM ? sqrt(6.0 / fan_sum) : sqrt(6.0 / fan_in);
      const double normal_std =
          init == FASTLOSS_INIT_GLOROT_NORMAL ? sqrt(2.0 / fan_sum) : sqrt(2.0 / fan_in);
      const double bound = normal ? 2.0 * normal_std : uniform_b;
      const double m2 = normal ? trunc_m2 * normal_std * normal_std : uniform_b * uniform_b / 3.0;
      const double m4 = normal ? trunc_m4 * pow(normal_std, 4.0) : pow(uniform_b, 4.0) / 5.0;
      /* In f32 the weight is the double value rounded, which stays within
       * the bound rounded the same way. */
      const double limit = dtype == FASTLOSS_F32 ? (double)(float)bound : bound;
      double sum = 0.0, squares = 0.0, widest = 0.0;
      for (size_t e = 0; e < N; e++) {
        const double w = fl_get(dtype, W, e);
        if (fabs(w) > widest) widest = fabs(w);
        sum += w;
        squares += w * w;
      }
      if (normal)
        ck_assert_msg(widest < limit, "init %d dtype %d: |w| = %.9g reaches 2 std = %.9g", init,
                      (int)dtype, widest, limit);
      else
        ck_assert_msg(widest <= limit, "init %d dtype %d: |w| = %.9g beyond b = %.9g", init,
                      (int)dtype, widest, limit);
      const double mean = sum / (double)N, std = sqrt(squares / (double)N - mean * mean);
      const double want_std = sqrt(m2);
      const double mean_tol = 5.0 * sqrt(m2 / (double)N);
      const double std_tol = 5.0 * sqrt((m4 - m2 * m2) / (double)N) / (2.0 * want_std);
      ck_assert_msg(fabs(mean) < mean_tol, "init %d dtype %d: mean %g, tolerance %g", init,
                    (int)dtype, mean, mean_tol);
      ck_assert_msg(fabs(std - want_std) < std_tol,
                    "init %d dtype %d: std %.6g, want %.6g +- %.2g (ratio %.5f)", init, (int)dtype,
                    std, want_std, std_tol, std / want_std);
      for (size_t e = 0; e < V; e++) ck_assert(fl_get(dtype, b, e) == 0.0);
      fastloss_nce_destroy(nce);
    }
  }
  fastloss_sampler_destroy(s);
}
END_TEST

/* -------------------------------------------------------------- errors */

typedef struct fl_snapshot {
  double W[7 * 3], b[7], dW[7 * 3], db[7];
  size_t calls, elements;
} fl_snapshot;

static void fl_snap(fastloss_nce *nce, fl_snapshot *s) {
  memset(s, 0, sizeof *s);
  fl_nce_read(nce, FASTLOSS_F64, 7, 3, s->W, s->b, s->dW, s->db);
  ck_assert_int_eq(fastloss_nce_pending(nce, &s->calls, &s->elements), FASTLOSS_OK);
}

static void fl_expect_status(fastloss_status got, fastloss_status want, const char *part) {
  ck_assert_msg(got == want, "got %s (%s), want %s", fastloss_status_str(got),
                fastloss_last_error(), fastloss_status_str(want));
  ck_assert_msg(strstr(fastloss_last_error(), part) != NULL, "message '%s' lacks '%s'",
                fastloss_last_error(), part);
}

static void fl_expect_create(const fastloss_nce_config *cfg, fastloss_status want,
                             const char *part) {
  fastloss_nce *nce = (fastloss_nce *)(uintptr_t)0x1234;
  fl_expect_status(fastloss_nce_create(&nce, cfg), want, part);
  ck_assert_ptr_eq(nce, (fastloss_nce *)(uintptr_t)0x1234);
}

START_TEST(nce_errors_create) {
  fastloss_sampler *s = fl_nce_sampler(7, NULL, -1);
  const fastloss_nce_config ok = fl_nce_config(FASTLOSS_F64, 7, 3, 2, s);
  fastloss_nce_config c;
  fl_expect_status(fastloss_nce_create(NULL, &ok), FASTLOSS_ERR_NULL_POINTER, "nce is NULL");
  fl_expect_create(NULL, FASTLOSS_ERR_NULL_POINTER, "config is NULL");
  c = ok;
  c.dtype = (fastloss_dtype)5;
  fl_expect_create(&c, FASTLOSS_ERR_INVALID_ARGUMENT, "dtype = 5");
  c = ok;
  c.n_classes = 0;
  fl_expect_create(&c, FASTLOSS_ERR_INVALID_SHAPE, "n_classes = 0");
  c = ok;
  c.n_classes = (size_t)INT32_MAX + 1;
  fl_expect_create(&c, FASTLOSS_ERR_INVALID_ARGUMENT, "n_classes = 2147483648 exceeds INT32_MAX");
  c = ok;
  c.n_in = 0;
  fl_expect_create(&c, FASTLOSS_ERR_INVALID_SHAPE, "n_in = 0");
  c = ok;
  c.n_in = SIZE_MAX / 4;
  fl_expect_create(&c, FASTLOSS_ERR_SIZE_OVERFLOW, "overflows");
  c = ok;
  c.num_negative_samples = 0;
  fl_expect_create(&c, FASTLOSS_ERR_INVALID_ARGUMENT, "num_negative_samples = 0");
  c = ok;
  c.sampler = NULL;
  fl_expect_create(&c, FASTLOSS_ERR_NULL_POINTER, "sampler is NULL");
  c = ok;
  c.n_classes = 8;
  fl_expect_create(&c, FASTLOSS_ERR_INVALID_ARGUMENT,
                   "sampler has 7 classes, config->n_classes = 8");
  c = ok;
  c.init = (fastloss_init)9;
  fl_expect_create(&c, FASTLOSS_ERR_INVALID_ARGUMENT, "init = 9");
  c = ok;
  c.accidental_hits = (fastloss_accidental_hits)-1;
  fl_expect_create(&c, FASTLOSS_ERR_INVALID_ARGUMENT, "accidental_hits = -1");
  c = ok;
  c.optimizer.kind = (fastloss_optimizer_kind)4;
  fl_expect_create(&c, FASTLOSS_ERR_INVALID_ARGUMENT, "optimizer.kind = 4");
  c = ok;
  c.optimizer.lr = -0.1;
  fl_expect_create(&c, FASTLOSS_ERR_INVALID_ARGUMENT, "optimizer.lr = -0.1");
  c = ok;
  c.optimizer.lr = NAN;
  fl_expect_create(&c, FASTLOSS_ERR_INVALID_ARGUMENT, "optimizer.lr = nan");
  c = ok;
  c.optimizer.momentum = -1;
  fl_expect_create(&c, FASTLOSS_ERR_INVALID_ARGUMENT, "optimizer.momentum = -1");
  c = ok;
  c.optimizer.eps = -1e-8;
  fl_expect_create(&c, FASTLOSS_ERR_INVALID_ARGUMENT, "optimizer.eps = -1e-08");
  c = ok;
  c.optimizer.clip_norm = -2;
  fl_expect_create(&c, FASTLOSS_ERR_INVALID_ARGUMENT, "optimizer.clip_norm = -2");
  c = ok;
  c.optimizer.decay = 1.0;
  fl_expect_create(&c, FASTLOSS_ERR_INVALID_ARGUMENT, "optimizer.decay = 1 is outside [0, 1)");
  c = ok;
  c.optimizer.decay1 = -0.5;
  fl_expect_create(&c, FASTLOSS_ERR_INVALID_ARGUMENT, "optimizer.decay1 = -0.5");
  c = ok;
  c.optimizer.decay2 = 1.5;
  fl_expect_create(&c, FASTLOSS_ERR_INVALID_ARGUMENT, "optimizer.decay2 = 1.5");
  fastloss_nce_destroy(NULL);
  fastloss_sampler_destroy(s);
}
END_TEST

START_TEST(nce_errors_calls) {
  fastloss_sampler *s = fl_nce_sampler(7, NULL, 6); /* class 6 has Q = 0 */
  fastloss_nce_config cfg = fl_nce_config(FASTLOSS_F64, 7, 3, 2, s);
  fastloss_nce *nce = fl_nce_new(&cfg);
  double X[4 * 3] = {0.1, 0.2, 0.3, -0.1, 0.5, 0.2, 0.3, 0.3, -0.7, 0.0, 1.0, 0.4};
  const int32_t target[4] = {0, 1, 2, 3}, neg[2] = {4, 5};
  double loss, y[4], dX[12];
  /* A pending call and nonzero gradients, which no failed call may touch. */
  ck_assert_int_eq(fastloss_nce_loss_f64(nce, 4, 1, 3, X, target, neg, 1, &loss, NULL),
                   FASTLOSS_OK);
  ck_assert_int_eq(fastloss_nce_grad_f64(nce, 1, 0, dX), FASTLOSS_OK);
  ck_assert_int_eq(fastloss_nce_loss_f64(nce, 4, 1, 3, X, target, neg, 1, &loss, NULL),
                   FASTLOSS_OK);
  fl_snapshot before, after;
  fl_snap(nce, &before);
  ck_assert_uint_eq(before.calls, 1);
  double out_loss = 77.0, out_y[4] = {5, 5, 5, 5};
#define FL_NOTHING_CHANGED()                                       \
  do {                                                             \
    fl_snap(nce, &after);                                          \
    ck_assert(memcmp(&before, &after, sizeof before) == 0);        \
    ck_assert(out_loss == 77.0 && out_y[0] == 5 && out_y[3] == 5); \
  } while (0)
  fl_expect_status(fastloss_nce_loss_f64(NULL, 4, 1, 3, X, target, neg, 1, &out_loss, out_y),
                   FASTLOSS_ERR_NULL_POINTER, "nce is NULL");
  fl_expect_status(fastloss_nce_loss_f64(nce, 4, 1, 3, NULL, target, neg, 1, &out_loss, out_y),
                   FASTLOSS_ERR_NULL_POINTER, "X is NULL");
  FL_NOTHING_CHANGED();
  fl_expect_status(fastloss_nce_loss_f64(nce, 4, 1, 3, X, NULL, neg, 1, &out_loss, out_y),
                   FASTLOSS_ERR_NULL_POINTER, "target is NULL");
  fl_expect_status(fastloss_nce_loss_f64(nce, 4, 1, 3, X, target, neg, 1, NULL, out_y),
                   FASTLOSS_ERR_NULL_POINTER, "loss is NULL");
  FL_NOTHING_CHANGED();
  float Xf[12] = {0}, yf[4];
  fl_expect_status(fastloss_nce_loss_f32(nce, 4, 1, 3, Xf, target, neg, 1, &out_loss, yf),
                   FASTLOSS_ERR_INVALID_ARGUMENT, "fastloss_nce_loss_f32 called on an f64 loss");
  fl_expect_status(fastloss_nce_loss_f64(nce, 0, 1, 3, X, target, neg, 1, &out_loss, out_y),
                   FASTLOSS_ERR_INVALID_SHAPE, "n_ex = 0");
  fl_expect_status(fastloss_nce_loss_f64(nce, 4, 0, 3, X, target, neg, 1, &out_loss, out_y),
                   FASTLOSS_ERR_INVALID_SHAPE, "n_c = 0");
  fl_expect_status(
      fastloss_nce_loss_f64(nce, SIZE_MAX / 2, 3, 3, X, target, neg, 1, &out_loss, out_y),
      FASTLOSS_ERR_SIZE_OVERFLOW, "overflows");
  FL_NOTHING_CHANGED();
  int32_t bad_target[4] = {0, 1, 2, 3};
  bad_target[3] = 7;
  fl_expect_status(fastloss_nce_loss_f64(nce, 4, 1, 3, X, bad_target, neg, 1, &out_loss, out_y),
                   FASTLOSS_ERR_LABEL_OUT_OF_RANGE, "target[3] = 7 is outside [0, 7)");
  bad_target[3] = -2;
  fl_expect_status(fastloss_nce_loss_f64(nce, 4, 1, 3, X, bad_target, neg, 1, &out_loss, out_y),
                   FASTLOSS_ERR_LABEL_OUT_OF_RANGE, "target[3] = -2 is outside [0, 7)");
  int32_t bad_neg[2] = {4, 100000};
  fl_expect_status(fastloss_nce_loss_f64(nce, 4, 1, 3, X, target, bad_neg, 1, &out_loss, out_y),
                   FASTLOSS_ERR_LABEL_OUT_OF_RANGE, "neg_samples[1] = 100000 is outside [0, 7)");
  FL_NOTHING_CHANGED();
  /* Q(6) = 0: its NCE logit would be +inf. */
  bad_target[3] = 6;
  fl_expect_status(fastloss_nce_loss_f64(nce, 4, 1, 3, X, bad_target, neg, 1, &out_loss, out_y),
                   FASTLOSS_ERR_INVALID_ARGUMENT, "target[3] = 6 has noise probability 0");
  bad_neg[1] = 6;
  fl_expect_status(fastloss_nce_loss_f64(nce, 4, 1, 3, X, target, bad_neg, 1, &out_loss, out_y),
                   FASTLOSS_ERR_INVALID_ARGUMENT, "neg_samples[1] = 6 has noise probability 0");
  fl_expect_status(fastloss_nce_loss_f64(nce, 4, 1, 3, X, target, neg, 1, &out_loss, X + 2),
                   FASTLOSS_ERR_OVERLAP, "y_pred overlaps X");
  FL_NOTHING_CHANGED();
  /* grad */
  fl_expect_status(fastloss_nce_grad_f64(NULL, 1, 1, dX), FASTLOSS_ERR_NULL_POINTER, "nce is NULL");
  fl_expect_status(fastloss_nce_grad_f64(nce, 1, 1, NULL), FASTLOSS_ERR_NULL_POINTER, "dX is NULL");
  float dXf[12];
  fl_expect_status(fastloss_nce_grad_f32(nce, 1, 1, dXf), FASTLOSS_ERR_INVALID_ARGUMENT,
                   "fastloss_nce_grad_f32 called on an f64 loss");
  FL_NOTHING_CHANGED();
  fl_expect_status(fastloss_nce_update(NULL), FASTLOSS_ERR_NULL_POINTER, "nce is NULL");
  fl_expect_status(fastloss_nce_flush_gradients(NULL), FASTLOSS_ERR_NULL_POINTER, "nce is NULL");
  fl_expect_status(fastloss_nce_freeze(NULL), FASTLOSS_ERR_NULL_POINTER, "nce is NULL");
  fl_expect_status(fastloss_nce_unfreeze(NULL), FASTLOSS_ERR_NULL_POINTER, "nce is NULL");
  fl_expect_status(fastloss_nce_params(NULL, NULL, NULL, NULL, NULL), FASTLOSS_ERR_NULL_POINTER,
                   "nce is NULL");
  fl_expect_status(fastloss_nce_pending(NULL, NULL, NULL), FASTLOSS_ERR_NULL_POINTER,
                   "nce is NULL");
  /* Frozen: grad, update, flush refuse. */
  ck_assert_int_eq(fastloss_nce_freeze(nce), FASTLOSS_OK);
  fl_expect_status(fastloss_nce_grad_f64(nce, 1, 1, dX), FASTLOSS_ERR_INVALID_STATE, "frozen");
  fl_expect_status(fastloss_nce_update(nce), FASTLOSS_ERR_INVALID_STATE, "frozen");
  fl_expect_status(fastloss_nce_flush_gradients(nce), FASTLOSS_ERR_INVALID_STATE, "frozen");
  FL_NOTHING_CHANGED();
  ck_assert_int_eq(fastloss_nce_unfreeze(nce), FASTLOSS_OK);
  /* grad with nothing retained. */
  ck_assert_int_eq(fastloss_nce_grad_f64(nce, 1, 0, dX), FASTLOSS_OK);
  fl_snap(nce, &before);
  fl_expect_status(fastloss_nce_grad_f64(nce, 1, 1, dX), FASTLOSS_ERR_INVALID_STATE,
                   "no retained loss() call");
  FL_NOTHING_CHANGED();
#undef FL_NOTHING_CHANGED
  fastloss_nce_destroy(nce);
  fastloss_sampler_destroy(s);
  /* Negative sampling ignores Q, so a zero-probability class is fine. */
  fastloss_sampler *s2 = fl_nce_sampler(7, NULL, 6);
  fastloss_nce_config ns = fl_nce_config(FASTLOSS_F32, 7, 3, 2, s2);
  ns.negative_sampling = 1;
  nce = fl_nce_new(&ns);
  const int32_t t6[4] = {6, 6, 0, 1};
  ck_assert_int_eq(fastloss_nce_loss_f32(nce, 4, 1, 3, Xf, t6, neg, 0, &loss, yf), FASTLOSS_OK);
  fl_expect_status(fastloss_nce_loss_f64(nce, 4, 1, 3, X, t6, neg, 0, &loss, y),
                   FASTLOSS_ERR_INVALID_ARGUMENT, "fastloss_nce_loss_f64 called on an f32 loss");
  fastloss_nce_destroy(nce);
  fastloss_sampler_destroy(s2);
}
END_TEST

/* X with an n_in other than the config's: FASTLOSS_ERR_INVALID_SHAPE naming
 * both, and nothing changes: not the outputs, the parameters, the
 * gradients, the retained calls nor the negative stream (the next call with
 * drawn negatives equals that of a twin that never saw the failed ones). */
START_TEST(nce_errors_n_in) {
  const size_t V = 7, d = 4, k = 2, n_ex = 3, n_c = 2, rows = n_ex * n_c;
  fastloss_sampler *s = fl_nce_sampler(V, NULL, -1);
  for (int pass = 0; pass < 2; pass++) {
    const fastloss_dtype dtype = pass == 0 ? FASTLOSS_F32 : FASTLOSS_F64;
    const size_t elem = dtype == FASTLOSS_F32 ? sizeof(float) : sizeof(double);
    const fastloss_nce_config cfg = fl_nce_config(dtype, V, d, k, s);
    fastloss_nce *nce = fl_nce_new(&cfg), *twin = fl_nce_new(&cfg);
    double Xd[3 * 2 * 5]; /* room for the largest n_in passed below */
    fl_rng rng;
    fl_rng_seed(&rng, 6006);
    for (size_t e = 0; e < sizeof Xd / sizeof Xd[0]; e++) Xd[e] = 0.5 * fl_rng_normal(&rng);
    void *X = fl_alloc_x(dtype, sizeof Xd / sizeof Xd[0], Xd);
    const int32_t target[3] = {1, 5, 2}, neg[2] = {0, 6};
    double loss;
    /* A retained call on each, so there is something that must stay pending. */
    ck_assert_int_eq(fl_loss_any(nce, dtype, n_ex, n_c, d, X, target, neg, 1, &loss, NULL),
                     FASTLOSS_OK);
    ck_assert_int_eq(fl_loss_any(twin, dtype, n_ex, n_c, d, X, target, neg, 1, &loss, NULL),
                     FASTLOSS_OK);
    double W0[7 * 4], b0[7], dW0[7 * 4], db0[7], W1[7 * 4], b1[7], dW1[7 * 4], db1[7];
    fl_nce_read(nce, dtype, V, d, W0, b0, dW0, db0);
    const size_t wrong[3] = {3, 5, 0};
    for (size_t w = 0; w < 3; w++) {
      char want[96];
      snprintf(want, sizeof want, "X has n_in = %zu, but the loss was created with n_in = 4",
               wrong[w]);
      double out_loss = 77.0;
      const double canary[6] = {5, 5, 5, 5, 5, 5};
      void *y = fl_alloc_x(dtype, rows, canary);
      for (int retain = 0; retain < 2; retain++) {
        fl_expect_status(
            fl_loss_any(nce, dtype, n_ex, n_c, wrong[w], X, target, NULL, retain, &out_loss, y),
            FASTLOSS_ERR_INVALID_SHAPE, want);
        ck_assert_msg(out_loss == 77.0, "n_in %zu: loss written on error", wrong[w]);
        for (size_t r = 0; r < rows; r++)
          ck_assert_msg(fl_get(dtype, y, r) == 5.0, "n_in %zu: y_pred[%zu] written on error",
                        wrong[w], r);
        size_t calls = 9, elements = 9;
        ck_assert_int_eq(fastloss_nce_pending(nce, &calls, &elements), FASTLOSS_OK);
        ck_assert_uint_eq(calls, 1);
        ck_assert_uint_eq(elements, rows * d);
        fl_nce_read(nce, dtype, V, d, W1, b1, dW1, db1);
        ck_assert(memcmp(W0, W1, sizeof W0) == 0 && memcmp(b0, b1, sizeof b0) == 0);
        ck_assert(memcmp(dW0, dW1, sizeof dW0) == 0 && memcmp(db0, db1, sizeof db0) == 0);
      }
      free(y);
    }
    /* The right n_in still works, with the draws the twin makes. */
    double loss_a = 0.0, loss_b = 1.0;
    void *ya = malloc(rows * elem), *yb = malloc(rows * elem);
    ck_assert_int_eq(fl_loss_any(nce, dtype, n_ex, n_c, d, X, target, NULL, 1, &loss_a, ya),
                     FASTLOSS_OK);
    ck_assert_int_eq(fl_loss_any(twin, dtype, n_ex, n_c, d, X, target, NULL, 1, &loss_b, yb),
                     FASTLOSS_OK);
    ck_assert(loss_a == loss_b && memcmp(ya, yb, rows * elem) == 0);
    size_t calls = 0;
    ck_assert_int_eq(fastloss_nce_pending(nce, &calls, NULL), FASTLOSS_OK);
    ck_assert_uint_eq(calls, 2);
    free(ya);
    free(yb);
    free(X);
    fastloss_nce_destroy(nce);
    fastloss_nce_destroy(twin);
  }
  fastloss_sampler_destroy(s);
}
END_TEST

/* k above what a sampler without replacement can draw distinct is refused
 * at create (naming k and the class count), not at the first loss() that
 * draws; the boundary k and a sampler with replacement are accepted, and
 * their loss() draws. */
START_TEST(nce_errors_without_replacement) {
  const double w[5] = {1, 2, 3, 4, 5}, sparse[5] = {1, 0, 3, 0, 5};
  fastloss_sampler *distinct = NULL, *distinct_sparse = NULL, *repeats = NULL;
  ck_assert_int_eq(fastloss_sampler_create(&distinct, w, 5, 0, 0, 3), FASTLOSS_OK);
  ck_assert_int_eq(fastloss_sampler_create(&distinct_sparse, sparse, 5, 0, 0, 3), FASTLOSS_OK);
  ck_assert_int_eq(fastloss_sampler_create(&repeats, w, 5, 0, 1, 3), FASTLOSS_OK);
  fastloss_nce_config cfg = fl_nce_config(FASTLOSS_F64, 5, 2, 6, distinct);
  fl_expect_create(&cfg, FASTLOSS_ERR_INVALID_ARGUMENT,
                   "num_negative_samples = 6 exceeds config->n_classes = 5");
  ck_assert_msg(strstr(fastloss_last_error(), "without replacement") != NULL, "%s",
                fastloss_last_error());
  cfg.num_negative_samples = 100;
  fl_expect_create(&cfg, FASTLOSS_ERR_INVALID_ARGUMENT,
                   "num_negative_samples = 100 exceeds config->n_classes = 5");
  /* Two of the five classes have probability 0: three distinct draws at most. */
  cfg.sampler = distinct_sparse;
  cfg.negative_sampling = 1; /* NCE would refuse the zero-probability targets anyway */
  cfg.num_negative_samples = 4;
  fl_expect_create(&cfg, FASTLOSS_ERR_INVALID_ARGUMENT,
                   "num_negative_samples = 4 exceeds the 3 classes of nonzero probability");
  const double X[4] = {0.5, -0.25, 1.0, 0.75};
  const int32_t target[2] = {1, 3};
  double loss = 77.0, y[2] = {5, 5};
  struct {
    const fastloss_sampler *sampler;
    size_t k;
  } accepted[3] = {{distinct, 5}, {distinct_sparse, 3}, {repeats, 6}};
  for (int a = 0; a < 3; a++) {
    cfg.sampler = accepted[a].sampler;
    cfg.num_negative_samples = accepted[a].k;
    fastloss_nce *nce = fl_nce_new(&cfg);
    ck_assert_msg(fastloss_nce_loss_f64(nce, 2, 1, 2, X, target, NULL, 1, &loss, y) == FASTLOSS_OK,
                  "k = %zu: %s", accepted[a].k, fastloss_last_error());
    fastloss_nce_destroy(nce);
  }
  fastloss_sampler_destroy(distinct);
  fastloss_sampler_destroy(distinct_sparse);
  fastloss_sampler_destroy(repeats);
}
END_TEST

/* A gradient written through fastloss_nce_params' dW or db into a row no
 * grad() touched: after fastloss_nce_gradients_written, update() applies it
 * (plain SGD, which otherwise visits only touched rows) and update() and
 * flush_gradients() clear it. */
START_TEST(nce_gradients_written) {
  const size_t V = 6, d = 3, k = 2, n_ex = 2;
  fastloss_sampler *s = fl_nce_sampler(V, NULL, -1);
  for (int pass = 0; pass < 2; pass++) {
    const fastloss_dtype dtype = pass == 0 ? FASTLOSS_F32 : FASTLOSS_F64;
    fastloss_nce_config cfg = fl_nce_config(dtype, V, d, k, s);
    cfg.optimizer.lr = 0.5;
    fastloss_nce *nce = fl_nce_new(&cfg);
    const double Xd[6] = {0.3, -0.2, 0.5, 0.1, 0.4, -0.6};
    void *X = fl_alloc_x(dtype, 6, Xd);
    const int32_t target[2] = {0, 1}, neg[2] = {2, 3}; /* rows 4 and 5 untouched */
    double loss, dX[6];
    ck_assert_int_eq(fl_loss_any(nce, dtype, n_ex, 1, d, X, target, neg, 1, &loss, NULL),
                     FASTLOSS_OK);
    ck_assert_int_eq(fl_grad_any(nce, dtype, 1, 0, dX), FASTLOSS_OK);
    void *pdW, *pdb;
    ck_assert_int_eq(fastloss_nce_params(nce, NULL, NULL, &pdW, &pdb), FASTLOSS_OK);
    const double written_w = 0.25, written_b = -0.75; /* exact in both types */
    if (dtype == FASTLOSS_F32) {
      ((float *)pdW)[5 * d + 1] = (float)written_w;
      ((float *)pdb)[4] = (float)written_b;
    } else {
      ((double *)pdW)[5 * d + 1] = written_w;
      ((double *)pdb)[4] = written_b;
    }
    ck_assert_int_eq(fastloss_nce_gradients_written(nce), FASTLOSS_OK);
    double W0[6 * 3], b0[6], dW0[6 * 3], db0[6], W1[6 * 3], b1[6], dW1[6 * 3], db1[6];
    fl_nce_read(nce, dtype, V, d, W0, b0, dW0, db0);
    ck_assert_int_eq(fastloss_nce_update(nce), FASTLOSS_OK);
    fl_nce_read(nce, dtype, V, d, W1, b1, dW1, db1);
    /* Every row moved by -lr * its gradient: the grad() rows and the written
     * ones alike (in f32, lr * g rounded once, as the SGD step does). */
    const double tol = dtype == FASTLOSS_F32 ? 1e-6 : 1e-15;
    for (size_t e = 0; e < V * d; e++)
      ck_assert_msg(fl_close(W1[e], W0[e] - 0.5 * dW0[e], tol, tol),
                    "dtype %d: W[%zu] = %.9g, want %.9g - 0.5 * %.9g", (int)dtype, e, W1[e], W0[e],
                    dW0[e]);
    for (size_t e = 0; e < V; e++)
      ck_assert_msg(fl_close(b1[e], b0[e] - 0.5 * db0[e], tol, tol),
                    "dtype %d: b[%zu] = %.9g, want %.9g - 0.5 * %.9g", (int)dtype, e, b1[e], b0[e],
                    db0[e]);
    ck_assert(fl_close(W1[5 * d + 1], W0[5 * d + 1] - 0.5 * written_w, tol, tol));
    ck_assert(fl_close(b1[4], b0[4] - 0.5 * written_b, tol, tol));
    ck_assert(W1[5 * d] == W0[5 * d] && W1[4 * d] == W0[4 * d]); /* zero gradient there */
    /* update() flushed every row, the written ones included. */
    for (size_t e = 0; e < V * d; e++) ck_assert_msg(dW1[e] == 0.0, "dW[%zu] = %g", e, dW1[e]);
    for (size_t e = 0; e < V; e++) ck_assert_msg(db1[e] == 0.0, "db[%zu] = %g", e, db1[e]);
    /* flush_gradients() clears a written row too, and moves nothing. */
    if (dtype == FASTLOSS_F32)
      ((float *)pdW)[4 * d + 2] = 3.0f;
    else
      ((double *)pdW)[4 * d + 2] = 3.0;
    ck_assert_int_eq(fastloss_nce_gradients_written(nce), FASTLOSS_OK);
    ck_assert_int_eq(fastloss_nce_flush_gradients(nce), FASTLOSS_OK);
    fl_nce_read(nce, dtype, V, d, W0, NULL, dW0, db0);
    ck_assert(memcmp(W0, W1, sizeof W0) == 0);
    for (size_t e = 0; e < V * d; e++) ck_assert_msg(dW0[e] == 0.0, "dW[%zu] = %g", e, dW0[e]);
    /* Training goes on: the flags were cleared with the rows. */
    ck_assert_int_eq(fl_loss_any(nce, dtype, n_ex, 1, d, X, target, neg, 1, &loss, NULL),
                     FASTLOSS_OK);
    ck_assert_int_eq(fl_grad_any(nce, dtype, 1, 1, dX), FASTLOSS_OK);
    fl_nce_read(nce, dtype, V, d, NULL, NULL, dW0, db0);
    for (size_t e = 0; e < V * d; e++) ck_assert(dW0[e] == 0.0);
    free(X);
    fastloss_nce_destroy(nce);
  }
  fl_expect_status(fastloss_nce_gradients_written(NULL), FASTLOSS_ERR_NULL_POINTER, "nce is NULL");
  fastloss_sampler_destroy(s);
}
END_TEST

Suite *fl_suite_nce(void) {
  Suite *s = suite_create("nce");
  TCase *tc = tcase_create("nce");
  tcase_set_timeout(tc, 600);
  tcase_add_test(tc, nce_matches_reference);
  tcase_add_test(tc, nce_finite_differences);
  tcase_add_test(tc, nce_numpy_ml_hits);
  tcase_add_test(tc, nce_multiple_calls);
  tcase_add_test(tc, nce_sgd_step);
  tcase_add_test(tc, nce_optimizers);
  tcase_add_test(tc, nce_lazy_vs_dense);
  tcase_add_test(tc, nce_freeze);
  tcase_add_test(tc, nce_thread_invariance);
  tcase_add_test(tc, nce_seeded_draws);
  tcase_add_test(tc, nce_init);
  tcase_add_test(tc, nce_errors_create);
  tcase_add_test(tc, nce_errors_calls);
  tcase_add_test(tc, nce_errors_n_in);
  tcase_add_test(tc, nce_errors_without_replacement);
  tcase_add_test(tc, nce_gradients_written);
  suite_add_tcase(s, tc);
  return s;
}
