/* Benchmarks of the fused softmax cross-entropy (fastloss_xent_f32/_f64),
 * for every ISA the host runs, at 1 and 2 OpenMP threads, next to the memory
 * traffic the operation cannot avoid, measured in the same run:
 *
 *   <type>_xent_fwdbwd/<isa>/<n>x<m>/omp:<t>  loss and gradient: reads n*m
 *                                             logits, writes n*m gradients
 *   <type>_xent_fwd/<isa>/<n>x<m>/omp:<t>     loss only: reads n*m logits
 *   <type>_copy/<n>x<m>/omp:<t>               memcpy of n*m elements (logits to
 *                                             the gradient buffer): the same
 *                                             bytes read and written as fwdbwd
 *   <type>_read/<n>x<m>/omp:<t>               sum of the n*m logits with 64
 *                                             independent lanes: the same bytes
 *                                             read as fwd, with as little
 *                                             arithmetic per byte as we can
 *
 * Every benchmark reports items = n*m logits (so the bounds are in the same
 * unit as the kernels) and bytes = the compulsory traffic above.  Times are
 * wall-clock (the library runs its own OpenMP threads).  The copy and read
 * bounds run on the same number of threads, each thread taking a contiguous
 * share.  glibc's memcpy switches to non-temporal stores only for copies
 * larger than a share of the last-level cache as the CPU reports it; on the
 * development VM (which reports a 256 MiB L3) the 32 MB copies of the large
 * shapes stay below that, so memcpy pays the read-for-ownership of its
 * destination just as the kernels' ordinary stores do (measured there: a
 * loop of non-temporal stores copied 256 x 32000 floats 1.6x faster than
 * memcpy, which ran at the speed of an ordinary-store loop).  The copy bound
 * is then the traffic of the kernel's own stores, not the least possible.
 *
 * Inputs: logits ~ N(0, 3^2) and labels uniform in [0, m), fixed seeds,
 * generated once per shape outside the timed loops and shared by every
 * benchmark of that shape.  Each benchmark makes one untimed call first
 * (page faults, caches, the OpenMP thread pool).
 *
 * `fastloss-bench --fastloss_info` prints the CPU features, the ISAs this
 * host and build run, and the one AUTO selects; the same facts go into the
 * "context" block of the JSON report. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "bench.h"
#include "fastloss.h"
#include "internal.h"
#include "shim.h"

/* ------------------------------------------------------------ inputs */

typedef struct bench_shape {
  size_t n, m;
} bench_shape;

static const bench_shape bench_f32_shapes[] = {
    {256, 1000}, {256, 32000}, {4096, 1000}, {64, 128000}, {4096, 10},
};
static const bench_shape bench_f64_shape = {256, 32000};

/* The inputs of the shape benchmarked last: one shape at a time lives in
 * memory, and benchmarks are registered grouped by shape. */
typedef struct bench_data {
  size_t n, m, element;
  void *logits;
  void *grad; /* also the destination of the copy bound */
  int32_t *labels;
} bench_data;

static bench_data bench_fixture;

/* splitmix64: small, fast, and good enough for benchmark inputs. */
static uint64_t bench_random(uint64_t *state) {
  uint64_t z = (*state += 0x9E3779B97F4A7C15u);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
  return z ^ (z >> 31);
}

/* Uniform in (0, 1]. */
static double bench_uniform(uint64_t *state) {
  return (double)((bench_random(state) >> 11) + 1) * 0x1.0p-53;
}

static void *bench_alloc(size_t bytes) {
  const size_t rounded = (bytes + 63) / 64 * 64;
  return aligned_alloc(64, rounded > 0 ? rounded : 64);
}

static void bench_free_fixture(void) {
  free(bench_fixture.logits);
  free(bench_fixture.grad);
  free(bench_fixture.labels);
  memset(&bench_fixture, 0, sizeof bench_fixture);
}

