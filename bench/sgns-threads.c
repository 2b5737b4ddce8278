/* fastloss-sgns-threads: the skip-gram step on 1 thread and on T threads,
 * with every row Hogwild and with private rows
 * (fastloss_sgns_params.private_rows), call after call in turn, so that all
 * three meet the same host from one moment to the next.  On a VM whose
 * vCPUs move between host cores, the time to pass a cache line from one
 * core to the other changes within seconds (from tens to hundreds of ns
 * here), and a run of one configuration after another measures the host as
 * much as the code; taking the calls in turn compares them under the same
 * conditions.  A cache-line round trip between two pinned threads is
 * measured before and after, to say which host the run met.
 *
 * The batches are word2vec's: (context, centre) pairs of a window of 5
 * around each word of a Zipf text (seeded), per-pair negatives drawn by the
 * step from count^0.75, d 100, k 5, tables of 30000 rows.
 *
 *   usage: fastloss-sgns-threads [calls (40)] [threads (2)] [private rows (3750)]
 *
 * Prints the mean ns per pair of each configuration, the scaling of each
 * (1-thread time over T-thread time, summed over the calls) and the median
 * and 10th percentile of the per-call ratios. */
#define _GNU_SOURCE
#include <fastloss.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

enum { VOCAB = 30000, DIM = 100, K = 5, WINDOW = 5, PAIRS = 60000, TEXTS = 8 };

static double fl_now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* ------------------------------------------- cache-line round trip */

static _Alignas(64) atomic_long fl_flag;
static int fl_cpu[2] = {-1, -1};
enum { ROUND_TRIPS = 100000 };

