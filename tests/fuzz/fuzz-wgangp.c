/* WGAN_GPLoss: fastloss_wgangp_f32 on every kernel table against scalar,
 * and fastloss_wgangp_f64 (scalar on every table: bit-identical across
 * tables) against a long-double reference written here from fastloss.h's
 * formulas.  Fuzzed: the module ('C', 'G', sometimes another byte), lambda
 * (default, 0 with use_lambda, fuzzed: sometimes negative or non-finite, an
 * error) and use_lambda (sometimes 2, an error), n_fake, n_real <= 12, n <= 10
 * (each sometimes 0: an error for the critic), n_feats <= 70, ld_grad
 * (sometimes too small), every output optional and each sometimes in place
 * over its input; the f64 data are the f32 data widened, sometimes scaled by
 * 2^e, |e| <= 600 (values no float holds).  An error must leave every
 * output untouched; outputs not asked for, and the gaps between rows of
 * dGradInterp, stay untouched always.  dY_fake and dY_real are +-1 / count
 * exactly.  Tolerances, with c_i = (2 lambda / n)(N_i - 1) / (N_i + eps64)
 * and N_i = ||g_i||:
 *   f32 ISA vs scalar: loss 1e-6 (mean |Y_fake| + mean |Y_real| + lambda
 *     mean (1 + N_i)^2) abs + 1e-6 rel (the means are double sums, which
 *     may cancel); dGradInterp_ij 1e-6 (2 lambda / n)
 *     (1 + |g_ij|) abs + 1e-5 rel (the f32 norm kernels sum squares in
 *     double, so this is loose);
 *   f64 vs reference: the same forms with 1e-13 (a few double roundings in
 *     N - 1, which the reference does in long double).
 * numpy-ml's wrappers fastloss_wgangp_loss_f32/_f64 and _grad_f32/_f64
 * (fastloss.h: n_ex rows everywhere, contiguous gradInterp, every output of
 * the module required): on every table, whenever the general call's case
 * is one the wrappers express (the generator, which ignores everything but
 * n_fake; otherwise n_fake = n_real = n and ld_grad = n_feats), both are
 * called on the same inputs (in place over copies as the case is) and must
 * give the general call's status, bit-identical values for each output it
 * wrote, and leave every other output untouched (all of them on error; for
 * the generator dY_real and dGradInterp always).  A byte appended after the
 * data (0 when the input ends before it) sometimes passes one output as
 * NULL: FASTLOSS_ERR_NULL_POINTER where the module requires it, the general
 * call's status where it does not ('G': dY_real, dGradInterp). */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

enum { FZ_MAX_ISAS = 4 };

#define FZ_EPS64 2.220446049250313e-16

typedef struct fz_wg_case {
  int module;
  fastloss_wgangp_params params;
  size_t n_fake, n_real, n, n_feats, ld;
  int want_loss, want_dfake, want_dreal, want_dg;
  int inplace_fake, inplace_real, inplace_g;
} fz_wg_case;