/* The inputs for (n, m, element), generated if the last ones differ.
 * Returns NULL when out of memory. */
static const bench_data *bench_inputs(size_t n, size_t m, size_t element) {
  if (bench_fixture.logits != NULL && bench_fixture.n == n && bench_fixture.m == m &&
      bench_fixture.element == element)
    return &bench_fixture;
  bench_free_fixture();
  const size_t count = n * m;
  bench_fixture.logits = bench_alloc(count * element);
  bench_fixture.grad = bench_alloc(count * element);
  bench_fixture.labels = bench_alloc(n * sizeof(int32_t));
  if (bench_fixture.logits == NULL || bench_fixture.grad == NULL || bench_fixture.labels == NULL) {
    bench_free_fixture();
    return NULL;
  }
  uint64_t state = 0x5EED0000u + (uint64_t)n * 1000003u + (uint64_t)m;
  const double two_pi = 6.283185307179586;
  for (size_t i = 0; i < count; i += 2) {
    /* Box-Muller: two normals per pair of uniforms. */
    const double radius = 3.0 * sqrt(-2.0 * log(bench_uniform(&state)));
    const double angle = two_pi * bench_uniform(&state);
    const double z[2] = {radius * cos(angle), radius * sin(angle)};
    for (size_t k = 0; k < 2 && i + k < count; k++) {
      if (element == sizeof(float))
        ((float *)bench_fixture.logits)[i + k] = (float)z[k];
      else
        ((double *)bench_fixture.logits)[i + k] = z[k];
    }
  }
  for (size_t i = 0; i < n; i++)
    bench_fixture.labels[i] = (int32_t)(bench_uniform(&state) * (double)m) % (int32_t)m;
  memset(bench_fixture.grad, 0, count * element);
  bench_fixture.n = n;
  bench_fixture.m = m;
  bench_fixture.element = element;
  return &bench_fixture;
}

/* ------------------------------------------------------------ bounds */

/* Start of share k of `parts` of total bytes, in whole cache lines. */
#ifdef _OPENMP
static size_t bench_share(size_t total, size_t parts, size_t k) {
  const size_t share = (total / parts + 63) / 64 * 64;
  return k * share < total ? k * share : total;
}
#endif

static void bench_copy(void *destination, const void *source, size_t bytes, int threads) {
#ifdef _OPENMP
  if (threads > 1) {
#pragma omp parallel num_threads(threads)
    {
      const size_t parts = (size_t)omp_get_num_threads();
      const size_t k = (size_t)omp_get_thread_num();
      const size_t begin = bench_share(bytes, parts, k);
      const size_t end = bench_share(bytes, parts, k + 1);
      memcpy((char *)destination + begin, (const char *)source + begin, end - begin);
    }
    return;
  }
#else
  (void)threads;
#endif
  memcpy(destination, source, bytes);
}

/* Sum of x[0..count) in 64 independent lanes, so that the adds never wait on
 * each other and the loads set the pace.  On x86-64 an AVX2 clone is picked
 * at load time where the CPU has it; elsewhere the compiler vectorises the
 * lane loop for the baseline. */
#if defined(__GNUC__) && defined(__x86_64__)
#define BENCH_SIMD_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define BENCH_SIMD_CLONES
#endif
BENCH_SIMD_CLONES static float bench_sum_lanes(const float *x, size_t count) {
  float lanes[64] = {0};
  size_t i = 0;
  for (; i + 64 <= count; i += 64)
    for (size_t k = 0; k < 64; k++) lanes[k] += x[i + k];
  for (; i < count; i++) lanes[i % 64] += x[i];
  float sum = 0.0f;
  for (size_t k = 0; k < 64; k++) sum += lanes[k];
  return sum;
}

