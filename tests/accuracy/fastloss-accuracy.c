/* fastloss-accuracy: the maximum error of every f32 operation against a
 * float64 / long double reference, for every ISA this host can run (and the
 * AVX-512 kernels emulated through SIMDe), printed as a markdown table.
 *
 *   fastloss-accuracy          the full sweep (about 1e6 elements per op)
 *   fastloss-accuracy --check  a small sweep (the meson test `accuracy`)
 * Both exit 1 when a measured maximum exceeds the bound of bounds[] below.
 *
 * Conventions: elementwise outputs are scored in float32 ULP,
 * |got - ref| / ulp(ref), where ulp(ref) is the spacing of floats at |ref|
 * for |ref| >= FLT_MIN and FLT_MIN for |ref| < FLT_MIN (the kernels' exp
 * flushes below FLT_MIN, so a subnormal or zero result for a subnormal
 * reference scores below 1).  Reduced losses (per-row and total) are scored
 * as relative error |got - ref| / |ref|.  A NaN where the reference is not
 * NaN (or the reverse) scores +inf; a matching infinity scores 0.
 * References: tests/reference.c for xent and CrossEntropy, long double
 * formulas written here for the rest (never the library's f64 path). */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "../emulated-isa.h"
#include "fastloss.h"
#include "internal.h"
#include "reference.h"

typedef long double ld;

/* ------------------------------------------------------------ scoring */

/* The float spacing at |x| (2^(e - 23) for |x| in [2^e, 2^(e+1))), at
 * least FLT_MIN. */
static double ulp_of(double x) {
  const double a = fabs(x);
  if (!(a >= FLT_MIN)) return FLT_MIN;
  int e;
  frexp(a, &e); /* a = f 2^e, f in [0.5, 1) */
  return fmax(ldexp(1.0, e - 24), FLT_MIN);
}

/* ULP of an elementwise result.  scale >= 0 is the size of the terms that
 * cancel in the result (e.g. 1 in softmax - 1): the error is then measured
 * in ulp(max(|ref|, scale)). */
static double score_ulp_s(float got, double ref, double scale) {
  if (isnan(ref) || isnan(got)) return isnan(ref) && isnan(got) ? 0.0 : INFINITY;
  /* a reference past FLT_MAX rounds to inf */
  if (isinf((float)ref) || isinf(got)) return got == (float)ref ? 0.0 : INFINITY;
  return fabs((double)got - ref) / ulp_of(fmax(fabs(ref), isfinite(scale) ? scale : 0.0));
}

static double score_ulp(float got, double ref) { return score_ulp_s(got, ref, 0.0); }

/* The same in float64 ULP (2^(e - 52) for |x| in [2^e, 2^(e+1)), at least
 * DBL_MIN) against a long double reference. */
static double score_ulp64_s(double got, long double ref, long double scale) {
  if (isnan(ref) || isnan(got)) return isnan(ref) && isnan(got) ? 0.0 : INFINITY;
  if (isinf((double)ref) || isinf(got)) return got == (double)ref ? 0.0 : INFINITY;
  long double a = fabsl(ref);
  if (isfinite(scale) && scale > a) a = scale;
  long double ulp = DBL_MIN;
  if (a >= DBL_MIN) {
    int e;
    frexpl(a, &e);
    ulp = fmaxl(ldexpl(1.0L, e - 53), DBL_MIN);
  }
  return (double)(fabsl((long double)got - ref) / ulp);
}

/* Relative error of a loss, |got - ref| / max(|ref|, 1): absolute below 1
 * (a float per-row loss of a saturated row, 1e-12, is 0 or FLT_EPSILON). */
static double score_rel(double got, double ref) {
  if (isnan(ref) || isnan(got)) return isnan(ref) && isnan(got) ? 0.0 : INFINITY;
  if (isinf(ref) || isinf(got)) return got == ref ? 0.0 : INFINITY;
  return fabs(got - ref) / fmax(fabs(ref), 1.0);
}

/* One row of the table: an output of an operation, on one ISA. */
typedef struct stat {
  double max;
  char where[96];
  size_t count;
} stat;

static void stat_reset(stat *s) {
  s->max = 0.0;
  s->where[0] = '\0';
  s->count = 0;
}

static void stat_add(stat *s, double err, const char *set, size_t idx, double input, double ref,
                     double got) {
  s->count++;
  if (!(err <= s->max) || s->where[0] == '\0') {
    if (s->where[0] != '\0' && !(err > s->max)) return;
    s->max = err;
    snprintf(s->where, sizeof s->where, "%s[%zu] x=%.4g ref=%.6g got=%.6g", set, idx, input, ref,
             got);
  }
}

/* The outputs measured, with the bounds asserted (the documented bounds of
 * README's Accuracy section).  kind: 'u' ULP, 'r' relative. */
typedef struct output {
  const char *op, *out;
  char kind;
  double bound;
} output;

enum {
  O_XENT_ROW, O_XENT_LOSS, O_XENT_GRAD, O_XENT_LONG_ROW, O_XENT_LONG_GRAD,
  O_XENT_SMALL_ROW, O_XENT_SMALL_GRAD, O_XENT_OPT_ROW, O_XENT_OPT_GRAD,
  O_CE_LOSS, O_CE_GRAD,
  O_SIG_Q, O_SIG_C, O_SIG_T, O_SGNS_LOSS,
  O_VAE_LOSS, O_VAE_DYP, O_VAE_DLV, O_VAE_DMU, O_VAEL_LOSS, O_VAEL_DZ,
  O_SQ_LOSS, O_SQ_GRAD,
  O_ACT_FIRST, /* 2 per kind: value, derivative */
  O_WG_LOSS = O_ACT_FIRST + 2 * 13, O_WG_DG,
  O_X64_ROW, O_X64_GRAD, O_ACT64_F, O_ACT64_D, O_VAE64_LOSS, O_VAE64_DYP,
  O_COUNT
};

/* The documented bounds (README, Accuracy): the measured maxima of both
 * builds on every ISA run here, with margin.  The tests assert these (or
 * looser) tolerances; README lists the tolerance of each test beside them. */
