/* fastloss_nsloss_f32 (the loss and gradients behind fastloss.torch
 * .sgns_loss): vocab, dim <= 40 (0 sometimes), up to 12 pairs, k <= 4
 * negatives, ids sometimes out of range or negative, any reduction (a bad
 * one sometimes), any subset of the four outputs, sometimes an output placed
 * over a table (FASTLOSS_ERR_OVERLAP), any table values.  On every kernel
 * table against scalar: the same status; on error nothing written; on
 * success every wanted output fully written and nothing else.  Where every
 * table value is finite and at most 1e3 in size, scalar is also checked
 * against a long double reference, and every other table against scalar,
 * with per-element bounds from the logits' rounding: a logit z = u . v of
 * dim products has error e_z <= (dim + 2) 2^-24 S, S = sum |u_j v_j|, so
 *   row loss  2 (sum over the pair's logits of e_z + 4 2^-24 (2 + S))
 *   grad_in   2 r sum_c |u_c| (e_z / 4 + 8 2^-24)    (per element)
 *   grad_out  2 r |v| (e_z / 4 + 8 2^-24)
 * (sigmoid' <= 1/4; the sigmoids are within a few ULP), r the MEAN scale. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

enum { FZ_MAX_ISAS = 4 };

typedef struct fz_nsl_case {
  size_t vocab, dim, n, k;
  fastloss_nsloss_params params;
  int want_row, want_loss, want_in, want_out;
  int overlap; /* 1: row_loss over in_emb, 2: grad_out over out_emb */
  float *in_emb, *out_emb;
  int32_t *centers, *contexts, *negatives;
} fz_nsl_case;

typedef struct fz_nsl_out {
  fastloss_status status;
  float *row, *gin, *gout;
  double loss;
  float *in_copy, *out_copy; /* the tables as the call saw them */
} fz_nsl_out;

static size_t fz_nsl_sizes(const fz_nsl_case *c, size_t *n_in, size_t *n_out) {
  *n_in = c->n * c->dim;
  *n_out = c->n * (c->k + 1) * c->dim;
  return c->vocab * c->dim;
}

static void fz_nsl_run(const fz_nsl_case *c, fz_nsl_out *o, const char *name) {
  size_t n_in, n_out;
  const size_t table = fz_nsl_sizes(c, &n_in, &n_out);
  o->in_copy = fz_alloc_f32(table);
  o->out_copy = fz_alloc_f32(table);
  memcpy(o->in_copy, c->in_emb, table * sizeof(float));
  memcpy(o->out_copy, c->out_emb, table * sizeof(float));
  o->row = fz_alloc_f32(c->n);
  o->gin = fz_alloc_f32(n_in);
  o->gout = fz_alloc_f32(n_out);
  fz_sentinel_f32(o->row, c->n);
  fz_sentinel_f32(o->gin, n_in);
  fz_sentinel_f32(o->gout, n_out);
  o->loss = -12345.0;
  float *row = c->want_row ? o->row : NULL;
  float *gout = c->want_out ? o->gout : NULL;
  if (c->overlap == 1) row = o->in_copy;
  if (c->overlap == 2) gout = o->out_copy;
  o->status = fastloss_nsloss_f32(c->vocab, c->dim, o->in_copy, o->out_copy, c->n, c->centers,
                                  c->contexts, c->k, c->negatives, &c->params, row,
                                  c->want_loss ? &o->loss : NULL, c->want_in ? o->gin : NULL, gout);
  const int ok = o->status == FASTLOSS_OK;
  if (ok && c->overlap) fz_fail("%s: an output over a table was accepted", name);
  if (memcmp(o->in_copy, c->in_emb, table * sizeof(float)) != 0 ||
      memcmp(o->out_copy, c->out_emb, table * sizeof(float)) != 0)
    fz_fail("%s: a table was written (status %d)", name, (int)o->status);
  if (!(ok && c->want_loss) && o->loss != -12345.0)
    fz_fail("%s: loss written (status %d)", name, (int)o->status);
  const struct {
    const float *p;
    size_t count;
    int wanted;
    const char *what;
  } outs[3] = {{o->row, c->n, c->want_row && !c->overlap, "row_loss"},
               {o->gin, n_in, c->want_in, "grad_in"},
               {o->gout, n_out, c->want_out && c->overlap != 2, "grad_out"}};
  for (int q = 0; q < 3; q++)
    for (size_t e = 0; e < outs[q].count; e++)
      if (fz_is_sentinel_f32(outs[q].p[e]) == (ok && outs[q].wanted))
        fz_fail("%s: %s[%zu] %s (status %d)", name, outs[q].what, e,
                ok && outs[q].wanted ? "not written" : "written", (int)o->status);
}

static void fz_nsl_free(fz_nsl_out *o) {
  free(o->row);
  free(o->gin);
  free(o->gout);
  free(o->in_copy);
  free(o->out_copy);
}

