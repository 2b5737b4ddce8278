/* The one list of fastloss micro-kernels.
 *
 * Micro-kernels are single-threaded, allocate nothing, never read or write
 * outside [ptr, ptr + m) of the rows they are given, and accept any
 * alignment.  Every ISA implements every f32 kernel of the list.  The f64
 * kernels exist once, in kernels/scalar/, and serve every ISA, except the
 * NCE ones (FL_NCE_KERNELS): the f64 NCE object spends most of its time in
 * their dot products, so each ISA has kernels/<isa>/f64-nce-<isa>.c too.
 * The one kernel on words, Philox (FL_RNG_KERNELS), is in
 * kernels/<isa>/u32-philox-<isa>.c.
 *
 * Adding a kernel: one line here, then one function per ISA in
 * kernels/<isa>/f32-<op>-<isa>.c; the tables and declarations follow.
 */
#ifndef FASTLOSS_KERNELS_H
#define FASTLOSS_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/* Rows with at most this many classes take the rows-across-lanes kernel. */
#define FL_XENT_SMALL_M 16
/* Rows handed to one smallrows call at most. */
#define FL_XENT_SMALL_ROWS 64

/* X(name, return type, parameter list), for element type T:
 *   rmax       max_j x_j, NaN entries ignored (they reach the row through the
 *              sums); -inf for an all -inf row
 *   rexpstore  y_j = exp(x_j - max); returns sum_j y_j.  Also stores rmax of
 *              the m elements at `next` in *next_max: the driver passes the
 *              next row, whose read from memory then overlaps the exps
 *              instead of waiting in a pass of its own (next may be x; it
 *              must not overlap y unless it is x).
 *   rexpsum    sum_j exp(x_j - max), and rmax of `next` in *next_max, as
 *              rexpstore without the stores (forward-only calls)
 *   ronline    one-pass max and sum_j exp(x_j - max) (Milakov & Gimelshein);
 *              a +inf entry makes the sum NaN, as exp(inf - inf) does in the
 *              two-pass kernels
 *   vexpscale  y_j = exp(x_j - max) * scale
 *   vaffine    y_j = alpha * y_j - (beta + gamma * t_j) * w_j, t or w may be
 *              NULL (read as 0 and 1)
 *   rdot       sum_j (a_j - shift) * b_j * c_j over the j where b_j * c_j != 0;
 *              b or c may be NULL (read as 1).  The shift (the row max) keeps
 *              the sum free of cancellation when logits are huge.
 *   smallrows  for `rows` rows of m <= FL_XENT_SMALL_M logits, rows laid
 *              across vector lanes, row i with the label y_i = labels[i] (one
 *              outside [0, m), such as an ignored row's, names no class):
 *              row_max, row_logsum = log sum exp(z - max) (the ISA's vector
 *              log: one per row, not one libm call), row_zsum = sum (z -
 *              max(row_max, -FLT_MAX)) (may be NULL: it is -inf for an all
 *              -inf row, NaN for a row with a NaN), row_zy = z_{i, y_i}, read
 *              before any gradient store (0 when y_i is outside [0, m)) and,
 *              when grad is not NULL (it may be z itself, with ld_grad = ld_z),
 *              grad_ij = (exp(z_ij - max) * alpha_i / sum exp(z - max) - beta_i)
 *                        - (j == y_i ? label_coef_i : 0).
 *              alpha, beta and label_coef are read only when grad is not NULL. */
#define FL_XENT_KERNELS(X, T)                                                                      \
  X(xent_rmax, T, (size_t m, const T *x))                                                          \
  X(xent_rexpstore, T, (size_t m, const T *x, T max, T *y, const T *next, T *next_max))           \
  X(xent_rexpsum, T, (size_t m, const T *x, T max, const T *next, T *next_max))                    \
  X(xent_ronline, void, (size_t m, const T *x, T *max, T *sum))                                    \
  X(xent_vexpscale, void, (size_t m, const T *x, T max, T scale, T *y))                            \
  X(xent_vaffine, void, (size_t m, T *y, T alpha, T beta, T gamma, const T *t, const T *w))        \
  X(xent_rdot, T, (size_t m, const T *a, T shift, const T *b, const T *c))                                  \
  X(xent_smallrows, void,                                                                          \
    (size_t rows, size_t m, const T *z, size_t ld_z, const int32_t *labels, const T *alpha,        \
     const T *beta, const T *label_coef, T *grad, size_t ld_grad, T *row_max, T *row_logsum,       \
     T *row_zsum, T *row_zy))

