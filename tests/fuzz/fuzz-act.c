/* The activations and SquaredError (f32): fastloss_activation_fn_f32,
 * fastloss_activation_grad_f32 (count <= 200, sometimes in place), and
 * fastloss_sqerr_loss_f32 / fastloss_sqerr_grad_f32 ((n, m) <= (16, 40),
 * grad sometimes in place over y, y_pred or z) with every activation kind
 * (and unknown ones), fuzzed alpha / slope / intercept (sometimes
 * non-finite: an error), use_params and exact, on every kernel table
 * against scalar.  Tolerances (the header: each ISA within a few ULP of the
 * float64 functions, tails below ~1e-35 may flush): 1e-5 rel + 1e-33 abs,
 * plus 2e-6 (|slope z| + |intercept|) for Affine and 2e-6 |alpha| * 1.76
 * for the ELU family (cancellation in alpha (e^z - 1) near 0), plus
 * 2.4e-7 (0.2 |z| + 0.5) for HardSigmoid (0.2 z + 0.5 cancels near -2.5),
 * 2 eps |z|^3 rel for the tanh GELU (its far negative tail); NaN positions
 * and infinities exactly, except Affine with |slope z| > FLT_MAX (an FMA may
 * cancel what a separate multiply overflows to inf).  The loss (squares exact in double, summed in
 * double): 1e-10 rel.
 *
 * The f64 entry points (scalar on every table) run on the same values
 * widened (fn and grad in place when the f32 ones are, sqerr grad into a
 * fresh buffer): the same statuses as f32, nothing written on error, and
 * their results, rounded to float, within the tolerances above of scalar
 * f32 (the f64 result stands for the exact one). */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

enum { FZ_MAX_ISAS = 4 };

static double fz_tol(const fastloss_activation *act, float z, double *rel) {
  const double az = fabs((double)z);
  *rel = 1e-5;
  double abs_tol = 1e-33;
  const double slope = act->slope == 0.0 && !act->use_params ? 1.0 : act->slope;
  switch (act->kind) {
    case FASTLOSS_ACT_AFFINE:
      abs_tol += 2e-6 * (fabs(slope) * az + fabs(act->intercept));
      break;
    case FASTLOSS_ACT_HARD_SIGMOID:
      /* 0.2 z + 0.5 cancels near z = -2.5: FMA or not moves it by eps (0.2|z| + 0.5). */
      abs_tol += 2.4e-7 * (0.2 * az + 0.5);
      break;
    case FASTLOSS_ACT_SELU:
      abs_tol += 2e-6 * 1.76;
      break;
    case FASTLOSS_ACT_ELU:
    case FASTLOSS_ACT_LEAKY_RELU:
      abs_tol += 2e-6 * 1.76 * (1.0 + fabs(act->alpha));
      break;
    case FASTLOSS_ACT_GELU:
      /* GELU' crosses 0 near z = -0.75 by cancellation of O(1) terms. */
      abs_tol += 1e-6 * (1.0 + az);
      if (!act->exact) *rel += 2.0 * 1.1920929e-7 * az * az * az;
      break;
    default:
      break;
  }
  return isfinite(abs_tol) ? abs_tol : 0.0; /* unused non-finite fields */
}