/* The outputs of one call, and the buffers it read (copies for in place). */
#define FZ_WG_DEFINE(T, SUF, SENT, IS_SENT)                                                      \
  typedef struct fz_wg_out_##SUF {                                                               \
    fastloss_status status;                                                                      \
    double loss;                                                                                 \
    T *dfake, *dreal, *dg;                                                                       \
  } fz_wg_out_##SUF;                                                                             \
                                                                                                 \
  static void fz_wg_run_##SUF(const fz_wg_case *c, const T *yf, const T *yr, const T *g,         \
                              fz_wg_out_##SUF *o, const char *name) {                            \
    const size_t ng = fz_extent(c->n, c->n_feats, c->ld);                                        \
    o->dfake = fz_alloc_##SUF(c->n_fake);                                                        \
    o->dreal = fz_alloc_##SUF(c->n_real);                                                        \
    o->dg = fz_alloc_##SUF(ng);                                                                  \
    T *in_f = fz_alloc_##SUF(c->n_fake), *in_r = fz_alloc_##SUF(c->n_real);                      \
    T *in_g = fz_alloc_##SUF(ng);                                                                \
    memcpy(in_f, yf, c->n_fake * sizeof(T));                                                     \
    memcpy(in_r, yr, c->n_real * sizeof(T));                                                     \
    memcpy(in_g, g, ng * sizeof(T));                                                             \
    /* In place: the output buffer is the input's copy. */                                       \
    if (c->inplace_fake)                                                                         \
      memcpy(o->dfake, yf, c->n_fake * sizeof(T));                                               \
    else                                                                                         \
      SENT(o->dfake, c->n_fake);                                                                 \
    if (c->inplace_real)                                                                         \
      memcpy(o->dreal, yr, c->n_real * sizeof(T));                                               \
    else                                                                                         \
      SENT(o->dreal, c->n_real);                                                                 \
    if (c->inplace_g)                                                                            \
      memcpy(o->dg, g, ng * sizeof(T));                                                          \
    else                                                                                         \
      SENT(o->dg, ng);                                                                           \
    memset(&o->loss, 0x5a, sizeof o->loss);                                                      \
    const double before = o->loss;                                                               \
    o->status = fastloss_wgangp_##SUF(                                                           \
        c->module, c->n_fake, c->inplace_fake ? o->dfake : in_f, c->n_real,                      \
        c->inplace_real ? o->dreal : in_r, c->n, c->n_feats, c->inplace_g ? o->dg : in_g, c->ld, \
        &c->params, c->want_loss ? &o->loss : NULL, c->want_dfake ? o->dfake : NULL,             \
        c->want_dreal ? o->dreal : NULL, c->want_dg ? o->dg : NULL);                             \
    const int ok = o->status == FASTLOSS_OK;                                                     \
    const int critic = c->module == FASTLOSS_WGANGP_CRITIC;                                      \
    if (memcmp(in_f, yf, c->n_fake * sizeof(T)) || memcmp(in_r, yr, c->n_real * sizeof(T)) ||    \
        memcmp(in_g, g, ng * sizeof(T)))                                                         \
      fz_fail("%s: an input was written", name);                                                 \
    if ((!ok || !c->want_loss) && memcmp(&o->loss, &before, sizeof before))                      \
      fz_fail("%s: loss written (status %d)", name, (int)o->status);                             \
    /* Untouched unless written by a successful call that uses it. */                            \
    const int w_fake = ok && c->want_dfake, w_real = ok && c->want_dreal && critic;              \
    const int w_g = ok && c->want_dg && critic;                                                  \
    for (size_t k = 0; k < c->n_fake; k++)                                                       \
      if (!w_fake &&                                                                             \
          (c->inplace_fake ? memcmp(&o->dfake[k], &yf[k], sizeof(T)) : !IS_SENT(o->dfake[k])))   \
        fz_fail("%s: dY_fake[%zu] written (status %d)", name, k, (int)o->status);                \
    for (size_t k = 0; k < c->n_real; k++)                                                       \
      if (!w_real &&                                                                             \
          (c->inplace_real ? memcmp(&o->dreal[k], &yr[k], sizeof(T)) : !IS_SENT(o->dreal[k])))   \
        fz_fail("%s: dY_real[%zu] written (status %d)", name, k, (int)o->status);                \
    for (size_t k = 0; k < ng; k++) {                                                            \
      const int gap = k % c->ld >= c->n_feats;                                                   \
      if ((!w_g || gap) &&                                                                       \
          (c->inplace_g ? memcmp(&o->dg[k], &g[k], sizeof(T)) : !IS_SENT(o->dg[k])))             \
        fz_fail("%s: dGradInterp[%zu] written (status %d)", name, k, (int)o->status);            \
    }                                                                                            \
    free(in_f);                                                                                  \
    free(in_r);                                                                                  \
    free(in_g);                                                                                  \
  }                                                                                              \
                                                                                                 \
  /* The wrappers on a case they express, against the general call's o. */                       \
  static void fz_wg_wrap_##SUF(const fz_wg_case *c, const T *yf, const T *yr, const T *g,        \
                               const fz_wg_out_##SUF *o, uint8_t wnull, const char *name) {      \
    const int critic = c->module == FASTLOSS_WGANGP_CRITIC;                                      \
    const size_t n_ex = c->n_fake, ng = fz_extent(c->n, c->n_feats, c->ld);                      \
    double wl;                                                                                   \
    memset(&wl, 0x5a, sizeof wl);                                                                \
    const double before = wl;                                                                    \
    fastloss_status ws = fastloss_wgangp_loss_##SUF(c->module, n_ex, c->n_feats, yf, yr, g,      \
                                                    &c->params, wnull == 1 ? NULL : &wl);        \
    fastloss_status want = wnull == 1 ? FASTLOSS_ERR_NULL_POINTER : o->status;                   \
    if (ws != want) fz_fail("%s: wgangp_loss status %d, want %d", name, (int)ws, (int)want);     \
    if (ws != FASTLOSS_OK && memcmp(&wl, &before, sizeof wl))                                    \
      fz_fail("%s: wgangp_loss wrote the loss (status %d)", name, (int)ws);                      \
    if (ws == FASTLOSS_OK && c->want_loss && memcmp(&wl, &o->loss, sizeof wl))                   \
      fz_fail("%s: wgangp_loss %.17g, general call %.17g", name, wl, o->loss);                   \
    T *out[3] = {fz_alloc_##SUF(c->n_fake), fz_alloc_##SUF(c->n_real), fz_alloc_##SUF(ng)};      \
    const T *orig[3] = {yf, yr, g}, *gen[3] = {o->dfake, o->dreal, o->dg};                       \
    const size_t cnt[3] = {c->n_fake, c->n_real, ng};                                            \
    const int inpl[3] = {c->inplace_fake, c->inplace_real, c->inplace_g};                        \
    const int wanted[3] = {c->want_dfake, c->want_dreal, c->want_dg};                            \
    for (int q = 0; q < 3; q++) {                                                                \
      if (inpl[q])                                                                               \
        memcpy(out[q], orig[q], cnt[q] * sizeof(T));                                             \
      else                                                                                       \
        SENT(out[q], cnt[q]);                                                                    \
    }                                                                                            \
    ws = fastloss_wgangp_grad_##SUF(c->module, n_ex, c->n_feats, inpl[0] ? out[0] : yf,          \
                                    inpl[1] ? out[1] : yr, inpl[2] ? out[2] : g, &c->params,     \
                                    wnull == 2 ? NULL : out[0], wnull == 3 ? NULL : out[1],      \
                                    wnull == 4 ? NULL : out[2]);                                 \
    want = wnull == 2 || ((wnull == 3 || wnull == 4) && critic) ? FASTLOSS_ERR_NULL_POINTER      \
                                                                : o->status;                     \
    if (ws != want) fz_fail("%s: wgangp_grad status %d, want %d", name, (int)ws, (int)want);     \
    for (int q = 0; q < 3; q++) {                                                                \
      const int written = ws == FASTLOSS_OK && wnull != 2 + q && (q == 0 || critic);             \
      for (size_t k = 0; k < cnt[q]; k++) {                                                      \
        if (!written) {                                                                          \
          if (inpl[q] ? memcmp(&out[q][k], &orig[q][k], sizeof(T)) : !IS_SENT(out[q][k]))        \
            fz_fail("%s: wgangp_grad wrote output %d [%zu] (status %d)", name, q, k, (int)ws);   \
        } else if (wanted[q] && memcmp(&out[q][k], &gen[q][k], sizeof(T))) {                     \
          fz_fail("%s: wgangp_grad output %d [%zu] %.17g, general call %.17g", name, q, k,       \
                  (double)out[q][k], (double)gen[q][k]);                                         \
        }                                                                                        \
      }                                                                                          \
    }                                                                                            \
    for (int q = 0; q < 3; q++) free(out[q]);                                                    \
  }                                                                                              \
                                                                                                 \
  static void fz_wg_free_##SUF(fz_wg_out_##SUF *o) {                                             \
    free(o->dfake);                                                                              \
    free(o->dreal);                                                                              \
    free(o->dg);                                                                                 \
  }

