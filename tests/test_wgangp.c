/* WGAN_GPLoss: the row-norm and scale kernels of the ISA under test against a
 * float64 reference (sizes around the vector width, misaligned, canaries,
 * 1e20-sized and 1e-30-sized entries, zero rows, FLT_MAX); the public f32 and
 * f64 calls against a reference written here for both modules, with padded
 * rows, in-place gradients, different batch sizes, zero rows, huge norms and
 * NaN rows; finite differences of every gradient; thread-count invariance;
 * every error status. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testing.h"

#define FL_EPS64 2.220446049250313e-16

static size_t fl_wg_lanes(void) { return fl_run.lanes > 1 ? fl_run.lanes : 8; }

/* ||g|| in long double, which has the range for 3e38^2 * m. */
static double fl_ref_norm(size_t m, const float *g) {
  long double sum = 0.0L;
  for (size_t j = 0; j < m; j++) sum += (long double)g[j] * (long double)g[j];
  return (double)sqrtl(sum);
}

START_TEST(wgangp_norm_kernel) {
  const fl_f32_wgangp_kernels *k = fl_run.kernels->f32_wgangp;
  const size_t lanes = fl_wg_lanes();
  fl_rng rng;
  fl_rng_seed(&rng, 3001);
  size_t sizes[80], ns = 0;
  for (size_t m = 0; m <= 4 * lanes + 1; m++) sizes[ns++] = m;
  sizes[ns++] = 1000;
  sizes[ns++] = 4099;
  for (size_t s = 0; s < ns; s++)
    for (int kind = 0; kind < 5; kind++)
      for (int mis = 0; mis < 2; mis++) {
        const size_t m = sizes[s];
        fl_buf g = fl_buf_new(m, mis), out = fl_buf_new(m, !mis);
        /* 0: N(0, 1); 1: 1e20 (float squares overflow); 2: 1e-30 (they
         * underflow); 3: zero; 4: FLT_MAX and tiny mixed. */
        const double scale[] = {1.0, 1e20, 1e-30, 0.0, 1.0};
        for (size_t j = 0; j < m; j++) {
          g.data[j] = (float)(scale[kind] * fl_rng_normal(&rng));
          if (kind == 4) g.data[j] = j % 3 == 0 ? FLT_MAX : (j % 3 == 1 ? -FLT_MIN : 1e-45f);
        }
        const double got = k->wgangp_norm(m, g.data), want = fl_ref_norm(m, g.data);
        FL_CHECK(isfinite(got) && fl_close(got, want, 0.0, 1e-14),
                 "%s norm m=%zu kind=%d: %.17g, reference %.17g", fl_run.mode, m, kind, got, want);
        const float coef = -0.375f;
        k->wgangp_scale(m, g.data, coef, out.data);
        for (size_t j = 0; j < m; j++) FL_CHECK1(fl_same_bits(out.data[j], coef * g.data[j]));
        k->wgangp_scale(m, g.data, coef, g.data); /* in place */
        for (size_t j = 0; j < m; j++) FL_CHECK1(fl_same_bits(out.data[j], g.data[j]));
        fl_buf_check_canaries(&g, "norm g");
        fl_buf_check_canaries(&out, "scale out");
        fl_buf_free(&g);
        fl_buf_free(&out);
      }
  /* NaN and inf rows. */
  float row[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  row[4] = NAN;
  FL_CHECK1(isnan(k->wgangp_norm(9, row)));
  row[4] = INFINITY;
  FL_CHECK1(k->wgangp_norm(9, row) == INFINITY);
}
END_TEST

/* ------------------------------------------------------------ reference */

typedef struct fl_wg_case {
  int critic;
  size_t n_fake, n_real, n, n_feats, pad;
  double lambda;
  int kind; /* 0: N(0, 1) rows; 1: zero, huge and tiny rows; 2: a NaN row */
  int in_place, misalign;
} fl_wg_case;

typedef struct fl_wg_ref {
  double loss, loss_abs;
  double *dG; /* n * ld */
} fl_wg_ref;

static void fl_wg_reference(const fl_wg_case *c, const double *yf, const double *yr,
                            const double *g, size_t ld, fl_wg_ref *r) {
  double sf = 0.0, sr = 0.0, pen = 0.0, abs_sum = 0.0;
  for (size_t k = 0; k < c->n_fake; k++) sf += yf[k], abs_sum += fabs(yf[k]) / c->n_fake;
  if (!c->critic) {
    r->loss = -sf / (double)c->n_fake;
    r->loss_abs = abs_sum;
    return;
  }
  for (size_t k = 0; k < c->n_real; k++) sr += yr[k], abs_sum += fabs(yr[k]) / c->n_real;
  for (size_t i = 0; i < c->n; i++) {
    long double ss = 0.0L;
    for (size_t j = 0; j < c->n_feats; j++) ss += (long double)g[i * ld + j] * g[i * ld + j];
    const double norm = (double)sqrtl(ss);
    pen += (norm - 1.0) * (norm - 1.0);
    for (size_t j = 0; j < c->n_feats; j++)
      r->dG[i * ld + j] =
          2.0 * c->lambda / (double)c->n * (norm - 1.0) * g[i * ld + j] / (norm + FL_EPS64);
  }
  r->loss = sf / (double)c->n_fake - sr / (double)c->n_real + c->lambda * pen / (double)c->n;
  r->loss_abs = abs_sum + c->lambda * pen / (double)c->n;
}

static void fl_wg_check(const fl_wg_case *c, uint64_t seed) {
  fl_rng rng;
  fl_rng_seed(&rng, seed);
  const size_t ld = c->n_feats + c->pad, ng = c->n * ld;
  fl_buf yf = fl_buf_new(c->n_fake, c->misalign), yr = fl_buf_new(c->n_real, !c->misalign);
  fl_buf g = fl_buf_new(ng, c->misalign), dyf = fl_buf_new(c->n_fake, 0),
         dyr = fl_buf_new(c->n_real, 1), dg = fl_buf_new(ng, !c->misalign);
  double *yfd = malloc(c->n_fake * sizeof *yfd), *yrd = malloc(c->n_real * sizeof *yrd),
         *gd = malloc(ng * sizeof *gd), *dgd = calloc(ng, sizeof *dgd);
  for (size_t k = 0; k < c->n_fake; k++)
    yf.data[k] = (float)fl_rng_normal(&rng), yfd[k] = yf.data[k];
  for (size_t k = 0; k < c->n_real; k++)
    yr.data[k] = (float)fl_rng_normal(&rng), yrd[k] = yr.data[k];
  for (size_t i = 0; i < c->n; i++)
    for (size_t j = 0; j < ld; j++) {
      double v = fl_rng_normal(&rng) / sqrt((double)c->n_feats) * (0.5 + (double)(i % 3) * 0.5);
      if (c->kind == 1 && i % 4 == 1) v = 0.0;
      if (c->kind == 1 && i % 4 == 2) v *= 1e20;
      if (c->kind == 1 && i % 4 == 3) v *= 1e-30;
      if (c->kind == 2 && i == c->n / 2 && j == c->n_feats / 2) v = NAN;
      g.data[i * ld + j] = (float)v;
      gd[i * ld + j] = g.data[i * ld + j];
    }
  fl_wg_ref ref = {.dG = dgd};
  fl_wg_reference(c, yfd, yrd, gd, ld, &ref);
  const fastloss_wgangp_params params = {.lambda = c->lambda, .use_lambda = 1};
  double loss = -1.0;
  float *out_fake = c->in_place ? yf.data : dyf.data, *out_real = c->in_place ? yr.data : dyr.data;
  float *out_g = c->in_place ? g.data : dg.data;
  const fastloss_status status = fastloss_wgangp_f32(
      c->critic ? 'C' : 'G', c->n_fake, yf.data, c->n_real, c->critic ? yr.data : NULL, c->n,
      c->n_feats, c->critic ? g.data : NULL, ld, &params, &loss, out_fake,
      c->critic ? out_real : NULL, c->critic ? out_g : NULL);
  FL_CHECK(status == FASTLOSS_OK, "wgangp: %s %s", fastloss_status_str(status),
           fastloss_last_error());
  fl_buf bufs[] = {yf, yr, g, dyf, dyr, dg};
  for (size_t b = 0; b < 6; b++) fl_buf_check_canaries(&bufs[b], "wgangp");
  char what[160];
  snprintf(what, sizeof what, "%s %s n_fake=%zu n_real=%zu n=%zu n_feats=%zu pad=%zu kind=%d",
           fl_run.mode, c->critic ? "critic" : "generator", c->n_fake, c->n_real, c->n, c->n_feats,
           c->pad, c->kind);
  if (c->kind == 2 && c->critic)
    FL_CHECK(isnan(loss), "%s: loss %g with a NaN row", what, loss);
  else
    FL_CHECK(fl_close(loss, ref.loss, 1e-12 * ref.loss_abs, 1e-12),
             "%s: loss %.17g, reference %.17g", what, loss, ref.loss);
  for (size_t k = 0; k < c->n_fake; k++)
    FL_CHECK(out_fake[k] == (float)((c->critic ? 1.0 : -1.0) / (double)c->n_fake),
             "%s: dY_fake[%zu] = %.9g", what, k, (double)out_fake[k]);
  if (c->critic) {
    for (size_t k = 0; k < c->n_real; k++)
      FL_CHECK(out_real[k] == (float)(-1.0 / (double)c->n_real), "%s: dY_real[%zu] = %.9g", what, k,
               (double)out_real[k]);
    for (size_t i = 0; i < c->n; i++) {
      const int nan_row = c->kind == 2 && i == c->n / 2;
      for (size_t j = 0; j < ld; j++) {
        const float got = out_g[i * ld + j];
        if (j >= c->n_feats) { /* the gaps between rows are untouched */
          FL_CHECK1(c->in_place ? fl_same_bits(got, (float)gd[i * ld + j]) : isnan(got));
          continue;
        }
        const double want = dgd[i * ld + j];
        FL_CHECK(nan_row ? isnan(got) : fl_close(got, want, 1e-44, 3.0 * FLT_EPSILON),
                 "%s: dGradInterp[%zu][%zu] = %.9g, reference %.9g", what, i, j, (double)got, want);
      }
    }
  } else {
    for (size_t k = 0; k < ng; k++) FL_CHECK1(isnan(dg.data[k]));
  }
  for (size_t b = 0; b < 6; b++) fl_buf_free(&bufs[b]);
  free(yfd), free(yrd), free(gd), free(dgd);
}

START_TEST(wgangp_api_against_reference) {
  const size_t w = fl_wg_lanes();
  const size_t feats[] = {1, w - 1, w, w + 1, 2 * w + 3, 100, 784};
  uint64_t seed = 3100;
  for (size_t a = 0; a < sizeof feats / sizeof feats[0]; a++)
    for (int variant = 0; variant < 6; variant++) {
      const fl_wg_case c = {.critic = variant != 5,
                            .n_fake = 5 + (size_t)variant,
                            .n_real = variant == 2 ? 3 : 5 + (size_t)variant,
                            .n = fl_run.slow ? 7 : 33,
                            .n_feats = feats[a],
                            .pad = variant == 1 ? 3 : 0,
                            .lambda = variant == 4 ? 0.0 : (variant == 3 ? 2.5 : 10.0),
                            .kind = variant % 3,
                            .in_place = variant == 2 || variant == 4,
                            .misalign = (int)(a % 2)};
      fl_wg_check(&c, seed++);
    }
}
END_TEST

/* Zero rows: penalty lambda each, gradient exactly 0.  Huge rows in f32 (a
 * float sum of squares would be inf): finite loss.  Default lambda 10. */
START_TEST(wgangp_api_extremes) {
  float yf[2] = {0.5f, 1.5f}, yr[2] = {2.0f, 0.0f}, g[2 * 3] = {0}, dg[2 * 3], dyf[2], dyr[2];
  double loss;
  ck_assert_int_eq(fastloss_wgangp_f32('C', 2, yf, 2, yr, 2, 3, g, 3, NULL, &loss, dyf, dyr, dg),
                   FASTLOSS_OK);
  FL_CHECK(loss == 1.0 - 1.0 + 10.0, "zero rows: loss %.17g, want 10", loss);
  for (size_t k = 0; k < 6; k++) FL_CHECK1(dg[k] == 0.0f);
  const fastloss_wgangp_params no_penalty = {.use_lambda = 1};
  ck_assert_int_eq(
      fastloss_wgangp_f32('C', 2, yf, 2, yr, 2, 3, g, 3, &no_penalty, &loss, dyf, dyr, dg),
      FASTLOSS_OK);
  FL_CHECK1(loss == 0.0);
  const float huge[6] = {1e20f, -3e20f, 2e20f, FLT_MAX, FLT_MAX, -FLT_MAX};
  ck_assert_int_eq(fastloss_wgangp_f32('C', 2, yf, 2, yr, 2, 3, huge, 3, NULL, &loss, dyf, dyr, dg),
                   FASTLOSS_OK);
  const double n0 = sqrt(14.0) * 1e20, n1 = sqrt(3.0) * (double)FLT_MAX;
  const double want = 10.0 * ((n0 - 1) * (n0 - 1) + (n1 - 1) * (n1 - 1)) / 2.0;
  FL_CHECK(isfinite(loss) && fl_close(loss, want, 0.0, 1e-6), "%s huge: loss %.17g, want %.17g",
           fl_run.mode, loss, want);
  /* (2 lambda / n) (||g|| - 1) / ||g|| = 10 (1 - 1/||g||): 10 g, which
   * overflows float for the FLT_MAX row, the true value. */
  for (size_t k = 0; k < 6; k++)
    FL_CHECK(fl_close(dg[k], (float)(10.0 * (double)huge[k]), 0.0, 1e-6), "%s huge: dG[%zu] = %.9g",
             fl_run.mode, k, (double)dg[k]);
  /* Generator: the true gradient, -1 / n_fake. */
  ck_assert_int_eq(
      fastloss_wgangp_f32('G', 2, yf, 0, NULL, 0, 0, NULL, 0, NULL, &loss, dyf, NULL, NULL),
      FASTLOSS_OK);
  FL_CHECK1(loss == -1.0 && dyf[0] == -0.5f && dyf[1] == -0.5f);
}
END_TEST

/* ------------------------------------------------------------ f64 */

static double fl_wg_loss64(int module, size_t nf, const double *yf, size_t nr, const double *yr,
                           size_t n, size_t m, const double *g, double lambda) {
  const fastloss_wgangp_params params = {.lambda = lambda, .use_lambda = 1};
  double loss;
  ck_assert_int_eq(
      fastloss_wgangp_f64(module, nf, yf, nr, yr, n, m, g, m, &params, &loss, NULL, NULL, NULL),
      FASTLOSS_OK);
  return loss;
}

/* Every gradient of both modules against central differences of the loss,
 * and the numpy-ml calls equal to the fused call. */
START_TEST(wgangp_f64_finite_differences) {
  enum { nf = 4, nr = 3, n = 5, m = 6 };
  fl_rng rng;
  fl_rng_seed(&rng, 3200);
  double yf[nf], yr[nr], g[n * m], dyf[nf], dyr[nr], dg[n * m];
  for (size_t k = 0; k < nf; k++) yf[k] = fl_rng_normal(&rng);
  for (size_t k = 0; k < nr; k++) yr[k] = fl_rng_normal(&rng);
  for (size_t k = 0; k < n * m; k++) g[k] = 0.6 * fl_rng_normal(&rng);
  for (int critic = 0; critic < 2; critic++) {
    const int module = critic ? 'C' : 'G';
    const double lambda = 3.0;
    const fastloss_wgangp_params params = {.lambda = lambda};
    double loss;
    ck_assert_int_eq(
        fastloss_wgangp_f64(module, nf, yf, nr, yr, n, m, g, m, &params, &loss, dyf, dyr, dg),
        FASTLOSS_OK);
    double *inputs[3] = {yf, yr, g}, *grads[3] = {dyf, dyr, dg};
    const size_t counts[3] = {nf, nr, n * m};
    for (int which = 0; which < (critic ? 3 : 1); which++)
      for (size_t k = 0; k < counts[which]; k++) {
        double *x = inputs[which];
        const double saved = x[k], h = 1e-6;
        x[k] = saved + h;
        const double up = fl_wg_loss64(module, nf, yf, nr, yr, n, m, g, lambda);
        x[k] = saved - h;
        const double down = fl_wg_loss64(module, nf, yf, nr, yr, n, m, g, lambda);
        x[k] = saved;
        const double fd = (up - down) / (2.0 * h);
        FL_CHECK(fabs(fd - grads[which][k]) <= 1e-7 * (1.0 + fabs(fd)),
                 "f64 %c input %d [%zu]: gradient %.12g, finite difference %.12g", module, which, k,
                 grads[which][k], fd);
      }
  }
  /* numpy-ml's calls: n_ex everywhere. */
  double l1, l2, a[nr], b[nr], c[nr * m], a2[nr], b2[nr], c2[nr * m];
  ck_assert_int_eq(fastloss_wgangp_f64('C', nr, yf, nr, yr, nr, m, g, m, NULL, &l1, a, b, c),
                   FASTLOSS_OK);
  ck_assert_int_eq(fastloss_wgangp_loss_f64('C', nr, m, yf, yr, g, NULL, &l2), FASTLOSS_OK);
  ck_assert_int_eq(fastloss_wgangp_grad_f64('C', nr, m, yf, yr, g, NULL, a2, b2, c2), FASTLOSS_OK);
  FL_CHECK1(memcmp(&l1, &l2, sizeof l1) == 0 && memcmp(a, a2, sizeof a) == 0 &&
            memcmp(b, b2, sizeof b) == 0 && memcmp(c, c2, sizeof c) == 0);
}
END_TEST

/* f32 on the ISA under test against f32 differences (coarse). */
START_TEST(wgangp_f32_finite_differences) {
  enum { n = 3, m = 13 };
  fl_rng rng;
  fl_rng_seed(&rng, 3300);
  float yf[n], yr[n], g[n * m], dyf[n], dyr[n], dg[n * m];
  for (size_t k = 0; k < n; k++)
    yf[k] = (float)fl_rng_normal(&rng), yr[k] = (float)fl_rng_normal(&rng);
  for (size_t k = 0; k < n * m; k++) g[k] = (float)(0.5 * fl_rng_normal(&rng));
  double loss;
  ck_assert_int_eq(fastloss_wgangp_grad_f32('C', n, m, yf, yr, g, NULL, dyf, dyr, dg), FASTLOSS_OK);
  float *inputs[3] = {yf, yr, g}, *grads[3] = {dyf, dyr, dg};
  const size_t counts[3] = {n, n, n * m};
  for (int which = 0; which < 3; which++)
    for (size_t k = 0; k < counts[which]; k++) {
      float *x = inputs[which];
      const float saved = x[k], h = 1e-2f;
      double up, down;
      x[k] = saved + h;
      fastloss_wgangp_loss_f32('C', n, m, yf, yr, g, NULL, &up);
      x[k] = saved - h;
      fastloss_wgangp_loss_f32('C', n, m, yf, yr, g, NULL, &down);
      x[k] = saved;
      const double fd = (up - down) / (2.0 * (double)h);
      FL_CHECK(fabs(fd - grads[which][k]) <= 1e-3 * (1.0 + fabs(fd)),
               "%s f32 input %d [%zu]: gradient %.7g, finite difference %.7g", fl_run.mode, which,
               k, (double)grads[which][k], fd);
    }
  ck_assert_int_eq(fastloss_wgangp_loss_f32('C', n, m, yf, yr, g, NULL, &loss), FASTLOSS_OK);
  FL_CHECK1(isfinite(loss));
}
END_TEST

/* Bit-identical loss and gradient for 1, 2, 3 and 8 threads. */
START_TEST(wgangp_thread_invariance) {
  const size_t n = fl_run.slow ? 400 : 4000, m = 257;
  float *yf = malloc(n * sizeof *yf), *yr = malloc(n * sizeof *yr), *g = malloc(n * m * sizeof *g);
  float *dg = malloc(n * m * sizeof *dg), *dg1 = malloc(n * m * sizeof *dg1);
  double *gd = malloc(n * m * sizeof *gd), *yd = malloc(n * sizeof *yd);
  fl_rng rng;
  fl_rng_seed(&rng, 3400);
  for (size_t k = 0; k < n; k++)
    yf[k] = (float)fl_rng_normal(&rng), yr[k] = (float)fl_rng_normal(&rng), yd[k] = yf[k];
  for (size_t k = 0; k < n * m; k++) g[k] = (float)(0.1 * fl_rng_normal(&rng)), gd[k] = g[k];
  const int threads[] = {1, 2, 3, 8};
  double l32[4], l64[4];
  for (int t = 0; t < 4; t++) {
    ck_assert_int_eq(fastloss_set_num_threads(threads[t]), FASTLOSS_OK);
    ck_assert_int_eq(fastloss_wgangp_f32('C', n, yf, n, yr, n, m, g, m, NULL, &l32[t], NULL, NULL,
                                         t == 0 ? dg1 : dg),
                     FASTLOSS_OK);
    ck_assert_int_eq(fastloss_wgangp_loss_f64('C', n, m, yd, yd, gd, NULL, &l64[t]), FASTLOSS_OK);
    FL_CHECK(memcmp(&l32[t], &l32[0], sizeof(double)) == 0 &&
                 memcmp(&l64[t], &l64[0], sizeof(double)) == 0,
             "%d threads: loss %.17g / %.17g, 1 thread %.17g / %.17g", threads[t], l32[t], l64[t],
             l32[0], l64[0]);
    if (t > 0) FL_CHECK1(memcmp(dg, dg1, n * m * sizeof *dg) == 0);
  }
  fastloss_set_num_threads(0);
  free(yf), free(yr), free(g), free(dg), free(dg1), free(gd), free(yd);
}
END_TEST

/* ------------------------------------------------------------ errors */

static void fl_wg_expect(fastloss_status got, fastloss_status want, const char *message,
                         const void *out, size_t bytes) {
  ck_assert_msg(got == want, "got %s (%s), want %s", fastloss_status_str(got),
                fastloss_last_error(), fastloss_status_str(want));
  ck_assert_msg(strstr(fastloss_last_error(), message) != NULL, "message '%s' lacks '%s'",
                fastloss_last_error(), message);
  const unsigned char *b = out;
  for (size_t k = 0; k < bytes; k++)
    ck_assert_msg(b[k] == 0x5a, "an output was written on error (byte %zu)", k);
}

START_TEST(wgangp_errors) {
  float yf[3] = {1, 2, 3}, yr[3] = {0, 1, 0}, g[3 * 4];
  for (size_t k = 0; k < 12; k++) g[k] = 0.5f;
  struct {
    double loss;
    float dyf[3], dyr[3], dg[12];
  } o;
#define FL_WCALL(mod, nf, yfp, nr, yrp, nn, mm, gp, ld, par) \
  (memset(&o, 0x5a, sizeof o),                               \
   fastloss_wgangp_f32(mod, nf, yfp, nr, yrp, nn, mm, gp, ld, par, &o.loss, o.dyf, o.dyr, o.dg))
  fl_wg_expect(FL_WCALL('X', 3, yf, 3, yr, 3, 4, g, 4, NULL), FASTLOSS_ERR_INVALID_ARGUMENT,
               "module = 'X' is neither 'C' (critic) nor 'G' (generator)", &o, sizeof o);
  fl_wg_expect(FL_WCALL(0, 3, yf, 3, yr, 3, 4, g, 4, NULL), FASTLOSS_ERR_INVALID_ARGUMENT,
               "module = 0 is neither", &o, sizeof o);
  fl_wg_expect(FL_WCALL('c', 3, yf, 3, yr, 3, 4, g, 4, NULL), FASTLOSS_ERR_INVALID_ARGUMENT,
               "module = 'c'", &o, sizeof o);
  const fastloss_wgangp_params negative = {.lambda = -1.0};
  fl_wg_expect(FL_WCALL('C', 3, yf, 3, yr, 3, 4, g, 4, &negative), FASTLOSS_ERR_INVALID_ARGUMENT,
               "params->lambda = -1", &o, sizeof o);
  const fastloss_wgangp_params nan_lambda = {.lambda = NAN};
  fl_wg_expect(FL_WCALL('G', 3, yf, 3, yr, 3, 4, g, 4, &nan_lambda), FASTLOSS_ERR_INVALID_ARGUMENT,
               "params->lambda = nan", &o, sizeof o);
  const fastloss_wgangp_params bad_use = {.use_lambda = 2};
  fl_wg_expect(FL_WCALL('C', 3, yf, 3, yr, 3, 4, g, 4, &bad_use), FASTLOSS_ERR_INVALID_ARGUMENT,
               "params->use_lambda = 2", &o, sizeof o);
  fl_wg_expect(FL_WCALL('C', 0, yf, 3, yr, 3, 4, g, 4, NULL), FASTLOSS_ERR_INVALID_SHAPE,
               "n_fake = 0", &o, sizeof o);
  fl_wg_expect(FL_WCALL('G', 0, yf, 3, yr, 3, 4, g, 4, NULL), FASTLOSS_ERR_INVALID_SHAPE,
               "n_fake = 0", &o, sizeof o);
  fl_wg_expect(FL_WCALL('C', 3, yf, 0, yr, 3, 4, g, 4, NULL), FASTLOSS_ERR_INVALID_SHAPE,
               "n_real = 0", &o, sizeof o);
  fl_wg_expect(FL_WCALL('C', 3, yf, 3, yr, 0, 4, g, 4, NULL), FASTLOSS_ERR_INVALID_SHAPE, "n = 0",
               &o, sizeof o);
  fl_wg_expect(FL_WCALL('C', 3, yf, 3, yr, 3, 0, g, 4, NULL), FASTLOSS_ERR_INVALID_SHAPE,
               "n_feats = 0", &o, sizeof o);
  fl_wg_expect(FL_WCALL('C', 3, NULL, 3, yr, 3, 4, g, 4, NULL), FASTLOSS_ERR_NULL_POINTER,
               "Y_fake is NULL", &o, sizeof o);
  fl_wg_expect(FL_WCALL('C', 3, yf, 3, NULL, 3, 4, g, 4, NULL), FASTLOSS_ERR_NULL_POINTER,
               "Y_real is NULL", &o, sizeof o);
  fl_wg_expect(FL_WCALL('C', 3, yf, 3, yr, 3, 4, NULL, 4, NULL), FASTLOSS_ERR_NULL_POINTER,
               "gradInterp is NULL", &o, sizeof o);
  fl_wg_expect(FL_WCALL('C', 3, yf, 3, yr, 3, 4, g, 3, NULL), FASTLOSS_ERR_INVALID_STRIDE,
               "leading dimension of gradInterp = 3", &o, sizeof o);
  /* Overlaps other than in place. */
  memset(&o, 0x5a, sizeof o);
  ck_assert_int_eq(fastloss_wgangp_f32('C', 3, yf, 3, yr, 3, 4, g, 4, NULL, NULL, yr, NULL, NULL),
                   FASTLOSS_ERR_OVERLAP);
  ck_assert_str_eq(fastloss_last_error(), "dY_fake overlaps Y_real");
  ck_assert_int_eq(
      fastloss_wgangp_f32('C', 3, yf, 3, yr, 3, 4, g, 4, NULL, NULL, NULL, NULL, g + 1),
      FASTLOSS_ERR_OVERLAP);
  ck_assert_str_eq(fastloss_last_error(),
                   "dGradInterp overlaps gradInterp without being the same buffer");
  /* The numpy-ml calls require their outputs. */
  double loss = 7.0;
  ck_assert_int_eq(fastloss_wgangp_loss_f32('C', 3, 4, yf, yr, g, NULL, NULL),
                   FASTLOSS_ERR_NULL_POINTER);
  ck_assert_int_eq(fastloss_wgangp_grad_f32('C', 3, 4, yf, yr, g, NULL, o.dyf, o.dyr, NULL),
                   FASTLOSS_ERR_NULL_POINTER);
  ck_assert_str_eq(fastloss_last_error(), "dGradInterp is NULL");
  ck_assert_int_eq(fastloss_wgangp_grad_f32('G', 3, 4, yf, NULL, NULL, NULL, o.dyf, NULL, NULL),
                   FASTLOSS_OK);
  ck_assert_int_eq(
      fastloss_wgangp_loss_f64('Q', 1, 1, (double[]){1}, (double[]){1}, (double[]){1}, NULL, &loss),
      FASTLOSS_ERR_INVALID_ARGUMENT);
  FL_CHECK1(loss == 7.0);
#undef FL_WCALL
}
END_TEST

Suite *fl_suite_wgangp(void) {
  Suite *s = suite_create("wgangp");
  TCase *tc = tcase_create("WGAN_GPLoss");
  tcase_set_timeout(tc, 1200);
  tcase_add_test(tc, wgangp_norm_kernel);
  tcase_add_test(tc, wgangp_api_against_reference);
  tcase_add_test(tc, wgangp_api_extremes);
  tcase_add_test(tc, wgangp_f64_finite_differences);
  tcase_add_test(tc, wgangp_f32_finite_differences);
  tcase_add_test(tc, wgangp_thread_invariance);
  tcase_add_test(tc, wgangp_errors);
  suite_add_tcase(s, tc);
  return s;
}