static float bench_read(const float *x, size_t count, int threads) {
#ifdef _OPENMP
  if (threads > 1) {
    float sum = 0.0f;
#pragma omp parallel num_threads(threads) reduction(+ : sum)
    {
      const size_t parts = (size_t)omp_get_num_threads();
      const size_t k = (size_t)omp_get_thread_num();
      const size_t bytes = count * sizeof(float);
      const size_t begin = bench_share(bytes, parts, k) / sizeof(float);
      const size_t end = bench_share(bytes, parts, k + 1) / sizeof(float);
      sum += bench_sum_lanes(x + begin, end - begin);
    }
    return sum;
  }
#else
  (void)threads;
#endif
  return bench_sum_lanes(x, count);
}

/* ------------------------------------------------------------ benchmarks */

typedef enum bench_op {
  BENCH_XENT_FORWARD_BACKWARD,
  BENCH_XENT_FORWARD,
  BENCH_COPY,
  BENCH_READ,
  BENCH_EXP /* the ISA's vexpscale kernel alone on one L1-resident row */
} bench_op;

typedef struct bench_case {
  bench_op op;
  size_t element; /* sizeof(float) or sizeof(double) */
  fastloss_isa isa;
  size_t n, m;
  int threads;
} bench_case;

#define BENCH_MAX_CASES 256
static bench_case bench_cases[BENCH_MAX_CASES];
static size_t bench_case_count;

/* One execution of the measured operation; FASTLOSS_OK or the call's status. */
static fastloss_status bench_once(const bench_case *c, const bench_data *d) {
  double loss = 0.0;
  fastloss_status status = FASTLOSS_OK;
  const int f32 = c->element == sizeof(float);
  switch (c->op) {
    case BENCH_XENT_FORWARD_BACKWARD:
      status = f32 ? fastloss_xent_f32(c->n, c->m, d->logits, c->m, d->labels, NULL, NULL, &loss,
                                       d->grad, c->m)
                   : fastloss_xent_f64(c->n, c->m, d->logits, c->m, d->labels, NULL, NULL, &loss,
                                       d->grad, c->m);
      break;
    case BENCH_XENT_FORWARD:
      status = f32 ? fastloss_xent_f32(c->n, c->m, d->logits, c->m, d->labels, NULL, NULL, &loss,
                                       NULL, c->m)
                   : fastloss_xent_f64(c->n, c->m, d->logits, c->m, d->labels, NULL, NULL, &loss,
                                       NULL, c->m);
      break;
    case BENCH_EXP:
      /* 20 is above every N(0, 3) input here, so the arguments are <= 0 as
       * in the real kernels; the exp's cost does not depend on the value. */
      fl_kernels()->f32_xent->xent_vexpscale(c->m, d->logits, 20.0f, 1.0f, d->grad);
      break;
    case BENCH_COPY: bench_copy(d->grad, d->logits, c->n * c->m * c->element, c->threads); break;
    case BENCH_READ: {
      const float sum = bench_read(d->logits, c->n * c->m, c->threads);
      flb_do_not_optimize(&sum);
      break;
    }
  }
  flb_do_not_optimize(&loss);
  flb_clobber_memory();
  return status;
}

static void bench_run(flb_state *state, void *context) {
  const bench_case *c = context;
  const bench_data *d = bench_inputs(c->n, c->m, c->element);
  if (d == NULL) {
    flb_skip_with_error(state, "out of memory for the inputs");
    return;
  }
  if (c->op == BENCH_XENT_FORWARD_BACKWARD || c->op == BENCH_XENT_FORWARD || c->op == BENCH_EXP) {
    if (fastloss_set_isa(c->isa) != FASTLOSS_OK ||
        fastloss_set_num_threads(c->threads) != FASTLOSS_OK) {
      flb_skip_with_error(state, fastloss_last_error());
      return;
    }
  }
  fastloss_status status = bench_once(c, d); /* warm-up, untimed */
  if (status != FASTLOSS_OK) {
    flb_skip_with_error(state, fastloss_last_error());
    return;
  }
  int failed = 0;
  while (flb_keep_running(state)) failed |= bench_once(c, d) != FASTLOSS_OK;
  if (failed) {
    flb_skip_with_error(state, "a timed call failed");
    return;
  }
  const int64_t iterations = flb_iterations(state);
  const int64_t count = (int64_t)(c->n * c->m);
  const int writes = c->op == BENCH_XENT_FORWARD_BACKWARD || c->op == BENCH_COPY || c->op == BENCH_EXP;
  flb_set_items_processed(state, iterations * count);
  flb_set_bytes_processed(state, iterations * count * (int64_t)c->element * (writes ? 2 : 1));
}

