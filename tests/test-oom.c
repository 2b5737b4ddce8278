/* Out-of-memory injection: every allocation libfastloss makes is failed in
 * turn, one per run, and the call that sees the failure must return
 * FASTLOSS_ERR_OUT_OF_MEMORY with a message, write nothing the caller can
 * see, leak nothing (build-asan and valgrind runs), and leave any object it
 * was given usable: retried once memory is back, the same sequence of calls
 * must end bit-identical to a run that never failed.  A call may also absorb
 * the failure (a fallback path), but then its results must equal the
 * unfailed run's.
 *
 * How: this program links the static libfastloss with
 * -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc (tests/meson.build), so the
 * library's allocation calls, and only calls from objects linked here, go
 * through the __wrap_ functions below.  The wrappers count allocations while
 * armed and fail exactly the fail_at-th; the test's own set-up runs disarmed.
 * libgomp and libc allocate through their own, unwrapped references.
 *
 * Also checked: the calls documented as allocation free (fused xent, VAE,
 * SquaredError, activations, WGAN-GP) make no allocation at all, so they
 * cannot fail with FASTLOSS_ERR_OUT_OF_MEMORY.
 *
 * A plain program (not Check: Check allocates inside the wrapped calls'
 * reach); exit status 0 = pass, 1 = fail. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fastloss.h"

void *__real_malloc(size_t size);
void *__real_calloc(size_t count, size_t size);
void *__real_realloc(void *p, size_t size);
void *__wrap_malloc(size_t size);
void *__wrap_calloc(size_t count, size_t size);
void *__wrap_realloc(void *p, size_t size);

static int fl_armed;         /* count (and maybe fail) allocations */
static long fl_fail_at = -1; /* the index of the allocation to fail, -1: none */
static long fl_calls;        /* allocations seen while armed */
static int fl_fired;         /* the failure was injected */

static int fl_oom_take(void) {
  if (!__atomic_load_n(&fl_armed, __ATOMIC_SEQ_CST)) return 0;
  const long index = __atomic_fetch_add(&fl_calls, 1, __ATOMIC_SEQ_CST);
  if (index != fl_fail_at) return 0;
  __atomic_store_n(&fl_fired, 1, __ATOMIC_SEQ_CST);
  return 1;
}

void *__wrap_malloc(size_t size) { return fl_oom_take() ? NULL : __real_malloc(size); }
void *__wrap_calloc(size_t count, size_t size) {
  return fl_oom_take() ? NULL : __real_calloc(count, size);
}
void *__wrap_realloc(void *p, size_t size) {
  return fl_oom_take() ? NULL : __real_realloc(p, size);
}

static int fl_failures;
#define FL_CHECK(cond, ...)                                   \
  do {                                                        \
    if (!(cond)) {                                            \
      fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);    \
      fprintf(stderr, __VA_ARGS__);                           \
      fputc('\n', stderr);                                    \
      fl_failures++;                                          \
    }                                                         \
  } while (0)

