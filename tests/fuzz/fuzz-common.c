#include "fuzz.h"

#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "../emulated-isa.h"

uint8_t fz_u8(fz_input *in) {
  if (in->size == 0) return 0;
  const uint8_t v = in->data[0];
  in->data++;
  in->size--;
  return v;
}

uint32_t fz_u32(fz_input *in) {
  uint32_t v = 0;
  for (int k = 0; k < 4; k++) v |= (uint32_t)fz_u8(in) << (8 * k);
  return v;
}

size_t fz_range(fz_input *in, size_t lo, size_t hi) {
  const size_t span = hi - lo + 1;
  const uint32_t v = span > 256 ? fz_u32(in) : fz_u8(in);
  return lo + (size_t)v % span;
}

static float fz_bits(uint32_t u) {
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}

float fz_float(fz_input *in) {
  const uint8_t sel = fz_u8(in);
  if (sel < 48) {
    const float special[] = {0.0f,        -0.0f,
                             1.0f,        -1.0f,
                             INFINITY,    -INFINITY,
                             NAN,         -NAN,
                             fz_bits(1),  fz_bits(0x807fffffu),
                             FLT_MIN,     -FLT_MIN,
                             FLT_MAX,     -FLT_MAX,
                             1e30f,       -1e30f,
                             88.72f,      89.0f,
                             -87.3f,      -104.0f,
                             0.5f,        1.0f - FLT_EPSILON,
                             FLT_EPSILON, 2.5f,
                             -2.5f,       1e-20f,
                             1e20f,       20.0f};
    return special[sel % (sizeof special / sizeof special[0])];
  }
  if (sel < 160) {
    const int16_t s = (int16_t)(fz_u8(in) | (uint16_t)fz_u8(in) << 8);
    return (float)s / 1024.0f; /* [-32, 32) */
  }
  if (sel < 200) return (float)fz_u8(in) / 255.0f; /* [0, 1] */
  return fz_bits(fz_u32(in));
}

double fz_double(fz_input *in) { return (double)fz_float(in); }

void fz_floats(fz_input *in, float *out, size_t count) {
  for (size_t k = 0; k < count; k++) out[k] = fz_float(in);
}

size_t fz_isas(const fl_isa_kernels **out, size_t max) {
  static const fl_isa_kernels *list[4];
  static size_t count;
  if (count == 0) {
    const fastloss_isa isas[] = {FASTLOSS_ISA_SCALAR, FASTLOSS_ISA_AVX2, FASTLOSS_ISA_AVX512,
                                 FASTLOSS_ISA_NEON};
    for (size_t k = 0; k < sizeof isas / sizeof isas[0]; k++)
      if (fastloss_set_isa(isas[k]) == FASTLOSS_OK) list[count++] = fl_kernels();
#if FL_HAVE_AVX512_EMULATED
    /* The emulation runs on AVX2 (its kernels are built with -mavx2). */
    if (fastloss_cpu_features() & FASTLOSS_CPU_AVX2) list[count++] = &fl_isa_avx512_emulated;
#endif
    if (getenv("FASTLOSS_FUZZ_VERBOSE") != NULL)
      for (size_t k = 0; k < count; k++) fprintf(stderr, "fuzz: comparing %s\n", list[k]->name);
  }
  size_t k = 0;
  for (; k < count && k < max; k++) out[k] = list[k];
  return k;
}

float *fz_alloc_f32(size_t count) { return fz_alloc_bytes((count ? count : 1) * sizeof(float)); }

double *fz_alloc_f64(size_t count) { return fz_alloc_bytes((count ? count : 1) * sizeof(double)); }

void *fz_alloc_bytes(size_t bytes) {
  void *p = malloc(bytes ? bytes : 1);
  if (p == NULL) abort();
  return p;
}

static const uint32_t fz_sentinel_bits = 0x7fb5e17eu;
static const uint64_t fz_sentinel_bits64 = 0x7ff5e17e5e17e5e1u;

static const void *fz_sentinel_of(size_t elem) {
  return elem == sizeof(float) ? (const void *)&fz_sentinel_bits
                               : (const void *)&fz_sentinel_bits64;
}