/* The sigmoid-logit kernels of NCE and negative sampling, for element type T.
 * Rows are given as pointers (gathered embedding rows; repeats allowed), each
 * of d elements:
 *   nce_dots     z[r * ld_z + c] = x[r] . w[c] for r < rows, c < cols
 *   nce_sigmoid  q_j = sigmoid(y_j) and c_j = sigmoid(-y_j) = 1 - q_j, each
 *                computed directly (no cancellation) to a few ULP for any
 *                finite y; below ~1e-38 (|y| > 87.3 in f32) the small one
 *                may flush to 0.  NaN gives NaN.
 *   nce_sigmoid_bce
 *                q_j and c_j bit for bit as nce_sigmoid computes them, and
 *                t_j = -log of q_j clipped to [eps, 1 - eps] (eps =
 *                FLT_EPSILON or DBL_EPSILON), the binary cross-entropy
 *                term of the label whose probability is q_j:
 *                  q_j < eps ? -log(eps) : c_j < eps ? -log1p(-eps) :
 *                  q_j > 1/2 ? -log1p(-c_j) : -log(q_j)
 *                (f32: the ISA's vector log, log1p built from it; f64:
 *                scalar-math64.h, libm or with -Dexp=sleef SLEEF).  Any y,
 *                +-inf included, gives a finite t but NaN, which gives
 *                NaN.  t may be y (each y_j is read before
 *                anything of element j is written).
 *   nce_gemv     out += sum_c coef[c] * w[c]
 *   nce_ger      w[c] += coef[c] * x for c < cols, in order of c, so a
 *                repeated row receives every update; x must not be one of
 *                the w[c] */
#define FL_NCE_KERNELS(X, T)                                                                       \
  X(nce_dots, void,                                                                                \
    (size_t rows, size_t cols, size_t d, const T *const *x, const T *const *w, T *z, size_t ld_z)) \
  X(nce_sigmoid, void, (size_t m, const T *y, T *q, T *c))                                         \
  X(nce_sigmoid_bce, void, (size_t m, const T *y, T *q, T *c, T *t))                               \
  X(nce_gemv, void, (size_t cols, size_t d, const T *coef, const T *const *w, T *out))             \
  X(nce_ger, void, (size_t cols, size_t d, const T *coef, const T *x, T *const *w))

/* The VAE loss kernels (Bernoulli decoder, unit Gaussian prior), for element
 * type T, one row at a time:
 *   vae_outside     the first j with p_j < 0 or p_j > 1 (NaN is not
 *                   outside), m if none
 *   vae_bce         returns -sum_j [y_j log p_j + (1 - y_j) log(1 - p_j)]
 *                   with p clipped to [eps, 1 - eps]; one log per element
 *                   where y_j is exactly 0 or 1.  grad (may be NULL, may be
 *                   p itself) = scale (p - y) / (p (1 - p)) at the clipped p
 *   vae_bce_logits  returns sum_j softplus(z_j) - y_j z_j (BCE of
 *                   sigmoid(z), no clip); grad (may be NULL, may be z) =
 *                   scale (sigmoid(z) - y)
 *   vae_kl          returns 0.5 sum_j (mu_j^2 + exp(lv_j) - 1 - lv_j); dlv =
 *                   0.5 scale (exp(lv) - 1), dmu = scale mu, each may be
 *                   NULL or its own input (lv, mu).  exp(lv) overflows to
 *                   +inf (f32: lv > 88.72), and the term and dlv with it.
 *   vae_log         y_j = log(x_j) for positive normal x (NaN gives NaN): the
 *                   kernels' own log, for the tests to measure on every ISA
 * Sums are returned in double; the SIMD kernels add in float lanes. */
#define FL_VAE_KERNELS(X, T)                                                                       \
  X(vae_outside, size_t, (size_t m, const T *p))                                                   \
  X(vae_bce, double, (size_t m, const T *y, const T *p, T eps, T scale, T *grad))                  \
  X(vae_bce_logits, double, (size_t m, const T *y, const T *z, T scale, T *grad))                  \
  X(vae_kl, double, (size_t m, const T *mu, const T *lv, T scale, T *dlv, T *dmu))                 \
  X(vae_log, void, (size_t m, const T *x, T *y))

/* The activations of SquaredError, as the kernels see them: numpy-ml's
 * kinds with the defaults resolved (src/sqerr.c).  Identity is Affine with
 * slope 1 and intercept 0; SELU is ELU with SELU's alpha and a scale. */