static void bench_add(bench_op op, size_t element, fastloss_isa isa, bench_shape shape,
                      int threads) {
  if (bench_case_count == BENCH_MAX_CASES) {
    fprintf(stderr, "fastloss-bench: more than %d benchmarks; raise BENCH_MAX_CASES\n",
            BENCH_MAX_CASES);
    exit(1);
  }
  bench_case *c = &bench_cases[bench_case_count++];
  c->op = op;
  c->element = element;
  c->isa = isa;
  c->n = shape.n;
  c->m = shape.m;
  c->threads = threads;

  const char *type = element == sizeof(float) ? "f32" : "f64";
  char name[128];
  switch (op) {
    case BENCH_XENT_FORWARD_BACKWARD:
    case BENCH_XENT_FORWARD:
      snprintf(name, sizeof name, "%s_xent_%s/%s/%zux%zu/omp:%d", type,
               op == BENCH_XENT_FORWARD ? "fwd" : "fwdbwd", fastloss_isa_name(isa), shape.n,
               shape.m, threads);
      break;
    case BENCH_EXP:
      snprintf(name, sizeof name, "%s_xent_exp/%s/%zux%zu/omp:%d", type, fastloss_isa_name(isa),
               shape.n, shape.m, threads);
      break;
    case BENCH_COPY:
    case BENCH_READ:
      snprintf(name, sizeof name, "%s_%s/%zux%zu/omp:%d", type, op == BENCH_COPY ? "copy" : "read",
               shape.n, shape.m, threads);
      break;
  }
  flb_benchmark *benchmark = flb_register(name, bench_run, c);
  flb_benchmark_use_real_time(benchmark);
}

/* ------------------------------------------------------------ host facts */

static const fastloss_isa bench_all_isas[] = {FASTLOSS_ISA_SCALAR, FASTLOSS_ISA_AVX2,
                                              FASTLOSS_ISA_AVX512, FASTLOSS_ISA_NEON};
#define BENCH_ISA_COUNT (sizeof bench_all_isas / sizeof bench_all_isas[0])

typedef struct bench_host {
  fastloss_isa isas[BENCH_ISA_COUNT]; /* those this host and build run */
  size_t isa_count;
  fastloss_isa selected; /* what AUTO picks (FASTLOSS_ISA caps it) */
  int max_threads;       /* 2 unless the build has no OpenMP */
  int default_threads;   /* OpenMP's default */
  char features[64];
  char isa_list[64];
} bench_host;

static void bench_append(char *list, size_t size, const char *word) {
  const size_t used = strlen(list);
  snprintf(list + used, size - used, "%s%s", used > 0 ? " " : "", word);
}