void fz_sentinel(void *p, size_t count, size_t elem) {
  for (size_t k = 0; k < count; k++) memcpy((char *)p + k * elem, fz_sentinel_of(elem), elem);
}

int fz_is_sentinel(const void *p, size_t elem) { return !memcmp(p, fz_sentinel_of(elem), elem); }

void fz_sentinel_f32(float *p, size_t count) { fz_sentinel(p, count, sizeof(float)); }
int fz_is_sentinel_f32(float v) { return fz_is_sentinel(&v, sizeof v); }
void fz_sentinel_f64(double *p, size_t count) { fz_sentinel(p, count, sizeof(double)); }
int fz_is_sentinel_f64(double v) { return fz_is_sentinel(&v, sizeof v); }

double fz_get(const void *p, size_t k, size_t elem) {
  if (elem == sizeof(float)) {
    float f;
    memcpy(&f, (const char *)p + k * elem, sizeof f);
    return f;
  }
  double d;
  memcpy(&d, (const char *)p + k * elem, sizeof d);
  return d;
}

void fz_doubles(fz_input *in, double *out, size_t count, int wide) {
  for (size_t k = 0; k < count; k++) {
    double v = fz_double(in);
    if (wide) {
      const uint8_t e = fz_u8(in);
      if (e >= 128) v = ldexp(v, (int)(e - 128) * 600 / 127 * (e & 1 ? 1 : -1));
    }
    out[k] = v;
  }
}

void fz_fail(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("fuzz mismatch: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  abort();
}

int fz_close(double a, double b, double abs_tol, double rel_tol) {
  if (a == b) return 1;
  if (isnan(a) || isnan(b)) return isnan(a) && isnan(b);
  /* At the overflow boundary one ISA may round to +-inf where another
   * (an FMA, a different order) stays finite: accept a finite value beyond
   * 1e37 against the infinity of its sign. */
  if (isinf(a) || isinf(b)) {
    const double fin = isinf(a) ? b : a, inf = isinf(a) ? a : b;
    return a == b || (isfinite(fin) && fabs(fin) >= 1e37 && (fin > 0) == (inf > 0));
  }
  const double scale = fabs(a) > fabs(b) ? fabs(a) : fabs(b);
  return fabs(a - b) <= abs_tol + rel_tol * scale;
}

/* The finiteness and largest finite |value| of count elements of elem
 * bytes, on the values widened to double (exact for floats). */
static int fz_scan(const void *p, size_t count, size_t elem, double *max_abs) {
  int finite = 1;
  double m = 0.0;
  for (size_t k = 0; k < count; k++) {
    const double v = fz_get(p, k, elem);
    if (!isfinite(v))
      finite = 0;
    else if (fabs(v) > m)
      m = fabs(v);
  }
  *max_abs = m;
  return finite;
}

/* The typed forms, float and double: one definition. */
#define FZ_SCANS(T, SUFFIX)                                     \
  int fz_all_finite##SUFFIX(const T *p, size_t count) {         \
    double m;                                                   \
    return fz_scan(p, count, sizeof *p, &m);                    \
  }                                                             \
  T fz_max_abs##SUFFIX(const T *p, size_t count) {              \
    double m;                                                   \
    (void)fz_scan(p, count, sizeof *p, &m);                     \
    return (T)m; /* the largest |value|, widened back: exact */ \
  }
FZ_SCANS(float, )
FZ_SCANS(double, _f64)
#undef FZ_SCANS

size_t fz_extent(size_t rows, size_t cols, size_t ld) {
  return rows == 0 ? 0 : (rows - 1) * ld + cols;
}

size_t fz_ld(fz_input *in, size_t m) {
  const uint8_t sel = fz_u8(in);
  if (sel < 6 && m > 0) return m - 1; /* too small: an error */
  return m + sel % 3;
}

int32_t fz_index(fz_input *in, size_t vocab) {
  const uint8_t sel = fz_u8(in);
  if (sel < 245) return (int32_t)(fz_u8(in) % (vocab ? vocab : 1));
  return (int32_t)fz_u32(in);
}

/* ------------------------------------------------------- cross-entropy */

