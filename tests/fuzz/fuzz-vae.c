/* fastloss_vae_f32: n <= 12, N <= 40, T <= 20, leading dimensions
 * (sometimes too small), probabilities or logits (from_logits), y_pred
 * sometimes outside [0, 1] (an error), optional outputs and the in-place
 * gradients, on every kernel table against scalar.  Tolerances per row,
 * with R = N (1 + max|y|)(17 + max|y_pred|) and
 * K = sum_t (1 + |lv| + mu^2 + e^lv) (tests/test_vae.c: 1e-5 rel):
 *   row_rec 1e-5 R abs + 1e-5 rel,  row_kl 1e-5 K abs + 1e-5 rel,
 *   loss    the row bounds summed / n + 1e-5 rel,
 *   dY_pred 1e-6 (1 + |y|) / (n p (1 - p)) abs + 1e-5 rel (p clipped to
 *           [eps, 1 - eps]; p = 1/4 for logits),
 *   dLogVar 4 eps (e^lv + 1) / n abs + 1e-5 rel,  dMean 1e-6 rel + 1e-44 abs;
 * values only in rows whose inputs are finite and below 1e30 and whose R
 * and K are below 1e30 (NaN positions too: terms near float overflow round
 * to inf or not per ISA, and inf - inf in the loss gives NaN); only the
 * status when a row is larger.
 *
 * fastloss_vae_f64 (scalar on every table) runs on the same values widened,
 * with the same outputs and in-place choice: the same status as f32, the
 * same untouched outputs, and, in rows where f32 and f64 compute the same
 * function (y_pred in [FLT_EPSILON, 1 - FLT_EPSILON], since each dtype clips
 * at its own eps; logits below 80 in size, where the f32 softplus tail has
 * not flushed), values within the tolerances above of scalar f32 (the f64
 * result stands for the exact one there).
 *
 * numpy-ml's wrappers fastloss_vae_loss_f32/_f64 and fastloss_vae_grad_f32/
 * _f64 (fastloss.h: contiguous, probabilities, every output required): on
 * every table, whenever the case is contiguous (each leading dimension its
 * row) and not from_logits, both are called on the same inputs (in place
 * over copies when the case is in place) and must give the general call's
 * status and bit-identical values for each output the general call wrote;
 * on error they write nothing.  A byte appended after the data (0 when the
 * input ends before it) sometimes passes one required output as NULL:
 * FASTLOSS_ERR_NULL_POINTER, nothing written. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

enum { FZ_MAX_ISAS = 4 };

typedef struct fz_vae_out {
  fastloss_status status;
  float *rec, *kl, *dp, *dlv, *dmu;
  double loss;
} fz_vae_out;

/* The wrappers on a contiguous probabilities case, checked against the
 * general call's status st and outputs (loss, dp, dlv, dmu; want as in
 * the general call: a set bit = not written).  wnull 1..4: that required
 * output (loss, dY_pred, dLogVar, dMean) passed as NULL. */