static output outputs[O_COUNT] = {
  [O_XENT_ROW] = {"xent", "row loss", 'r', 2e-6},
  [O_XENT_LOSS] = {"xent", "loss (sum)", 'r', 1e-7},
  [O_XENT_GRAD] = {"xent", "grad", 'u', 64},
  [O_XENT_LONG_ROW] = {"xent m=32000", "row loss", 'r', 2e-6},
  [O_XENT_LONG_GRAD] = {"xent m=32000", "grad", 'u', 128},
  [O_XENT_SMALL_ROW] = {"xent m=10", "row loss", 'r', 2e-6},
  [O_XENT_SMALL_GRAD] = {"xent m=10", "grad", 'u', 64},
  [O_XENT_OPT_ROW] = {"xent s=0.1, weights, mean", "row loss", 'r', 2e-6},
  [O_XENT_OPT_GRAD] = {"xent s=0.1, weights, mean", "grad", 'u', 8},
  [O_CE_LOSS] = {"crossentropy", "loss", 'r', 1e-12},
  [O_CE_GRAD] = {"crossentropy", "grad", 'u', 0.5},
  [O_SIG_Q] = {"nce_sigmoid", "q = sigmoid(y)", 'u', 2.8},
  [O_SIG_C] = {"nce_sigmoid", "c = sigmoid(-y)", 'u', 2.8},
  [O_SIG_T] = {"nce_sigmoid_bce", "t = -log clip(q, eps)", 'u', 4.1},
  [O_SGNS_LOSS] = {"sgns step", "loss", 'r', 1e-7},
  [O_VAE_LOSS] = {"vae", "loss", 'r', 1e-6},
  [O_VAE_DYP] = {"vae", "dY_pred", 'u', 8},
  [O_VAE_DLV] = {"vae", "dLogVar", 'u', 4},
  [O_VAE_DMU] = {"vae", "dMean", 'u', 1.5},
  [O_VAEL_LOSS] = {"vae from_logits", "loss", 'r', 1e-6},
  [O_VAEL_DZ] = {"vae from_logits", "dY_pred (dz)", 'u', 8},
  [O_SQ_LOSS] = {"sqerr", "loss", 'r', 1e-12},
  [O_SQ_GRAD] = {"sqerr sigmoid", "grad", 'u', 8},
  [O_WG_LOSS] = {"wgangp C", "loss", 'r', 1e-12},
  [O_WG_DG] = {"wgangp C", "dGradInterp", 'u', 3},
  /* the f64 entry points (scalar code on every ISA), in float64 ULP */
  [O_X64_ROW] = {"xent f64", "row loss", 'r', 1e-14},
  [O_X64_GRAD] = {"xent f64", "grad", 'd', 64},
  [O_ACT64_F] = {"activations f64 (max of 13)", "act(z)", 'd', 32},
  [O_ACT64_D] = {"activations f64 (max of 13)", "act'(z)", 'd', 32},
  [O_VAE64_LOSS] = {"vae f64", "loss", 'r', 1e-14},
  [O_VAE64_DYP] = {"vae f64", "dY_pred", 'd', 8},
};

static const char *act_names[13] = {"identity", "affine(2.5, 0.5)", "sigmoid", "tanh", "relu",
                                    "leaky_relu(0.3)", "elu(1)", "selu", "exponential",
                                    "softplus", "hard_sigmoid", "gelu (tanh)", "gelu (erf)"};
/* Bounds of the activations, value and derivative, in ULP. */
/* Bounds of the activations, value and derivative, in ULP: 7 where exp is
 * involved (tests/test_sqerr.c: 5, 7 without FMA), the tanh GELU over
 * z >= -4 only (README: its far tail loses |z|^3 eps relative). */
static const double act_bounds[13][2] = {
    {0, 0}, {1, 0}, {7, 7}, {7, 7}, {0, 0}, {1.5, 0.5}, {7, 7},
    {7, 7}, {7, 7}, {7, 7}, {1, 0.5}, {32, 32}, {7, 7}};

/* ------------------------------------------------------------ inputs */