static void fz_xent_print(const fz_xent_case *c, const char *target_name) {
  if (getenv("FASTLOSS_FUZZ_VERBOSE") == NULL) return;
  fprintf(stderr, "%s soft %d in_place %d n %zu m %zu ld %zu red %d ignore %d:%d ls %g\n",
          target_name, c->soft, c->in_place, c->n, c->m, c->ld, (int)c->params.reduction,
          c->params.use_ignore_index, (int)c->params.ignore_index, c->params.label_smoothing);
  for (size_t i = 0; i < c->n; i++) {
    fprintf(stderr, "row %zu label %d:", i, (int)c->labels[i]);
    for (size_t j = 0; j < c->m; j++) fprintf(stderr, " %g", c->logits[i * c->ld + j]);
    if (c->soft) {
      fprintf(stderr, "  target:");
      for (size_t j = 0; j < c->m; j++) fprintf(stderr, " %g", c->target[i * c->ld_target + j]);
    }
    fputc('\n', stderr);
  }
  for (size_t j = 0; j < c->m && c->want_weights; j++) fprintf(stderr, "w %g\n", c->weights[j]);
}

void fz_xent_decode(fz_input *in, fz_xent_case *c, const char *target_name) {
  memset(c, 0, sizeof *c);
  const uint8_t flags = fz_u8(in);
  c->soft = flags & 1;
  c->in_place = (flags >> 1) & 1;
  c->want_row = !((flags >> 2) & 1);
  c->want_loss = !((flags >> 3) & 1);
  c->want_grad = !((flags >> 4) & 1);
  c->want_weights = (flags >> 5) & 1;
  c->params.use_ignore_index = (flags >> 6) & 1;
  c->n = fz_range(in, 0, 24);
  c->m = fz_range(in, 0, 70);
  c->ld = fz_ld(in, c->m);
  c->ld_grad = fz_ld(in, c->m);
  c->ld_target = fz_ld(in, c->m);
  const uint8_t red = fz_u8(in);
  c->params.reduction = (fastloss_reduction)(red < 250 ? red % 3 : red % 7);
  c->params.ignore_index = (int32_t)fz_range(in, 0, c->m + 2) - 1;
  const uint8_t ls = fz_u8(in);
  c->params.label_smoothing = ls < 128 ? 0.0 : ls < 200 ? (ls - 128) / 72.0 : fz_double(in);
  const size_t nz = fz_extent(c->n, c->m, c->ld), nt = fz_extent(c->n, c->m, c->ld_target);
  c->logits = fz_alloc_f32(nz);
  fz_floats(in, c->logits, nz);
  c->labels = fz_alloc_bytes((c->n ? c->n : 1) * sizeof(int32_t));
  for (size_t i = 0; i < c->n; i++) {
    const uint8_t sel = fz_u8(in);
    c->labels[i] = sel < 240 ? (int32_t)(fz_u8(in) % (c->m ? c->m : 1)) : (int32_t)fz_u32(in);
  }
  c->target = fz_alloc_f32(nt);
  if (c->soft)
    fz_floats(in, c->target, nt);
  else
    memset(c->target, 0, nt * sizeof(float));
  c->weights = fz_alloc_f32(c->m);
  if (c->want_weights) {
    fz_floats(in, c->weights, c->m);
    c->params.weight_f32 = c->weights;
  } else {
    memset(c->weights, 0, c->m * sizeof(float));
  }
  fz_xent_print(c, target_name);
}

void fz_xent_widen(fz_xent_case *c) {
  const size_t nz = fz_extent(c->n, c->m, c->ld), nt = fz_extent(c->n, c->m, c->ld_target);
  c->logits64 = fz_alloc_f64(nz);
  c->target64 = fz_alloc_f64(nt);
  c->weights64 = fz_alloc_f64(c->m);
  for (size_t k = 0; k < nz; k++) c->logits64[k] = c->logits[k];
  for (size_t k = 0; k < nt; k++) c->target64[k] = c->target[k];
  for (size_t k = 0; k < c->m; k++) c->weights64[k] = c->weights[k];
}

void fz_xent_free(fz_xent_case *c) {
  free(c->logits);
  free(c->target);
  free(c->weights);
  free(c->logits64);
  free(c->target64);
  free(c->weights64);
  free(c->labels);
}