#define FZ_VAE_WRAP(T, SUF, SENT, IS_SENT)                                                         \
  static void fz_vae_wrap_##SUF(size_t n, size_t N, size_t Tt, const T *y, const T *p,             \
                                const T *mu, const T *lv, int in_place, unsigned want,             \
                                uint8_t wnull, fastloss_status st, const double *loss,             \
                                const T *dp, const T *dlv, const T *dmu, const char *name) {       \
    const size_t ep = n * N, et = n * Tt;                                                          \
    double wl;                                                                                     \
    memset(&wl, 0x5a, sizeof wl);                                                                  \
    const double before = wl;                                                                      \
    fastloss_status ws = fastloss_vae_loss_##SUF(n, N, Tt, y, p, mu, lv, wnull == 1 ? NULL : &wl); \
    const fastloss_status want_l = wnull == 1 ? FASTLOSS_ERR_NULL_POINTER : st;                    \
    if (ws != want_l) fz_fail("%s: vae_loss status %d, want %d", name, (int)ws, (int)want_l);      \
    if (ws != FASTLOSS_OK && memcmp(&wl, &before, sizeof wl))                                      \
      fz_fail("%s: vae_loss wrote the loss (status %d)", name, (int)ws);                           \
    if (ws == FASTLOSS_OK && !(want & 4) && memcmp(&wl, loss, sizeof wl))                          \
      fz_fail("%s: vae_loss %.17g, general call %.17g", name, wl, *loss);                          \
    T *g[3] = {fz_alloc_##SUF(ep), fz_alloc_##SUF(et), fz_alloc_##SUF(et)};                        \
    const T *orig[3] = {p, lv, mu}, *gen[3] = {dp, dlv, dmu};                                      \
    const size_t cnt[3] = {ep, et, et};                                                            \
    for (int q = 0; q < 3; q++) {                                                                  \
      if (in_place)                                                                                \
        memcpy(g[q], orig[q], cnt[q] * sizeof(T));                                                 \
      else                                                                                         \
        SENT(g[q], cnt[q]);                                                                        \
    }                                                                                              \
    ws = fastloss_vae_grad_##SUF(n, N, Tt, y, in_place ? g[0] : p, in_place ? g[2] : mu,           \
                                 in_place ? g[1] : lv, wnull == 2 ? NULL : g[0],                   \
                                 wnull == 3 ? NULL : g[1], wnull == 4 ? NULL : g[2]);              \
    const fastloss_status want_g = wnull >= 2 && wnull <= 4 ? FASTLOSS_ERR_NULL_POINTER : st;      \
    if (ws != want_g) fz_fail("%s: vae_grad status %d, want %d", name, (int)ws, (int)want_g);      \
    for (int q = 0; q < 3; q++)                                                                    \
      for (size_t k = 0; k < cnt[q]; k++) {                                                        \
        if (ws != FASTLOSS_OK) {                                                                   \
          if (in_place ? memcmp(&g[q][k], &orig[q][k], sizeof(T)) : !IS_SENT(g[q][k]))             \
            fz_fail("%s: vae_grad wrote gradient %d [%zu] (status %d)", name, q, k, (int)ws);      \
        } else if (!(want & (8u << q)) && memcmp(&g[q][k], &gen[q][k], sizeof(T))) {               \
          fz_fail("%s: vae_grad gradient %d [%zu] %.17g, general call %.17g", name, q, k,          \
                  (double)g[q][k], (double)gen[q][k]);                                             \
        }                                                                                          \
      }                                                                                            \
    for (int q = 0; q < 3; q++) free(g[q]);                                                        \
  }