static void bench_probe(bench_host *host) {
  memset(host, 0, sizeof *host);
  for (size_t k = 0; k < BENCH_ISA_COUNT; k++) {
    if (fastloss_set_isa(bench_all_isas[k]) != FASTLOSS_OK) continue;
    host->isas[host->isa_count++] = bench_all_isas[k];
    bench_append(host->isa_list, sizeof host->isa_list, fastloss_isa_name(bench_all_isas[k]));
  }
  fastloss_set_isa(FASTLOSS_ISA_AUTO);
  host->selected = fastloss_get_isa();

  const unsigned cpu = fastloss_cpu_features();
  if (cpu & FASTLOSS_CPU_AVX2) bench_append(host->features, sizeof host->features, "avx2");
  if (cpu & FASTLOSS_CPU_AVX512) bench_append(host->features, sizeof host->features, "avx512");
  if (cpu & FASTLOSS_CPU_NEON) bench_append(host->features, sizeof host->features, "neon");
  if (host->features[0] == '\0') bench_append(host->features, sizeof host->features, "none");

  fastloss_set_num_threads(0);
  host->default_threads = fastloss_get_num_threads();
  fastloss_set_num_threads(2);
  host->max_threads = fastloss_get_num_threads();
  fastloss_set_num_threads(0);
}

static void bench_describe(const bench_host *host, int print) {
  char threads[16];
  snprintf(threads, sizeof threads, "%d", host->default_threads);
  const char *pairs[][2] = {
      {"fastloss_version", fastloss_version()},
      {"fastloss_cpu_features", host->features},
      {"fastloss_isas", host->isa_list},
      {"fastloss_isa_auto", fastloss_isa_name(host->selected)},
      {"fastloss_openmp_default_threads", threads},
      {"fastloss_openmp", host->max_threads > 1 ? "yes" : "no"},
  };
  for (size_t k = 0; k < sizeof pairs / sizeof pairs[0]; k++) {
    if (print)
      printf("%s: %s\n", pairs[k][0], pairs[k][1]);
    else
      flb_add_context(pairs[k][0], pairs[k][1]);
  }
}

int main(int argc, char **argv) {
  bench_host host;
  bench_probe(&host);
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--fastloss_info") == 0) {
      bench_describe(&host, 1);
      return 0;
    }
  }
  bench_describe(&host, 0);

  const int thread_counts[] = {1, 2};
  const size_t thread_variants = host.max_threads > 1 ? 2 : 1;
  const size_t f32 = sizeof(float), f64 = sizeof(double);
  for (size_t s = 0; s < sizeof bench_f32_shapes / sizeof bench_f32_shapes[0]; s++) {
    const bench_shape shape = bench_f32_shapes[s];
    for (size_t t = 0; t < thread_variants; t++)
      bench_add(BENCH_COPY, f32, FASTLOSS_ISA_AUTO, shape, thread_counts[t]);
    for (size_t t = 0; t < thread_variants; t++)
      bench_add(BENCH_READ, f32, FASTLOSS_ISA_AUTO, shape, thread_counts[t]);
    for (size_t k = 0; k < host.isa_count; k++) {
      for (size_t t = 0; t < thread_variants; t++)
        bench_add(BENCH_XENT_FORWARD_BACKWARD, f32, host.isas[k], shape, thread_counts[t]);
      for (size_t t = 0; t < thread_variants; t++)
        bench_add(BENCH_XENT_FORWARD, f32, host.isas[k], shape, thread_counts[t]);
    }
  }
  const bench_shape exp_row = {1, 4096};
  for (size_t k = 0; k < host.isa_count; k++) bench_add(BENCH_EXP, f32, host.isas[k], exp_row, 1);
  for (size_t t = 0; t < thread_variants; t++)
    bench_add(BENCH_COPY, f64, FASTLOSS_ISA_AUTO, bench_f64_shape, thread_counts[t]);
  for (size_t k = 0; k < host.isa_count; k++)
    for (size_t t = 0; t < thread_variants; t++)
      bench_add(BENCH_XENT_FORWARD_BACKWARD, f64, host.isas[k], bench_f64_shape, thread_counts[t]);

  bench_nce_register(host.isas, host.isa_count, host.max_threads);
  bench_vae_register(host.isas, host.isa_count, host.max_threads);
  bench_sqerr_register(host.isas, host.isa_count, host.max_threads);
  bench_small_register(host.isas, host.isa_count);

  const int status = flb_run(&argc, argv);
  bench_free_fixture();
  return status;
}