/* FNV-1a over bytes: a digest of everything a scenario can observe. */
static uint64_t fl_hash(uint64_t h, const void *data, size_t bytes) {
  const unsigned char *p = data;
  for (size_t i = 0; i < bytes; i++) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

/* A scenario: set-up (disarmed), a fixed sequence of calls, each observable
 * through digest(), and tear-down. */
typedef struct fl_scenario {
  const char *name;
  size_t steps;
  void *(*setup)(void);
  fastloss_status (*step)(void *ctx, size_t i);
  uint64_t (*digest)(void *ctx);
  void (*teardown)(void *ctx);
} fl_scenario;

/* Runs the scenario with allocation fail_at failed (-1: none).  Returns the
 * final digest; *allocations gets the number of allocations made while
 * armed. */
static uint64_t fl_run(const fl_scenario *sc, long fail_at, long *allocations, int *fired_out) {
  void *ctx = sc->setup();
  fl_calls = 0;
  fl_fired = 0;
  fl_fail_at = fail_at;
  int fired_seen = 0;
  for (size_t i = 0; i < sc->steps; i++) {
    const uint64_t before = sc->digest(ctx);
    const int fired_before = fl_fired;
    __atomic_store_n(&fl_armed, 1, __ATOMIC_SEQ_CST);
    fastloss_status status = sc->step(ctx, i);
    __atomic_store_n(&fl_armed, 0, __ATOMIC_SEQ_CST);
    const int fired_now = fl_fired && !fired_before;
    if (status == FASTLOSS_ERR_OUT_OF_MEMORY) {
      FL_CHECK(fired_now, "%s step %zu: OUT_OF_MEMORY without an injected failure", sc->name, i);
      FL_CHECK(strstr(fastloss_last_error(), "alloc") != NULL, "%s step %zu: message '%s'", sc->name,
               i, fastloss_last_error());
      FL_CHECK(sc->digest(ctx) == before, "%s step %zu (allocation %ld failed): output written",
               sc->name, i, fail_at);
      fired_seen = 1;
      /* Memory is back: the same call again must work. */
      status = sc->step(ctx, i);
      FL_CHECK(status == FASTLOSS_OK, "%s step %zu retried: %s (%s)", sc->name, i,
               fastloss_status_str(status), fastloss_last_error());
    } else {
      FL_CHECK(status == FASTLOSS_OK, "%s step %zu (allocation %ld failed): %s (%s)", sc->name, i,
               fail_at, fastloss_status_str(status), fastloss_last_error());
      if (fired_now) fired_seen = 1; /* absorbed: the final digest must still match */
    }
  }
  const uint64_t digest = sc->digest(ctx);
  sc->teardown(ctx);
  *allocations = fl_calls;
  *fired_out = fired_seen;
  return digest;
}

static void fl_scenario_check(const fl_scenario *sc) {
  long allocations = 0;
  int fired = 0;
  const uint64_t want = fl_run(sc, -1, &allocations, &fired);
  FL_CHECK(allocations > 0, "%s: no allocation seen; the wrap is not in effect", sc->name);
  /* The sequence may allocate more on a failed path (the retry), so count
   * up to the unfailed run's allocations: each is failed once. */
  for (long f = 0; f < allocations; f++) {
    long seen = 0;
    const uint64_t got = fl_run(sc, f, &seen, &fired);
    FL_CHECK(fired, "%s: allocation %ld of %ld never happened", sc->name, f, allocations);
    FL_CHECK(got == want, "%s: allocation %ld of %ld failed: final state differs from the unfailed run",
             sc->name, f, allocations);
  }
  printf("%-26s %3ld allocations, each failed in turn\n", sc->name, allocations);
}

/* ------------------------------------------------------------ scenarios */

static void *fl_zalloc(size_t bytes) {
  void *p = __real_calloc(1, bytes);
  if (p == NULL) {
    fprintf(stderr, "test set-up out of memory\n");
    exit(2);
  }
  return p;
}

/* CrossEntropy parity: more rows than the on-stack block records. */
enum { CE_N = 300, CE_M = 20000 };
typedef struct { float *y, *p, *grad; double loss; } fl_ce_ctx;
static void *fl_ce_setup(void) {
  fl_ce_ctx *c = fl_zalloc(sizeof *c);
  c->y = fl_zalloc(sizeof(float) * CE_N * CE_M);
  c->p = fl_zalloc(sizeof(float) * CE_N * CE_M);
  c->grad = fl_zalloc(sizeof(float) * CE_N * CE_M);
  for (size_t i = 0; i < CE_N; i++) {
    c->y[i * CE_M + (i * 7919) % CE_M] = 1.0f;
    for (size_t j = 0; j < CE_M; j++) c->p[i * CE_M + j] = 1.0f / CE_M;
  }
  c->loss = -1.0;
  return c;
}
static fastloss_status fl_ce_step(void *ctx, size_t i) {
  fl_ce_ctx *c = ctx;
  if (i == 0) return fastloss_crossentropy_loss_f32(CE_N, CE_M, c->y, c->p, &c->loss);
  return fastloss_crossentropy_grad_f32(CE_N, CE_M, c->y, c->p, c->grad);
}
static uint64_t fl_ce_digest(void *ctx) {
  fl_ce_ctx *c = ctx;
  uint64_t h = fl_hash(1469598103934665603ull, &c->loss, sizeof c->loss);
  return fl_hash(h, c->grad, sizeof(float) * CE_N * CE_M);
}
static void fl_ce_teardown(void *ctx) {
  fl_ce_ctx *c = ctx;
  free(c->y);
  free(c->p);
  free(c->grad);
  free(c);
}

/* DiscreteSampler: create (probabilities and unigram), draws without
 * replacement of most classes (the id set and the sum-tree), with
 * replacement from a caller's stream. */
enum { SA_N = 700, SA_K = 600 };
typedef struct {
  double w[SA_N];
  uint64_t counts[SA_N];
  fastloss_sampler *plain, *unigram;
  int32_t out[SA_K];
  fastloss_rng rng;
} fl_sa_ctx;
static void *fl_sa_setup(void) {
  fl_sa_ctx *c = fl_zalloc(sizeof *c);
  for (size_t i = 0; i < SA_N; i++) {
    c->w[i] = 1.0 + (double)(i % 13);
    c->counts[i] = 1 + (i * 31) % 97;
  }
  fastloss_rng_init(&c->rng, 5, 9);
  return c;
}
static fastloss_status fl_sa_step(void *ctx, size_t i) {
  fl_sa_ctx *c = ctx;
  switch (i) {
    case 0: return fastloss_sampler_create(&c->plain, c->w, SA_N, 0, 0, 42);
    case 1: return fastloss_sampler_create_unigram(&c->unigram, c->counts, SA_N, 0.75, 43);
    case 2: return fastloss_sampler_sample(c->plain, SA_K, c->out);
    case 3: return fastloss_sampler_sample(c->plain, 300, c->out);
    default: return fastloss_sampler_sample_rng(c->unigram, &c->rng, SA_K, c->out);
  }
}
static uint64_t fl_sa_digest(void *ctx) {
  fl_sa_ctx *c = ctx;
  uint64_t h = fl_hash(1469598103934665603ull, c->out, sizeof c->out);
  h = fl_hash(h, &c->rng, sizeof c->rng);
  /* The handles: written only on success (NULL before). */
  const int handles = (c->plain != NULL) + 2 * (c->unigram != NULL);
  h = fl_hash(h, &handles, sizeof handles);
  if (c->plain != NULL) {
    double p = 0.0;
    fastloss_sampler_prob(c->plain, 3, &p);
    h = fl_hash(h, &p, sizeof p);
  }
  return h;
}
static void fl_sa_teardown(void *ctx) {
  fl_sa_ctx *c = ctx;
  fastloss_sampler_destroy(c->plain);
  fastloss_sampler_destroy(c->unigram);
  free(c);
}

/* NCELoss: create, loss calls retained for grad, grad with an update (the
 * optimizer's state is allocated then), f32 Adam dense and f64 lazy SGD
 * with momentum. */
enum { NC_V = 50, NC_D = 8, NC_N = 6, NC_C = 2, NC_K = 4 };
typedef struct {
  fastloss_dtype dtype;
  fastloss_optimizer_kind kind;
  int lazy;
  fastloss_sampler *noise;
  fastloss_nce *nce;
  double X[NC_N * NC_C * NC_D];
  float X32[NC_N * NC_C * NC_D];
  int32_t target[NC_N];
  double loss;
  double dX[2 * NC_N * NC_C * NC_D];
} fl_nc_ctx;
static void fl_nc_init(fl_nc_ctx *c) {
  double w[NC_V];
  for (size_t i = 0; i < NC_V; i++) w[i] = 1.0 + (double)(i % 5);
  if (fastloss_sampler_create(&c->noise, w, NC_V, 0, 1, 7) != FASTLOSS_OK) exit(2);
  for (size_t i = 0; i < NC_N * NC_C * NC_D; i++) {
    c->X[i] = sin(0.37 * (double)i);
    c->X32[i] = (float)c->X[i];
  }
  for (size_t i = 0; i < NC_N; i++) c->target[i] = (int32_t)((i * 11) % NC_V);
}
static void *fl_nc_setup_f32(void) {
  fl_nc_ctx *c = fl_zalloc(sizeof *c);
  c->dtype = FASTLOSS_F32;
  c->kind = FASTLOSS_OPT_ADAM;
  fl_nc_init(c);
  return c;
}
static void *fl_nc_setup_f64(void) {
  fl_nc_ctx *c = fl_zalloc(sizeof *c);
  c->dtype = FASTLOSS_F64;
  c->kind = FASTLOSS_OPT_SGD;
  c->lazy = 1;
  fl_nc_init(c);
  return c;
}
static fastloss_status fl_nc_step(void *ctx, size_t i) {
  fl_nc_ctx *c = ctx;
  const int f32 = c->dtype == FASTLOSS_F32;
  switch (i) {
    case 0: {
      fastloss_nce_config cfg = {.dtype = c->dtype, .n_classes = NC_V, .n_in = NC_D,
                                 .num_negative_samples = NC_K, .sampler = c->noise,
                                 .optimizer = {.kind = c->kind, .momentum = 0.5, .lazy = c->lazy},
                                 .seed = 11};
      return fastloss_nce_create(&c->nce, &cfg);
    }
    case 1:
    case 2: /* two retained calls, drawn negatives */
      return f32 ? fastloss_nce_loss_f32(c->nce, NC_N, NC_C, NC_D, c->X32, c->target, NULL, 1,
                                         &c->loss, NULL)
                 : fastloss_nce_loss_f64(c->nce, NC_N, NC_C, NC_D, c->X, c->target, NULL, 1,
                                         &c->loss, NULL);
    case 3:
      return f32 ? fastloss_nce_grad_f32(c->nce, 1, 1, (float *)c->dX)
                 : fastloss_nce_grad_f64(c->nce, 1, 1, c->dX);
    case 4: /* a second update: the optimizer's state is in use */
      return f32 ? fastloss_nce_loss_f32(c->nce, NC_N, NC_C, NC_D, c->X32, c->target, NULL, 1,
                                         &c->loss, NULL)
                 : fastloss_nce_loss_f64(c->nce, NC_N, NC_C, NC_D, c->X, c->target, NULL, 1,
                                         &c->loss, NULL);
    case 5:
      return f32 ? fastloss_nce_grad_f32(c->nce, 1, 1, (float *)c->dX)
                 : fastloss_nce_grad_f64(c->nce, 1, 1, c->dX);
    case 6: { /* the caller writes a gradient into a row no call touched */
      void *dW, *db;
      fastloss_nce_params(c->nce, NULL, NULL, &dW, &db);
      const size_t row = NC_V - 1; /* no target; dW is flushed after step 5 */
      for (size_t j = 0; j < NC_D; j++) {
        if (f32) ((float *)dW)[row * NC_D + j] = 0.25f * (float)(j + 1);
        else ((double *)dW)[row * NC_D + j] = 0.25 * (double)(j + 1);
      }
      if (f32) ((float *)db)[row] = -0.5f;
      else ((double *)db)[row] = -0.5;
      return FASTLOSS_OK;
    }
    case 7: /* marks every row touched: grows the touched list to n_classes */
      return fastloss_nce_gradients_written(c->nce);
    default: /* the written row moves only if step 7 marked it */
      return fastloss_nce_update(c->nce);
  }
}
static uint64_t fl_nc_digest(void *ctx) {
  fl_nc_ctx *c = ctx;
  uint64_t h = fl_hash(1469598103934665603ull, &c->loss, sizeof c->loss);
  h = fl_hash(h, c->dX, sizeof c->dX);
  const int have = c->nce != NULL;
  h = fl_hash(h, &have, sizeof have);
  if (c->nce != NULL) {
    void *W, *b, *dW, *db;
    fastloss_nce_params(c->nce, &W, &b, &dW, &db);
    const size_t e = c->dtype == FASTLOSS_F32 ? sizeof(float) : sizeof(double);
    h = fl_hash(h, W, NC_V * NC_D * e);
    h = fl_hash(h, b, NC_V * e);
    h = fl_hash(h, dW, NC_V * NC_D * e);
    h = fl_hash(h, db, NC_V * e);
    size_t calls = 0, elems = 0;
    fastloss_nce_pending(c->nce, &calls, &elems);
    h = fl_hash(h, &calls, sizeof calls);
  }
  return h;
}
static void fl_nc_teardown(void *ctx) {
  fl_nc_ctx *c = ctx;
  fastloss_nce_destroy(c->nce);
  fastloss_sampler_destroy(c->noise);
  free(c);
}

/* Skip-gram and CBOW steps drawing their own negatives (scratch, per-thread
 * losses and the drawn ids are allocated), deterministic so that the run
 * is reproducible. */
/* NS_D 32: NS_P pairs of k + 1 logits are enough work for the library to
 * use 2 threads (fl_pr_step needs them). */
enum { NS_V = 64, NS_D = 32, NS_P = 40, NS_K = 5 };
typedef struct {
  fastloss_sampler *noise;
  float in[NS_V * NS_D], out[NS_V * NS_D];
  int32_t inputs[NS_P], targets[NS_P];
  size_t offsets[NS_P + 1];
  double loss;
} fl_ns_ctx;
static void *fl_ns_setup(void) {
  fl_ns_ctx *c = fl_zalloc(sizeof *c);
  uint64_t counts[NS_V];
  for (size_t i = 0; i < NS_V; i++) counts[i] = 1 + (i * 17) % 29;
  if (fastloss_sampler_create_unigram(&c->noise, counts, NS_V, 0.75, 3) != FASTLOSS_OK) exit(2);
  for (size_t i = 0; i < NS_V * NS_D; i++) {
    c->in[i] = 0.1f * (float)sin(0.5 * (double)i);
    c->out[i] = 0.1f * (float)cos(0.3 * (double)i);
  }
  for (size_t i = 0; i < NS_P; i++) {
    c->inputs[i] = (int32_t)((i * 7) % NS_V);
    c->targets[i] = (int32_t)((i * 13 + 1) % NS_V);
  }
  for (size_t e = 0; e <= NS_P; e++) c->offsets[e] = e;
  return c;
}
static fastloss_status fl_ns_step(void *ctx, size_t i) {
  fl_ns_ctx *c = ctx;
  const fastloss_sgns_params params = {.deterministic = 1, .noise = c->noise, .seed = 21,
                                       .stream = 100 * i};
  if (i % 2 == 0) {
    const fastloss_sgns_batch batch = {.n_pairs = NS_P, .inputs = c->inputs, .targets = c->targets,
                                       .k = NS_K};
    return fastloss_sgns_step_f32(NS_V, NS_D, c->in, c->out, &batch, 0.05f, &params, &c->loss);
  }
  const fastloss_cbow_batch batch = {.n_examples = NS_P, .targets = c->targets,
                                     .context_offsets = c->offsets, .n_contexts = NS_P,
                                     .contexts = c->inputs, .k = NS_K};
  return fastloss_cbow_step_f32(NS_V, NS_D, c->in, c->out, &batch, 0.05f, &params, &c->loss);
}
static uint64_t fl_ns_digest(void *ctx) {
  fl_ns_ctx *c = ctx;
  uint64_t h = fl_hash(1469598103934665603ull, &c->loss, sizeof c->loss);
  h = fl_hash(h, c->in, sizeof c->in);
  return fl_hash(h, c->out, sizeof c->out);
}
static void fl_ns_teardown(void *ctx) {
  fl_ns_ctx *c = ctx;
  fastloss_sampler_destroy(c->noise);
  free(c);
}

/* Skip-gram Hogwild on 2 threads (the test runs with OMP_NUM_THREADS=2; the
 * batch is above the library's threshold for threads) with every row
 * private (fastloss_sgns_params.private_rows): the copies are allocated
 * too, and with no row shared the result is reproducible. */
static fastloss_status fl_pr_step(void *ctx, size_t i) {
  fl_ns_ctx *c = ctx;
  const fastloss_sgns_params params = {.noise = c->noise, .seed = 8, .stream = 1000 * i,
                                       .private_rows = NS_V};
  const fastloss_sgns_batch batch = {.n_pairs = NS_P, .inputs = c->inputs, .targets = c->targets,
                                     .k = NS_K};
  return fastloss_sgns_step_f32(NS_V, NS_D, c->in, c->out, &batch, 0.05f, &params, &c->loss);
}

/* The negative-sampling loss without an update (scratch and per-pair
 * losses are allocated). */
typedef struct {
  fl_ns_ctx ns;
  int32_t negatives[NS_P * NS_K];
  float grad_in[NS_P * NS_D], grad_out[NS_P * (NS_K + 1) * NS_D];
} fl_nl_ctx;
static void *fl_nl_setup(void) {
  fl_nl_ctx *c = fl_zalloc(sizeof *c);
  fl_ns_ctx *ns = fl_ns_setup();
  c->ns = *ns;
  free(ns);
  for (size_t i = 0; i < NS_P * NS_K; i++) c->negatives[i] = (int32_t)((i * 5 + 3) % NS_V);
  return c;
}
static fastloss_status fl_nl_step(void *ctx, size_t i) {
  fl_nl_ctx *c = ctx;
  const fastloss_nsloss_params params = {.reduction = i == 0 ? FASTLOSS_REDUCTION_SUM
                                                             : FASTLOSS_REDUCTION_MEAN};
  return fastloss_nsloss_f32(NS_V, NS_D, c->ns.in, c->ns.out, NS_P, c->ns.inputs, c->ns.targets, NS_K,
                             c->negatives, &params, NULL, &c->ns.loss, c->grad_in, c->grad_out);
}
static uint64_t fl_nl_digest(void *ctx) {
  fl_nl_ctx *c = ctx;
  uint64_t h = fl_hash(1469598103934665603ull, &c->ns.loss, sizeof c->ns.loss);
  h = fl_hash(h, c->grad_in, sizeof c->grad_in);
  return fl_hash(h, c->grad_out, sizeof c->grad_out);
}
static void fl_nl_teardown(void *ctx) {
  fl_nl_ctx *c = ctx;
  fastloss_sampler_destroy(c->ns.noise);
  free(c);
}

/* ----------------------------------------- the allocation-free calls */

static void fl_no_allocations(void) {
  enum { N = 33, M = 70, T = 9 };
  static float z[N * M], g[N * M], t[N * M], row[N], row2[N], y[N * M], p[N * M], mu[N * T], lv[N * T];
  static float gp[N * M], gmu[N * T], glv[N * T];
  static double z64[N * M], g64[N * M];
  static int32_t labels[N];
  static float w[M];
  for (size_t i = 0; i < N * M; i++) {
    z[i] = (float)sin((double)i);
    z64[i] = sin((double)i);
    t[i] = 1.0f / M;
    y[i] = (float)(i % 2);
    p[i] = 0.25f + 0.5f * (float)((i % 7) / 7.0);
  }
  for (size_t i = 0; i < N * T; i++) {
    mu[i] = 0.1f * (float)i;
    lv[i] = -0.01f * (float)i;
  }
  for (size_t i = 0; i < N; i++) labels[i] = (int32_t)(i % M);
  for (size_t j = 0; j < M; j++) w[j] = 1.0f + (float)j;
  double loss = 0.0;
  const fastloss_xent_params xp = {.reduction = FASTLOSS_REDUCTION_MEAN, .label_smoothing = 0.1,
                                   .weight_f32 = w};
  const fastloss_activation act = {.kind = FASTLOSS_ACT_GELU};
  fl_calls = 0;
  fl_fail_at = -1;
  __atomic_store_n(&fl_armed, 1, __ATOMIC_SEQ_CST);
  int ok = 1;
  ok &= fastloss_xent_f32(N, M, z, M, labels, &xp, row, &loss, g, M) == FASTLOSS_OK;
  ok &= fastloss_xent_f64(N, M, z64, M, labels, NULL, NULL, &loss, g64, M) == FASTLOSS_OK;
  ok &= fastloss_xent_soft_f32(N, M, z, M, t, M, NULL, row, &loss, g, M) == FASTLOSS_OK;
  ok &= fastloss_vae_f32(N, M, T, y, M, p, M, mu, lv, T, NULL, row, row2, &loss, gp, glv, gmu) ==
        FASTLOSS_OK;
  ok &= fastloss_activation_grad_f32(&act, N * M, z, g) == FASTLOSS_OK;
  ok &= fastloss_sqerr_grad_f32(N, M, y, p, z, &act, g) == FASTLOSS_OK;
  ok &= fastloss_wgangp_loss_f32(FASTLOSS_WGANGP_CRITIC, N, M, p, y, z, NULL, &loss) == FASTLOSS_OK;
  __atomic_store_n(&fl_armed, 0, __ATOMIC_SEQ_CST);
  FL_CHECK(ok, "an allocation-free call failed: %s", fastloss_last_error());
  FL_CHECK(fl_calls == 0, "the allocation-free calls made %ld allocations", fl_calls);
  printf("%-26s %3ld allocations (none allowed)\n", "xent/vae/sqerr/wgangp", fl_calls);
}

int main(int argc, char **argv) {
  (void)argc;
  (void)argv;
  /* Make sure the wrap is linked in: a direct call from here is counted. */
  fl_calls = 0;
  fl_armed = 1;
  void *(*volatile allocate)(size_t) = malloc; /* not elided by the compiler */
  void *probe = allocate(16);
  fl_armed = 0;
  FL_CHECK(fl_calls == 1, "malloc is not wrapped (-Wl,--wrap=malloc missing)");
  free(probe);

  const fl_scenario scenarios[] = {
      {"crossentropy f32", 2, fl_ce_setup, fl_ce_step, fl_ce_digest, fl_ce_teardown},
      {"sampler", 5, fl_sa_setup, fl_sa_step, fl_sa_digest, fl_sa_teardown},
      {"nce f32 adam", 9, fl_nc_setup_f32, fl_nc_step, fl_nc_digest, fl_nc_teardown},
      {"nce f64 lazy sgd momentum", 9, fl_nc_setup_f64, fl_nc_step, fl_nc_digest, fl_nc_teardown},
      {"sgns + cbow, drawn", 4, fl_ns_setup, fl_ns_step, fl_ns_digest, fl_ns_teardown},
      {"sgns private rows, Hogwild", 3, fl_ns_setup, fl_pr_step, fl_ns_digest, fl_ns_teardown},
      {"nsloss f32", 2, fl_nl_setup, fl_nl_step, fl_nl_digest, fl_nl_teardown},
  };
  for (size_t s = 0; s < sizeof scenarios / sizeof scenarios[0]; s++) fl_scenario_check(&scenarios[s]);
  fl_no_allocations();
  printf("%s: %d failure(s)\n", fl_failures ? "FAIL" : "PASS", fl_failures);
  return fl_failures ? 1 : 0;
}