/* Column c of pair i: its output-table row (c = 0 the context, else the
 * negatives) and its label sign. */
static int32_t fz_nsl_col(const fz_nsl_case *c, size_t i, size_t col) {
  return col == 0 ? c->contexts[i] : c->negatives[i * c->k + col - 1];
}

static long double fz_softplus(long double x) {
  return x > 0 ? x + log1pl(expl(-x)) : log1pl(expl(x));
}

/* Checks `got` against `ref`: the reference when ref_is_exact, else
 * scalar's outputs, with the bounds of the header (twice them against
 * another table, whose own rounding adds). */
static void fz_nsl_compare(const fz_nsl_case *c, const fz_nsl_out *got, const fz_nsl_out *ref,
                           long double *ref_row, long double ref_loss, long double *ref_gin,
                           long double *ref_gout, const char *name) {
  const size_t dim = c->dim, cols = c->k + 1;
  const double unit = 0x1p-24;
  const double r = c->params.reduction == FASTLOSS_REDUCTION_MEAN ? 1.0 / (double)c->n : 1.0;
  const double widen = ref_row != NULL ? 1.0 : 2.0;
  double loss_bound = 0.0;
  for (size_t i = 0; i < c->n; i++) {
    const float *v = c->in_emb + (size_t)c->centers[i] * dim;
    double row_bound = 0.0;
    for (size_t col = 0; col < cols; col++) {
      const float *u = c->out_emb + (size_t)fz_nsl_col(c, i, col) * dim;
      double s = 0.0;
      for (size_t j = 0; j < dim; j++) s += fabs((double)u[j] * (double)v[j]);
      const double ez = (double)(dim + 2) * unit * s;
      row_bound += ez + 4.0 * unit * (2.0 + s); /* |softplus(+-z)| <= |z| + 1 <= s + 1 */
      if (c->want_out && c->overlap != 2)
        for (size_t j = 0; j < dim; j++) {
          const size_t e = (i * cols + col) * dim + j;
          const double b = 2.0 * widen * r * fabs((double)v[j]) * (ez / 4.0 + 8.0 * unit) + 1e-30;
          const double want = ref_gout != NULL ? (double)ref_gout[e] : (double)ref->gout[e];
          if (!(fabs((double)got->gout[e] - want) <= b))
            fz_fail("%s: grad_out[%zu] = %.9g, want %.9g (bound %.3g)", name, e,
                    (double)got->gout[e], want, b);
        }
    }
    if (c->want_in)
      for (size_t j = 0; j < dim; j++) {
        double b = 0.0;
        for (size_t col = 0; col < cols; col++) {
          const float *u = c->out_emb + (size_t)fz_nsl_col(c, i, col) * dim;
          double s = 0.0;
          for (size_t q = 0; q < dim; q++) s += fabs((double)u[q] * (double)v[q]);
          b += 2.0 * widen * r * fabs((double)u[j]) * ((double)(dim + 2) * unit * s / 4.0 + 8.0 * unit);
        }
        b += 1e-30;
        const size_t e = i * dim + j;
        const double want = ref_gin != NULL ? (double)ref_gin[e] : (double)ref->gin[e];
        if (!(fabs((double)got->gin[e] - want) <= b))
          fz_fail("%s: grad_in[%zu] = %.9g, want %.9g (bound %.3g)", name, e, (double)got->gin[e],
                  want, b);
      }
    const double want_row = ref_row != NULL ? (double)ref_row[i] : (double)ref->row[i];
    row_bound *= 2.0 * widen;
    if (c->want_row && !c->overlap && !(fabs((double)got->row[i] - want_row) <= row_bound))
      fz_fail("%s: row_loss[%zu] = %.9g, want %.9g (bound %.3g)", name, i, (double)got->row[i],
              want_row, row_bound);
    loss_bound += row_bound;
  }
  if (c->want_loss) {
    const double want = ref_row != NULL ? (double)ref_loss : ref->loss;
    const double b = r * loss_bound + 1e-12 * fabs(want);
    if (!(fabs(got->loss - want) <= b) && !(isnan(got->loss) && isnan(want)))
      fz_fail("%s: loss = %.17g, want %.17g (bound %.3g)", name, got->loss, want, b);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fz_input in = {data, size};
  fz_nsl_case c;
  memset(&c, 0, sizeof c);
  const uint8_t flags = fz_u8(&in), zsel = fz_u8(&in), rsel = fz_u8(&in);
  c.vocab = fz_range(&in, zsel == 1 ? 0 : 1, 40);
  c.dim = fz_range(&in, zsel == 2 ? 0 : 1, 40);
  c.n = fz_range(&in, zsel == 3 ? 0 : 1, 12);
  c.k = fz_range(&in, 0, 4);
  c.params.reduction = rsel < 80    ? FASTLOSS_REDUCTION_SUM
                       : rsel < 160 ? FASTLOSS_REDUCTION_MEAN
                       : rsel < 250 ? FASTLOSS_REDUCTION_NONE
                                    : (fastloss_reduction)(rsel - 240);
  c.want_row = !(flags & 1) || c.params.reduction == FASTLOSS_REDUCTION_NONE;
  if ((flags & 0x30) == 0x30) c.want_row = 0; /* NONE without row_loss: an error */
  c.want_loss = !(flags & 2);
  c.want_in = !(flags & 4);
  c.want_out = !(flags & 8);
  /* (an output of no elements overlaps nothing) */
  c.overlap = (flags & 0xc0) == 0xc0 && c.n > 0 && c.dim > 0 ? 1 + (flags & 1) : 0;
  if (c.overlap == 1 && c.vocab * c.dim < c.n + 1) c.overlap = 0;
  if (c.overlap == 2 && c.vocab * c.dim < c.n * (c.k + 1) * c.dim + 1) c.overlap = 0;
  const size_t table = c.vocab * c.dim;
  c.in_emb = fz_alloc_f32(table);
  c.out_emb = fz_alloc_f32(table);
  fz_floats(&in, c.in_emb, table);
  fz_floats(&in, c.out_emb, table);
  c.centers = fz_alloc_bytes((c.n + 1) * sizeof(int32_t));
  c.contexts = fz_alloc_bytes((c.n + 1) * sizeof(int32_t));
  c.negatives = fz_alloc_bytes((c.n * c.k + 1) * sizeof(int32_t));
  for (size_t i = 0; i < c.n; i++) {
    c.centers[i] = fz_index(&in, c.vocab);
    c.contexts[i] = fz_index(&in, c.vocab);
  }
  for (size_t e = 0; e < c.n * c.k; e++) c.negatives[e] = fz_index(&in, c.vocab);

  const fl_isa_kernels *isas[FZ_MAX_ISAS];
  const size_t n_isas = fz_isas(isas, FZ_MAX_ISAS);
  fz_nsl_out out[FZ_MAX_ISAS];
  for (size_t a = 0; a < n_isas; a++) {
    fl_dispatch_force(isas[a]);
    fz_nsl_run(&c, &out[a], isas[a]->name);
    if (out[a].status != out[0].status)
      fz_fail("%s: status %d, scalar %d", isas[a]->name, (int)out[a].status, (int)out[0].status);
  }
  fl_dispatch_force(NULL);

  int moderate = out[0].status == FASTLOSS_OK && c.n > 0;
  for (size_t e = 0; moderate && e < table; e++)
    moderate = isfinite(c.in_emb[e]) && isfinite(c.out_emb[e]) && fabsf(c.in_emb[e]) <= 1e3f &&
               fabsf(c.out_emb[e]) <= 1e3f;
  if (moderate) {
    /* The long double reference. */
    const size_t dim = c.dim, cols = c.k + 1;
    long double *row = calloc(c.n, sizeof *row), *gin = calloc(c.n * dim, sizeof *gin);
    long double *gout = calloc(c.n * cols * dim, sizeof *gout);
    const long double r = c.params.reduction == FASTLOSS_REDUCTION_MEAN ? 1.0L / (long double)c.n
                                                                          : 1.0L;
    long double total = 0.0L;
    for (size_t i = 0; i < c.n; i++) {
      const float *v = c.in_emb + (size_t)c.centers[i] * dim;
      for (size_t col = 0; col < cols; col++) {
        const float *u = c.out_emb + (size_t)fz_nsl_col(&c, i, col) * dim;
        long double z = 0.0L;
        for (size_t j = 0; j < dim; j++) z += (long double)u[j] * (long double)v[j];
        /* label 1 for the context: loss softplus(-z), dL/dz = -(1 - s(z));
         * label 0 for a negative: softplus(z), dL/dz = s(z) */
        const long double sz = 1.0L / (1.0L + expl(-z));
        const long double dz = col == 0 ? -(1.0L - sz) : sz;
        row[i] += col == 0 ? fz_softplus(-z) : fz_softplus(z);
        for (size_t j = 0; j < dim; j++) {
          gin[i * dim + j] += r * dz * (long double)u[j];
          gout[(i * cols + col) * dim + j] = r * dz * (long double)v[j];
        }
      }
      total += row[i];
    }
    fz_nsl_compare(&c, &out[0], NULL, row, r * total, gin, gout, "scalar vs reference");
    for (size_t a = 1; a < n_isas; a++)
      fz_nsl_compare(&c, &out[a], &out[0], NULL, 0.0L, NULL, NULL, isas[a]->name);
    free(row);
    free(gin);
    free(gout);
  }
  for (size_t a = 0; a < n_isas; a++) fz_nsl_free(&out[a]);
  free(c.in_emb);
  free(c.out_emb);
  free(c.centers);
  free(c.contexts);
  free(c.negatives);
  return 0;
}