static void fz_compare(const char *what, const char *name, const float *got, const float *want,
                       const float *z, size_t count, const fastloss_activation *act,
                       int scale_by_z) {
  for (size_t k = 0; k < count; k++) {
    double rel = 1e-5, abs_tol = 1e-33;
    if (scale_by_z) abs_tol = fz_tol(act, z[k], &rel);
    /* Affine with |slope z| past FLT_MAX: a separate multiply overflows to
     * inf where an FMA adds the intercept first and may land on any finite
     * value (the intercept cancels it), so an infinity against a finite
     * value is rounding, not an error, there. */
    if (scale_by_z && act->kind == FASTLOSS_ACT_AFFINE && (isinf(got[k]) != isinf(want[k]))) {
      const double slope = act->slope == 0.0 && !act->use_params ? 1.0 : act->slope;
      if (fabs(slope * (double)z[k]) > FLT_MAX) continue;
    }
    if (!fz_close(got[k], want[k], abs_tol, rel))
      fz_fail("%s %s[%zu] (kind %d, z %.9g) %.9g, scalar %.9g", name, what, k, (int)act->kind,
              z ? z[k] : 0.0, got[k], want[k]);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fz_input in = {data, size};
  const uint8_t flags = fz_u8(&in);
  fastloss_activation act;
  memset(&act, 0, sizeof act);
  const uint8_t kind = fz_u8(&in);
  act.kind = (fastloss_activation_kind)(kind < 240 ? kind % 12 : kind % 20);
  act.use_params = flags & 1;
  act.exact = (flags >> 1) & 1;
  const uint8_t psel = fz_u8(&in);
  if (psel & 1) act.alpha = fz_double(&in);
  if (psel & 2) act.slope = fz_double(&in);
  if (psel & 4) act.intercept = fz_double(&in);
  const size_t count = fz_range(&in, 0, 200);
  const size_t n = fz_range(&in, 0, 16), m = fz_range(&in, 0, 40), nm = n * m;
  const int in_place = (flags >> 2) & 1, grad_alias = (flags >> 3) % 4;
  float *z = fz_alloc_f32(count), *y = fz_alloc_f32(nm), *yp = fz_alloc_f32(nm);
  float *zz = fz_alloc_f32(nm);
  fz_floats(&in, z, count);
  fz_floats(&in, y, nm);
  fz_floats(&in, yp, nm);
  fz_floats(&in, zz, nm);
  const fastloss_activation *actp = (flags & 0x80) ? NULL : &act;
  const fastloss_activation identity = {.kind = FASTLOSS_ACT_IDENTITY};
  const fastloss_activation *act_tol = actp ? actp : &identity;

  const fl_isa_kernels *isas[FZ_MAX_ISAS];
  const size_t n_isas = fz_isas(isas, FZ_MAX_ISAS);
  float *fn[FZ_MAX_ISAS + 1], *gr[FZ_MAX_ISAS + 1], *sg[FZ_MAX_ISAS + 1];
  fastloss_status st[FZ_MAX_ISAS + 1][4];
  double loss[FZ_MAX_ISAS + 1];
  for (size_t a = 0; a < n_isas; a++) {
    fl_dispatch_force(isas[a]);
    const char *name = isas[a]->name;
    /* fn and grad: out-of-place into a sentinel buffer, or in place. */
    fn[a] = fz_alloc_f32(count);
    gr[a] = fz_alloc_f32(count);
    if (in_place) {
      memcpy(fn[a], z, count * sizeof(float));
      memcpy(gr[a], z, count * sizeof(float));
    } else {
      fz_sentinel_f32(fn[a], count);
      fz_sentinel_f32(gr[a], count);
    }
    st[a][0] = fastloss_activation_fn_f32(actp, count, in_place ? fn[a] : z, fn[a]);
    st[a][1] = fastloss_activation_grad_f32(actp, count, in_place ? gr[a] : z, gr[a]);
    for (int c = 0; c < 2; c++) {
      const float *out = c == 0 ? fn[a] : gr[a];
      if (st[a][c] == FASTLOSS_OK) continue;
      for (size_t k = 0; k < count; k++)
        if (in_place ? memcmp(&out[k], &z[k], sizeof(float)) != 0 : !fz_is_sentinel_f32(out[k]))
          fz_fail("%s: activation %s status %d but out[%zu] written", name, c ? "grad" : "fn",
                  (int)st[a][c], k);
    }
    memset(&loss[a], 0x5a, sizeof loss[a]);
    const double before = loss[a];
    st[a][2] = fastloss_sqerr_loss_f32(n, m, y, yp, &loss[a]);
    if (st[a][2] != FASTLOSS_OK && memcmp(&loss[a], &before, sizeof before))
      fz_fail("%s: sqerr loss written on error", name);
    /* sqerr grad into a fresh buffer, or over a copy of y, y_pred or z. */
    const float *src[4] = {NULL, y, yp, zz};
    sg[a] = fz_alloc_f32(nm);
    float *cy = fz_alloc_f32(nm), *cyp = fz_alloc_f32(nm), *cz = fz_alloc_f32(nm);
    memcpy(cy, y, nm * sizeof(float));
    memcpy(cyp, yp, nm * sizeof(float));
    memcpy(cz, zz, nm * sizeof(float));
    float *out = grad_alias == 1 ? cy : grad_alias == 2 ? cyp : grad_alias == 3 ? cz : sg[a];
    if (grad_alias == 0) fz_sentinel_f32(out, nm);
    st[a][3] = fastloss_sqerr_grad_f32(n, m, cy, cyp, cz, actp, out);
    if (st[a][3] != FASTLOSS_OK)
      for (size_t k = 0; k < nm; k++)
        if (grad_alias ? memcmp(&out[k], &src[grad_alias][k], sizeof(float)) != 0
                       : !fz_is_sentinel_f32(out[k]))
          fz_fail("%s: sqerr grad status %d but grad[%zu] written", name, (int)st[a][3], k);
    memcpy(sg[a], out, nm * sizeof(float));
    free(cy);
    free(cyp);
    free(cz);
  }
  /* f64, as one more run (index n_isas), its results rounded to float. */
  {
    const size_t a = n_isas;
    double *z64 = fz_alloc_f64(count), *y64 = fz_alloc_f64(nm), *yp64 = fz_alloc_f64(nm),
           *zz64 = fz_alloc_f64(nm);
    for (size_t k = 0; k < count; k++) z64[k] = z[k];
    for (size_t k = 0; k < nm; k++) {
      y64[k] = y[k];
      yp64[k] = yp[k];
      zz64[k] = zz[k];
    }
    double *o[3] = {fz_alloc_f64(count), fz_alloc_f64(count), fz_alloc_f64(nm)};
    for (int c = 0; c < 2; c++) {
      if (in_place)
        memcpy(o[c], z64, count * sizeof(double));
      else
        fz_sentinel_f64(o[c], count);
    }
    fz_sentinel_f64(o[2], nm);
    st[a][0] = fastloss_activation_fn_f64(actp, count, in_place ? o[0] : z64, o[0]);
    st[a][1] = fastloss_activation_grad_f64(actp, count, in_place ? o[1] : z64, o[1]);
    memset(&loss[a], 0x5a, sizeof loss[a]);
    const double before = loss[a];
    st[a][2] = fastloss_sqerr_loss_f64(n, m, y64, yp64, &loss[a]);
    if (st[a][2] != FASTLOSS_OK && memcmp(&loss[a], &before, sizeof before))
      fz_fail("f64: sqerr loss written on error");
    st[a][3] = fastloss_sqerr_grad_f64(n, m, y64, yp64, zz64, actp, o[2]);
    for (int c = 0; c < 3; c++) {
      const size_t cnt = c < 2 ? count : nm;
      if (st[a][c == 2 ? 3 : c] == FASTLOSS_OK) continue;
      for (size_t k = 0; k < cnt; k++)
        if (c < 2 && in_place ? memcmp(&o[c][k], &z64[k], sizeof(double)) != 0
                              : !fz_is_sentinel_f64(o[c][k]))
          fz_fail("f64: output %d status %d but out[%zu] written", c, (int)st[a][c == 2 ? 3 : c], k);
    }
    fn[a] = fz_alloc_f32(count);
    gr[a] = fz_alloc_f32(count);
    sg[a] = fz_alloc_f32(nm);
    for (size_t k = 0; k < count; k++) {
      fn[a][k] = (float)o[0][k];
      gr[a][k] = (float)o[1][k];
    }
    for (size_t k = 0; k < nm; k++) sg[a][k] = (float)o[2][k];
    for (int c = 0; c < 3; c++) free(o[c]);
    free(z64);
    free(y64);
    free(yp64);
    free(zz64);
  }
  for (size_t a = 1; a <= n_isas; a++) {
    const char *name = a < n_isas ? isas[a]->name : "f64";
    for (int c = 0; c < 4; c++)
      if (st[a][c] != st[0][c])
        fz_fail("%s call %d status %d, scalar %d", name, c, (int)st[a][c], (int)st[0][c]);
    if (st[0][0] == FASTLOSS_OK) fz_compare("act", name, fn[a], fn[0], z, count, act_tol, 1);
    if (st[0][1] == FASTLOSS_OK) fz_compare("act'", name, gr[a], gr[0], z, count, act_tol, 1);
    if (st[0][2] == FASTLOSS_OK && !fz_close(loss[a], loss[0], 0.0, 1e-10))
      fz_fail("%s sqerr loss %.17g, scalar %.17g", name, loss[a], loss[0]);
    if (st[0][3] == FASTLOSS_OK) {
      /* (y_pred - y) act'(z): act' as above, the difference rounded once. */
      for (size_t k = 0; k < nm; k++) {
        double rel;
        const double abs_tol = fz_tol(act_tol, zz[k], &rel);
        const double d = fabs((double)yp[k] - (double)y[k]);
        /* f32 forms y_pred - y and act'(z) in float: past FLT_MAX they are
         * inf where f64's product may be finite (e^89 times a tiny
         * difference), a difference of dtype, not an error. */
        if (a == n_isas && (d > FLT_MAX || (act_tol->kind == FASTLOSS_ACT_EXPONENTIAL && zz[k] > 88.7f)))
          continue;
        if (!fz_close(sg[a][k], sg[0][k], abs_tol * (d > 1.0 ? d : 1.0), rel + 2.4e-7))
          fz_fail("%s sqerr grad[%zu] (kind %d, z %.9g) %.9g, scalar %.9g", name, k,
                  (int)act_tol->kind, zz[k], sg[a][k], sg[0][k]);
      }
    }
  }
  for (size_t a = 0; a <= n_isas; a++) {
    free(fn[a]);
    free(gr[a]);
    free(sg[a]);
  }
  free(z);
  free(y);
  free(yp);
  free(zz);
  return 0;
}