static uint64_t rng_state;
static double uni(void) {
  uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return (double)(z >> 11) / 9007199254740992.0;
}
static double normal(void) {
  const double u1 = uni() + 1e-300, u2 = uni();
  return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* Adversarial scalars shared by the elementwise sweeps. */
static const float adversarial[] = {0.0f, -0.0f, 1.4e-45f, -1.4e-45f, 1e-40f, -1e-40f,
                                    FLT_MIN, -FLT_MIN, 1e-30f, -1e-30f, 1e-7f, -1e-7f,
                                    0.5f, -0.5f, 1.0f, -1.0f, 2.5f, -2.5f, 4.0f, -4.0f,
                                    10.0f, -10.0f, 15.9f, -15.9f, 20.0f, -20.0f, 40.0f, -40.0f,
                                    80.0f, -80.0f, 87.0f, -87.0f, 88.0f, -88.0f, 1e4f, -1e4f,
                                    1e30f, -1e30f, FLT_MAX, -FLT_MAX};
#define N_ADV (sizeof adversarial / sizeof adversarial[0])

static size_t scale_n; /* elements per op: 1e6 full, 1e5 --check */

/* ------------------------------------------------------------ ops */

static stat stats[O_COUNT];

static void *xmalloc(size_t bytes) {
  void *p = calloc(1, bytes ? bytes : 1);
  if (!p) {
    fprintf(stderr, "out of memory\n");
    exit(2);
  }
  return p;
}

/* xent over (n, m) float logits; label column scored in ulp of the row's
 * grad scale (the terms of size scale that cancel there), others in ULP. */
/* With params (smoothing, weights, a reduction) every gradient entry is
 * scored in ULP of its row's gradient scale: with smoothing every column
 * subtracts a target term, not only the label's. */
static void run_xent_p(const char *set, size_t n, size_t m, const float *z, const int32_t *labels,
                       const fastloss_xent_params *params, int o_row, int o_grad) {
  double *zd = xmalloc(n * m * sizeof *zd), *row = xmalloc(n * sizeof *row),
         *g = xmalloc(n * m * sizeof *g), *gs = xmalloc(n * sizeof *gs), loss_ref;
  float *grow = xmalloc(n * sizeof *grow), *gg = xmalloc(n * m * sizeof *gg);
  double *wd = NULL;
  if (params != NULL && params->weight_f32 != NULL) {
    wd = xmalloc(m * sizeof *wd);
    for (size_t j = 0; j < m; j++) wd[j] = params->weight_f32[j];
  }
  double loss;
  for (size_t k = 0; k < n * m; k++) zd[k] = z[k];
  ref_xent(n, m, zd, m, labels, NULL, 0, wd, params != NULL ? params->label_smoothing : 0.0,
           params != NULL ? params->reduction : FASTLOSS_REDUCTION_SUM, 0, 0, row, &loss_ref, g, gs);
  if (fastloss_xent_f32(n, m, z, m, labels, params, grow, &loss, gg, m) != FASTLOSS_OK) {
    fprintf(stderr, "xent: %s\n", fastloss_last_error());
    exit(2);
  }
  for (size_t i = 0; i < n; i++) {
    stat_add(&stats[o_row], score_rel(grow[i], row[i]), set, i, z[i * m + labels[i]], row[i],
             grow[i]);
    for (size_t j = 0; j < m; j++) {
      const size_t k = i * m + j;
      /* the label column is softmax - 1: terms of size gs[i] cancel */
      const double e =
          score_ulp_s(gg[k], g[k], (int32_t)j == labels[i] || params != NULL ? gs[i] : 0.0);
      stat_add(&stats[o_grad], e, set, k, z[k], g[k], gg[k]);
    }
  }
  if (o_row == O_XENT_ROW)
    stat_add(&stats[O_XENT_LOSS], score_rel(loss, loss_ref), set, 0, 0, loss_ref, loss);
  free(zd), free(row), free(g), free(gs), free(grow), free(gg), free(wd);
}

static void run_xent(const char *set, size_t n, size_t m, const float *z, const int32_t *labels,
                     int o_row, int o_grad) {
  run_xent_p(set, n, m, z, labels, NULL, o_row, o_grad);
}

static void op_xent(int check) {
  /* random: N(0, 3^2) logits, rows of 1000 */
  const size_t m = 1000, n = scale_n / m;
  float *z = xmalloc(n * m * sizeof *z);
  int32_t *lab = xmalloc((n > 64 ? n : 64) * sizeof *lab);
  for (size_t k = 0; k < n * m; k++) z[k] = (float)(3.0 * normal());
  for (size_t i = 0; i < n; i++) lab[i] = (int32_t)(uni() * m);
  run_xent("random", n, m, z, lab, O_XENT_ROW, O_XENT_GRAD);
  free(z);
  /* adversarial rows of 37 (tails of every vector width): one row per
   * adversarial magnitude mixed with N(0, 1), rows of only huge values, a
   * near-one-hot row, denormal rows, +-80 and +-1e30 rows */
  const size_t am = 37, an = 64;
  z = xmalloc(an * am * sizeof *z);
  for (size_t i = 0; i < an; i++) {
    for (size_t j = 0; j < am; j++) {
      float v;
      switch (i % 8) {
        case 0: v = (float)normal(); break;
        case 1: v = adversarial[(i / 8 + j) % N_ADV]; break;
        case 2: v = (j % 2 ? 80.0f : -80.0f) * (float)(1 + uni()); break;
        case 3: v = (j % 3 ? -1e30f : 1e30f); break;
        case 4: v = (float)(uni() * 1e-39); break; /* denormals */
        case 5: v = j == 0 ? 30.0f : (float)normal(); break; /* near-saturated p */
        case 6: v = (j % 2 ? 0.0f : -0.0f); break;
        default: v = (float)(1e4 * normal()); break;
      }
      z[i * am + j] = v;
    }
    lab[i] = (int32_t)((i * 7) % am);
    if (i % 8 == 5 && i % 16 == 5) lab[i] = 0;
  }
  run_xent("adversarial", an, am, z, lab, O_XENT_ROW, O_XENT_GRAD);
  free(z);
  /* long rows: m = 32000 */
  const size_t lm = 32000, ln = check ? 2 : 16;
  z = xmalloc(ln * lm * sizeof *z);
  for (size_t k = 0; k < ln * lm; k++) z[k] = (float)(k / lm % 2 ? 3.0 * normal() : 80.0 * uni());
  for (size_t i = 0; i < ln; i++) lab[i] = (int32_t)(uni() * lm);
  run_xent("m=32000", ln, lm, z, lab, O_XENT_LONG_ROW, O_XENT_LONG_GRAD);
  free(z), free(lab);
  /* small vocabulary: m = 10, the rows-across-lanes kernel (N(0, 9) logits) */
  const size_t sm = 10, sn = scale_n / sm;
  z = xmalloc(sn * sm * sizeof *z);
  lab = xmalloc(sn * sizeof *lab);
  for (size_t k = 0; k < sn * sm; k++) z[k] = (float)(3.0 * normal());
  for (size_t i = 0; i < sn; i++) lab[i] = (int32_t)(uni() * sm);
  run_xent("m=10", sn, sm, z, lab, O_XENT_SMALL_ROW, O_XENT_SMALL_GRAD);
  free(z), free(lab);
  /* the options: label smoothing 0.1, class weights U(0.25, 2), mean, rows of 1000 */
  const size_t on = scale_n / m / 4;
  z = xmalloc(on * m * sizeof *z);
  lab = xmalloc(on * sizeof *lab);
  float *w = xmalloc(m * sizeof *w);
  for (size_t k = 0; k < on * m; k++) z[k] = (float)(3.0 * normal());
  for (size_t i = 0; i < on; i++) lab[i] = (int32_t)(uni() * m);
  for (size_t j = 0; j < m; j++) w[j] = (float)(0.25 + 1.75 * uni());
  const fastloss_xent_params params = {.reduction = FASTLOSS_REDUCTION_MEAN, .label_smoothing = 0.1,
                                       .weight_f32 = w};
  run_xent_p("options", on, m, z, lab, &params, O_XENT_OPT_ROW, O_XENT_OPT_GRAD);
  free(z), free(lab), free(w);
}

static void op_crossentropy(void) {
  const size_t m = 100, n = scale_n / m / 4;
  float *y = xmalloc(n * m * sizeof *y), *p = xmalloc(n * m * sizeof *p),
        *g = xmalloc(n * m * sizeof *g);
  double *yd = xmalloc(n * m * sizeof *yd), *pd = xmalloc(n * m * sizeof *pd);
  for (size_t i = 0; i < n; i++) {
    /* softmax of N(0, s^2) logits in double, rounded: rows with saturated
     * (s = 30) and tiny probabilities included */
    const double s = i % 4 == 3 ? 30.0 : 1.0 + 3.0 * uni();
    double sum = 0, mx = -INFINITY, e[100];
    for (size_t j = 0; j < m; j++) e[j] = s * normal(), mx = fmax(mx, e[j]);
    for (size_t j = 0; j < m; j++) e[j] = exp(e[j] - mx), sum += e[j];
    const size_t lab = (size_t)(uni() * m);
    for (size_t j = 0; j < m; j++) {
      p[i * m + j] = (float)(e[j] / sum);
      y[i * m + j] = j == lab ? 1.0f : 0.0f;
      pd[i * m + j] = p[i * m + j], yd[i * m + j] = y[i * m + j];
    }
  }
  double loss;
  if (fastloss_crossentropy_loss_f32(n, m, y, p, &loss) != FASTLOSS_OK ||
      fastloss_crossentropy_grad_f32(n, m, y, p, g) != FASTLOSS_OK) {
    fprintf(stderr, "crossentropy: %s\n", fastloss_last_error());
    exit(2);
  }
  const double ref = ref_crossentropy_loss(n, m, yd, pd);
  stat_add(&stats[O_CE_LOSS], score_rel(loss, ref), "random", 0, 0, ref, loss);
  for (size_t k = 0; k < n * m; k++)
    stat_add(&stats[O_CE_GRAD], score_ulp(g[k], pd[k] - yd[k]), "random", k, pd[k], pd[k] - yd[k],
             g[k]);
  free(y), free(p), free(g), free(yd), free(pd);
}

static ld sigmoidl(ld z) { return z >= 0 ? 1.0L / (1.0L + expl(-z)) : expl(z) / (1.0L + expl(z)); }

static void op_nce(const fl_isa_kernels *kt) {
  const size_t n = scale_n;
  float *y = xmalloc(n * sizeof *y), *q = xmalloc(n * sizeof *q), *c = xmalloc(n * sizeof *c);
  for (size_t k = 0; k < n; k++)
    y[k] = k < N_ADV ? adversarial[k] : (float)(k % 2 ? 8.0 * normal() : 180.0 * uni() - 90.0);
  kt->f32_nce->nce_sigmoid(n, y, q, c);
  for (size_t k = 0; k < n; k++) {
    const char *set = k < N_ADV ? "adversarial" : "random";
    const double rq = (double)sigmoidl(y[k]), rc = (double)sigmoidl(-(ld)y[k]);
    stat_add(&stats[O_SIG_Q], score_ulp(q[k], rq), set, k, y[k], rq, q[k]);
    stat_add(&stats[O_SIG_C], score_ulp(c[k], rc), set, k, y[k], rc, c[k]);
  }
  /* The BCE term of NCE, -log of sigmoid(y) clipped to [eps, 1 - eps]:
   * log1p(e^-y) for y >= 0, -y + log1p(e^y) below (q and c into the same
   * buffers: nce_sigmoid_bce's equal nce_sigmoid's bit for bit). */
  float *t = xmalloc(n * sizeof *t);
  kt->f32_nce->nce_sigmoid_bce(n, y, q, c, t);
  for (size_t k = 0; k < n; k++) {
    const char *set = k < N_ADV ? "adversarial" : "random";
    const ld eps = FLT_EPSILON, x = y[k], e = expl(-fabsl(x)), small = e / (1.0L + e);
    const ld rq = x >= 0 ? 1.0L - small : small, rc = x >= 0 ? small : 1.0L - small;
    const ld rt = rq < eps   ? -logl(eps)
                  : rc < eps ? -log1pl(-eps)
                             : (x >= 0 ? log1pl(e) : -x + log1pl(e));
    stat_add(&stats[O_SIG_T], score_ulp(t[k], (double)rt), set, k, y[k], (double)rt, t[k]);
  }
  free(y), free(q), free(c), free(t);

  /* sgns: lr = 0 (the tables stay as given), deterministic, k = 5 given
   * negatives per pair; the loss is sum softplus(-x.w_t) + sum softplus(x.w_neg) */
  const size_t vocab = 2000, dim = 100, pairs = scale_n / dim / 6, kneg = 5;
  float *in = xmalloc(vocab * dim * sizeof *in), *out = xmalloc(vocab * dim * sizeof *out);
  int32_t *inputs = xmalloc(pairs * sizeof *inputs), *targets = xmalloc(pairs * sizeof *targets),
          *negs = xmalloc(pairs * kneg * sizeof *negs);
  for (size_t k = 0; k < vocab * dim; k++) {
    const double s = k / dim % 10 == 9 ? 3.0 : 0.5; /* some rows with |x.w| ~ 100 */
    in[k] = (float)(s * normal()), out[k] = (float)(s * normal());
  }
  for (size_t p = 0; p < pairs; p++) {
    inputs[p] = (int32_t)(uni() * vocab), targets[p] = (int32_t)(uni() * vocab);
    for (size_t j = 0; j < kneg; j++) negs[p * kneg + j] = (int32_t)(uni() * vocab);
  }
  fastloss_sgns_batch batch = {.n_pairs = pairs, .inputs = inputs, .targets = targets, .k = kneg,
                               .negatives = negs};
  fastloss_sgns_params params = {.deterministic = 1};
  double loss;
  if (fastloss_sgns_step_f32(vocab, dim, in, out, &batch, 0.0f, &params, &loss) != FASTLOSS_OK) {
    fprintf(stderr, "sgns: %s\n", fastloss_last_error());
    exit(2);
  }
  ld ref = 0;
  for (size_t p = 0; p < pairs; p++) {
    for (size_t j = 0; j <= kneg; j++) {
      const int32_t w = j == 0 ? targets[p] : negs[p * kneg + j - 1];
      ld dot = 0;
      for (size_t d = 0; d < dim; d++)
        dot += (ld)in[(size_t)inputs[p] * dim + d] * out[(size_t)w * dim + d];
      /* -log p_t, -log(1 - p_s), p clipped to [eps32, 1 - eps32] */
      ld pq = sigmoidl(j == 0 ? dot : -dot);
      const ld eps = FLT_EPSILON;
      pq = pq < eps ? eps : pq > 1.0L - eps ? 1.0L - eps : pq;
      ref -= logl(pq);
    }
  }
  stat_add(&stats[O_SGNS_LOSS], score_rel(loss, (double)ref), "random", 0, 0, (double)ref, loss);
  free(in), free(out), free(inputs), free(targets), free(negs);
}

static void op_vae(int from_logits) {
  const size_t N = 256, T = 32, n = scale_n / N / (from_logits ? 2 : 1);
  float *y = xmalloc(n * N * sizeof *y), *p = xmalloc(n * N * sizeof *p),
        *mu = xmalloc(n * T * sizeof *mu), *lv = xmalloc(n * T * sizeof *lv),
        *dp = xmalloc(n * N * sizeof *dp), *dlv = xmalloc(n * T * sizeof *dlv),
        *dmu = xmalloc(n * T * sizeof *dmu);
  for (size_t k = 0; k < n * N; k++) {
    const double u = uni();
    y[k] = u < 0.4 ? 0.0f : u < 0.8 ? 1.0f : (float)uni();
    if (from_logits) {
      p[k] = k % 97 == 0 ? adversarial[(k / 97) % (N_ADV - 4)] : (float)(6.0 * normal());
    } else {
      const double v = uni();
      p[k] = v < 0.05 ? 0.0f : v < 0.1 ? 1.0f : v < 0.15 ? (float)(1.0 - 1e-7 * uni())
             : v < 0.2 ? (float)(1e-8 * uni()) : (float)uni();
    }
  }
  for (size_t k = 0; k < n * T; k++) {
    mu[k] = (float)normal();
    lv[k] = k % 53 == 0 ? (k % 2 ? 80.0f : -80.0f) : k % 59 == 0 ? (float)(1e-6 * normal())
                                                              : (float)(2.0 * normal());
  }
  fastloss_vae_params params = {.from_logits = from_logits};
  double loss;
  if (fastloss_vae_f32(n, N, T, y, N, p, N, mu, lv, T, &params, NULL, NULL, &loss, dp, dlv, dmu) !=
      FASTLOSS_OK) {
    fprintf(stderr, "vae: %s\n", fastloss_last_error());
    exit(2);
  }
  const ld eps = FLT_EPSILON, inv_n = 1.0L / n;
  ld total = 0;
  for (size_t i = 0; i < n; i++) {
    ld rec = 0, kl = 0;
    for (size_t j = 0; j < N; j++) {
      const size_t k = i * N + j;
      ld g;
      if (from_logits) {
        const ld z = p[k];
        rec += (z > 0 ? z + log1pl(expl(-z)) : log1pl(expl(z))) - (ld)y[k] * z;
        g = (sigmoidl(z) - y[k]) * inv_n;
        /* sigmoid(z) - y: terms of size max(sigmoid(z), y) / n cancel */
        const double sc = (double)(fmaxl(sigmoidl(z), y[k]) * inv_n);
        stat_add(&stats[O_VAEL_DZ], score_ulp_s(dp[k], (double)g, sc), "random", k, p[k], (double)g,
                 dp[k]);
      } else {
        ld pc = p[k] < eps ? eps : p[k] > 1.0L - eps ? 1.0L - eps : (ld)p[k];
        rec -= (y[k] != 0.0f ? (ld)y[k] * logl(pc) : 0) + (y[k] != 1.0f ? (1.0L - y[k]) * logl(1.0L - pc) : 0);
        g = (pc - y[k]) / (pc * (1.0L - pc)) * inv_n;
        stat_add(&stats[O_VAE_DYP], score_ulp(dp[k], (double)g), "random", k, p[k], (double)g,
                 dp[k]);
      }
    }
    for (size_t j = 0; j < T; j++) {
      const size_t k = i * T + j;
      const ld e = expl((ld)lv[k]);
      kl += 0.5L * ((ld)mu[k] * mu[k] + e - 1.0L - lv[k]);
      if (!from_logits) {
        const ld rl = 0.5L * expm1l((ld)lv[k]) * inv_n, rm = (ld)mu[k] * inv_n;
        /* 0.5 (exp(lv) - 1) / n: terms of size 0.5 max(exp(lv), 1) / n cancel */
        const double sc = (double)(0.5L * fmaxl(e, 1.0L) * inv_n);
        stat_add(&stats[O_VAE_DLV], score_ulp_s(dlv[k], (double)rl, sc), "random+lv=+-80", k, lv[k],
                 (double)rl, dlv[k]);
        stat_add(&stats[O_VAE_DMU], score_ulp(dmu[k], (double)rm), "random", k, mu[k],
                 (double)rm, dmu[k]);
      }
    }
    total += rec + kl;
  }
  const double ref = (double)(total * inv_n);
  stat_add(&stats[from_logits ? O_VAEL_LOSS : O_VAE_LOSS], score_rel(loss, ref), "random", 0, 0,
           ref, loss);
  free(y), free(p), free(mu), free(lv), free(dp), free(dlv), free(dmu);
}

/* activation k: value and derivative in long double, and the size of the
 * terms that cancel in each (0 where none do) */
static void act_ref(int kind, ld z, ld *f, ld *d, ld *fs, ld *ds) {
  *fs = *ds = 0;
  const ld selu_a = 1.6732632423543772848170429916717L, selu_s = 1.0507009873554804934193349852946L;
  const ld c = 0.79788456080286535587989211986876L; /* sqrt(2/pi) */
  switch (kind) {
    case 0: *f = z, *d = 1; break;
    case 1: *f = 2.5L * z + 0.5L, *d = 2.5L, *fs = fmaxl(fabsl(2.5L * z), 0.5L); break;
    case 2: *f = sigmoidl(z), *d = sigmoidl(z) * sigmoidl(-z); break;
    case 3: {
      *f = tanhl(z);
      const ld ch = coshl(z);
      *d = isinf(ch) ? 0 : 1.0L / (ch * ch);
      break;
    }
    case 4: *f = z > 0 ? z : 0, *d = z > 0 ? 1 : 0; break;
    case 5: *f = z >= 0 ? z : (ld)0.3 * z, *d = z >= 0 ? 1 : (ld)0.3; break;
    case 6: *f = z > 0 ? z : expm1l(z), *d = z > 0 ? 1 : expl(z); break;
    case 7: *f = selu_s * (z > 0 ? z : selu_a * expm1l(z)), *d = selu_s * (z > 0 ? 1 : selu_a * expl(z)); break;
    case 8: *f = expl(z), *d = expl(z); break;
    case 9: *f = z > 0 ? z + log1pl(expl(-z)) : log1pl(expl(z)), *d = sigmoidl(z); break;
    case 10: {
      const ld v = 0.2L * z + 0.5L;
      *f = v < 0 ? 0 : v > 1 ? 1 : v;
      *fs = 0.5L; /* 0.2 z + 0.5 near z = -2.5 */
      *d = (z >= -2.5L && z <= 2.5L) ? 0.2L : 0;
      break;
    }
    case 11: {
      const ld u = c * (z + 0.044715L * z * z * z);
      const ld onep = 2.0L * sigmoidl(2.0L * u); /* 1 + tanh u */
      const ld sech2 = 4.0L * sigmoidl(2.0L * u) * sigmoidl(-2.0L * u);
      *f = 0.5L * z * onep;
      const ld b = 0.5L * z * sech2 * c * (1.0L + 3.0L * 0.044715L * z * z);
      *d = 0.5L * onep + b;
      *ds = fmaxl(0.5L * onep, fabsl(b)); /* the derivative's zero near z = -0.75 */
      break;
    }
    default: {
      const ld s2 = 1.4142135623730950488016887242097L;
      *f = 0.5L * z * erfcl(-z / s2);
      const ld b = z * expl(-0.5L * z * z) / 2.5066282746310005024157652848110L;
      *d = 0.5L * erfcl(-z / s2) + b;
      *ds = fmaxl(0.5L * erfcl(-z / s2), fabsl(b));
      break;
    }
  }
}

/* The activation of table row `kind`: the API enum (identity 0, affine,
 * sigmoid, tanh, relu, leaky, elu, selu, exponential, softplus,
 * hard_sigmoid, gelu = 11), then 12 = GELU's exact (erf) form. */
static fastloss_activation act_case(int kind) {
  fastloss_activation act = {0};
  act.kind = kind <= 11 ? (fastloss_activation_kind)kind : FASTLOSS_ACT_GELU;
  if (kind == 1) act.slope = 2.5, act.intercept = 0.5;
  if (kind == 12) act.exact = 1;
  return act;
}

/* Input k of an activation's sweep: the adversarial values, then N(0, 9)
 * and U(-20, 20) alternately; the tanh GELU stays above -4 (its documented
 * tail loss below). */
static double act_input(size_t k, int kind) {
  double v = k < N_ADV ? adversarial[k] : k % 2 ? 3.0 * normal() : 40.0 * uni() - 20.0;
  if (kind == 11 && v < -4.0) v = -4.0 * uni();
  return v;
}

static void op_act(void) {
  const size_t n = scale_n / 4;
  float *z = xmalloc(n * sizeof *z), *f = xmalloc(n * sizeof *f), *d = xmalloc(n * sizeof *d);
  for (int kind = 0; kind < 13; kind++) {
    const fastloss_activation act = act_case(kind);
    for (size_t k = 0; k < n; k++) z[k] = (float)act_input(k, kind);
    if (fastloss_activation_fn_f32(&act, n, z, f) != FASTLOSS_OK ||
        fastloss_activation_grad_f32(&act, n, z, d) != FASTLOSS_OK) {
      fprintf(stderr, "activation %s: %s\n", act_names[kind], fastloss_last_error());
      exit(2);
    }
    for (size_t k = 0; k < n; k++) {
      ld rf, rd, fs, ds;
      act_ref(kind, z[k], &rf, &rd, &fs, &ds);
      const char *set = k < N_ADV ? "adversarial" : "random";
      stat_add(&stats[O_ACT_FIRST + 2 * kind], score_ulp_s(f[k], (double)rf, (double)fs), set, k, z[k],
               (double)rf, f[k]);
      stat_add(&stats[O_ACT_FIRST + 2 * kind + 1], score_ulp_s(d[k], (double)rd, (double)ds), set, k, z[k],
               (double)rd, d[k]);
    }
  }
  free(z), free(f), free(d);
}

static void op_sqerr(void) {
  const size_t m = 1000, n = scale_n / m / 2;
  float *y = xmalloc(n * m * sizeof *y), *p = xmalloc(n * m * sizeof *p),
        *z = xmalloc(n * m * sizeof *z), *g = xmalloc(n * m * sizeof *g);
  for (size_t k = 0; k < n * m; k++) {
    z[k] = k < N_ADV ? adversarial[k] : (float)(4.0 * normal());
    p[k] = (float)sigmoidl(z[k]);
    y[k] = k % 101 == 0 ? 1e30f : (float)uni();
  }
  double loss;
  fastloss_activation act = {.kind = FASTLOSS_ACT_SIGMOID};
  if (fastloss_sqerr_loss_f32(n, m, y, p, &loss) != FASTLOSS_OK ||
      fastloss_sqerr_grad_f32(n, m, y, p, z, &act, g) != FASTLOSS_OK) {
    fprintf(stderr, "sqerr: %s\n", fastloss_last_error());
    exit(2);
  }
  ld ref = 0;
  for (size_t k = 0; k < n * m; k++) {
    const ld e = (ld)p[k] - y[k];
    ref += e * e;
    const ld rg = e * sigmoidl(z[k]) * sigmoidl(-(ld)z[k]);
    stat_add(&stats[O_SQ_GRAD], score_ulp(g[k], (double)rg), "random", k, z[k], (double)rg, g[k]);
  }
  stat_add(&stats[O_SQ_LOSS], score_rel(loss, (double)(0.5L * ref)), "random+1e30", 0, 0,
           (double)(0.5L * ref), loss);
  free(y), free(p), free(z), free(g);
}

static void op_wgangp(void) {
  const size_t nf = 500, n = scale_n / nf / 2;
  float *yf = xmalloc(n * sizeof *yf), *yr = xmalloc(n * sizeof *yr),
        *gi = xmalloc(n * nf * sizeof *gi), *dg = xmalloc(n * nf * sizeof *dg);
  for (size_t i = 0; i < n; i++) {
    yf[i] = (float)normal(), yr[i] = (float)normal();
    for (size_t j = 0; j < nf; j++) {
      float v = (float)(normal() / sqrt((double)nf) * (0.5 + uni()));
      if (i % 10 == 1) v *= 1e30f;                 /* huge rows */
      if (i % 10 == 2) v = (float)(v * 1e-40);     /* denormal rows */
      if (i % 10 == 3) v = j == 0 ? 1.0f + 1e-6f : 0.0f; /* ||g|| ~ 1 */
      if (i % 10 == 4) v = 0.0f;
      gi[i * nf + j] = v;
    }
  }
  fastloss_wgangp_params params = {0};
  double loss;
  if (fastloss_wgangp_f32('C', n, yf, n, yr, n, nf, gi, nf, &params, &loss, NULL, NULL, dg) !=
      FASTLOSS_OK) {
    fprintf(stderr, "wgangp: %s\n", fastloss_last_error());
    exit(2);
  }
  ld pen = 0, mf = 0, mr = 0;
  for (size_t i = 0; i < n; i++) {
    ld s = 0;
    for (size_t j = 0; j < nf; j++) s += (ld)gi[i * nf + j] * gi[i * nf + j];
    const ld norm = sqrtl(s);
    pen += (norm - 1) * (norm - 1);
    mf += yf[i], mr += yr[i];
    const ld coef = norm == 0 ? 0 : 2.0L * 10.0L / n * (norm - 1) / (norm + 2.220446049250313e-16L);
    for (size_t j = 0; j < nf; j++) {
      const ld r = coef * gi[i * nf + j];
      stat_add(&stats[O_WG_DG], score_ulp(dg[i * nf + j], (double)r), "random+adversarial rows",
               i * nf + j, gi[i * nf + j], (double)r, dg[i * nf + j]);
    }
  }
  const double ref = (double)(mf / n - mr / n + 10.0L * pen / n);
  stat_add(&stats[O_WG_LOSS], score_rel(loss, ref), "random+adversarial rows", 0, 0, ref, loss);
  free(yf), free(yr), free(gi), free(dg);
}

/* ------------------------------------------------------------ f64 */

/* The f64 entry points against long double references: xent (N(0, 9)
 * logits, rows of 1000), every activation and its derivative (the op_act
 * inputs), VAE (binary y, probabilities in (0, 1)). */
static void op_f64(void) {
  const size_t m = 1000, n = scale_n / m / 4;
  double *z = xmalloc(n * m * sizeof *z), *g = xmalloc(n * m * sizeof *g), *row = xmalloc(n * sizeof *row);
  int32_t *lab = xmalloc(n * sizeof *lab);
  for (size_t k = 0; k < n * m; k++) z[k] = 3.0 * normal();
  for (size_t i = 0; i < n; i++) lab[i] = (int32_t)(uni() * m);
  double loss;
  if (fastloss_xent_f64(n, m, z, m, lab, NULL, row, &loss, g, m) != FASTLOSS_OK) {
    fprintf(stderr, "xent f64: %s\n", fastloss_last_error());
    exit(2);
  }
  for (size_t i = 0; i < n; i++) {
    const double *zi = z + i * m;
    ld max = zi[0];
    for (size_t j = 1; j < m; j++) max = zi[j] > max ? zi[j] : max;
    ld sum = 0;
    for (size_t j = 0; j < m; j++) sum += expl((ld)zi[j] - max);
    const ld lse = max + logl(sum);
    const ld ref_row = lse - zi[lab[i]];
    stat_add(&stats[O_X64_ROW], score_rel(row[i], (double)ref_row), "random", i, zi[lab[i]],
             (double)ref_row, row[i]);
    for (size_t j = 0; j < m; j++) {
      const ld p = expl((ld)zi[j] - lse);
      const int is_label = (int32_t)j == lab[i];
      const ld want = p - (is_label ? 1.0L : 0.0L);
      /* the label column is p - 1: terms of size 1 cancel */
      stat_add(&stats[O_X64_GRAD], score_ulp64_s(g[i * m + j], want, is_label ? 1.0L : 0.0L),
               "random", i * m + j, zi[j], (double)want, g[i * m + j]);
    }
  }
  free(z), free(g), free(row), free(lab);

  const size_t na = scale_n / 16;
  double *za = xmalloc(na * sizeof *za), *f = xmalloc(na * sizeof *f), *d = xmalloc(na * sizeof *d);
  for (int kind = 0; kind < 13; kind++) {
    const fastloss_activation act = act_case(kind);
    for (size_t k = 0; k < na; k++) za[k] = act_input(k, kind);
    if (fastloss_activation_fn_f64(&act, na, za, f) != FASTLOSS_OK ||
        fastloss_activation_grad_f64(&act, na, za, d) != FASTLOSS_OK) {
      fprintf(stderr, "activation f64 %s: %s\n", act_names[kind], fastloss_last_error());
      exit(2);
    }
    for (size_t k = 0; k < na; k++) {
      ld rf, rd, fs = 0, ds = 0;
      act_ref(kind, za[k], &rf, &rd, &fs, &ds);
      /* where: the index is kind * na + k */
      stat_add(&stats[O_ACT64_F], score_ulp64_s(f[k], rf, fs), "kind*n+k", (size_t)kind * na + k, za[k],
               (double)rf, f[k]);
      stat_add(&stats[O_ACT64_D], score_ulp64_s(d[k], rd, ds), "kind*n+k", (size_t)kind * na + k, za[k],
               (double)rd, d[k]);
    }
  }
  free(za), free(f), free(d);

  const size_t vn = 64, vN = 784, vT = 16;
  double *y = xmalloc(vn * vN * sizeof *y), *yp = xmalloc(vn * vN * sizeof *yp);
  double *mu = xmalloc(vn * vT * sizeof *mu), *lv = xmalloc(vn * vT * sizeof *lv);
  double *dyp = xmalloc(vn * vN * sizeof *dyp), *dlv = xmalloc(vn * vT * sizeof *dlv),
         *dmu = xmalloc(vn * vT * sizeof *dmu);
  for (size_t k = 0; k < vn * vN; k++) {
    y[k] = uni() < 0.5 ? 0.0 : 1.0;
    yp[k] = 0.001 + 0.998 * uni();
  }
  for (size_t k = 0; k < vn * vT; k++) mu[k] = normal(), lv[k] = 2.0 * normal();
  double vloss;
  if (fastloss_vae_f64(vn, vN, vT, y, vN, yp, vN, mu, lv, vT, NULL, NULL, NULL, &vloss, dyp, dlv, dmu) !=
      FASTLOSS_OK) {
    fprintf(stderr, "vae f64: %s\n", fastloss_last_error());
    exit(2);
  }
  ld total = 0;
  for (size_t i = 0; i < vn; i++) {
    ld rec = 0, kl = 0;
    for (size_t j = 0; j < vN; j++) {
      const size_t k = i * vN + j;
      rec -= y[k] * logl(yp[k]) + (1.0L - y[k]) * logl(1.0L - yp[k]);
      /* d/dp of the row's mean term: (p - y) / (p (1 - p)) / n */
      const ld want = ((ld)yp[k] - y[k]) / ((ld)yp[k] * (1.0L - yp[k])) / (ld)vn;
      stat_add(&stats[O_VAE64_DYP], score_ulp64_s(dyp[k], want, 0.0L), "binary y", k, yp[k],
               (double)want, dyp[k]);
    }
    for (size_t t = 0; t < vT; t++) {
      const size_t k = i * vT + t;
      kl += -0.5L * (1.0L + lv[k] - (ld)mu[k] * mu[k] - expl((ld)lv[k]));
    }
    total += rec + kl;
  }
  const ld vref = total / (ld)vn;
  stat_add(&stats[O_VAE64_LOSS], score_rel(vloss, (double)vref), "binary y", 0, 0, (double)vref, vloss);
  free(y), free(yp), free(mu), free(lv), free(dyp), free(dlv), free(dmu);
}

/* ------------------------------------------------------------ ISAs */

typedef struct isa_run {
  const char *label;
  int emulated;
  fastloss_isa isa;
  const fl_isa_kernels *forced;
} isa_run;

#define MAX_ISAS 5
static double results[MAX_ISAS][O_COUNT];
static char wheres[MAX_ISAS][O_COUNT][96];

static void fmt_err(char *buf, size_t size, double v, char kind) {
  if (isinf(v)) snprintf(buf, size, "inf");
  else if (kind == 'u' || kind == 'd') snprintf(buf, size, "%.2f", v);
  else snprintf(buf, size, "%.2e", v);
}

int main(int argc, char **argv) {
  const int check = argc > 1 && strcmp(argv[1], "--check") == 0;
  if (argc > 1 && !check) {
    fprintf(stderr, "usage: %s [--check]\n", argv[0]);
    return 2;
  }
  scale_n = check ? 100000 : 1000000;
  for (int k = 0; k < 13; k++) {
    outputs[O_ACT_FIRST + 2 * k] = (output){"activation", act_names[k], 'u', act_bounds[k][0]};
    outputs[O_ACT_FIRST + 2 * k + 1] = (output){"activation'", act_names[k], 'u', act_bounds[k][1]};
  }
  isa_run runs[MAX_ISAS];
  size_t nruns = 0;
  runs[nruns++] = (isa_run){"scalar", 0, FASTLOSS_ISA_SCALAR, NULL};
  runs[nruns++] = (isa_run){"avx2", 0, FASTLOSS_ISA_AVX2, NULL};
  runs[nruns++] = (isa_run){"avx512", 0, FASTLOSS_ISA_AVX512, NULL};
  runs[nruns++] = (isa_run){"neon", 0, FASTLOSS_ISA_NEON, NULL};
#if FL_HAVE_AVX512_EMULATED
  runs[nruns++] =
      (isa_run){"avx512 (emulated, SIMDe)", 1, FASTLOSS_ISA_AVX512, &fl_isa_avx512_emulated};
#endif
  const char *labels[MAX_ISAS];
  size_t done = 0;
  int failed = 0;
  for (size_t r = 0; r < nruns; r++) {
    if (runs[r].forced) {
      fl_dispatch_force(runs[r].forced);
    } else if (fastloss_set_isa(runs[r].isa) != FASTLOSS_OK) {
      continue; /* not runnable here */
    }
    const fl_isa_kernels *kt = fl_kernels();
    for (int o = 0; o < O_COUNT; o++) stat_reset(&stats[o]);
    rng_state = 12345;
    op_xent(check);
    op_crossentropy();
    op_nce(kt);
    op_vae(0);
    op_vae(1);
    op_act();
    op_sqerr();
    op_wgangp();
    op_f64();
    labels[done] = runs[r].label;
    for (int o = 0; o < O_COUNT; o++) {
      results[done][o] = stats[o].max;
      snprintf(wheres[done][o], sizeof wheres[done][o], "%s", stats[o].where);
      if (!(stats[o].max <= outputs[o].bound)) {
        fprintf(stderr, "FAIL %s: %s %s: max error %g > bound %g at %s\n", runs[r].label,
                outputs[o].op, outputs[o].out, stats[o].max, outputs[o].bound, stats[o].where);
        failed = 1;
      }
    }
    done++;
  }
  printf("fastloss %s accuracy, exp = %s, %s sweep (%zu elements per op; xent m=32000: %d rows)\n\n",
         fastloss_version(), FL_ACCURACY_EXP, check ? "quick" : "full", scale_n, check ? 2 : 16);
  printf("ULP: |got - ref| / ulp(max(|ref|, s)) in float32, ulp floored at FLT_MIN, s the size of\n"
         "terms that cancel (xent's label column, VAE's dLogVar and dz, hard_sigmoid, GELU');\n"
         "rel: |got - ref| / max(|ref|, 1).  References: float64 / long double.\n\n");
  printf("| operation | output | unit | bound |");
  for (size_t r = 0; r < done; r++) printf(" %s |", labels[r]);
  printf("\n|---|---|---|---|");
  for (size_t r = 0; r < done; r++) printf("---|");
  printf("\n");
  for (int o = 0; o < O_COUNT; o++) {
    char b[32];
    fmt_err(b, sizeof b, outputs[o].bound, outputs[o].kind);
    printf("| %s | %s | %s | %s |", outputs[o].op, outputs[o].out,
           outputs[o].kind == 'u' ? "ULP" : outputs[o].kind == 'd' ? "ULP64" : "rel", b);
    for (size_t r = 0; r < done; r++) {
      fmt_err(b, sizeof b, results[r][o], outputs[o].kind);
      printf(" %s |", b);
    }
    printf("\n");
  }
  if (!check) {
    printf("\nWhere each maximum occurred (input set[index], input x, reference, result):\n\n");
    printf("| operation | output | ISA | where |\n|---|---|---|---|\n");
    for (int o = 0; o < O_COUNT; o++)
      for (size_t r = 0; r < done; r++)
        printf("| %s | %s | %s | %s |\n", outputs[o].op, outputs[o].out, labels[r], wheres[r][o]);
  }
  printf("\n%s\n", failed ? "FAILED: a maximum exceeds its bound (stderr names it)"
                          : "every maximum within its bound");
  return failed;
}