size_t fz_xent_grad_ld(const fz_xent_case *c) { return c->in_place ? c->ld : c->ld_grad; }

void fz_xent_run(const fz_xent_case *c, int f64, fz_xent_out *o, const char *name) {
  const size_t ld_grad = fz_xent_grad_ld(c);
  const size_t n_grad = fz_extent(c->n, c->m, ld_grad);
  const size_t elem = f64 ? sizeof(double) : sizeof(float);
  const char *dtype = f64 ? "f64" : "f32";
  o->elem = elem;
  o->row = fz_alloc_bytes((c->n ? c->n : 1) * elem);
  o->grad = fz_alloc_bytes((n_grad ? n_grad : 1) * elem);
  const void *orig = f64 ? (const void *)c->logits64 : (const void *)c->logits;
  fz_sentinel(o->row, c->n, elem);
  if (c->in_place)
    memcpy(o->grad, orig, n_grad * elem);
  else
    fz_sentinel(o->grad, n_grad, elem);
  memset(&o->loss, 0x5a, sizeof o->loss);
  const double before = o->loss;
  fastloss_xent_params p = c->params;
  p.weight_f32 = c->want_weights ? c->weights : NULL;
  p.weight_f64 = c->want_weights ? c->weights64 : NULL;
  double *loss = c->want_loss ? &o->loss : NULL;
  void *row = c->want_row ? o->row : NULL, *grad = c->want_grad ? o->grad : NULL;
  const void *z = c->in_place ? o->grad : orig;
  if (f64)
    o->status =
        c->soft ? fastloss_xent_soft_f64(c->n, c->m, z, c->ld, c->target64, c->ld_target, &p, row,
                                         loss, grad, ld_grad)
                : fastloss_xent_f64(c->n, c->m, z, c->ld, c->labels, &p, row, loss, grad, ld_grad);
  else
    o->status =
        c->soft ? fastloss_xent_soft_f32(c->n, c->m, z, c->ld, c->target, c->ld_target, &p, row,
                                         loss, grad, ld_grad)
                : fastloss_xent_f32(c->n, c->m, z, c->ld, c->labels, &p, row, loss, grad, ld_grad);
  /* Untouched: everything on error; otherwise the outputs not asked for and
   * the gaps between gradient rows. */
  const int ok = o->status == FASTLOSS_OK;
  for (size_t i = 0; i < c->n; i++)
    if ((!ok || !c->want_row) && !fz_is_sentinel((const char *)o->row + i * elem, elem))
      fz_fail("%s %s: row_loss[%zu] written (status %d)", name, dtype, i, (int)o->status);
  if ((!ok || !c->want_loss) && memcmp(&o->loss, &before, sizeof before))
    fz_fail("%s %s: loss written (status %d)", name, dtype, (int)o->status);
  for (size_t k = 0; k < n_grad; k++) {
    const int gap = ld_grad > c->m && k % ld_grad >= c->m;
    if (ok && c->want_grad && !gap) continue;
    const char *gk = (const char *)o->grad + k * elem;
    const int same =
        c->in_place ? !memcmp(gk, (const char *)orig + k * elem, elem) : fz_is_sentinel(gk, elem);
    if (!same) fz_fail("%s %s: grad[%zu] written (status %d)", name, dtype, k, (int)o->status);
  }
}

void fz_xent_out_free(fz_xent_out *o) {
  free(o->row);
  free(o->grad);
}

void fz_xent_scales(const fz_xent_case *c, float *w_max, int *w_finite, double *r) {
  *w_max = 1.0f;
  *w_finite = 1;
  if (c->want_weights) {
    *w_max = fz_max_abs(c->weights, c->m);
    *w_finite = fz_all_finite(c->weights, c->m);
  }
  *r = 1.0;
  if (c->params.reduction == FASTLOSS_REDUCTION_MEAN) {
    double sum = 0.0;
    for (size_t i = 0; i < c->n; i++) {
      if (c->soft) {
        sum += 1.0;
        continue;
      }
      if (c->params.use_ignore_index && c->labels[i] == c->params.ignore_index) continue;
      if (c->labels[i] >= 0 && (size_t)c->labels[i] < c->m)
        sum += c->want_weights ? c->weights[c->labels[i]] : 1.0;
    }
    if (sum != 0.0 && isfinite(sum)) *r = 1.0 / fabs(sum);
  }
}

