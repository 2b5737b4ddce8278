// The C interface of shim.h over Google Benchmark (1.7 and later).
//
// flb_state and flb_benchmark are never defined: the C side only holds
// pointers to them, which are really benchmark::State and
// benchmark::internal::Benchmark.  C callbacks must not throw, and nothing
// here does, so no exception crosses into C.
#include "shim.h"

#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

namespace {

benchmark::State &as_state(flb_state *state) {
  return *reinterpret_cast<benchmark::State *>(state);
}

const benchmark::State &as_state(const flb_state *state) {
  return *reinterpret_cast<const benchmark::State *>(state);
}

benchmark::internal::Benchmark *as_benchmark(flb_benchmark *benchmark) {
  return reinterpret_cast<benchmark::internal::Benchmark *>(benchmark);
}

}  // namespace

extern "C" {

flb_benchmark *flb_register(const char *name, flb_function function, void *context) {
  benchmark::internal::Benchmark *registered =
      benchmark::RegisterBenchmark(name, [function, context](benchmark::State &state) {
        function(reinterpret_cast<flb_state *>(&state), context);
      });
  return reinterpret_cast<flb_benchmark *>(registered);
}

void flb_benchmark_args(flb_benchmark *benchmark, const int64_t *args, size_t count) {
  as_benchmark(benchmark)->Args(std::vector<int64_t>(args, args + count));
}

void flb_benchmark_threads(flb_benchmark *benchmark, int threads) {
  as_benchmark(benchmark)->Threads(threads);
}

void flb_benchmark_use_real_time(flb_benchmark *benchmark) {
  as_benchmark(benchmark)->UseRealTime();
}

void flb_benchmark_min_time(flb_benchmark *benchmark, double seconds) {
  as_benchmark(benchmark)->MinTime(seconds);
}

void flb_benchmark_min_warmup_time(flb_benchmark *benchmark, double seconds) {
  as_benchmark(benchmark)->MinWarmUpTime(seconds);
}

int flb_keep_running(flb_state *state) { return as_state(state).KeepRunning() ? 1 : 0; }

int64_t flb_range(const flb_state *state, size_t position) {
  return as_state(state).range(position);
}

int64_t flb_iterations(const flb_state *state) {
  return static_cast<int64_t>(as_state(state).iterations());
}

int flb_thread_index(const flb_state *state) { return as_state(state).thread_index(); }

int flb_threads(const flb_state *state) { return as_state(state).threads(); }

void flb_set_items_processed(flb_state *state, int64_t items) {
  as_state(state).SetItemsProcessed(items);
}

void flb_set_bytes_processed(flb_state *state, int64_t bytes) {
  as_state(state).SetBytesProcessed(bytes);
}

void flb_set_label(flb_state *state, const char *label) { as_state(state).SetLabel(label); }

void flb_skip_with_error(flb_state *state, const char *message) {
  as_state(state).SkipWithError(message);
}

void flb_pause_timing(flb_state *state) { as_state(state).PauseTiming(); }

void flb_resume_timing(flb_state *state) { as_state(state).ResumeTiming(); }

void flb_set_counter(flb_state *state, const char *name, double value, unsigned flags) {
  int counter_flags = benchmark::Counter::kDefaults;
  if (flags & FLB_COUNTER_RATE) counter_flags |= benchmark::Counter::kIsRate;
  if (flags & FLB_COUNTER_AVG_THREADS) counter_flags |= benchmark::Counter::kAvgThreads;
  if (flags & FLB_COUNTER_ITERATION_INVARIANT)
    counter_flags |= benchmark::Counter::kIsIterationInvariant;
  if (flags & FLB_COUNTER_AVG_ITERATIONS) counter_flags |= benchmark::Counter::kAvgIterations;
  if (flags & FLB_COUNTER_INVERT) counter_flags |= benchmark::Counter::kInvert;
  as_state(state).counters[name] =
      benchmark::Counter(value, static_cast<benchmark::Counter::Flags>(counter_flags));
}

void flb_add_context(const char *key, const char *value) {
  benchmark::AddCustomContext(key, value);
}

int flb_run(int *argc, char **argv) {
  benchmark::Initialize(argc, argv);
  if (benchmark::ReportUnrecognizedArguments(*argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

#if !defined(__GNUC__)
void flb_do_not_optimize(const void *pointer) { benchmark::DoNotOptimize(pointer); }
void flb_clobber_memory(void) { benchmark::ClobberMemory(); }
#endif

}  // extern "C"
