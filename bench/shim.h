/* A plain C interface over Google Benchmark, so that the benchmarks can be
 * written in C like the library they measure.
 *
 * Usage: register functions with flb_register() (and configure them with the
 * flb_benchmark_* calls), then call flb_run() from main().  A registered
 * function runs its timed loop as
 *
 *   while (flb_keep_running(state)) { ... }
 *
 * and reports work with flb_set_items_processed() and friends.  The shim
 * starts no threads of its own: Google Benchmark's Threads() setting (copies
 * of the function running concurrently) is only used when asked for with
 * flb_benchmark_threads(); OpenMP threads inside the measured code are the
 * measured code's business, and flb_benchmark_use_real_time() makes their
 * work count (CPU time would count the calling thread only). */
#ifndef FASTLOSS_BENCH_SHIM_H
#define FASTLOSS_BENCH_SHIM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct flb_state flb_state;         /* a benchmark::State */
typedef struct flb_benchmark flb_benchmark; /* a registered benchmark */
typedef void (*flb_function)(flb_state *state, void *context);

/* Registers `function` under `name` (copied); `context` is passed back on
 * every call and must outlive flb_run().  Returns a handle to configure it. */
flb_benchmark *flb_register(const char *name, flb_function function, void *context);

/* One more set of arguments (readable with flb_range()); the benchmark runs
 * once per set.  count <= 16. */
void flb_benchmark_args(flb_benchmark *benchmark, const int64_t *args, size_t count);
/* Runs `threads` copies of the function concurrently (Google Benchmark's
 * Threads()); each copy sees its own flb_thread_index(). */
void flb_benchmark_threads(flb_benchmark *benchmark, int threads);
/* Times with the wall clock (needed when the code runs its own threads). */
void flb_benchmark_use_real_time(flb_benchmark *benchmark);
/* Overrides --benchmark_min_time / --benchmark_min_warmup_time (seconds). */
void flb_benchmark_min_time(flb_benchmark *benchmark, double seconds);
void flb_benchmark_min_warmup_time(flb_benchmark *benchmark, double seconds);

/* Inside a benchmark function. */
int flb_keep_running(flb_state *state);
int64_t flb_range(const flb_state *state, size_t position);
int64_t flb_iterations(const flb_state *state);
int flb_thread_index(const flb_state *state);
int flb_threads(const flb_state *state);
void flb_set_items_processed(flb_state *state, int64_t items);
void flb_set_bytes_processed(flb_state *state, int64_t bytes);
void flb_set_label(flb_state *state, const char *label);
void flb_skip_with_error(flb_state *state, const char *message);
void flb_pause_timing(flb_state *state);
void flb_resume_timing(flb_state *state);

/* Bits of flb_set_counter()'s flags (Google Benchmark's Counter::Flags). */
#define FLB_COUNTER_RATE 1u                /* divide by the measured time */
#define FLB_COUNTER_AVG_THREADS 2u         /* divide by the number of threads */
#define FLB_COUNTER_ITERATION_INVARIANT 4u /* multiply by the iterations */
#define FLB_COUNTER_AVG_ITERATIONS 8u      /* divide by the iterations */
#define FLB_COUNTER_INVERT 16u             /* report 1 / value */
void flb_set_counter(flb_state *state, const char *name, double value, unsigned flags);

/* A key-value pair for the "context" block of the report. */
void flb_add_context(const char *key, const char *value);

/* Initialises Google Benchmark from argv (removing the --benchmark_* flags it
 * knows), rejects any other flag, and runs the benchmarks the flags select.
 * Returns 0, or 1 on an unrecognised argument. */
int flb_run(int *argc, char **argv);

/* Keeps the compiler from discarding the computation of *pointer, or from
 * caching memory across the call. */
#if defined(__GNUC__)
static inline void flb_do_not_optimize(const void *pointer) {
  __asm__ __volatile__("" : : "r"(pointer) : "memory");
}
static inline void flb_clobber_memory(void) { __asm__ __volatile__("" : : : "memory"); }
#else
void flb_do_not_optimize(const void *pointer);
void flb_clobber_memory(void);
#endif

#ifdef __cplusplus
}
#endif

#endif