int fz_xent_row(const fz_xent_case *c, size_t i, float *M, double *scale) {
  const float *z = c->logits + i * c->ld;
  *M = fz_max_abs(z, c->m);
  int ok = fz_all_finite(z, c->m) && *M < 1e30f;
  *scale = 1.0;
  if (c->soft) {
    const float *t = c->target + i * c->ld_target;
    const float mt = fz_max_abs(t, c->m);
    ok = ok && fz_all_finite(t, c->m) && mt < 1e30f;
    *scale = (1.0 + mt) * (double)c->m;
  }
  return ok;
}

/* --------------------------------------------------- negative sampling */

void fz_ns_read(fz_input *in, fz_ns_case *t, int cbow, size_t max_count) {
  memset(t, 0, sizeof *t);
  t->cbow = cbow;
  t->flags = fz_u8(in);
  t->vocab = fz_range(in, 0, 40);
  t->dim = fz_range(in, 0, 40);
  t->count = fz_range(in, 0, max_count);
  t->k = fz_range(in, 0, 4);
  t->lr = fz_float(in);
  t->table = t->vocab * t->dim;
  t->in_emb = fz_alloc_f32(t->table);
  t->out_emb = fz_alloc_f32(t->table);
  fz_floats(in, t->in_emb, t->table);
  fz_floats(in, t->out_emb, t->table);
}

void fz_ns_free(fz_ns_case *t) {
  free(t->in_emb);
  free(t->out_emb);
}

float fz_ns_max_abs(const fz_ns_case *t) {
  const float a = fz_max_abs(t->in_emb, t->table), b = fz_max_abs(t->out_emb, t->table);
  return a > b ? a : b;
}

int fz_ns_finite(const fz_ns_case *t) {
  return fz_all_finite(t->in_emb, t->table) && fz_all_finite(t->out_emb, t->table) &&
         isfinite(t->lr);
}

fastloss_sampler *fz_ns_params(fz_input *in, const fz_ns_case *t, fastloss_sgns_params *params) {
  memset(params, 0, sizeof *params);
  params->deterministic = 1;
  params->seed = fz_u32(in);
  params->stream = fz_u8(in);
  if (!(t->flags & 2)) return NULL;
  const size_t classes = fz_range(in, 1, t->vocab + 2);
  double *w = fz_alloc_bytes(classes * sizeof(double));
  for (size_t c = 0; c < classes; c++) w[c] = fabs(fz_double(in));
  fastloss_sampler *noise = NULL;
  if (fastloss_sampler_create(&noise, w, classes, 0, 1, 7) != FASTLOSS_OK) noise = NULL;
  free(w);
  params->noise = noise;
  return noise;
}

static void fz_ns_mark(unsigned char *mask, size_t vocab, const int32_t *ids, size_t count) {
  for (size_t k = 0; k < count; k++)
    if (ids[k] >= 0 && (size_t)ids[k] < vocab) mask[ids[k]] = 1;
}

void fz_ns_rows_init(fz_ns_rows *rows, const fz_ns_case *t, const int32_t *in_ids, size_t n_in,
                     const int32_t *targets, const int32_t *negatives, size_t n_neg,
                     const fastloss_sampler *noise) {
  const size_t vocab = t->vocab, bytes = vocab ? vocab : 1;
  rows->in = fz_alloc_bytes(bytes);
  rows->out = fz_alloc_bytes(bytes);
  memset(rows->in, 0, bytes);
  memset(rows->out, 0, bytes);
  fz_ns_mark(rows->in, vocab, in_ids, n_in);
  fz_ns_mark(rows->out, vocab, targets, t->count);
  if (negatives != NULL) fz_ns_mark(rows->out, vocab, negatives, n_neg);
  for (size_t v = 0; noise != NULL && v < vocab && v < fastloss_sampler_size(noise); v++)
    rows->out[v] = 1;
}