FZ_VAE_WRAP(float, f32, fz_sentinel_f32, fz_is_sentinel_f32)
FZ_VAE_WRAP(double, f64, fz_sentinel_f64, fz_is_sentinel_f64)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fz_input in = {data, size};
  const uint8_t flags = fz_u8(&in);
  const fastloss_vae_params params = {.from_logits = flags & 1};
  const int in_place = (flags >> 1) & 1;
  const unsigned want = (flags >> 2) & 63; /* bit clear = wanted */
  const size_t n = fz_range(&in, 0, 12), N = fz_range(&in, 0, 40), T = fz_range(&in, 0, 20);
  const size_t ld_y = fz_ld(&in, N), ld_p = fz_ld(&in, N), ld_t = fz_ld(&in, T);
  const size_t ey = fz_extent(n, N, ld_y), ep = fz_extent(n, N, ld_p), et = fz_extent(n, T, ld_t);
  float *y = fz_alloc_f32(ey), *p = fz_alloc_f32(ep), *mu = fz_alloc_f32(et),
        *lv = fz_alloc_f32(et);
  fz_floats(&in, y, ey);
  fz_floats(&in, p, ep);
  fz_floats(&in, mu, et);
  fz_floats(&in, lv, et);
  /* Appended after the data: the wrappers' NULL output (1..4), else none. */
  const uint8_t wsel = fz_u8(&in);
  const uint8_t wnull = wsel >= 1 && wsel <= 4 ? wsel : 0;
  const int contiguous = !params.from_logits && ld_y == N && ld_p == N && ld_t == T;

  const fl_isa_kernels *isas[FZ_MAX_ISAS];
  const size_t n_isas = fz_isas(isas, FZ_MAX_ISAS);
  fz_vae_out out[FZ_MAX_ISAS];
  for (size_t a = 0; a < n_isas; a++) {
    fl_dispatch_force(isas[a]);
    fz_vae_out *o = &out[a];
    o->rec = fz_alloc_f32(n);
    o->kl = fz_alloc_f32(n);
    o->dp = fz_alloc_f32(ep);
    o->dlv = fz_alloc_f32(et);
    o->dmu = fz_alloc_f32(et);
    fz_sentinel_f32(o->rec, n);
    fz_sentinel_f32(o->kl, n);
    float *pp = p, *lvp = lv, *mup = mu;
    if (in_place) {
      memcpy(o->dp, p, ep * sizeof(float));
      memcpy(o->dlv, lv, et * sizeof(float));
      memcpy(o->dmu, mu, et * sizeof(float));
      pp = o->dp;
      lvp = o->dlv;
      mup = o->dmu;
    } else {
      fz_sentinel_f32(o->dp, ep);
      fz_sentinel_f32(o->dlv, et);
      fz_sentinel_f32(o->dmu, et);
    }
    memset(&o->loss, 0x5a, sizeof o->loss);
    const double before = o->loss;
    o->status = fastloss_vae_f32(n, N, T, y, ld_y, pp, ld_p, mup, lvp, ld_t, &params,
                                 want & 1 ? NULL : o->rec, want & 2 ? NULL : o->kl,
                                 want & 4 ? NULL : &o->loss, want & 8 ? NULL : o->dp,
                                 want & 16 ? NULL : o->dlv, want & 32 ? NULL : o->dmu);
    const char *name = isas[a]->name;
    const int ok = o->status == FASTLOSS_OK;
    for (size_t i = 0; i < n; i++)
      if (((!ok || (want & 1)) && !fz_is_sentinel_f32(o->rec[i])) ||
          ((!ok || (want & 2)) && !fz_is_sentinel_f32(o->kl[i])))
        fz_fail("%s: row term %zu written (status %d)", name, i, (int)o->status);
    if ((!ok || (want & 4)) && memcmp(&o->loss, &before, sizeof before))
      fz_fail("%s: loss written (status %d)", name, (int)o->status);
    const struct {
      const float *got, *orig;
      size_t count, ld, cols;
      unsigned bit;
    } g[3] = {
        {o->dp, p, ep, ld_p, N, 8}, {o->dlv, lv, et, ld_t, T, 16}, {o->dmu, mu, et, ld_t, T, 32}};
    for (int q = 0; q < 3; q++)
      for (size_t k = 0; k < g[q].count; k++) {
        const int gap = g[q].ld > g[q].cols && k % g[q].ld >= g[q].cols;
        if (ok && !(want & g[q].bit) && !gap) continue;
        const int same = in_place ? !memcmp(&g[q].got[k], &g[q].orig[k], sizeof(float))
                                  : fz_is_sentinel_f32(g[q].got[k]);
        if (!same) fz_fail("%s: gradient %d [%zu] written (status %d)", name, q, k, (int)o->status);
      }
    if (contiguous)
      fz_vae_wrap_f32(n, N, T, y, p, mu, lv, in_place, want, wnull, o->status, &o->loss, o->dp,
                      o->dlv, o->dmu, name);
  }

  /* f64 on the widened values, as one more run compared with scalar f32. */
  fz_vae_out o64;
  {
    double *y64 = fz_alloc_f64(ey), *p64 = fz_alloc_f64(ep), *mu64 = fz_alloc_f64(et),
           *lv64 = fz_alloc_f64(et);
    for (size_t k = 0; k < ey; k++) y64[k] = y[k];
    for (size_t k = 0; k < ep; k++) p64[k] = p[k];
    for (size_t k = 0; k < et; k++) {
      mu64[k] = mu[k];
      lv64[k] = lv[k];
    }
    double *rec = fz_alloc_f64(n), *kl = fz_alloc_f64(n), *dp = fz_alloc_f64(ep),
           *dlv = fz_alloc_f64(et), *dmu = fz_alloc_f64(et);
    fz_sentinel_f64(rec, n);
    fz_sentinel_f64(kl, n);
    double *pp = p64, *lvp = lv64, *mup = mu64;
    if (in_place) {
      memcpy(dp, p64, ep * sizeof(double));
      memcpy(dlv, lv64, et * sizeof(double));
      memcpy(dmu, mu64, et * sizeof(double));
      pp = dp;
      lvp = dlv;
      mup = dmu;
    } else {
      fz_sentinel_f64(dp, ep);
      fz_sentinel_f64(dlv, et);
      fz_sentinel_f64(dmu, et);
    }
    memset(&o64.loss, 0x5a, sizeof o64.loss);
    const double before = o64.loss;
    o64.status = fastloss_vae_f64(n, N, T, y64, ld_y, pp, ld_p, mup, lvp, ld_t, &params,
                                  want & 1 ? NULL : rec, want & 2 ? NULL : kl,
                                  want & 4 ? NULL : &o64.loss, want & 8 ? NULL : dp,
                                  want & 16 ? NULL : dlv, want & 32 ? NULL : dmu);
    const int ok = o64.status == FASTLOSS_OK;
    if (o64.status != out[0].status)
      fz_fail("f64 status %d, f32 %d", (int)o64.status, (int)out[0].status);
    for (size_t i = 0; i < n; i++)
      if (((!ok || (want & 1)) && !fz_is_sentinel_f64(rec[i])) ||
          ((!ok || (want & 2)) && !fz_is_sentinel_f64(kl[i])))
        fz_fail("f64: row term %zu written (status %d)", i, (int)o64.status);
    if ((!ok || (want & 4)) && memcmp(&o64.loss, &before, sizeof before))
      fz_fail("f64: loss written (status %d)", (int)o64.status);
    const struct {
      const double *got, *orig;
      size_t count, ld, cols;
      unsigned bit;
    } g[3] = {{dp, p64, ep, ld_p, N, 8}, {dlv, lv64, et, ld_t, T, 16}, {dmu, mu64, et, ld_t, T, 32}};
    for (int q = 0; q < 3; q++)
      for (size_t k = 0; k < g[q].count; k++) {
        const int gap = g[q].ld > g[q].cols && k % g[q].ld >= g[q].cols;
        if (ok && !(want & g[q].bit) && !gap) continue;
        const int same = in_place ? !memcmp(&g[q].got[k], &g[q].orig[k], sizeof(double))
                                  : fz_is_sentinel_f64(g[q].got[k]);
        if (!same) fz_fail("f64: gradient %d [%zu] written (status %d)", q, k, (int)o64.status);
      }
    if (contiguous)
      fz_vae_wrap_f64(n, N, T, y64, p64, mu64, lv64, in_place, want, wnull, o64.status, &o64.loss,
                      dp, dlv, dmu, "f64");
    /* Rounded to float, in f32 buffers, for the comparison below. */
    o64.rec = fz_alloc_f32(n);
    o64.kl = fz_alloc_f32(n);
    o64.dp = fz_alloc_f32(ep);
    o64.dlv = fz_alloc_f32(et);
    o64.dmu = fz_alloc_f32(et);
    for (size_t i = 0; i < n; i++) {
      o64.rec[i] = (float)rec[i];
      o64.kl[i] = (float)kl[i];
    }
    for (size_t k = 0; k < ep; k++) o64.dp[k] = (float)dp[k];
    for (size_t k = 0; k < et; k++) {
      o64.dlv[k] = (float)dlv[k];
      o64.dmu[k] = (float)dmu[k];
    }
    free(y64);
    free(p64);
    free(mu64);
    free(lv64);
    free(rec);
    free(kl);
    free(dp);
    free(dlv);
    free(dmu);
  }

  const float eps = FLT_EPSILON;
  for (size_t a = 1; a <= n_isas; a++) {
    const fz_vae_out *s = &out[0], *v = a < n_isas ? &out[a] : &o64;
    const char *name = a < n_isas ? isas[a]->name : "f64";
    const int f64 = a == n_isas;
    if (v->status != s->status)
      fz_fail("%s status %d, scalar %d", name, (int)v->status, (int)s->status);
    if (s->status != FASTLOSS_OK) continue;
    double loss_tol = 0.0;
    int all_ok = 1;
    for (size_t i = 0; i < n; i++) {
      const float *yi = y + i * ld_y, *pi = p + i * ld_p, *mi = mu + i * ld_t, *li = lv + i * ld_t;
      const int row_ok = fz_all_finite(yi, N) && fz_all_finite(pi, N) && fz_all_finite(mi, T) &&
                         fz_all_finite(li, T) && fz_max_abs(yi, N) < 1e30f &&
                         fz_max_abs(pi, N) < 1e30f && fz_max_abs(mi, T) < 1e30f &&
                         fz_max_abs(li, T) < 80.0f;
      if (!row_ok) {
        all_ok = 0;
        continue;
      }
      const double R = N * (1.0 + fz_max_abs(yi, N)) * (17.0 + fz_max_abs(pi, N));
      double K = 0.0;
      for (size_t t = 0; t < T; t++) K += 1.0 + fabs(li[t]) + (double)mi[t] * mi[t] + exp(li[t]);
      if (R >= 1e30 || K >= 1e30) { /* terms near float overflow: inf or not by rounding */
        all_ok = 0;
        continue;
      }
      if (f64) { /* the same function in both dtypes: no clip, no flushed tail */
        int same = 1;
        for (size_t j = 0; j < N; j++)
          same = same && (params.from_logits ? fabsf(pi[j]) < 80.0f
                                             : pi[j] >= eps && pi[j] <= 1.0f - eps);
        if (!same) {
          all_ok = 0;
          continue;
        }
      }
      loss_tol += 1e-5 * (R + K) / (double)n;
      if (!(want & 1) && !fz_close(v->rec[i], s->rec[i], 1e-5 * R, 1e-5))
        fz_fail("%s row_rec[%zu] %.9g, scalar %.9g", name, i, v->rec[i], s->rec[i]);
      if (!(want & 2) && !fz_close(v->kl[i], s->kl[i], 1e-5 * K, 1e-5))
        fz_fail("%s row_kl[%zu] %.9g, scalar %.9g", name, i, v->kl[i], s->kl[i]);
      for (size_t j = 0; j < N && !(want & 8); j++) {
        double q = params.from_logits ? 0.5 : pi[j];
        if (q < eps) q = eps;
        if (q > 1.0 - eps) q = 1.0 - eps;
        const double tol = 1e-6 * (1.0 + fabs(yi[j])) / ((double)n * q * (1.0 - q));
        const float x = v->dp[i * ld_p + j], r = s->dp[i * ld_p + j];
        if (!fz_close(x, r, tol, 1e-5))
          fz_fail("%s dY_pred[%zu][%zu] %.9g, scalar %.9g", name, i, j, x, r);
      }
      for (size_t t = 0; t < T; t++) {
        const float x = v->dlv[i * ld_t + t], r = s->dlv[i * ld_t + t];
        if (!(want & 16) && !fz_close(x, r, 4.0 * eps * (exp(li[t]) + 1.0) / (double)n, 1e-5))
          fz_fail("%s dLogVar[%zu][%zu] %.9g, scalar %.9g", name, i, t, x, r);
        const float xm = v->dmu[i * ld_t + t], rm = s->dmu[i * ld_t + t];
        /* 1e-44: below FLT_MIN mu / n keeps only a few bits (mu * (1 / n)
         * and mu / n may round apart there). */
        if (!(want & 32) && !fz_close(xm, rm, 1e-44, 1e-6))
          fz_fail("%s dMean[%zu][%zu] %.9g, scalar %.9g", name, i, t, xm, rm);
      }
    }
    if (!(want & 4) && all_ok && !fz_close(v->loss, s->loss, loss_tol, 1e-5))
      fz_fail("%s loss %.17g, scalar %.17g", name, v->loss, s->loss);
  }
  for (size_t a = 0; a <= n_isas; a++) {
    fz_vae_out *o = a < n_isas ? &out[a] : &o64;
    free(o->rec);
    free(o->kl);
    free(o->dp);
    free(o->dlv);
    free(o->dmu);
  }
  free(y);
  free(p);
  free(mu);
  free(lv);
  return 0;
}