typedef enum fl_act_kind {
  FL_ACT_AFFINE = 0, /* slope z + intercept */
  FL_ACT_SIGMOID,
  FL_ACT_TANH,
  FL_ACT_RELU,
  FL_ACT_LEAKY_RELU, /* alpha */
  FL_ACT_ELU,        /* scale * (z > 0 ? z : alpha expm1(z)); ELU and SELU */
  FL_ACT_EXPONENTIAL,
  FL_ACT_SOFTPLUS,
  FL_ACT_HARD_SIGMOID,
  FL_ACT_GELU_TANH, /* numpy-ml's approximate=True */
  FL_ACT_GELU_ERF,  /* approximate=False */
  FL_ACT_KIND_COUNT
} fl_act_kind;

typedef struct fl_act_args {
  fl_act_kind kind;
  double alpha;     /* LeakyReLU, ELU */
  double scale;     /* ELU (1 for ELU, SELU's scale); Affine: the slope */
  double intercept; /* Affine */
} fl_act_args;

/* The SquaredError kernels, for element type T, on rows of m elements:
 *   sqerr_sum  returns sum_j (p_j - y_j)^2 summed in double (f32: every
 *              square exact in double, no overflow for any finite input)
 *   sqerr_act  f_j = act(z_j) (f may be NULL) and d_j = act'(z_j) (p_j - y_j)
 *              when y is not NULL, act'(z_j) alone when it is (d may be
 *              NULL).  Every input of an element is read before its outputs
 *              are written, so f and d may each be z, y or p. */
#define FL_SQERR_KERNELS(X, T)                                                                     \
  X(sqerr_sum, double, (size_t m, const T *y, const T *p))                                         \
  X(sqerr_act, void,                                                                               \
    (size_t m, const fl_act_args *act, const T *z, const T *y, const T *p, T *f, T *d))

/* The WGAN-GP gradient-penalty kernels, for element type T:
 *   wgangp_norm   returns ||g||_2 of a row of m elements, without overflow
 *                 or underflow for any finite input (f32: squares summed in
 *                 double; f64: rescaled by a power of 2 when needed)
 *   wgangp_scale  out_j = coef g_j (out may be g) */
#define FL_WGANGP_KERNELS(X, T)                                                                    \
  X(wgangp_norm, double, (size_t m, const T *g))                                                   \
  X(wgangp_scale, void, (size_t m, const T *g, T coef, T *out))

/* The counter-based generator of the negative-sampling steps' draws,
 * Philox4x32-10 (Salmon, Moraes, Dror and Shaw, SC 2011), as src/sampler.c
 * defines its streams:
 *   philox  for i < n, the block with counter words (counter[i] low,
 *           counter[i] high, stream[i] low, stream[i] high) under key words
 *           (key low, key high); word w of block i at out[w * n + i] (four
 *           rows of n words).  Bit for bit the same on every ISA. */
#define FL_RNG_KERNELS(X)                                                                          \
  X(philox, void,                                                                                  \
    (size_t n, uint64_t key, const uint64_t *stream, const uint64_t *counter, uint32_t *out))

/* Philox4x32-10's round multipliers and key increments (the Weyl sequence
 * of the golden ratio and sqrt(3) - 1). */
#define FL_PHILOX_M0 0xD2511F53u
#define FL_PHILOX_M1 0xCD9E8D57u
#define FL_PHILOX_W0 0x9E3779B9u
#define FL_PHILOX_W1 0xBB67AE85u

#define FL_KERNEL_FIELD(name, ret, args) ret(*name) args;

typedef struct fl_f32_xent_kernels {
  FL_XENT_KERNELS(FL_KERNEL_FIELD, float)
} fl_f32_xent_kernels;

typedef struct fl_f64_xent_kernels {
  FL_XENT_KERNELS(FL_KERNEL_FIELD, double)
} fl_f64_xent_kernels;

typedef struct fl_f32_nce_kernels {
  FL_NCE_KERNELS(FL_KERNEL_FIELD, float)
} fl_f32_nce_kernels;

typedef struct fl_f64_nce_kernels {
  FL_NCE_KERNELS(FL_KERNEL_FIELD, double)
} fl_f64_nce_kernels;

typedef struct fl_f32_vae_kernels {
  FL_VAE_KERNELS(FL_KERNEL_FIELD, float)
} fl_f32_vae_kernels;

typedef struct fl_f64_vae_kernels {
  FL_VAE_KERNELS(FL_KERNEL_FIELD, double)
} fl_f64_vae_kernels;

typedef struct fl_f32_sqerr_kernels {
  FL_SQERR_KERNELS(FL_KERNEL_FIELD, float)
} fl_f32_sqerr_kernels;