void fz_ns_rows_free(fz_ns_rows *rows) {
  free(rows->in);
  free(rows->out);
}

void fz_ns_run(const fz_ns_case *t, const fastloss_sgns_params *params, int want_loss,
               const fz_ns_rows *rows, fz_ns_result *r, const char *name) {
  const size_t bytes = t->table * sizeof(float);
  r->in_emb = fz_alloc_f32(t->table);
  r->out_emb = fz_alloc_f32(t->table);
  memcpy(r->in_emb, t->in_emb, bytes);
  memcpy(r->out_emb, t->out_emb, bytes);
  memset(&r->loss, 0x5a, sizeof r->loss);
  const double before = r->loss;
  double *loss = want_loss ? &r->loss : NULL;
  r->status = t->cbow ? fastloss_cbow_step_f32(t->vocab, t->dim, r->in_emb, r->out_emb, t->batch,
                                               t->lr, params, loss)
                      : fastloss_sgns_step_f32(t->vocab, t->dim, r->in_emb, r->out_emb, t->batch,
                                               t->lr, params, loss);
  if ((r->status != FASTLOSS_OK || !want_loss) && memcmp(&r->loss, &before, sizeof before))
    fz_fail("%s: loss written", name);
  if (r->status != FASTLOSS_OK &&
      (memcmp(r->in_emb, t->in_emb, bytes) || memcmp(r->out_emb, t->out_emb, bytes)))
    fz_fail("%s: status %d but a table was written", name, (int)r->status);
  const size_t row_bytes = t->dim * sizeof(float);
  for (size_t v = 0; v < t->vocab; v++) {
    const size_t at = v * t->dim;
    if (!rows->in[v] && memcmp(r->in_emb + at, t->in_emb + at, row_bytes))
      fz_fail("%s: in_emb row %zu written, no id of the batch names it", name, v);
    if (!rows->out[v] && memcmp(r->out_emb + at, t->out_emb + at, row_bytes))
      fz_fail("%s: out_emb row %zu written, no id of the batch names it", name, v);
  }
}

void fz_ns_result_free(fz_ns_result *r) {
  free(r->in_emb);
  free(r->out_emb);
}

void fz_ns_compare(const fz_ns_case *t, const fz_ns_result *r, const fl_isa_kernels *const *isas,
                   size_t n_isas, int compare, double tab_tol, double loss_tol, int want_loss) {
  for (size_t a = 1; a < n_isas; a++) {
    const fz_ns_result *v = &r[a], *s = &r[0];
    const char *name = isas[a]->name;
    if (v->status != s->status)
      fz_fail("%s status %d, scalar %d", name, (int)v->status, (int)s->status);
    if (s->status != FASTLOSS_OK || !compare) continue;
    for (size_t e = 0; e < t->table; e++) {
      if (!fz_close(v->in_emb[e], s->in_emb[e], tab_tol, 1e-4))
        fz_fail("%s in_emb[%zu] %.9g, scalar %.9g", name, e, v->in_emb[e], s->in_emb[e]);
      if (!fz_close(v->out_emb[e], s->out_emb[e], tab_tol, 1e-4))
        fz_fail("%s out_emb[%zu] %.9g, scalar %.9g", name, e, v->out_emb[e], s->out_emb[e]);
    }
    if (want_loss && !fz_close(v->loss, s->loss, loss_tol, 1e-5))
      fz_fail("%s loss %.17g, scalar %.17g", name, v->loss, s->loss);
  }
}

void fz_ns_other_mode(const fz_ns_case *t, const fastloss_sgns_params *other, int want_loss,
                      const fz_ns_rows *rows, const fz_ns_result *det, int single,
                      const char *name) {
  fz_ns_result h;
  fz_ns_run(t, other, want_loss, rows, &h, name);
  const char *mode = other != NULL && other->deterministic ? "deterministic" : "Hogwild";
  if (h.status != det->status)
    fz_fail("%s %s: status %d, the other mode %d", name, mode, (int)h.status, (int)det->status);
  const size_t bytes = t->table * sizeof(float);
  /* Without OpenMP both modes run one thread: the same computation. */
  if (!FL_HAVE_OPENMP || single) {
    if (memcmp(h.in_emb, det->in_emb, bytes) || memcmp(h.out_emb, det->out_emb, bytes))
      fz_fail("%s %s: tables differ from the other mode's", name, mode);
    if (want_loss && h.status == FASTLOSS_OK && memcmp(&h.loss, &det->loss, sizeof h.loss))
      fz_fail("%s %s: loss %.17g, the other mode %.17g", name, mode, h.loss, det->loss);
  }
  fz_ns_result_free(&h);
}