static void fl_pin(int cpu) {
  if (cpu < 0) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  (void)pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

static void *fl_pong(void *arg) {
  (void)arg;
  fl_pin(fl_cpu[1]);
  for (long i = 0; i < ROUND_TRIPS; i++) {
    while (atomic_load_explicit(&fl_flag, memory_order_acquire) != 2 * i + 1) {
    }
    atomic_store_explicit(&fl_flag, 2 * i + 2, memory_order_release);
  }
  return NULL;
}

/* ns per round trip of one cache line between two pinned threads; -1 when
 * the process may not run on two CPUs. */
static double fl_round_trip(void) {
  if (fl_cpu[1] < 0) return -1.0;
  cpu_set_t before;
  if (pthread_getaffinity_np(pthread_self(), sizeof before, &before) != 0) return -1.0;
  atomic_store(&fl_flag, 0);
  pthread_t other;
  if (pthread_create(&other, NULL, fl_pong, NULL) != 0) return -1.0;
  fl_pin(fl_cpu[0]);
  const double start = fl_now();
  for (long i = 0; i < ROUND_TRIPS; i++) {
    atomic_store_explicit(&fl_flag, 2 * i + 1, memory_order_release);
    while (atomic_load_explicit(&fl_flag, memory_order_acquire) != 2 * i + 2) {
    }
  }
  const double seconds = fl_now() - start;
  pthread_join(other, NULL);
  (void)pthread_setaffinity_np(pthread_self(), sizeof before, &before);
  return seconds * 1e9 / ROUND_TRIPS;
}

/* ------------------------------------------- the batches */

static uint64_t fl_next(uint64_t *s) { /* xorshift64 */
  *s ^= *s << 13;
  *s ^= *s >> 7;
  *s ^= *s << 17;
  return *s;
}

static int fl_by_value(const void *a, const void *b) {
  const double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static void fl_die(const char *what) {
  fprintf(stderr, "fastloss-sgns-threads: %s: %s\n", what, fastloss_last_error());
  exit(1);
}

int main(int argc, char **argv) {
  const long calls = argc > 1 ? atol(argv[1]) : 40;
  const long threads = argc > 2 ? atol(argv[2]) : 2;
  const long hot = argc > 3 ? atol(argv[3]) : VOCAB / 8;
  if (calls < 1 || calls > 100000 || threads < 2 || threads > 4096 || hot < 0) {
    fprintf(stderr, "usage: %s [calls (40)] [threads >= 2 (2)] [private rows (3750)]\n", argv[0]);
    return 1;
  }
  cpu_set_t allowed;
  if (sched_getaffinity(0, sizeof allowed, &allowed) == 0)
    for (int c = 0, n = 0; c < CPU_SETSIZE && n < 2; c++)
      if (CPU_ISSET(c, &allowed)) fl_cpu[n++] = c;

  /* A Zipf text (rank r with weight 1 / (r + 1)) and its window pairs. */
  double *cdf = malloc(sizeof(double) * VOCAB);
  uint64_t *counts = malloc(sizeof(uint64_t) * VOCAB);
  const size_t words = PAIRS / (2 * WINDOW) + 2 * WINDOW;
  int32_t *text = malloc(sizeof(int32_t) * words);
  int32_t *inputs = malloc(sizeof(int32_t) * (size_t)PAIRS * TEXTS);
  int32_t *targets = malloc(sizeof(int32_t) * (size_t)PAIRS * TEXTS);
  float *in = malloc(sizeof(float) * VOCAB * DIM), *out = calloc((size_t)VOCAB * DIM, 4);
  if (!cdf || !counts || !text || !inputs || !targets || !in || !out) {
    fprintf(stderr, "fastloss-sgns-threads: out of memory\n");
    return 1;
  }
  double total = 0.0;
  for (int r = 0; r < VOCAB; r++) total += 1.0 / (r + 1);
  double acc = 0.0;
  for (int r = 0; r < VOCAB; r++) {
    acc += 1.0 / (r + 1) / total;
    cdf[r] = acc;
    counts[r] = (uint64_t)(1e8 / (r + 1)) + 1;
  }
  cdf[VOCAB - 1] = 1.0;
  uint64_t seed = 0x243f6a8885a308d3ull;
  for (size_t b = 0; b < TEXTS; b++) {
    for (size_t i = 0; i < words; i++) {
      const double u = (double)(fl_next(&seed) >> 11) * 0x1p-53;
      int lo = 0, hi = VOCAB - 1;
      while (lo < hi) {
        const int mid = (lo + hi) / 2;
        if (cdf[mid] < u)
          lo = mid + 1;
        else
          hi = mid;
      }
      text[i] = lo;
    }
    size_t n = 0;
    for (size_t c = WINDOW; n < PAIRS; c++)
      for (int o = -WINDOW; o <= WINDOW && n < PAIRS; o++)
        if (o != 0) {
          inputs[b * PAIRS + n] = text[c + (size_t)(long)o];
          targets[b * PAIRS + n] = text[c];
          n++;
        }
  }
  for (size_t j = 0; j < (size_t)VOCAB * DIM; j++)
    in[j] = ((float)(fl_next(&seed) >> 40) / 16777216.0f - 0.5f) / DIM;
  fastloss_sampler *noise = NULL;
  if (fastloss_sampler_create_unigram(&noise, counts, VOCAB, 0.75, 1) != FASTLOSS_OK)
    fl_die("sampler");

  const double trip_before = fl_round_trip();
  /* Configuration m: 0 one thread, 1 T threads Hogwild, 2 T threads with
   * private rows.  Two rounds of warm-up, not timed. */
  double *seconds[3];
  for (int m = 0; m < 3; m++) seconds[m] = malloc(sizeof(double) * (size_t)calls);
  uint64_t stream = 0;
  for (long c = -2; c < calls; c++)
    for (int m = 0; m < 3; m++) {
      const size_t b = (size_t)((c + 2) * 3 + m) % TEXTS;
      if (fastloss_set_num_threads(m == 0 ? 1 : (int)threads) != FASTLOSS_OK) fl_die("threads");
      const fastloss_sgns_params params = {
          .noise = noise, .seed = 1, .stream = stream, .private_rows = m == 2 ? (size_t)hot : 0};
      stream += PAIRS;
      const fastloss_sgns_batch batch = {
          .n_pairs = PAIRS, .inputs = inputs + b * PAIRS, .targets = targets + b * PAIRS, .k = K};
      const double start = fl_now();
      if (fastloss_sgns_step_f32(VOCAB, DIM, in, out, &batch, 0.005f, &params, NULL) != FASTLOSS_OK)
        fl_die("fastloss_sgns_step_f32");
      if (c >= 0) seconds[m][c] = fl_now() - start;
    }
  const double trip_after = fl_round_trip();

  double sum[3] = {0.0, 0.0, 0.0};
  for (int m = 0; m < 3; m++)
    for (long c = 0; c < calls; c++) sum[m] += seconds[m][c];
  printf(
      "sgns-threads: %ld calls of %d pairs each way, in turn; cache-line round trip "
      "%.0f ns before, %.0f ns after\n",
      calls, PAIRS, trip_before, trip_after);
  printf(
      "sgns-threads: ns per pair: 1 thread %.0f; %ld threads Hogwild %.0f, private rows "
      "%ld %.0f\n",
      sum[0] * 1e9 / PAIRS / (double)calls, threads, sum[1] * 1e9 / PAIRS / (double)calls, hot,
      sum[2] * 1e9 / PAIRS / (double)calls);
  double *ratio = malloc(sizeof(double) * (size_t)calls);
  for (int m = 1; m < 3; m++) {
    for (long c = 0; c < calls; c++) ratio[c] = seconds[0][c] / seconds[m][c];
    qsort(ratio, (size_t)calls, sizeof(double), fl_by_value);
    printf("sgns-threads: scaling, %s: %.2fx (per call: median %.2fx, 10th percentile %.2fx)\n",
           m == 1 ? "Hogwild" : "private rows", sum[0] / sum[m], ratio[calls / 2],
           ratio[calls / 10]);
  }
  fastloss_sampler_destroy(noise);
  free(ratio);
  for (int m = 0; m < 3; m++) free(seconds[m]);
  free(cdf), free(counts), free(text), free(inputs), free(targets), free(in), free(out);
  return 0;
}