FZ_WG_DEFINE(float, f32, fz_sentinel_f32, fz_is_sentinel_f32)
FZ_WG_DEFINE(double, f64, fz_sentinel_f64, fz_is_sentinel_f64)

/* The long-double reference: row norms, the loss and the loss's scale
 * (mean |Y_fake| + mean |Y_real| + lambda mean (1 + N)^2: the means are
 * plain double sums, which may cancel). */
typedef struct fz_wg_ref {
  long double loss, scale, lambda;
  long double norm[16];
  int penalty_past_dbl_max; /* lambda mean (N - 1)^2 > DBL_MAX */
  int means_past_dbl_max;   /* sum |Y_fake| or sum |Y_real| > DBL_MAX */
} fz_wg_ref;

static void fz_wg_reference(const fz_wg_case *c, const double *yf, const double *yr,
                            const double *g, fz_wg_ref *r) {
  const int critic = c->module == FASTLOSS_WGANGP_CRITIC;
  r->lambda = c->params.lambda == 0.0 && !c->params.use_lambda ? 10.0L : c->params.lambda;
  r->penalty_past_dbl_max = 0;
  r->means_past_dbl_max = 0;
  long double mf = 0.0L, mr = 0.0L, pen = 0.0L, pscale = 0.0L, af = 0.0L, ar = 0.0L;
  for (size_t k = 0; k < c->n_fake; k++) {
    mf += yf[k];
    af += fabsl((long double)yf[k]);
  }
  r->means_past_dbl_max = af > (long double)DBL_MAX;
  mf /= (long double)c->n_fake;
  af /= (long double)c->n_fake;
  if (!critic) {
    r->loss = -mf;
    r->scale = af;
    return;
  }
  for (size_t k = 0; k < c->n_real; k++) {
    mr += yr[k];
    ar += fabsl((long double)yr[k]);
  }
  r->means_past_dbl_max |= ar > (long double)DBL_MAX;
  mr /= (long double)c->n_real;
  ar /= (long double)c->n_real;
  for (size_t i = 0; i < c->n; i++) {
    long double s = 0.0L;
    for (size_t j = 0; j < c->n_feats; j++) s += (long double)g[i * c->ld + j] * g[i * c->ld + j];
    r->norm[i] = sqrtl(s);
    pen += (r->norm[i] - 1.0L) * (r->norm[i] - 1.0L);
    pscale += (1.0L + r->norm[i]) * (1.0L + r->norm[i]);
  }
  r->loss = mf - mr + r->lambda * pen / (long double)c->n;
  r->penalty_past_dbl_max = r->lambda * pen / (long double)c->n > (long double)DBL_MAX;
  r->scale = af + ar + r->lambda * pscale / (long double)c->n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fz_input in = {data, size};
  fz_wg_case c;
  memset(&c, 0, sizeof c);
  const uint8_t flags = fz_u8(&in), flags2 = fz_u8(&in);
  const uint8_t msel = fz_u8(&in);
  c.module = msel < 120 ? FASTLOSS_WGANGP_CRITIC : msel < 240 ? FASTLOSS_WGANGP_GENERATOR
                                                               : (int)fz_u8(&in) - 64;
  const uint8_t lsel = fz_u8(&in);
  if (lsel < 64) {
    c.params.lambda = 0.0; /* the default, 10 */
  } else if (lsel < 96) {
    c.params.use_lambda = 1; /* no penalty */
  } else if (lsel < 220) {
    c.params.lambda = (lsel - 96) / 8.0;
    c.params.use_lambda = lsel & 1;
  } else {
    c.params.lambda = fz_double(&in);
    c.params.use_lambda = lsel % 3; /* 2: an error */
  }
  const uint8_t zsel = fz_u8(&in); /* rarely a zero count */
  c.n_fake = fz_range(&in, zsel == 1 ? 0 : 1, 12);
  c.n_real = fz_range(&in, zsel == 2 ? 0 : 1, 12);
  c.n = fz_range(&in, zsel == 3 ? 0 : 1, 10);
  c.n_feats = fz_range(&in, zsel == 4 ? 0 : 1, 70);
  const uint8_t ldsel = fz_u8(&in);
  c.ld = ldsel < 4 && c.n_feats > 0 && c.n > 1 ? c.n_feats - 1 : c.n_feats + ldsel % 3;
  if (c.ld == 0) c.ld = 1; /* fz_extent's k % ld */
  c.want_loss = !(flags & 1);
  c.want_dfake = !(flags & 2);
  c.want_dreal = !(flags & 4);
  c.want_dg = !(flags & 8);
  c.inplace_fake = (flags >> 4) & 1;
  c.inplace_real = (flags >> 5) & 1;
  c.inplace_g = (flags >> 6) & 1 && c.ld >= c.n_feats;
  const int wide = flags2 & 1;

  const size_t ng = fz_extent(c.n, c.n_feats, c.ld);
  float *yf = fz_alloc_f32(c.n_fake), *yr = fz_alloc_f32(c.n_real), *g = fz_alloc_f32(ng);
  fz_floats(&in, yf, c.n_fake);
  fz_floats(&in, yr, c.n_real);
  const uint8_t gscale = fz_u8(&in); /* rows near the unit norm sometimes */
  for (size_t k = 0; k < ng; k++) {
    g[k] = fz_float(&in);
    if (gscale < 64 && isfinite(g[k]) && c.n_feats > 0) g[k] = g[k] / 32.0f / sqrtf((float)c.n_feats);
  }
  double *yf64 = fz_alloc_f64(c.n_fake), *yr64 = fz_alloc_f64(c.n_real), *g64 = fz_alloc_f64(ng);
  fz_doubles(&in, yf64, c.n_fake, wide);
  for (size_t k = 0; k < c.n_fake; k++) yf64[k] = wide ? yf64[k] : yf[k];
  fz_doubles(&in, yr64, c.n_real, wide);
  for (size_t k = 0; k < c.n_real; k++) yr64[k] = wide ? yr64[k] : yr[k];
  const uint8_t gexp = fz_u8(&in);
  const int shift = wide ? ((int)gexp - 128) * 600 / 128 : 0;
  for (size_t k = 0; k < ng; k++) g64[k] = ldexp((double)g[k], shift);
  /* Appended after the data: the wrappers' NULL output (1..4), else none. */
  const uint8_t wsel = fz_u8(&in);
  const uint8_t wnull = wsel >= 1 && wsel <= 4 ? wsel : 0;
  const int wrappable = c.module == FASTLOSS_WGANGP_GENERATOR ||
                        (c.n_real == c.n_fake && c.n == c.n_fake && c.ld == c.n_feats);

  if (getenv("FASTLOSS_FUZZ_VERBOSE") != NULL) {
    fprintf(stderr, "wgangp module %d lambda %g use %d n_fake %zu n_real %zu n %zu feats %zu ld %zu\n",
            c.module, c.params.lambda, c.params.use_lambda, c.n_fake, c.n_real, c.n, c.n_feats,
            c.ld);
    for (size_t k = 0; k < ng; k++) fprintf(stderr, "g[%zu] %g (f64 %g)\n", k, g[k], g64[k]);
    for (size_t k = 0; k < c.n_fake; k++) fprintf(stderr, "Y_fake[%zu] %g (f64 %g)\n", k, yf[k], yf64[k]);
    for (size_t k = 0; k < c.n_real; k++) fprintf(stderr, "Y_real[%zu] %g (f64 %g)\n", k, yr[k], yr64[k]);
  }
  const fl_isa_kernels *isas[FZ_MAX_ISAS];
  const size_t n_isas = fz_isas(isas, FZ_MAX_ISAS);
  fz_wg_out_f32 o32[FZ_MAX_ISAS];
  fz_wg_out_f64 o64[FZ_MAX_ISAS];
  for (size_t a = 0; a < n_isas; a++) {
    fl_dispatch_force(isas[a]);
    fz_wg_run_f32(&c, yf, yr, g, &o32[a], isas[a]->name);
    fz_wg_run_f64(&c, yf64, yr64, g64, &o64[a], isas[a]->name);
    if (wrappable) {
      fz_wg_wrap_f32(&c, yf, yr, g, &o32[a], wnull, isas[a]->name);
      fz_wg_wrap_f64(&c, yf64, yr64, g64, &o64[a], wnull, isas[a]->name);
    }
  }
  const int critic = c.module == FASTLOSS_WGANGP_CRITIC;
  const int rows = critic ? (int)c.n : 0;
  /* f32: each table against scalar. */
  double *yf_w = fz_alloc_f64(c.n_fake), *yr_w = fz_alloc_f64(c.n_real), *g_w = fz_alloc_f64(ng);
  for (size_t k = 0; k < c.n_fake; k++) yf_w[k] = yf[k];
  for (size_t k = 0; k < c.n_real; k++) yr_w[k] = yr[k];
  for (size_t k = 0; k < ng; k++) g_w[k] = g[k];
  fz_wg_ref r32, r64;
  const int ok = o32[0].status == FASTLOSS_OK;
  if (ok) fz_wg_reference(&c, yf_w, yr_w, g_w, &r32);
  if (o64[0].status == FASTLOSS_OK) fz_wg_reference(&c, yf64, yr64, g64, &r64);
  /* Both dtypes share their argument checks. */
  if (o64[0].status != o32[0].status)
    fz_fail("f64 status %d, f32 %d", (int)o64[0].status, (int)o32[0].status);
  for (size_t a = 1; a < n_isas; a++) {
    const char *name = isas[a]->name;
    const fz_wg_out_f32 *s = &o32[0], *v = &o32[a];
    if (v->status != s->status) fz_fail("%s status %d, scalar %d", name, (int)v->status, (int)s->status);
    /* The f64 entry points run the scalar kernels on every table. */
    if (o64[a].status != o64[0].status ||
        (o64[0].status == FASTLOSS_OK && c.want_loss &&
         memcmp(&o64[a].loss, &o64[0].loss, sizeof(double))) ||
        memcmp(o64[a].dfake, o64[0].dfake, c.n_fake * sizeof(double)) ||
        memcmp(o64[a].dreal, o64[0].dreal, c.n_real * sizeof(double)) ||
        memcmp(o64[a].dg, o64[0].dg, ng * sizeof(double)))
      fz_fail("%s: f64 results differ from scalar's", name);
    if (!ok) continue;
    if (c.want_loss && !fz_close(v->loss, s->loss, 1e-6 * (double)r32.scale, 1e-6))
      fz_fail("%s loss %.17g, scalar %.17g", name, v->loss, s->loss);
    if (c.want_dg)
      for (int i = 0; i < rows; i++)
        for (size_t j = 0; j < c.n_feats; j++) {
          const size_t k = (size_t)i * c.ld + j;
          const double tol = 1e-6 * 2.0 * (double)r32.lambda / (double)c.n * (1.0 + fabs(g[k]));
          if (!fz_close(v->dg[k], s->dg[k], tol, 1e-5))
            fz_fail("%s dGradInterp[%d][%zu] %.9g, scalar %.9g", name, i, j, v->dg[k], s->dg[k]);
        }
  }
  /* Scalar f32 and f64 against the reference. */
  for (int p = 0; p < 2 && ok; p++) {
    const fz_wg_ref *r = p ? &r64 : &r32;
    const double rel = p ? 1e-13 : 1e-6;
    const char *what = p ? "f64" : "f32";
    const double *gv = p ? g64 : g_w;
    const double loss = p ? o64[0].loss : o32[0].loss;
    /* A penalty past DBL_MAX is +inf in double (the true value, as far as
     * double goes); with an infinite mean of the opposite sign the double
     * loss is then NaN where long double, with its wider range, still
     * finds the infinite mean's sign.  The loss is not compared there. */
    /* Likewise a sum of |Y| past DBL_MAX: a double partial sum of a mean
     * may overflow to inf (and inf - inf is NaN) where long double does
     * not (regressions/wgangp/means-past-dbl-max-f64-nan-reference-inf). */
    const int loss_past_double = r->penalty_past_dbl_max || r->means_past_dbl_max;
    if (c.want_loss && !loss_past_double &&
        !fz_close(loss, (double)r->loss, rel * (double)r->scale, rel))
      fz_fail("%s loss %.17g, reference %.17Lg", what, loss, r->loss);
    const double nf = (critic ? 1.0 : -1.0) / (double)c.n_fake, nr = -1.0 / (double)c.n_real;
    for (size_t k = 0; c.want_dfake && k < c.n_fake; k++) {
      const double d = p ? o64[0].dfake[k] : o32[0].dfake[k];
      if (!fz_close(d, nf, 0.0, p ? 2.3e-16 : 6e-8)) fz_fail("%s dY_fake[%zu] %.17g", what, k, d);
    }
    for (size_t k = 0; critic && c.want_dreal && k < c.n_real; k++) {
      const double d = p ? o64[0].dreal[k] : o32[0].dreal[k];
      if (!fz_close(d, nr, 0.0, p ? 2.3e-16 : 6e-8)) fz_fail("%s dY_real[%zu] %.17g", what, k, d);
    }
    for (int i = 0; c.want_dg && i < rows; i++) {
      const long double N = r->norm[i];
      const long double coef = 2.0L * r->lambda / (long double)c.n;
      for (size_t j = 0; j < c.n_feats; j++) {
        const size_t k = (size_t)i * c.ld + j;
        const long double want = coef * (N - 1.0L) * gv[k] / (N + FZ_EPS64);
        const double got = p ? o64[0].dg[k] : o32[0].dg[k];
        const double tol = rel * (double)(coef * fabsl((long double)gv[k]) * (1.0L + N) /
                                          (N + FZ_EPS64)) +
                           (p ? 1e-320 : 1e-44); /* a few denormal steps */
        /* Past DBL_MAX (or FLT_MAX) the reference is an infinity. */
        const double w = p ? (double)want : (double)(float)want;
        if (!fz_close(got, w, tol, rel * 10.0))
          fz_fail("%s dGradInterp[%d][%zu] %.17g, reference %.17Lg (N %Lg)", what, i, j, got,
                  want, N);
      }
    }
  }
  for (size_t a = 0; a < n_isas; a++) {
    fz_wg_free_f32(&o32[a]);
    fz_wg_free_f64(&o64[a]);
  }
  free(yf);
  free(yr);
  free(g);
  free(yf64);
  free(yr64);
  free(g64);
  free(yf_w);
  free(yr_w);
  free(g_w);
  return 0;
}