void fz_ns_heads(const fz_ns_case *t, const fastloss_sgns_params *base, size_t head_rows,
                 int want_loss, const fz_ns_result *det, int single, const char *name) {
  fastloss_sgns_params p;
  if (base != NULL)
    p = *base;
  else
    memset(&p, 0, sizeof p);
  const size_t head = head_rows * t->dim, table_bytes = t->table * sizeof(float);
  const size_t head_bytes = head * sizeof(float);
  float *in_head = fz_alloc_f32(head + 1), *out_head = fz_alloc_f32(head + 1);
  memcpy(in_head, t->in_emb, head_bytes);
  memcpy(out_head, t->out_emb, head_bytes);
  float *in_emb = fz_alloc_f32(t->table), *out_emb = fz_alloc_f32(t->table);
  memcpy(in_emb, t->in_emb, table_bytes);
  memcpy(out_emb, t->out_emb, table_bytes);
  const uint32_t poison = 0x7fc0beefu;
  for (size_t e = 0; e < head; e++) {
    memcpy(&in_emb[e], &poison, sizeof poison);
    memcpy(&out_emb[e], &poison, sizeof poison);
  }
  float *in_before = fz_alloc_f32(t->table), *out_before = fz_alloc_f32(t->table);
  memcpy(in_before, in_emb, table_bytes);
  memcpy(out_before, out_emb, table_bytes);
  p.head_rows = head_rows;
  p.in_head = in_head;
  p.out_head = out_head;
  double loss;
  memset(&loss, 0x5a, sizeof loss);
  const double loss_before = loss;
  const fastloss_status status =
      t->cbow ? fastloss_cbow_step_f32(t->vocab, t->dim, in_emb, out_emb, t->batch, t->lr, &p,
                                       want_loss ? &loss : NULL)
              : fastloss_sgns_step_f32(t->vocab, t->dim, in_emb, out_emb, t->batch, t->lr, &p,
                                       want_loss ? &loss : NULL);
  if (status != det->status)
    fz_fail("%s, %zu head rows: status %d, without heads %d", name, head_rows, (int)status,
            (int)det->status);
  if (memcmp(in_emb, in_before, head_bytes) || memcmp(out_emb, out_before, head_bytes))
    fz_fail("%s, %zu head rows: a table's own head row was written", name, head_rows);
  if (status != FASTLOSS_OK) {
    if (memcmp(in_emb, in_before, table_bytes) || memcmp(out_emb, out_before, table_bytes) ||
        memcmp(in_head, t->in_emb, head_bytes) || memcmp(out_head, t->out_emb, head_bytes))
      fz_fail("%s, %zu head rows: status %d but a table or head was written", name, head_rows,
              (int)status);
    if (memcmp(&loss, &loss_before, sizeof loss))
      fz_fail("%s, %zu head rows: status %d but the loss was written", name, head_rows,
              (int)status);
  } else if (!FL_HAVE_OPENMP || p.deterministic || single) {
    memcpy(in_emb, in_head, head_bytes);
    memcpy(out_emb, out_head, head_bytes);
    if (memcmp(in_emb, det->in_emb, table_bytes) || memcmp(out_emb, det->out_emb, table_bytes))
      fz_fail("%s, %zu head rows: tables differ from the step without heads", name, head_rows);
    if (want_loss && memcmp(&loss, &det->loss, sizeof loss))
      fz_fail("%s, %zu head rows: loss %.17g, without heads %.17g", name, head_rows, loss,
              det->loss);
  }
  free(in_head);
  free(out_head);
  free(in_emb);
  free(out_emb);
  free(in_before);
  free(out_before);
}