typedef struct fl_f64_sqerr_kernels {
  FL_SQERR_KERNELS(FL_KERNEL_FIELD, double)
} fl_f64_sqerr_kernels;

typedef struct fl_f32_wgangp_kernels {
  FL_WGANGP_KERNELS(FL_KERNEL_FIELD, float)
} fl_f32_wgangp_kernels;

typedef struct fl_f64_wgangp_kernels {
  FL_WGANGP_KERNELS(FL_KERNEL_FIELD, double)
} fl_f64_wgangp_kernels;

typedef struct fl_u32_rng_kernels {
  FL_RNG_KERNELS(FL_KERNEL_FIELD)
} fl_u32_rng_kernels;

/* Fills a table from the static functions fl_<type>_<name>_ukernel__<isa>
 * of the file that expands it. */
#define FL_KERNEL_ENTRY(name, ret, args) .name = FL_UKERNEL_NAME(name),

/* Per-ISA tables, each defined at the end of its kernel file and present
 * only when its ISA is built. */
extern const fl_f32_xent_kernels fl_f32_xent_kernels__scalar;
extern const fl_f32_xent_kernels fl_f32_xent_kernels__avx2;
extern const fl_f32_xent_kernels fl_f32_xent_kernels__avx512;
extern const fl_f32_xent_kernels fl_f32_xent_kernels__neon;
/* The AVX-512 source compiled against SIMDe on AVX2 hosts: tests only. */
extern const fl_f32_xent_kernels fl_f32_xent_kernels__avx512_emulated;
extern const fl_f64_xent_kernels fl_f64_xent_kernels__scalar;

extern const fl_f32_nce_kernels fl_f32_nce_kernels__scalar;
extern const fl_f32_nce_kernels fl_f32_nce_kernels__avx2;
extern const fl_f32_nce_kernels fl_f32_nce_kernels__avx512;
extern const fl_f32_nce_kernels fl_f32_nce_kernels__neon;
extern const fl_f32_nce_kernels fl_f32_nce_kernels__avx512_emulated;
extern const fl_f64_nce_kernels fl_f64_nce_kernels__scalar;
extern const fl_f64_nce_kernels fl_f64_nce_kernels__avx2;
extern const fl_f64_nce_kernels fl_f64_nce_kernels__avx512;
extern const fl_f64_nce_kernels fl_f64_nce_kernels__neon;
extern const fl_f64_nce_kernels fl_f64_nce_kernels__avx512_emulated;

extern const fl_u32_rng_kernels fl_u32_rng_kernels__scalar;
extern const fl_u32_rng_kernels fl_u32_rng_kernels__avx2;
extern const fl_u32_rng_kernels fl_u32_rng_kernels__avx512;
extern const fl_u32_rng_kernels fl_u32_rng_kernels__neon;
extern const fl_u32_rng_kernels fl_u32_rng_kernels__avx512_emulated;

extern const fl_f32_vae_kernels fl_f32_vae_kernels__scalar;
extern const fl_f32_vae_kernels fl_f32_vae_kernels__avx2;
extern const fl_f32_vae_kernels fl_f32_vae_kernels__avx512;
extern const fl_f32_vae_kernels fl_f32_vae_kernels__neon;
extern const fl_f32_vae_kernels fl_f32_vae_kernels__avx512_emulated;
extern const fl_f64_vae_kernels fl_f64_vae_kernels__scalar;

extern const fl_f32_sqerr_kernels fl_f32_sqerr_kernels__scalar;
extern const fl_f32_sqerr_kernels fl_f32_sqerr_kernels__avx2;
extern const fl_f32_sqerr_kernels fl_f32_sqerr_kernels__avx512;
extern const fl_f32_sqerr_kernels fl_f32_sqerr_kernels__neon;
extern const fl_f32_sqerr_kernels fl_f32_sqerr_kernels__avx512_emulated;
extern const fl_f64_sqerr_kernels fl_f64_sqerr_kernels__scalar;

extern const fl_f32_wgangp_kernels fl_f32_wgangp_kernels__scalar;
extern const fl_f32_wgangp_kernels fl_f32_wgangp_kernels__avx2;
extern const fl_f32_wgangp_kernels fl_f32_wgangp_kernels__avx512;
extern const fl_f32_wgangp_kernels fl_f32_wgangp_kernels__neon;
extern const fl_f32_wgangp_kernels fl_f32_wgangp_kernels__avx512_emulated;
extern const fl_f64_wgangp_kernels fl_f64_wgangp_kernels__scalar;

#endif
