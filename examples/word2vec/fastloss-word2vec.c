/* fastloss-word2vec: word2vec.c's skip-gram and CBOW with negative sampling,
 * trained through fastloss_sgns_step_f32 and fastloss_cbow_step_f32.  Same
 * flags, defaults, vocabulary, learning rate schedule, subsampling, reduced
 * window and output formats as word2vec.c (Mikolov et al.), so its users can
 * swap the binary; see usage() for what differs.
 *
 * The program reads the corpus, builds batches of about BATCH_WORDS corpus
 * words -- (context, centre) pairs for skip-gram, (context words, centre)
 * examples for CBOW -- and hands each batch to the library, which draws the
 * negatives and trains.  With -threads N > 1 the threads share the work in
 * one of two ways:
 * - -replicas 1 (the default, train_replicas): N threads, each with its own
 *   N-th of the corpus and its own copy of both tables, each calling the
 *   library on one thread; every -replica-sync words of each thread they
 *   merge the rows they trained (the library marks them:
 *   fastloss_sgns_params.in_touched / out_touched) into the shared tables
 *   (merge_row) and go on from there.  No row is written by two threads
 *   between merges, so the cores do not trade cache lines while training,
 *   which on hosts with slow transfers between cores made two Hogwild
 *   threads slower than one.  The output depends on N but not on timing.
 * - -replicas 0 (and always with -deterministic 1): this thread builds every
 *   batch and the library spreads its groups or examples over N OpenMP
 *   threads on the shared tables (Hogwild, with fastloss_sgns_params'
 *   private rows for skip-gram).
 * Everything done here per word is kept to a few table lookups and random
 * draws.
 *
 * Differences from word2vec.c, by design:
 * - The corpus is read once and kept in memory as 4-byte word ids (word2vec.c
 *   rereads the file every epoch), so epochs after the first cost no parsing.
 * - Negatives come from fastloss's alias sampler over count^0.75 (O(1) per
 *   draw, exact probabilities) instead of word2vec.c's 1e8-entry table.
 * - The library draws the negatives itself, in parallel (every group from
 *   its own counter-based stream, fastloss_sgns_params.noise); a negative
 *   equal to its group's target (the centre word) is drawn again (up to 16
 *   times) rather than skipped, so every group has exactly k negatives.
 * - CBOW (-cbow 1) computes the k + 1 logits of a centre word from the
 *   tables as it found them (word2vec.c runs them one after another, which
 *   differs only when a negative repeats); otherwise word2vec.c's update:
 *   h the mean of the context vectors, each context vector += neu1e.
 * - -cbow defaults to 0 (skip-gram), word2vec.c's to 1.
 * - Words/thread/sec divides by wall seconds times -threads; word2vec.c
 *   divides by clock(), the CPU time of all its threads.
 * - Random numbers come from fastloss's counter-based streams, so a run is
 *   reproducible from -seed; with -deterministic 1 the output does not depend
 *   on -threads.
 *
 * Built with -DFL_W2V_MPI (meson finds MPI), `mpirun -np N` trains
 * data-parallel, as pWord2Vec (Ji et al.): rank r reads bytes
 * [r S / N, (r + 1) S / N) of the corpus (a word belongs to the rank holding
 * its first byte), the ranks merge their (word, count) lists so that every
 * rank builds the single-process vocabulary and noise table, each rank trains
 * its shard with its own threads, and every -sync-words global words the
 * input and output tables are averaged with MPI_Allreduce (only the rows some
 * rank changed since the last sync, when that is fewer than half).  With one
 * rank, or without MPI, nothing changes. */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE /* madvise's MADV_HUGEPAGE */
#define _GNU_SOURCE     /* sched_getaffinity's CPU_COUNT */

#include <fastloss.h>

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#ifdef FL_W2V_MPI
#include <mpi.h>
#endif

/* word2vec.c's MAX_STRING is 100 bytes with the terminator; longer words are
 * cut (word2vec.c keeps overwriting its last byte, we keep the first 99). */
#define MAX_WORD_BYTES 99
/* word2vec.c's MAX_SENTENCE_LENGTH: a line longer than this is split. */
#define MAX_SENTENCE 1000
/* Corpus words per batch: word2vec.c also recomputes alpha every 10000
 * words, and 10000 words (~60000 pairs at -window 5) keep two threads busy
 * for milliseconds per call, far above the cost of starting them. */
#define BATCH_WORDS 10000

/* -private-rows default: the skip-gram step trains the rows of the most
 * frequent words (ids are numbered by falling count) in per-thread copies
 * averaged after each batch (fastloss_sgns_params.private_rows): 4096, at
 * most an eighth of the vocabulary.  Averaging halves, with two threads, what
 * a batch teaches a row both threads used, which the most frequent words
 * (thousands of updates a batch) do not feel but rarer ones do: on a
 * 200k-word corpus making every row private raised the final loss 2.5%. */
#define FL_W2V_PRIVATE_ROWS 4096
#define FL_W2V_PRIVATE_SHARE 8
/* -replica-sync default: a merge every FL_W2V_REPLICA_SYNC words of each
 * thread, or more often so that training has at least FL_W2V_REPLICA_MERGES
 * merges.  What counts for the loss is the share of training between two
 * merges, during which the threads do not see each other's updates: on a
 * 200000-word corpus, 2 threads merging only at the end ended 4% (3 threads
 * 9%) above one thread's last-10% loss, with 16 merges within 0.5%; on 5M
 * words a merge costs 3-4 ms. */
#define FL_W2V_REPLICA_SYNC 200000
#define FL_W2V_REPLICA_MERGES 16.0
/* -share-rare 2: the rare rows are shared for the next interval when a cache
 * line passes from thread 0 to thread 1 and back in at most
 * FL_W2V_SHARE_TRIP_NS: measured at the start and at every merge, the best
 * of FL_W2V_PROBE_BATCHES batches of FL_W2V_PROBE_TRIPS round trips (a
 * batch the scheduler interrupts counts for nothing).  On the 2-vCPU VMs
 * here a round trip takes 50-66 ns at times and 270-365 ns at others;
 * sharing won 10-20% on 2 threads at the first and lost 25-35% at the
 * second, where whole copies keep their speed. */
#define FL_W2V_SHARE_TRIP_NS 150.0
#define FL_W2V_PROBE_TRIPS 64
#define FL_W2V_PROBE_BATCHES 4
#define FL_W2V_PROBE_SPINS 1024
/* -balance 1: words in a chunk of the corpus (see train_chunks). */
#define FL_W2V_CHUNK 1024
/* Rows a thread merges at a time (see team_sync). */
#define FL_W2V_MERGE_BLOCK 64
/* -threads with -replicas 1: the most threads (each a copy of the tables). */
#define FL_W2V_MAX_REPLICAS 256
/* Tables of this many bytes or more are allocated in huge pages (alloc_floats). */
#define FL_W2V_HUGE_PAGE ((size_t)2 << 20)
/* merge_row's team->source values besides a member's number */
#define FL_W2V_ROW_KEPT (-1)
#define FL_W2V_ROW_ALL (-2)
/* Pair buffers never need more than this unless one sentence does. */
#define MAX_BATCH_PAIRS ((size_t)1 << 20)
/* The id of "</s>", which word2vec.c puts first and gives every newline. */
#define END_OF_SENTENCE 0

static const char *program = "fastloss-word2vec";

/* This process's place among the ranks: MPI's, or (-shard-index/-shard-count,
 * a test flag) one shard trained alone.  mpi_ranks > 1 only under mpirun. */
static int world_rank = 0, world_size = 1, mpi_ranks = 1;
#ifdef FL_W2V_MPI
static int mpi_started = 0; /* MPI_Init was called */
#endif

/* ------------------------------------------------------------ options */

typedef struct options {
  const char *train, *output, *save_vocab, *read_vocab;
  long long size, window, negative, threads, iter, min_count, debug, loss_every, classes;
  long long private_rows, replicas, replica_sync, balance, share_rare;
  double sample, alpha;
  int binary, shared_negatives, deterministic, cbow;
  uint64_t seed;
  long long sync_words, shard_index, shard_count, test_fail_rank;
  const char *test_share_plan;
  int sync_touched;
} options;

static void usage(FILE *out) {
  fprintf(out,
          "usage: %s -train FILE -output FILE [options]\n"
          "\n"
          "Skip-gram or CBOW with negative sampling, word2vec.c's flags and defaults,\n"
          "trained by fastloss (fastloss_sgns_step_f32 / fastloss_cbow_step_f32).\n"
          "\n"
          "  -train FILE          whitespace-separated text; each newline is the word </s>\n"
          "  -output FILE         the word vectors (word2vec.c's text or binary format)\n"
          "  -size N              vector size (100)\n"
          "  -window N            maximum skip length; each centre word uses a random\n"
          "                       window in 1..N, as word2vec.c does (5)\n"
          "  -negative N          negatives per pair (per centre word with -cbow 1 or\n"
          "                       -shared-negatives 1); drawn from count^0.75 (5)\n"
          "  -sample X            subsampling threshold for frequent words, 0 = off (1e-3)\n"
          "  -threads N           threads (12): -replicas says how they share the work\n"
          "  -iter N              training epochs (5)\n"
          "  -min-count N         discard words seen fewer than N times (5)\n"
          "  -alpha X             starting learning rate, decayed linearly to X*1e-4\n"
          "                       (0.025 for skip-gram, 0.05 with -cbow 1)\n"
          "  -binary 0|1          write the vectors in binary (0)\n"
          "  -save-vocab FILE     also write \"word count\" lines, most frequent first\n"
          "  -read-vocab FILE     the vocabulary and its counts from FILE's \"word count\"\n"
          "                       lines (as -save-vocab writes them), not from -train;\n"
          "                       -train's other words are skipped; FILE's first word\n"
          "                       stays first, as word2vec.c (see README)\n"
          "  -classes N           write \"word class\" text lines instead of the vectors:\n"
          "                       word2vec.c's k-means (10 iterations) of the vectors\n"
          "                       into N classes, 0 = off (0)\n"
          "  -debug N             progress on stderr when N >= 2 (2)\n"
          "  -cbow 0|1            1: CBOW, the mean of the context words' vectors\n"
          "                       predicts the centre word; 0: skip-gram (word2vec.c's\n"
          "                       default is 1; this program's is 0)\n"
          "  -hs 0|1              only 0: hierarchical softmax is not implemented\n",
          program);
  fprintf(out,
          "fastloss flags:\n"
          "  -shared-negatives 0|1  1: all contexts of a centre word share its negatives\n"
          "                       (HogBatch): fewer draws and denser updates; skip-gram\n"
          "                       only (CBOW draws per centre word already) (0)\n"
          "  -deterministic 0|1   1: bit-identical output for any -threads (groups or\n"
          "                       centre words run in order); 0: Hogwild updates as\n"
          "                       word2vec.c (0)\n"
          "  -replicas 0|1        with -threads > 1: 1 = each thread trains its own part\n"
          "                       of the corpus on its own copy of the tables, and the\n"
          "                       copies are merged every -replica-sync words (see\n"
          "                       README); 0 = the library's threads share one pair of\n"
          "                       tables (Hogwild) (1; 0 with -deterministic 1 or\n"
          "                       over 256 threads)\n"
          "  -replica-sync K      -replicas 1: merge after every K words of each thread\n"
          "                       (200000, or fewer to make 16 merges in all)\n"
          "  -balance 0|1         -replicas 1: 1 = the threads take chunks of about 1000\n"
          "                       words in turn, so none waits for a slower one at a\n"
          "                       merge, and the output depends on timing; 0 = each\n"
          "                       thread trains a fixed part, and the output depends\n"
          "                       on -threads only (1)\n"
          "  -share-rare 0|1|2    -replicas 1 -balance 1: 1 = only the -private-rows\n"
          "                       rows are copies; the threads share the other rows\n"
          "                       (Hogwild: rare words, which two threads seldom train\n"
          "                       at once), so the merges and the tables in the caches\n"
          "                       shrink; 0 = whole copies; 2 = 1 between the merges\n"
          "                       after which a cache line passed between the first two\n"
          "                       threads quickly, else 0 (2)\n"
          "  -private-rows N      the N most frequent words' rows are merged by their\n"
          "                       mean: -replicas 1 at each merge, -replicas 0 (skip-gram)\n"
          "                       after every batch of about 10000 words, each thread\n"
          "                       training them in its own copy in between\n"
          "                       (fastloss_sgns_params.private_rows); with -share-rare\n"
          "                       1 or 2 also the rows each thread copies while sharing\n"
          "                       the others (4096, at most an eighth of the vocabulary)\n"
          "  -seed N              seed of every random stream (1)\n"
          "  -loss-every N        print the average loss per pair (CBOW: per centre word)\n"
          "                       every N words, 0 = off (0)\n"
          "MPI (mpirun -np N; no effect with one rank or a build without MPI):\n"
          "  -sync-words K        average the tables across ranks about every K words\n"
          "                       of the whole corpus (all ranks together) (1000000)\n"
          "  -sync-touched 0|1    1: send only the rows some rank changed since the\n"
          "                       last sync when they are under half; 0: whole tables (1)\n"
          "\n"
          "Stderr ends with one summary line: words/sec, words/sec/thread, the average\n"
          "loss per pair or centre word (all training and the last 10%% of words) and the\n"
          "seconds taken.\n");
}

/* Ends the program; under MPI every rank must pass here (MPI_Finalize). */
static void finish(int status) __attribute__((noreturn));
static void finish(int status) {
#ifdef FL_W2V_MPI
  if (mpi_started) MPI_Finalize();
#endif
  exit(status);
}

/* A message, then exit 1.  With more than one rank, MPI_Abort: the other ranks
 * may be waiting in a collective call and would otherwise hang. */
static void fail(const char *format, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void fail(const char *format, ...) {
  /* One write, so that the ranks' messages do not interleave. */
  char message[1024];
  int used = mpi_ranks > 1 ? snprintf(message, sizeof message, "%s: rank %d of %d: ", program,
                                      world_rank, mpi_ranks)
                           : snprintf(message, sizeof message, "%s: ", program);
  va_list args;
  va_start(args, format);
  vsnprintf(message + used, sizeof message - (size_t)used, format, args);
  va_end(args);
  fprintf(stderr, "%s\n", message);
  fflush(stderr);
#ifdef FL_W2V_MPI
  if (mpi_ranks > 1) MPI_Abort(MPI_COMM_WORLD, 1);
#endif
  finish(1);
}

static long long parse_integer(const char *flag, const char *text, long long min, long long max) {
  char *end;
  errno = 0;
  long long value = strtoll(text, &end, 10);
  if (end == text || *end != '\0' || errno == ERANGE || value < min || value > max)
    fail("%s needs an integer in [%lld, %lld], got '%s'", flag, min, max, text);
  return value;
}

static double parse_real(const char *flag, const char *text, double min) {
  char *end;
  errno = 0;
  double value = strtod(text, &end);
  if (end == text || *end != '\0' || errno == ERANGE || !isfinite(value) || value < min)
    fail("%s needs a finite number >= %g, got '%s'", flag, min, text);
  return value;
}

/* One row per flag that takes a value: where it goes and its range. */
typedef enum flag_kind { FLAG_PATH, FLAG_INTEGER, FLAG_REAL } flag_kind;
typedef struct flag_spec {
  const char *name;
  flag_kind kind;
  void *target; /* const char **, long long * or double * */
  long long min, max;
} flag_spec;

static void parse_options(int argc, char **argv, options *o) {
  *o = (options){.size = 100,
                 .window = 5,
                 .negative = 5,
                 .threads = 12,
                 .iter = 5,
                 .min_count = 5,
                 .debug = 2,
                 .sample = 1e-3,
                 .alpha = 0.025,
                 .seed = 1,
                 .sync_words = 1000000,
                 .private_rows = -1, /* the default, once the vocabulary is known */
                 .replicas = -1,
                 .replica_sync = -1, /* the default, once the corpus is known */
                 .balance = -1,      /* the default: 1 with -replicas 1 */
                 .share_rare = -1,   /* the default: 2 with -balance 1 */
                 .shard_count = 0,
                 .test_fail_rank = -1};
  long long binary = 0, cbow = 0, hs = 0, shared = 0, deterministic = 0, seed = 1, touched = 1;
  int alpha_given = 0;
  const flag_spec flags[] = {
      {"-train", FLAG_PATH, &o->train, 0, 0},
      {"-output", FLAG_PATH, &o->output, 0, 0},
      {"-save-vocab", FLAG_PATH, &o->save_vocab, 0, 0},
      {"-read-vocab", FLAG_PATH, &o->read_vocab, 0, 0},
      {"-classes", FLAG_INTEGER, &o->classes, 0, INT_MAX},
      {"-size", FLAG_INTEGER, &o->size, 1, 1 << 20},
      {"-window", FLAG_INTEGER, &o->window, 1, MAX_SENTENCE},
      {"-negative", FLAG_INTEGER, &o->negative, 1, 1000},
      {"-threads", FLAG_INTEGER, &o->threads, 1, 4096},
      {"-iter", FLAG_INTEGER, &o->iter, 1, 1000000},
      {"-min-count", FLAG_INTEGER, &o->min_count, 0, LLONG_MAX},
      {"-debug", FLAG_INTEGER, &o->debug, 0, 1000},
      {"-loss-every", FLAG_INTEGER, &o->loss_every, 0, LLONG_MAX},
      {"-sample", FLAG_REAL, &o->sample, 0, 0},
      {"-alpha", FLAG_REAL, &o->alpha, 0, 0},
      {"-binary", FLAG_INTEGER, &binary, 0, 1},
      {"-cbow", FLAG_INTEGER, &cbow, 0, 1},
      {"-hs", FLAG_INTEGER, &hs, 0, 1},
      {"-shared-negatives", FLAG_INTEGER, &shared, 0, 1},
      {"-deterministic", FLAG_INTEGER, &deterministic, 0, 1},
      {"-private-rows", FLAG_INTEGER, &o->private_rows, 0, INT_MAX},
      {"-replicas", FLAG_INTEGER, &o->replicas, 0, 1},
      {"-replica-sync", FLAG_INTEGER, &o->replica_sync, 1, LLONG_MAX},
      {"-balance", FLAG_INTEGER, &o->balance, 0, 1},
      {"-share-rare", FLAG_INTEGER, &o->share_rare, 0, 2},
      {"-seed", FLAG_INTEGER, &seed, 0, LLONG_MAX},
      {"-sync-words", FLAG_INTEGER, &o->sync_words, 1, LLONG_MAX},
      {"-sync-touched", FLAG_INTEGER, &touched, 0, 1},
      /* Test flags, not in usage(): -shard-index R -shard-count N trains, in
       * one process, what rank R of N trains until its first sync (the
       * vocabulary of all shards, shard R only); -test-fail-rank R makes
       * rank R fail (as if out of memory) at its first sync. */
      {"-shard-index", FLAG_INTEGER, &o->shard_index, 0, INT_MAX - 1},
      {"-shard-count", FLAG_INTEGER, &o->shard_count, 1, INT_MAX},
      {"-test-fail-rank", FLAG_INTEGER, &o->test_fail_rank, 0, INT_MAX},
      {"-test-share-plan", FLAG_PATH, &o->test_share_plan, 0, 0},
  };
  for (int i = 1; i < argc; i += 2) {
    const char *name = argv[i];
    if (!strcmp(name, "-h") || !strcmp(name, "-help") || !strcmp(name, "--help")) {
      if (world_rank == 0) usage(stdout);
      finish(0);
    }
    const flag_spec *flag = NULL;
    for (size_t f = 0; f < sizeof flags / sizeof flags[0]; f++)
      if (!strcmp(name, flags[f].name)) flag = &flags[f];
    if (!flag) fail("unknown flag '%s' (see -help)", name);
    if (i + 1 >= argc) fail("%s needs a value (see -help)", name);
    const char *value = argv[i + 1];
    if (flag->target == &o->alpha) alpha_given = 1;
    if (flag->kind == FLAG_PATH)
      *(const char **)flag->target = value;
    else if (flag->kind == FLAG_INTEGER)
      *(long long *)flag->target = parse_integer(name, value, flag->min, flag->max);
    else
      *(double *)flag->target = parse_real(name, value, 0.0);
  }
  if (cbow && shared)
    fail("-shared-negatives 1 is for skip-gram only: CBOW (-cbow 1) already draws one set of "
         "negatives per centre word");
  /* word2vec.c: "if (cbow) alpha = 0.05;" before reading -alpha. */
  if (cbow && !alpha_given) o->alpha = 0.05;
  if (hs) fail("hierarchical softmax is not implemented (-hs 1); use -negative N");
  if (!o->train) fail("-train FILE is required (see -help)");
  if (!o->output) fail("-output FILE is required (see -help)");
  o->binary = (int)binary;
  o->shared_negatives = (int)shared;
  o->deterministic = (int)deterministic;
  o->cbow = (int)cbow;
  o->seed = (uint64_t)seed;
  o->sync_touched = (int)touched;
  if (o->shard_count && mpi_ranks > 1) fail("-shard-count is for a single process (no mpirun)");
  if (o->shard_count && o->shard_index >= o->shard_count)
    fail("-shard-index %lld is outside [0, %lld)", o->shard_index, o->shard_count);
  if (!o->shard_count && o->shard_index) fail("-shard-index needs -shard-count");
}

/* --------------------------------------------------------- vocabulary */

typedef struct word_entry {
  uint64_t count;
  uint64_t hash;
  size_t text; /* offset of the NUL-terminated word in the arena */
} word_entry;

typedef struct vocabulary {
  word_entry *words;
  size_t n_words, words_capacity;
  char *arena;
  size_t arena_used, arena_capacity;
  uint32_t *slots; /* open addressing: word index + 1, 0 = empty */
  size_t slot_mask;
  /* -read-vocab: the words and counts are the file's; read_shard skips the
   * text's other words, counts nothing, and reads a newline as the word
   * "</s>" when the file has it (index `newline`), else skips it. */
  int frozen;
  int32_t newline;
} vocabulary;

static void *xrealloc(void *p, size_t count, size_t size) {
  if (size && count > SIZE_MAX / size) fail("out of memory");
  size_t bytes = count * size;
  void *q = realloc(p, bytes ? bytes : 1);
  if (!q) fail("out of memory");
  return q;
}

/* FNV-1a: short words, no need for anything stronger with linear probing
 * at load <= 1/2. */
static uint64_t hash_word(const char *word, size_t length) {
  uint64_t h = 1469598103934665603u;
  for (size_t i = 0; i < length; i++) h = (h ^ (unsigned char)word[i]) * 1099511628211u;
  return h;
}

static void vocabulary_rehash(vocabulary *v, size_t n_slots) {
  free(v->slots);
  v->slots = calloc(n_slots, sizeof *v->slots);
  if (!v->slots) fail("out of memory");
  v->slot_mask = n_slots - 1;
  for (size_t w = 0; w < v->n_words; w++) {
    size_t s = v->words[w].hash & v->slot_mask;
    while (v->slots[s]) s = (s + 1) & v->slot_mask;
    v->slots[s] = (uint32_t)(w + 1);
  }
}

/* The index of `word`, or -1 when v does not have it. */
static int32_t vocabulary_find(const vocabulary *v, const char *word, size_t length) {
  uint64_t h = hash_word(word, length);
  for (size_t s = h & v->slot_mask; v->slots[s]; s = (s + 1) & v->slot_mask) {
    const word_entry *e = &v->words[v->slots[s] - 1];
    const char *text = v->arena + e->text;
    if (e->hash == h && !memcmp(text, word, length) && text[length] == '\0')
      return (int32_t)(v->slots[s] - 1);
  }
  return -1;
}

/* The index of `word` (adding it with count 0 if new). */
static size_t vocabulary_find_or_add(vocabulary *v, const char *word, size_t length) {
  uint64_t h = hash_word(word, length);
  size_t s = h & v->slot_mask;
  for (; v->slots[s]; s = (s + 1) & v->slot_mask) {
    const word_entry *e = &v->words[v->slots[s] - 1];
    const char *text = v->arena + e->text;
    if (e->hash == h && !memcmp(text, word, length) && text[length] == '\0') return v->slots[s] - 1;
  }
  if (v->n_words >= INT32_MAX) fail("more than 2^31 distinct words");
  if (v->n_words == v->words_capacity) {
    v->words_capacity = v->words_capacity ? 2 * v->words_capacity : 1024;
    v->words = xrealloc(v->words, v->words_capacity, sizeof *v->words);
  }
  while (v->arena_used + length + 1 > v->arena_capacity) {
    v->arena_capacity = v->arena_capacity ? 2 * v->arena_capacity : 1 << 16;
    v->arena = xrealloc(v->arena, v->arena_capacity, 1);
  }
  memcpy(v->arena + v->arena_used, word, length);
  v->arena[v->arena_used + length] = '\0';
  size_t index = v->n_words++;
  v->words[index] = (word_entry){.count = 0, .hash = h, .text = v->arena_used};
  v->arena_used += length + 1;
  v->slots[s] = (uint32_t)(index + 1);
  if (2 * v->n_words > v->slot_mask + 1) vocabulary_rehash(v, 2 * (v->slot_mask + 1));
  return index;
}

typedef struct corpus {
  int32_t *ids; /* the text as word ids, "</s>" (0) for each newline */
  size_t n_ids, capacity;
} corpus;

static void corpus_push(corpus *c, int32_t id) {
  if (c->n_ids == c->capacity) {
    c->capacity = c->capacity ? 2 * c->capacity : 1 << 20;
    c->ids = xrealloc(c->ids, c->capacity, sizeof *c->ids);
  }
  c->ids[c->n_ids++] = id;
}

static void add_token(vocabulary *v, corpus *c, const char *word, size_t length) {
  if (v->frozen) { /* word2vec.c skips a word its vocabulary lacks */
    int32_t known = vocabulary_find(v, word, length);
    if (known >= 0) corpus_push(c, known);
    return;
  }
  size_t index = vocabulary_find_or_add(v, word, length);
  v->words[index].count++;
  corpus_push(c, (int32_t)index);
}

static int is_separator(char ch) { return ch == ' ' || ch == '\t' || ch == '\n'; }

/* word2vec.c's tokeniser: words end at ' ', '\t' and '\n'; '\r' is ignored;
 * every '\n' is also the word "</s>".
 * Shard `shard` of `n_shards` of the corpus (n_shards = 1: all of it, read
 * as a stream): the words
 * whose first byte lies in [begin, end), begin = size * shard / n_shards, and
 * the newlines ("</s>") in that range.  A word that crosses `end` is read to
 * its end here and skipped by the next shard, so every word belongs to exactly
 * one shard and the shards, in order, are the whole corpus.  '\r' separates
 * nothing and belongs to no word: a shard looks back past any '\r' to see
 * whether it begins inside a word. */
static void read_shard(FILE *f, const char *path, int shard, int n_shards, vocabulary *v,
                       corpus *c) {
  uint64_t begin = 0, end = UINT64_MAX; /* one shard: the whole stream, no seeks */
  if (n_shards > 1) {
    if (fseeko(f, 0, SEEK_END)) fail("cannot seek in -train %s: %s", path, strerror(errno));
    off_t file_size = ftello(f);
    if (file_size < 0) fail("cannot seek in -train %s: %s", path, strerror(errno));
    uint64_t size = (uint64_t)file_size, n = (uint64_t)n_shards;
    begin = size / n * (uint64_t)shard + size % n * (uint64_t)shard / n;
    end = size / n * (uint64_t)(shard + 1) + size % n * (uint64_t)(shard + 1) / n;
  }
  int skipping = 0; /* inside a word of the previous shard */
  if (begin > 0) {
    uint64_t p = begin;
    int ch = '\r';
    while (p > 0 && ch == '\r') {
      p--;
      if (fseeko(f, (off_t)p, SEEK_SET) || (ch = fgetc(f)) == EOF)
        fail("cannot read -train %s at byte %" PRIu64 ": %s", path, p, strerror(errno));
    }
    skipping = ch != '\r' && !is_separator((char)ch);
  }
  if (n_shards > 1 && fseeko(f, (off_t)begin, SEEK_SET))
    fail("cannot seek in -train %s: %s", path, strerror(errno));
  static char buffer[1 << 20];
  char word[MAX_WORD_BYTES];
  size_t length = 0, got;
  uint64_t position = begin;
  int done = 0;
  while (!done && (got = fread(buffer, 1, sizeof buffer, f)) > 0) {
    for (size_t i = 0; i < got; i++, position++) {
      char ch = buffer[i];
      if (position >= end && length == 0) {
        done = 1;
        break;
      }
      if (skipping) {
        if (!is_separator(ch)) continue;
        skipping = 0;
      }
      if (ch == '\r') continue;
      if (is_separator(ch)) {
        if (length) add_token(v, c, word, length);
        length = 0;
        if (position >= end) { /* the word that crossed `end` is done */
          done = 1;
          break;
        }
        if (ch == '\n' && !v->frozen) {
          v->words[END_OF_SENTENCE].count++;
          corpus_push(c, END_OF_SENTENCE);
        } else if (ch == '\n' && v->newline >= 0) {
          corpus_push(c, v->newline);
        }
      } else if (length < MAX_WORD_BYTES) {
        word[length++] = ch;
      }
    }
  }
  if (ferror(f)) fail("error reading -train %s: %s", path, strerror(errno));
  if (length) add_token(v, c, word, length);
  fclose(f);
}

/* v's words in v's order, each as 8 bytes of count (native byte order: every
 * rank runs this program on the same kind of machine), the word and a NUL. */
static char *serialize_vocabulary(const vocabulary *v, size_t *bytes) {
  *bytes = 8 * v->n_words + v->arena_used;
  char *data = xrealloc(NULL, *bytes, 1), *p = data;
  for (size_t w = 0; w < v->n_words; w++) {
    const char *text = v->arena + v->words[w].text;
    size_t length = strlen(text) + 1;
    memcpy(p, &v->words[w].count, 8);
    memcpy(p + 8, text, length);
    p += 8 + length;
  }
  return data;
}

/* Adds a serialized list's counts to `merged`; a word new to it goes last,
 * so merging the shards' lists in shard order lists the words in order of
 * first appearance in the whole corpus, as one shard of the whole does. */
static void merge_vocabulary(vocabulary *merged, const char *data, size_t bytes) {
  size_t p = 0;
  while (p < bytes) {
    const char *text = data + p + 8;
    const char *nul = p + 8 < bytes ? memchr(text, '\0', bytes - p - 8) : NULL;
    if (!nul) fail("a rank sent a damaged vocabulary (%zu bytes)", bytes);
    uint64_t count;
    memcpy(&count, data + p, 8);
    size_t index = vocabulary_find_or_add(merged, text, (size_t)(nul - text)); /* may move words */
    merged->words[index].count += count;
    p += 8 + (size_t)(nul - text) + 1;
  }
}

/* More than one rank (or -shard-count): reads shard world_rank of the corpus
 * into c and builds in v (which holds "</s>" only) the vocabulary of the whole
 * corpus: every shard's (word, count) list, merged in shard order, so that
 * sort_and_prune gives every rank the single-process vocabulary.  c's ids
 * then index v.  Without MPI the other shards are read here, one by one. */
static void read_shared_vocabulary(FILE *f, const options *o, vocabulary *v, corpus *c) {
  vocabulary local = {0};
  vocabulary_rehash(&local, 1 << 16);
  vocabulary_find_or_add(&local, "</s>", 4);
  read_shard(f, o->train, world_rank, world_size, &local, c);
  size_t bytes;
  char *mine = serialize_vocabulary(&local, &bytes);
#ifdef FL_W2V_MPI
  if (mpi_ranks > 1) {
    if (bytes > INT_MAX)
      fail("the word list of this shard takes %zu bytes, more than MPI's INT_MAX", bytes);
    int my_bytes = (int)bytes;
    int *sizes = xrealloc(NULL, (size_t)world_size, sizeof *sizes);
    int *offsets = xrealloc(NULL, (size_t)world_size, sizeof *offsets);
    MPI_Allgather(&my_bytes, 1, MPI_INT, sizes, 1, MPI_INT, MPI_COMM_WORLD);
    long long total = 0;
    for (int r = 0; r < world_size; r++) {
      if (total + sizes[r] > INT_MAX)
        fail("the word lists of all shards take more than MPI's INT_MAX bytes");
      offsets[r] = (int)total;
      total += sizes[r];
    }
    char *all = xrealloc(NULL, (size_t)total, 1);
    MPI_Allgatherv(mine, my_bytes, MPI_BYTE, all, sizes, offsets, MPI_BYTE, MPI_COMM_WORLD);
    for (int r = 0; r < world_size; r++) merge_vocabulary(v, all + offsets[r], (size_t)sizes[r]);
    free(all);
    free(sizes);
    free(offsets);
  }
#endif
  if (mpi_ranks == 1) {
    for (int r = 0; r < world_size; r++) {
      if (r == world_rank) {
        merge_vocabulary(v, mine, bytes);
        continue;
      }
      FILE *other_file = fopen(o->train, "rb");
      if (!other_file) fail("cannot read -train %s: %s", o->train, strerror(errno));
      vocabulary other = {0};
      vocabulary_rehash(&other, 1 << 16);
      vocabulary_find_or_add(&other, "</s>", 4);
      corpus scratch = {0};
      read_shard(other_file, o->train, r, world_size, &other, &scratch);
      size_t other_bytes;
      char *data = serialize_vocabulary(&other, &other_bytes);
      merge_vocabulary(v, data, other_bytes);
      free(data);
      free(scratch.ids);
      free(other.words);
      free(other.arena);
      free(other.slots);
    }
  }
  free(mine);
  int32_t *to_merged = xrealloc(NULL, local.n_words, sizeof *to_merged);
  for (size_t w = 0; w < local.n_words; w++) {
    const char *text = local.arena + local.words[w].text;
    to_merged[w] = (int32_t)vocabulary_find_or_add(v, text, strlen(text));
  }
  for (size_t i = 0; i < c->n_ids; i++) c->ids[i] = to_merged[c->ids[i]];
  free(to_merged);
  free(local.words);
  free(local.arena);
  free(local.slots);
}

/* -read-vocab FILE, word2vec.c's ReadVocab: one word and its count per line
 * (a word, spaces or tabs, a decimal count; what -save-vocab writes).  '\r' is
 * dropped and words are cut to MAX_WORD_BYTES, as -train's words are, so a
 * file's word matches the text's.  The words keep the file's order: its first
 * word gets index 0, which sort_and_prune keeps first whatever its count, as
 * word2vec.c's SortVocab keeps its word 0, and training ends a sentence at
 * word 0, as word2vec.c does.  A -save-vocab file begins with "</s>", so it
 * gives the vocabulary built from the text.  A file that begins with another
 * word makes that word the sentence end, and a newline of the text is the
 * word "</s>" (trained as any word) or, when the file lacks "</s>", skipped --
 * all as in word2vec.c.  A line that is not "word count", a repeated word or
 * an empty file ends the program (word2vec.c would read on). */
static void read_vocabulary_file(const char *path, vocabulary *v) {
  FILE *f = fopen(path, "rb");
  if (!f) fail("cannot read -read-vocab %s: %s", path, strerror(errno));
  char *line = NULL;
  size_t line_capacity = 0, line_number = 0;
  uint64_t total = 0;
  ssize_t got;
  while ((got = getline(&line, &line_capacity, f)) >= 0) {
    line_number++;
    size_t n = (size_t)got, i = 0, length = 0;
    char word[MAX_WORD_BYTES];
    for (; i < n && line[i] != '\0' && !is_separator(line[i]); i++)
      if (line[i] != '\r' && length < MAX_WORD_BYTES) word[length++] = line[i];
    size_t word_end = i;
    while (i < n && (line[i] == ' ' || line[i] == '\t')) i++;
    int valid = length > 0 && i > word_end && i < n && line[i] >= '0' && line[i] <= '9';
    unsigned long long count = 0;
    if (valid) {
      char *end;
      errno = 0;
      count = strtoull(line + i, &end, 10);
      valid = errno != ERANGE && count <= LLONG_MAX;
      for (i = (size_t)(end - line); valid && i < n; i++)
        valid = line[i] == ' ' || line[i] == '\t' || line[i] == '\r' || line[i] == '\n';
    }
    if (!valid) {
      while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) n--;
      fail("-read-vocab %s line %zu is not \"word count\" (a count in [0, 2^63)): '%.*s%s'", path,
           line_number, (int)(n < 80 ? n : 80), line, n > 80 ? "..." : "");
    }
    if (vocabulary_find(v, word, length) >= 0)
      fail("-read-vocab %s line %zu repeats the word '%.*s'", path, line_number, (int)length, word);
    size_t index = vocabulary_find_or_add(v, word, length); /* may move v->words */
    v->words[index].count = count;
    if (count > (uint64_t)LLONG_MAX - total)
      fail("the counts of -read-vocab %s add up to more than 2^63 - 1", path);
    total += count;
  }
  if (ferror(f)) fail("error reading -read-vocab %s: %s", path, strerror(errno));
  fclose(f);
  free(line);
  if (v->n_words == 0) fail("-read-vocab %s has no words", path);
  v->frozen = 1;
  v->newline = vocabulary_find(v, "</s>", 4);
}

static const vocabulary *sort_vocabulary;

/* Most frequent first; ties in order of first appearance, so the order (and
 * the output) never depends on the sort's stability. */
static int compare_by_count(const void *a, const void *b) {
  size_t i = *(const size_t *)a, j = *(const size_t *)b;
  uint64_t ci = sort_vocabulary->words[i].count, cj = sort_vocabulary->words[j].count;
  if (ci != cj) return ci > cj ? -1 : 1;
  return i < j ? -1 : i > j;
}

/* word2vec.c's SortVocab: "</s>" (index 0; with -read-vocab, the file's first
 * word) stays first whatever its count, the rest by
 * count, words below min_count dropped (from the text too).  Returns the
 * kept words' indices in v (order[final id] = index). */
static size_t *sort_and_prune(vocabulary *v, corpus *c, uint64_t min_count, size_t *n_kept) {
  size_t *order = xrealloc(NULL, v->n_words, sizeof *order);
  for (size_t i = 0; i < v->n_words; i++) order[i] = i;
  sort_vocabulary = v;
  qsort(order + 1, v->n_words - 1, sizeof *order, compare_by_count);
  int32_t *final_id = xrealloc(NULL, v->n_words, sizeof *final_id);
  size_t kept = 0;
  for (size_t i = 0; i < v->n_words; i++) {
    final_id[order[i]] = -1;
    if (i == 0 || v->words[order[i]].count >= min_count) {
      final_id[order[i]] = (int32_t)kept;
      order[kept++] = order[i];
    }
  }
  size_t n = 0;
  for (size_t i = 0; i < c->n_ids; i++) {
    int32_t id = final_id[c->ids[i]];
    if (id >= 0) c->ids[n++] = id;
  }
  c->n_ids = n;
  free(final_id);
  *n_kept = kept;
  return order;
}

/* ------------------------------------------------------------ training */

static double now_seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void check(fastloss_status status, const char *call) {
  if (status != FASTLOSS_OK)
    fail("%s failed: %s: %s", call, fastloss_status_str(status), fastloss_last_error());
}

/* Whether this process prints progress: rank 0 of an MPI run, or a lone one. */
static int speaks(void) { return mpi_ranks == 1 || world_rank == 0; }

/* A uniform integer in [0, n) from one 32-bit draw (multiply-shift: no
 * division on the per-word path; the bias is below n / 2^32). */
static uint32_t draw_below(fastloss_rng *rng, uint32_t n) {
  return (uint32_t)(((uint64_t)fastloss_rng_u32(rng) * n) >> 32);
}

/* Skip-gram: pair p is (inputs[p], targets[p]), group g (one centre word)
 * the pairs group_offsets[g] .. group_offsets[g + 1].  CBOW: example g is
 * the centre word targets[g] with the context words inputs[group_offsets[g]
 * .. group_offsets[g + 1]) (n_pairs counts context words). */
typedef struct batch_buffers {
  int32_t *inputs, *targets;
  size_t *group_offsets;
  size_t n_pairs, n_groups, pair_capacity;
} batch_buffers;

typedef struct statistics {
  long long words_done; /* corpus words consumed, "</s>" included, as word2vec.c */
  double loss_sum;      /* over all pairs (CBOW: centre words) */
  long long pairs;
  double step_seconds;  /* inside fastloss_sgns_step_f32; the rest of training is
                           this program's serial work (pairs, draws) */
  double late_loss_sum; /* over batches begun in the last 10% of words */
  long long late_pairs;
  double interval_loss_sum; /* since the last -loss-every line */
  long long interval_pairs;
} statistics;

typedef struct trainer {
  /* On cache lines of its own: -replicas puts one per thread in an array. */
  _Alignas(64) const options *o;
  size_t vocab, dim;
  float *in_emb, *out_emb;
  const fastloss_sampler *sampler;
  fastloss_rng window_rng, sample_rng;
  /* The library draws group g's negatives from stream negative_stream + g
   * of negative_seed; negative_stream counts the groups trained so far. */
  uint64_t negative_seed, negative_stream;
  uint32_t *keep_below; /* subsampling: keep a word when a u32 draw is below this */
  uint8_t *always_keep;
  long long train_words;
  batch_buffers b;
  statistics s;
  double start;
  /* Ranks (world_size; 1 alone).  A rank trains local_total words (-iter
   * times its shard) and averages the tables at n_syncs points, the s-th
   * once it has trained s / n_syncs of them, so every rank makes the same
   * number of MPI calls whatever its shard's length.  Between syncs the
   * global word count (for alpha) is the last sync's exact sum plus this
   * rank's words since then times the ranks. */
  int ranks;
  long long local_total, n_syncs, syncs_done, next_sync;
  long long sync_local_words, sync_global_words;
  float *in_snapshot, *out_snapshot; /* the tables after the last sync */
  float *pack;
  uint64_t *touched;
  long long sparse_tables, rows_sent; /* tables synced sparse; rows summed */
  double sync_seconds, mpi_seconds, wait_seconds;
  /* -replicas: this trainer is thread `member` of a team training replicas
   * of the tables (NULL otherwise). */
  struct replica_team *team;
  int member;
  unsigned char *in_touched, *out_touched; /* rows trained since the last sync */
  /* -replicas 1: this member's own tables, which it trains between merges:
   * whole copies, or with -share-rare 1 the first head_rows rows only.
   * While the rare rows are shared (sharing = 1) in_emb and out_emb are
   * the team's master tables, whose rows from head_rows on all members
   * train, and the library takes rows [0, head_rows) from in_head and
   * out_head (= in_copy, out_copy: fastloss_sgns_params.head_rows); else
   * in_emb and out_emb are the copies and head_rows is 0. */
  float *in_copy, *out_copy;
  int sharing;
  size_t head_rows;
  float *in_head, *out_head;
  long long probes;       /* -share-rare 2: round-trip probes this member took part in */
  long long replica_sync; /* words of each thread between merges */
  long long next_progress; /* this thread's words when the next progress line is due */
  long long member_words_min, member_words_max; /* the fewest and most words a member trained */
  /* -replicas 1, for the summary: the rows of the tables the members
   * copied while sharing the others, intervals between merges (the first
   * one before it) in all and with the rare rows shared, and the fastest
   * and slowest round trip measured (-share-rare 2) */
  size_t shared_from;
  long long intervals, shared_intervals;
  double trip_min_ns, trip_max_ns;
} trainer;

typedef struct replica_team {
  int n;
  pthread_barrier_t barrier;
  trainer *members;
  float *master[2];    /* the merged tables (input, output) */
  long long *local_words; /* each member's words at the sync */
  size_t hot_rows;     /* rows [0, hot_rows) merge by the mean, the others by the summed change */
  size_t head_rows;    /* -share-rare 1 or 2: the rows members copy while sharing the others */
  int share_rare;      /* -share-rare: 0, 1 or 2 (1 when the probe says so) */
  int next_sharing;    /* -share-rare 2: the mode of the next interval (set by member 0) */
  long long intervals, shared_intervals; /* counted by member 0 */
  double trip_min_ns, trip_max_ns;
  _Alignas(64) atomic_ullong ping; /* -share-rare 2: the probe's cache line */
  char ping_line_end[64 - sizeof(atomic_ullong)];
  int16_t *source[2];  /* per row of each table, at a merge: which copies fetch it (merge_row) */
  const corpus *shards;
  /* -balance 1: the corpus in n_chunks chunks, chunk j ids [chunk_begin[j],
   * chunk_begin[j + 1]); total_chunks over all -iter passes; the members take
   * chunk next_chunk and count it on; merge s comes once chunks
   * [0, interval_end[s]) are trained. */
  const corpus *whole;
  size_t n_chunks, total_chunks, *chunk_begin, *interval_end;
  _Alignas(64) atomic_size_t next_chunk;
} replica_team;

/* Progress lines: rank 0's first thread. */
static int member_speaks(const trainer *t) { return speaks() && (!t->team || t->member == 0); }

/* The global word count that `local` words of this rank stand for. */
static long long global_words(const trainer *t, long long local) {
  return t->sync_global_words + (local - t->sync_local_words) * t->ranks;
}

/* Appends the pairs of one sentence: for each centre word, a window
 * shrunk by a random b in [0, window) as in word2vec.c, every context word as
 * the input and the centre word as the target; one group per centre word.
 * CBOW: one example per centre word, the same window's words (the centre
 * excluded) as its context; a centre word with no context word (a sentence
 * of one word) trains nothing, as word2vec.c's "if (cw)". */
static void add_sentence(trainer *t, const int32_t *sentence, size_t length) {
  batch_buffers *b = &t->b;
  size_t window = (size_t)t->o->window;
  for (size_t i = 0; i < length; i++) {
    size_t reach = window - draw_below(&t->window_rng, (uint32_t)window);
    size_t lo = i > reach ? i - reach : 0;
    size_t hi = i + reach < length - 1 ? i + reach : length - 1;
    if (lo == hi) continue;
    b->group_offsets[b->n_groups] = b->n_pairs;
    b->n_groups++;
    if (t->o->cbow) b->targets[b->n_groups - 1] = sentence[i];
    for (size_t c = lo; c <= hi; c++) {
      if (c == i) continue;
      if (!t->o->cbow) b->targets[b->n_pairs] = sentence[i];
      b->inputs[b->n_pairs++] = sentence[c];
    }
  }
  b->group_offsets[b->n_groups] = b->n_pairs;
}

static double current_alpha(const trainer *t) {
  double total = (double)t->o->iter * (double)t->train_words + 1.0;
  double alpha = t->o->alpha * (1.0 - (double)t->s.words_done / total);
  return alpha < t->o->alpha * 1e-4 ? t->o->alpha * 1e-4 : alpha;
}

static void progress(const trainer *t, double alpha) {
  double seconds = now_seconds() - t->start;
  double total = (double)t->o->iter * (double)t->train_words + 1.0;
  if (t->ranks > 1) {
    double rate = (double)t->s.words_done / (seconds > 0 ? seconds : 1e-9);
    fprintf(stderr,
            "\rAlpha: %f  Progress: %.2f%%  Words/sec: %.2fk (%.2fk/rank, %d ranks)  Loss: %f  ",
            alpha, 100.0 * (double)t->s.words_done / total, rate / 1e3,
            rate / (double)t->ranks / 1e3, t->ranks,
            t->s.pairs ? t->s.loss_sum / (double)t->s.pairs : 0.0);
    return;
  }
  fprintf(stderr, "\rAlpha: %f  Progress: %.2f%%  Words/thread/sec: %.2fk  Loss: %f  ", alpha,
          100.0 * (double)t->s.words_done / total,
          (double)t->s.words_done / (seconds > 0 ? seconds : 1e-9) / (double)t->o->threads / 1e3,
          t->s.pairs ? t->s.loss_sum / (double)t->s.pairs : 0.0);
}

/* -private-rows, or its default for this vocabulary. */
static size_t private_rows(const trainer *t) {
  if (t->o->private_rows >= 0) return (size_t)t->o->private_rows;
  const size_t share = t->vocab / FL_W2V_PRIVATE_SHARE;
  return share < FL_W2V_PRIVATE_ROWS ? share : FL_W2V_PRIVATE_ROWS;
}

static void run_batch(trainer *t, long long batch_start_words) {
  batch_buffers *b = &t->b;
  if (b->n_pairs == 0) return;
  const int cbow = t->o->cbow;
  fastloss_cbow_batch cbow_batch = {
      .n_examples = b->n_groups,
      .targets = b->targets,
      .context_offsets = b->group_offsets,
      .n_contexts = b->n_pairs,
      .contexts = b->inputs,
      .k = (size_t)t->o->negative,
      .negatives = NULL, /* drawn by the library, from params.noise */
  };
  fastloss_sgns_batch batch = {
      .n_pairs = b->n_pairs,
      .inputs = b->inputs,
      .targets = b->targets,
      .k = (size_t)t->o->negative,
      .negatives = NULL, /* drawn by the library, from params.noise */
      .n_groups = t->o->shared_negatives ? b->n_groups : 0,
      .group_offsets = t->o->shared_negatives ? b->group_offsets : NULL,
  };
  fastloss_sgns_params params = {.deterministic = t->o->deterministic,
                                 .noise = t->sampler,
                                 .seed = t->negative_seed,
                                 .stream = t->negative_stream,
                                 .private_rows = private_rows(t),
                                 .in_touched = t->in_touched,
                                 .out_touched = t->out_touched,
                                 .head_rows = t->head_rows,
                                 .in_head = t->in_head,
                                 .out_head = t->out_head};
  /* alpha as word2vec.c has it when the batch begins: it updates every 10000
   * words too. */
  t->s.words_done = global_words(t, batch_start_words);
  double alpha = current_alpha(t);
  double loss = 0.0, step_start = now_seconds();
  if (cbow)
    check(fastloss_cbow_step_f32(t->vocab, t->dim, t->in_emb, t->out_emb, &cbow_batch,
                                 (float)alpha, &params, &loss),
          "fastloss_cbow_step_f32");
  else
    check(fastloss_sgns_step_f32(t->vocab, t->dim, t->in_emb, t->out_emb, &batch, (float)alpha,
                                 &params, &loss),
          "fastloss_sgns_step_f32");
  t->s.step_seconds += now_seconds() - step_start;
  t->negative_stream += cbow || t->o->shared_negatives ? b->n_groups : b->n_pairs;
  /* the loss's terms: pairs, or centre words for CBOW */
  long long pairs = (long long)(cbow ? b->n_groups : b->n_pairs);
  t->s.loss_sum += loss;
  t->s.pairs += pairs;
  t->s.interval_loss_sum += loss;
  t->s.interval_pairs += pairs;
  if ((double)global_words(t, batch_start_words) >=
      0.9 * (double)t->o->iter * (double)t->train_words) {
    t->s.late_loss_sum += loss;
    t->s.late_pairs += pairs;
  }
  /* A progress line every BATCH_WORDS words of this thread at most, as
   * word2vec.c: -balance 1's batches end with each 1024-word chunk, and a
   * line per batch (a write to stderr, which may wake a reader on a busy
   * core) cost 2 threads about 1% of their speed. */
  if (t->o->debug > 1 && member_speaks(t) && batch_start_words >= t->next_progress) {
    progress(t, alpha);
    t->next_progress = batch_start_words + BATCH_WORDS;
  }
  b->n_pairs = b->n_groups = 0;
}

/* The most pairs a sentence of `length` words can give. */
static size_t max_pairs(size_t length, size_t window) {
  size_t per_word = 2 * window < length ? 2 * window : length - 1;
  return length ? length * per_word : 0;
}

static long long sync_point(const trainer *t, long long s) {
  if (s >= t->n_syncs) return t->local_total;
  return (long long)ceil((double)t->local_total * (double)s / (double)t->n_syncs);
}

#ifdef FL_W2V_MPI
/* MPI_Allreduce in place over any count (MPI's counts are ints). */
static void allreduce(void *data, size_t count, MPI_Datatype type, size_t type_bytes, MPI_Op op,
                      double *seconds) {
  const size_t chunk = (size_t)1 << 28;
  double start = now_seconds();
  if (count == 0) MPI_Barrier(MPI_COMM_WORLD);
  for (size_t done = 0; done < count; done += chunk) {
    size_t n = count - done < chunk ? count - done : chunk;
    MPI_Allreduce(MPI_IN_PLACE, (char *)data + done * type_bytes, (int)n, type, op, MPI_COMM_WORLD);
  }
  *seconds += now_seconds() - start;
}
#endif

/* The s-th sync: the exact global word count, and both tables replaced by
 * their average over the ranks.  -sync-touched 1: a bitmap per table of the
 * rows that differ from the last sync's tables on this rank, OR-ed over the
 * ranks; a table whose union is under half its rows sends only those rows
 * (packed, with the other table's if it is sparse too, in one buffer), as
 * every other row is still the same on every rank.  The negatives touch most
 * of the output table between syncs unless K is small, so the input table is
 * the one that usually goes sparse. */
static void team_sync(trainer *t, long long local_words);
static void synchronise(trainer *t, long long local_words) {
  t->syncs_done++;
  t->next_sync = sync_point(t, t->syncs_done + 1);
  if (t->team) {
    team_sync(t, local_words);
    return;
  }
  if (t->o->test_fail_rank == world_rank && t->syncs_done == 1)
    fail("out of memory (simulated by -test-fail-rank %lld at the first sync)",
         t->o->test_fail_rank);
#ifdef FL_W2V_MPI
  if (mpi_ranks == 1) return;
  double start = now_seconds();
  /* Timed apart: the wait for the slowest rank (load imbalance, or a core
   * shared with other work), so the rest is the cost of the sync itself. */
  double waited = 0;
  allreduce(NULL, 0, MPI_BYTE, 1, MPI_OP_NULL, &waited); /* a barrier, see allreduce */
  t->wait_seconds += waited;
  t->mpi_seconds += waited;
  long long global = local_words;
  allreduce(&global, 1, MPI_LONG_LONG, sizeof global, MPI_SUM, &t->mpi_seconds);
  t->sync_local_words = local_words;
  t->sync_global_words = global;
  size_t rows = t->vocab, dim = t->dim, cells = rows * dim, words = (rows + 63) / 64;
  float *tables[2] = {t->in_emb, t->out_emb}, *snapshots[2] = {t->in_snapshot, t->out_snapshot};
  const float scale = (float)t->ranks;
  int sparse[2] = {0, 0};
  if (t->o->sync_touched) {
    memset(t->touched, 0, 2 * words * sizeof *t->touched);
    for (int k = 0; k < 2; k++)
      for (size_t r = 0; r < rows; r++)
        if (memcmp(tables[k] + r * dim, snapshots[k] + r * dim, dim * sizeof(float)))
          t->touched[k * words + r / 64] |= (uint64_t)1 << (r % 64);
    allreduce(t->touched, 2 * words, MPI_UINT64_T, sizeof *t->touched, MPI_BOR, &t->mpi_seconds);
    size_t packed = 0;
    for (int k = 0; k < 2; k++) {
      size_t union_rows = 0;
      for (size_t i = 0; i < words; i++)
        union_rows += (size_t)__builtin_popcountll(t->touched[k * words + i]);
      sparse[k] = 2 * union_rows < rows;
      if (sparse[k]) packed += union_rows;
    }
    if (packed) { /* at most rows: each sparse table sends under half */
      float *p = t->pack;
      for (int k = 0; k < 2; k++)
        for (size_t r = 0; sparse[k] && r < rows; r++)
          if (t->touched[k * words + r / 64] >> (r % 64) & 1) {
            memcpy(p, tables[k] + r * dim, dim * sizeof(float));
            p += dim;
          }
      allreduce(t->pack, packed * dim, MPI_FLOAT, sizeof(float), MPI_SUM, &t->mpi_seconds);
      p = t->pack;
      for (int k = 0; k < 2; k++)
        for (size_t r = 0; sparse[k] && r < rows; r++)
          if (t->touched[k * words + r / 64] >> (r % 64) & 1) {
            for (size_t d = 0; d < dim; d++) p[d] /= scale;
            memcpy(tables[k] + r * dim, p, dim * sizeof(float));
            memcpy(snapshots[k] + r * dim, p, dim * sizeof(float));
            p += dim;
          }
      t->rows_sent += (long long)packed;
    }
  }
  for (int k = 0; k < 2; k++) {
    if (sparse[k]) {
      t->sparse_tables++;
      continue;
    }
    allreduce(tables[k], cells, MPI_FLOAT, sizeof(float), MPI_SUM, &t->mpi_seconds);
    for (size_t i = 0; i < cells; i++) tables[k][i] /= scale;
    if (t->o->sync_touched) memcpy(snapshots[k], tables[k], cells * sizeof(float));
    t->rows_sent += (long long)rows;
  }
  t->sync_seconds += now_seconds() - start;
#else
  (void)local_words;
#endif
}

/* The table `table` (0 input, 1 output) of a member's own copies. */
static float *member_copy(const trainer *member, int table) {
  return table ? member->out_copy : member->in_copy;
}

/* The rows a sync merges: the copied rows while the rare rows are shared,
 * else all. */
static size_t merged_rows(const trainer *t) { return t->sharing ? t->team->head_rows : t->vocab; }

/* Points this member's steps at its copies, or with the rare rows shared at
 * the master tables with its copies as the heads. */
static void set_sharing(trainer *t, int sharing) {
  replica_team *team = t->team;
  t->sharing = sharing;
  t->in_emb = sharing ? team->master[0] : t->in_copy;
  t->out_emb = sharing ? team->master[1] : t->out_copy;
  t->head_rows = sharing ? team->head_rows : 0;
  t->in_head = sharing ? t->in_copy : NULL;
  t->out_head = sharing ? t->out_copy : NULL;
}

/* Waits until *line holds `want`: spinning, then from FL_W2V_PROBE_SPINS
 * spins on giving the core away, so that two threads on one core (taskset,
 * an oversubscribed host) pass the line in microseconds rather than a
 * scheduler time slice per trip. */
static void wait_for(atomic_ullong *line, unsigned long long want) {
  for (unsigned spins = 0; atomic_load_explicit(line, memory_order_acquire) != want; spins++) {
    if (spins >= FL_W2V_PROBE_SPINS) {
      sched_yield();
      continue;
    }
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
  }
}

/* -share-rare 2: members 0 and 1 pass the team's ping line back and forth
 * (member 0 writes odd values, member 1 the next even one); member 0 gets
 * the best batch's ns per round trip, the others 0.  Both must call it the
 * same number of times: the values run on from probe to probe. */
static double probe_round_trip(trainer *t) {
  replica_team *team = t->team;
  if (team->n < 2 || t->member > 1) return 0.0;
  const unsigned long long trips = FL_W2V_PROBE_TRIPS, batches = FL_W2V_PROBE_BATCHES;
  unsigned long long v = (unsigned long long)t->probes++ * batches * trips * 2;
  double best = INFINITY;
  for (unsigned long long b = 0; b < batches; b++) {
    const double start = now_seconds();
    for (unsigned long long i = 0; i < trips; i++, v += 2) {
      if (t->member == 0) {
        atomic_store_explicit(&team->ping, v + 1, memory_order_release);
        wait_for(&team->ping, v + 2);
      } else {
        wait_for(&team->ping, v + 1);
        atomic_store_explicit(&team->ping, v + 2, memory_order_release);
      }
    }
    const double ns = (now_seconds() - start) * 1e9 / (double)trips;
    if (ns < best) best = ns;
  }
  return t->member == 0 ? best : 0.0;
}

/* -share-rare 2, between two meetings of the team: members 0 and 1 measure
 * the round trip, and member 0 sets the next interval's mode (or the test
 * plan does, one character per interval, cycled).  Others return at once. */
static void choose_sharing(trainer *t) {
  replica_team *team = t->team;
  const options *o = t->o;
  if (team->share_rare != 2) return;
  const double ns = o->test_share_plan ? 0.0 : probe_round_trip(t);
  if (t->member != 0) return;
  int sharing;
  if (o->test_share_plan) {
    const size_t length = strlen(o->test_share_plan);
    sharing = o->test_share_plan[(size_t)team->intervals % length] == '1';
  } else {
    sharing = ns <= FL_W2V_SHARE_TRIP_NS;
    if (team->intervals == 0 || ns < team->trip_min_ns) team->trip_min_ns = ns;
    if (team->intervals == 0 || ns > team->trip_max_ns) team->trip_max_ns = ns;
  }
  team->next_sharing = sharing;
}

/* Counts the interval that begins (member 0). */
static void count_interval(trainer *t) {
  if (t->member != 0) return;
  t->team->intervals++;
  t->team->shared_intervals += t->sharing;
}

/* One row of one table at a sync, when some member trained it since the
 * last one (its touched map says so): a row one member trained takes that
 * member's copy; a row several trained takes the mean of their copies when
 * it is hot (rows [0, hot_rows), the most frequent words: every copy has
 * taken many updates from the same start and is near where they lead, so
 * adding the changes would overshoot), else the master plus the sum of
 * their changes (rarer rows: a few independent updates each, which add up as
 * on one thread).  Sums run in member order.  The merged row goes to the
 * master only, and team->source[table][r] says which copies must fetch it
 * (merge_fetch): FL_W2V_ROW_KEPT none, FL_W2V_ROW_ALL all, or j >= 0 all but
 * member j's, which is the merged row already. */
static void merge_row(replica_team *team, int table, size_t r, size_t dim) {
  float *m = team->master[table] + r * dim;
  const float *copies[FL_W2V_MAX_REPLICAS];
  int trained = 0, only = -1;
  for (int j = 0; j < team->n; j++) {
    const trainer *member = &team->members[j];
    const unsigned char *mark = (table ? member->out_touched : member->in_touched) + r;
    if (!*mark) continue;
    copies[trained++] = member_copy(member, table) + r * dim;
    only = j;
  }
  int16_t *source = &team->source[table][r];
  if (trained == 0) {
    *source = FL_W2V_ROW_KEPT;
    return;
  }
  if (trained == 1) {
    memcpy(m, copies[0], dim * sizeof *m);
    *source = (int16_t)only;
    return;
  }
  *source = FL_W2V_ROW_ALL;
  if (r < team->hot_rows) {
    const float scale = 1.0f / (float)trained;
    for (size_t d = 0; d < dim; d++) {
      float sum = copies[0][d];
      for (int j = 1; j < trained; j++) sum += copies[j][d];
      m[d] = sum * scale;
    }
  } else {
    for (size_t d = 0; d < dim; d++) {
      float base = m[d], sum = base;
      for (int j = 0; j < trained; j++) sum += copies[j][d] - base;
      m[d] = sum;
    }
  }
}

/* After the merge: this member's copies of both tables take the merged rows
 * they lack, and its marks are cleared.  Each member writes only its own
 * copies and marks, so the rows it trains next are in its own core's cache,
 * not last written by another core (which cost each thread a fetch from the
 * other core per row it touched after a merge). */
static void merge_fetch(trainer *t, int next_sharing) {
  replica_team *team = t->team;
  const int16_t me = (int16_t)t->member;
  const size_t bytes = t->dim * sizeof(float);
  for (int table = 0; table < 2; table++) {
    const int16_t *source = team->source[table];
    const float *m = team->master[table];
    float *copy = member_copy(t, table);
    const size_t merged = merged_rows(t);
    for (size_t r = 0; r < merged; r++)
      if (source[r] != FL_W2V_ROW_KEPT && source[r] != me)
        memcpy(copy + r * t->dim, m + r * t->dim, bytes);
    /* from shared rare rows to whole copies: the copies' rare rows are
     * those of the master */
    if (t->sharing && !next_sharing && merged < t->vocab)
      memcpy(copy + merged * t->dim, m + merged * t->dim, (t->vocab - merged) * bytes);
  }
  memset(t->in_touched, 0, 2 * t->vocab); /* out_touched follows in_touched */
}

/* A sync of -replicas: all members meet, the global word count is summed,
 * each member merges its share of the rows of both tables into the master,
 * all meet again, and each fetches the merged rows into its own copies
 * (merge_fetch) before training on.  The next merge reads the copies only
 * after every member has reached it, so no third meeting is needed. */
static void team_sync(trainer *t, long long local_words) {
  replica_team *team = t->team;
  double start = now_seconds();
  team->local_words[t->member] = local_words;
  pthread_barrier_wait(&team->barrier);
  t->wait_seconds += now_seconds() - start;
  long long global = 0;
  for (int j = 0; j < team->n; j++) global += team->local_words[j];
  t->sync_local_words = local_words;
  t->sync_global_words = global;
  /* Blocks of FL_W2V_MERGE_BLOCK rows dealt round-robin: the frequent rows,
   * which every thread trained, are the first ones, so contiguous shares
   * would give the first thread most of the work. */
  const size_t block = FL_W2V_MERGE_BLOCK, step = block * (size_t)team->n;
  const size_t merged = merged_rows(t);
  for (int table = 0; table < 2; table++)
    for (size_t first = block * (size_t)t->member; first < merged; first += step) {
      size_t last = merged - first < block ? merged : first + block;
      for (size_t r = first; r < last; r++) merge_row(team, table, r, t->dim);
    }
  const int more = t->syncs_done < t->n_syncs; /* after the last, only the master counts */
  if (more) choose_sharing(t);
  pthread_barrier_wait(&team->barrier);
  if (more) {
    const int next = team->share_rare == 2 ? team->next_sharing : t->sharing;
    merge_fetch(t, next);
    set_sharing(t, next);
    count_interval(t);
  }
  t->sync_seconds += now_seconds() - start;
}

static void train(trainer *t, const corpus *c);
static void train_chunks(trainer *t);
/* The first interval's mode: -share-rare 2 measures the round trip with
 * the team met. */
static void team_start(trainer *t) {
  replica_team *team = t->team;
  if (team->share_rare == 2) {
    pthread_barrier_wait(&team->barrier);
    choose_sharing(t);
    pthread_barrier_wait(&team->barrier);
  }
  set_sharing(t, team->share_rare == 2 ? team->next_sharing : team->share_rare == 1);
  count_interval(t);
}

static void *member_main(void *arg) {
  trainer *t = arg;
  team_start(t);
  if (t->team->n_chunks)
    train_chunks(t);
  else
    train(t, &t->team->shards[t->member]);
  return NULL;
}

static void batch_alloc(trainer *t) {
  size_t window = (size_t)t->o->window;
  size_t sentence_pairs = max_pairs(MAX_SENTENCE, window);
  size_t capacity = (size_t)BATCH_WORDS * 2 * window;
  if (capacity > MAX_BATCH_PAIRS) capacity = MAX_BATCH_PAIRS;
  if (capacity < sentence_pairs) capacity = sentence_pairs;
  batch_buffers *b = &t->b;
  b->pair_capacity = capacity;
  b->inputs = xrealloc(NULL, capacity, sizeof *b->inputs);
  b->targets = xrealloc(NULL, capacity, sizeof *b->targets);
  b->group_offsets = xrealloc(NULL, capacity + 1, sizeof *b->group_offsets);
}

static void batch_free(trainer *t) {
  free(t->b.inputs);
  free(t->b.targets);
  free(t->b.group_offsets);
}

/* One pass over ids[0, n): sentences as word2vec.c reads them, batches of
 * about BATCH_WORDS words (the last one at the end of the span), the syncs
 * whose points *words passes, and -loss-every lines. */
static void train_span(trainer *t, const int32_t *ids, size_t n, long long *words_io,
                       long long *next_loss_line) {
  const options *o = t->o;
  size_t window = (size_t)o->window;
  batch_buffers *b = &t->b;
  int32_t sentence[MAX_SENTENCE];
  long long words = *words_io, batch_start = words;
  size_t position = 0;
  while (position < n) {
    /* One sentence as word2vec.c reads it: up to and including "</s>",
     * or MAX_SENTENCE kept words; subsampled words count as read. */
    size_t length = 0;
    long long sentence_start = words;
    while (position < n) {
      int32_t w = ids[position++];
      words++;
      if (w == END_OF_SENTENCE) break;
      if (!t->always_keep[w] && fastloss_rng_u32(&t->sample_rng) >= t->keep_below[w]) continue;
      sentence[length++] = w;
      if (length == MAX_SENTENCE) break;
    }
    if (b->n_pairs + max_pairs(length, window) > b->pair_capacity) {
      run_batch(t, batch_start);
      batch_start = sentence_start;
    }
    add_sentence(t, sentence, length);
    if (words - batch_start >= BATCH_WORDS || position == n || words >= t->next_sync) {
      run_batch(t, batch_start);
      batch_start = words;
      while (t->syncs_done < t->n_syncs && words >= t->next_sync) synchronise(t, words);
      if (o->loss_every > 0 && words >= *next_loss_line && member_speaks(t)) {
        fprintf(stderr, "\rloss-every: words %lld  %s %lld  average loss %f%30s\n", words,
                o->cbow ? "centre-words" : "pairs", t->s.interval_pairs,
                t->s.interval_pairs ? t->s.interval_loss_sum / (double)t->s.interval_pairs : 0.0,
                "");
        t->s.interval_loss_sum = 0.0;
        t->s.interval_pairs = 0;
        while (*next_loss_line <= words) *next_loss_line += o->loss_every;
      }
    }
  }
  *words_io = words;
}

static void train(trainer *t, const corpus *c) {
  batch_alloc(t);
  long long words = 0, next_loss_line = t->o->loss_every;
  t->start = now_seconds();
  for (long long epoch = 0; epoch < t->o->iter; epoch++)
    train_span(t, c->ids, c->n_ids, &words, &next_loss_line);
  while (t->syncs_done < t->n_syncs) synchronise(t, words); /* an empty shard */
  t->s.words_done = words;
  batch_free(t);
}

/* -balance 1: this member takes the next chunk of the corpus from the team's
 * counter until none is left.  Chunk k (of all -iter passes) has its own
 * random streams, and its learning rate follows its place in the corpus, so
 * what a chunk computes does not depend on which member trains it; which
 * member does, and so what each copy holds at a merge, depends on timing.
 * A member that takes a chunk past the current interval's end first meets
 * the others at the merge: it waits at most for the chunks they hold. */
static void train_chunks(trainer *t) {
  replica_team *team = t->team;
  const corpus *c = team->whole;
  batch_alloc(t);
  long long words = 0, next_loss_line = t->o->loss_every;
  t->start = now_seconds();
  t->next_sync = LLONG_MAX; /* no syncs inside a chunk */
  t->ranks = 1;             /* global_words: the chunk's place plus this member's words in it */
  for (;;) {
    size_t k = atomic_fetch_add_explicit(&team->next_chunk, 1, memory_order_relaxed);
    while (t->syncs_done < t->n_syncs && k >= team->interval_end[t->syncs_done]) {
      t->syncs_done++;
      team_sync(t, words);
    }
    if (k >= team->total_chunks) break;
    size_t epoch = k / team->n_chunks, j = k % team->n_chunks;
    size_t begin = team->chunk_begin[j], end = team->chunk_begin[j + 1];
    uint64_t streams = ((uint64_t)k + 1) << 32;
    fastloss_rng_init(&t->window_rng, t->o->seed, streams + 1);
    fastloss_rng_init(&t->sample_rng, t->o->seed, streams + 2);
    t->negative_stream = (uint64_t)k << 32; /* a chunk makes fewer than 2^32 draws */
    t->sync_local_words = words;
    t->sync_global_words = (long long)(epoch * c->n_ids + begin);
    train_span(t, c->ids + begin, end - begin, &words, &next_loss_line);
  }
  t->s.words_done = words;
  batch_free(t);
}


/* -replicas: -threads trainers, each on its own shard of the corpus and its
 * own copy of both tables, calling the library on one thread; every
 * -replica-sync words of each member they stop and merge their copies row by
 * row into `t`'s tables (merge_row), then go on from the merged tables.
 * No row is written by two threads between syncs, so the cores never trade
 * cache lines while training. */
/* A cut of the corpus at `end` moved past the next "</s>" when one comes
 * within MAX_SENTENCE words, else MAX_SENTENCE words on, mid-line (a longer
 * line: text8 is one line of 17M words), as word2vec.c's threads start
 * mid-line; never past the corpus's end. */
static size_t cut_at_line_end(const corpus *c, size_t end) {
  const size_t limit = end + MAX_SENTENCE;
  while (end > 0 && end < c->n_ids && end < limit && c->ids[end - 1] != END_OF_SENTENCE) end++;
  return end;
}

/* The CPUs this process may run on (2 where that cannot be known). */
static int usable_cpus(void) {
#ifdef CPU_COUNT
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) return CPU_COUNT(&set);
#endif
  return 2;
}

static float *alloc_floats(size_t count);
static void train_replicas(trainer *t, const corpus *c) {
  const options *o = t->o;
  int n = (int)o->threads;
  replica_team team = {.n = n, .hot_rows = private_rows(t)};
  /* -share-rare 1 or 2: while sharing, each member copies the hot rows only
   * (none with -private-rows 0: every row shared); never when those are
   * the whole vocabulary.  -share-rare 1 copies nothing else. */
  team.share_rare = team.hot_rows < t->vocab ? (int)o->share_rare : 0;
  if (team.share_rare == 2 && !o->test_share_plan && usable_cpus() < 2)
    team.share_rare = 0; /* one core: no probe (each trip a scheduler switch) */
  team.head_rows = team.share_rare ? team.hot_rows : t->vocab;
  atomic_init(&team.ping, 0);
  team.master[0] = t->in_emb;
  team.master[1] = t->out_emb;
  team.members = aligned_alloc(64, (size_t)n * sizeof *team.members);
  if (!team.members) fail("out of memory");
  team.local_words = xrealloc(NULL, (size_t)n, sizeof *team.local_words);
  corpus *shards = xrealloc(NULL, (size_t)n, sizeof *shards);
  team.shards = shards;
  if (pthread_barrier_init(&team.barrier, NULL, (unsigned)n)) fail("pthread_barrier_init failed");
  team.source[0] = xrealloc(NULL, 2 * t->vocab, sizeof *team.source[0]);
  team.source[1] = team.source[0] + t->vocab;
  /* shard j: ids [bound(j), bound(j + 1)), each bound a cut_at_line_end */
  size_t begin = 0;
  const double per_thread = (double)o->iter * (double)t->train_words / (double)n;
  long long every = o->replica_sync;
  if (every < 0) { /* the default: FL_W2V_REPLICA_SYNC, or less for FL_W2V_REPLICA_MERGES */
    double fewer = ceil(per_thread / FL_W2V_REPLICA_MERGES);
    every = fewer < FL_W2V_REPLICA_SYNC ? (long long)(fewer > 1 ? fewer : 1) : FL_W2V_REPLICA_SYNC;
  }
  t->replica_sync = every;
  long long syncs_wanted = (long long)ceil(per_thread / (double)every);
  if (syncs_wanted < 1) syncs_wanted = 1;
  if (o->balance) {
    /* chunks of FL_W2V_CHUNK words, each bound a cut_at_line_end */
    size_t most = c->n_ids / FL_W2V_CHUNK + 2;
    team.chunk_begin = xrealloc(NULL, most, sizeof *team.chunk_begin);
    size_t at = 0, count = 0;
    while (at < c->n_ids) {
      team.chunk_begin[count++] = at;
      at = cut_at_line_end(c, c->n_ids - at > FL_W2V_CHUNK ? at + FL_W2V_CHUNK : c->n_ids);
    }
    team.chunk_begin[count] = c->n_ids;
    team.n_chunks = count;
    team.total_chunks = count * (size_t)o->iter;
    team.whole = c;
    team.interval_end = xrealloc(NULL, (size_t)syncs_wanted, sizeof *team.interval_end);
    for (long long s = 0; s < syncs_wanted; s++)
      team.interval_end[s] = (size_t)ceil((double)team.total_chunks * (double)(s + 1) /
                                          (double)syncs_wanted);
    atomic_init(&team.next_chunk, 0);
  }
  for (int j = 0; j < n; j++) {
    size_t end = c->n_ids;
    if (j + 1 < n) {
      end = c->n_ids / (size_t)n * (size_t)(j + 1);
      if (end < begin) end = begin; /* an empty shard: fewer lines than threads */
      end = cut_at_line_end(c, end);
    }
    shards[j] = (corpus){.ids = c->ids + begin, .n_ids = end - begin};
    begin = end;
    trainer *m = &team.members[j];
    *m = *t;
    m->team = &team;
    m->member = j;
    /* -share-rare 1: the hot rows only; else whole copies */
    const size_t copy_cells = (team.share_rare == 1 ? team.head_rows : t->vocab) * t->dim;
    m->in_copy = alloc_floats(copy_cells);
    m->out_copy = alloc_floats(copy_cells);
    memcpy(m->in_copy, t->in_emb, copy_cells * sizeof(float));
    memcpy(m->out_copy, t->out_emb, copy_cells * sizeof(float));
    m->probes = 0;
    m->in_touched = xrealloc(NULL, 2, t->vocab);
    m->out_touched = m->in_touched + t->vocab;
    memset(m->in_touched, 0, 2 * t->vocab);
    uint64_t streams = (uint64_t)j << 32;
    fastloss_rng_init(&m->window_rng, o->seed, streams + 1);
    fastloss_rng_init(&m->sample_rng, o->seed, streams + 2);
    m->negative_stream = (uint64_t)j << 48;
    m->ranks = n;
    m->local_total = o->iter * (long long)shards[j].n_ids;
    m->n_syncs = syncs_wanted < 1 ? 1 : syncs_wanted;
    m->syncs_done = 0;
    m->next_sync = sync_point(m, 1);
  }
  pthread_t *threads = xrealloc(NULL, (size_t)n, sizeof *threads);
  for (int j = 1; j < n; j++)
    if (pthread_create(&threads[j], NULL, member_main, &team.members[j]))
      fail("cannot start thread %d of -threads %d", j, n);
  member_main(&team.members[0]);
  for (int j = 1; j < n; j++) pthread_join(threads[j], NULL);
  t->start = team.members[0].start;
  statistics sum = {0};
  t->member_words_min = LLONG_MAX;
  t->member_words_max = 0;
  for (int j = 0; j < n; j++) {
    statistics *s = &team.members[j].s;
    if (s->words_done < t->member_words_min) t->member_words_min = s->words_done;
    if (s->words_done > t->member_words_max) t->member_words_max = s->words_done;
    sum.words_done += s->words_done;
    sum.loss_sum += s->loss_sum;
    sum.pairs += s->pairs;
    sum.late_loss_sum += s->late_loss_sum;
    sum.late_pairs += s->late_pairs;
    free(team.members[j].in_copy);
    free(team.members[j].out_copy);
    free(team.members[j].in_touched);
  }
  sum.step_seconds = team.members[0].s.step_seconds;
  t->s = sum;
  t->sync_seconds = team.members[0].sync_seconds;
  t->wait_seconds = team.members[0].wait_seconds;
  t->n_syncs = team.members[0].n_syncs;
  t->shared_from = team.share_rare ? team.head_rows : t->vocab;
  t->intervals = team.intervals;
  t->shared_intervals = team.shared_intervals;
  t->trip_min_ns = team.trip_min_ns;
  t->trip_max_ns = team.trip_max_ns;
  pthread_barrier_destroy(&team.barrier);
  free(threads);
  free(shards);
  free(team.members);
  free(team.local_words);
  free(team.chunk_begin);
  free(team.interval_end);
  free(team.source[0]);
}

/* ------------------------------------------------------------- output */

static void write_vectors(FILE *f, const options *o, const vocabulary *v, const size_t *order,
                          size_t n, const float *emb) {
  size_t dim = (size_t)o->size;
  fprintf(f, "%zu %zu\n", n, dim);
  for (size_t w = 0; w < n; w++) {
    fprintf(f, "%s ", v->arena + v->words[order[w]].text);
    const float *row = emb + w * dim;
    if (o->binary) {
      fwrite(row, sizeof *row, dim, f);
    } else {
      /* "%lf " with its trailing space: word2vec.c's text format exactly. */
      for (size_t d = 0; d < dim; d++) fprintf(f, "%lf ", (double)row[d]);
    }
    fputc('\n', f);
  }
}

/* -classes N: word2vec.c's k-means of the input vectors, then "word class"
 * lines (text whatever -binary says, and no header line, as word2vec.c).
 * Word a starts in class a % N; each of 10 iterations sums every class's
 * vectors, divides the sum by 1 + the class's size and scales it to unit
 * length, and moves every word to the class whose centroid has the largest
 * dot product with its vector (the first such class; class 0 if none
 * exceeds -10).  A class left without words (a zero sum) takes no words, as
 * word2vec.c's 0/0 centroid never wins.  Sums and dot products are in double
 * (word2vec.c's in float), each in index order, without fused multiply-adds,
 * so the classes depend on the vectors only. */
static void write_classes(FILE *f, const vocabulary *v, const size_t *order, size_t n, size_t dim,
                          size_t k, const float *emb) {
#pragma STDC FP_CONTRACT OFF
  int *class_of = xrealloc(NULL, n, sizeof *class_of);
  double *centroids = xrealloc(NULL, k, dim * sizeof *centroids);
  size_t *sizes = xrealloc(NULL, k, sizeof *sizes);
  unsigned char *usable = xrealloc(NULL, k, 1);
  for (size_t w = 0; w < n; w++) class_of[w] = (int)(w % k);
  for (int iteration = 0; iteration < 10; iteration++) {
    memset(centroids, 0, k * dim * sizeof *centroids);
    for (size_t j = 0; j < k; j++) sizes[j] = 1;
    for (size_t w = 0; w < n; w++) {
      double *centroid = centroids + (size_t)class_of[w] * dim;
      for (size_t d = 0; d < dim; d++) centroid[d] += (double)emb[w * dim + d];
      sizes[class_of[w]]++;
    }
    for (size_t j = 0; j < k; j++) {
      double *centroid = centroids + j * dim, norm = 0.0;
      for (size_t d = 0; d < dim; d++) {
        centroid[d] /= (double)sizes[j];
        norm += centroid[d] * centroid[d];
      }
      norm = sqrt(norm);
      usable[j] = norm > 0.0;
      for (size_t d = 0; usable[j] && d < dim; d++) centroid[d] /= norm;
    }
    for (size_t w = 0; w < n; w++) {
      double best = -10.0;
      int best_class = 0;
      for (size_t j = 0; j < k; j++) {
        if (!usable[j]) continue;
        double dot = 0.0;
        for (size_t d = 0; d < dim; d++) dot += centroids[j * dim + d] * (double)emb[w * dim + d];
        if (dot > best) {
          best = dot;
          best_class = (int)j;
        }
      }
      class_of[w] = best_class;
    }
  }
  for (size_t w = 0; w < n; w++)
    fprintf(f, "%s %d\n", v->arena + v->words[order[w]].text, class_of[w]);
  free(class_of);
  free(centroids);
  free(sizes);
  free(usable);
}

/* A table: 64-byte aligned, and from FL_W2V_HUGE_PAGE bytes on, whole 2 MiB
 * pages that Linux is asked to back with huge pages (madvise): the steps
 * read and write rows all over the tables, and with 4 KiB pages nearly every
 * row costs a TLB miss (the 30000-word benchmark's two tables are 24 MB;
 * Linux's "transparent huge pages" left them on 4 KiB pages without the
 * advice).  Where the advice is refused the table just stays on small
 * pages. */
static float *alloc_floats(size_t count) {
  if (count > (SIZE_MAX - FL_W2V_HUGE_PAGE) / sizeof(float))
    fail("-size times the vocabulary is too large");
  size_t bytes = count * sizeof(float);
  size_t align = bytes >= FL_W2V_HUGE_PAGE ? FL_W2V_HUGE_PAGE : 64;
  bytes = bytes ? (bytes + align - 1) / align * align : 64;
  float *p = aligned_alloc(align, bytes);
  if (!p) fail("out of memory");
#ifdef MADV_HUGEPAGE
  if (align == FL_W2V_HUGE_PAGE) (void)madvise(p, bytes, MADV_HUGEPAGE);
#endif
  return p;
}

int main(int argc, char **argv) {
#ifdef FL_W2V_MPI
  /* MPI only under a launcher (Open MPI's mpirun sets OMPI_COMM_WORLD_SIZE
   * and PMIX_RANK, MPICH's PMI_RANK): run directly, the program stays the
   * plain trainer, without MPI_Init's singleton start (a third of a second
   * here, and a failure where the MPI runtime cannot start). */
  if (getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMIX_RANK") || getenv("PMI_RANK")) {
    MPI_Init(&argc, &argv);
    mpi_started = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &world_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &mpi_ranks);
    world_size = mpi_ranks;
  }
#endif
  if (argc == 1) {
    if (world_rank == 0) usage(stdout);
    finish(0);
  }
  double program_start = now_seconds();
  options o;
  parse_options(argc, argv, &o);
  if (o.shard_count) {
    world_rank = (int)o.shard_index;
    world_size = (int)o.shard_count;
  }

  FILE *train_file = fopen(o.train, "rb");
  if (!train_file) fail("cannot read -train %s: %s", o.train, strerror(errno));
  /* Only rank 0 writes (the output and -save-vocab). */
  if (mpi_ranks == 1 || world_rank == 0) {
    /* A bad -output path fails now, not after minutes of training; appending
     * tests it without truncating a file that a failed run should leave alone. */
    FILE *probe = fopen(o.output, "rb");
    int existed = probe != NULL;
    if (probe) fclose(probe);
    probe = fopen(o.output, "ab");
    if (!probe) fail("cannot write -output %s: %s", o.output, strerror(errno));
    fclose(probe);
    if (!existed) remove(o.output);
  }

  vocabulary v = {0};
  vocabulary_rehash(&v, 1 << 16);
  corpus c = {0};
  if (o.read_vocab) { /* every rank reads the file: nothing to merge */
    read_vocabulary_file(o.read_vocab, &v);
    read_shard(train_file, o.train, world_rank, world_size, &v, &c);
  } else {
    vocabulary_find_or_add(&v, "</s>", 4);
    if (world_size > 1)
      read_shared_vocabulary(train_file, &o, &v, &c);
    else
      read_shard(train_file, o.train, 0, 1, &v, &c);
  }
  size_t n_words;
  size_t *order = sort_and_prune(&v, &c, (uint64_t)o.min_count, &n_words);
  long long train_words = (long long)c.n_ids;
  /* The whole corpus, or -read-vocab (word2vec.c's train_words: the file's
   * counts): the kept words' counts. */
  if (world_size > 1 || o.read_vocab) {
    train_words = 0;
    for (size_t w = 0; w < n_words; w++) train_words += (long long)v.words[order[w]].count;
  }
  if (n_words < 2 && o.read_vocab)
    fail("no word of -read-vocab %s after its first has a count of -min-count or more",
         o.read_vocab);
  if (n_words < 2) fail("no word of %s occurs -min-count times", o.train);
  if ((size_t)o.classes > n_words)
    fail("-classes %lld is more than the %zu words of the vocabulary", o.classes, n_words);
  if (o.debug > 0 && speaks())
    fprintf(stderr, "Vocab size: %zu\nWords in train file: %lld\n", n_words, train_words);

  if (o.save_vocab && speaks()) {
    FILE *f = fopen(o.save_vocab, "wb");
    if (!f) fail("cannot write -save-vocab %s: %s", o.save_vocab, strerror(errno));
    for (size_t w = 0; w < n_words; w++)
      fprintf(f, "%s %" PRIu64 "\n", v.arena + v.words[order[w]].text, v.words[order[w]].count);
    if (fclose(f)) fail("error writing -save-vocab %s: %s", o.save_vocab, strerror(errno));
  }

  trainer t = {.o = &o,
               .vocab = n_words,
               .dim = (size_t)o.size,
               .train_words = train_words,
               .ranks = world_size,
               .local_total = o.iter * (long long)c.n_ids,
               .next_sync = LLONG_MAX};
  if (world_size > 1) {
    /* ceil(all ranks' words / K) syncs, the last at the end of training */
    double syncs = ceil((double)o.iter * (double)train_words / (double)o.sync_words);
    t.n_syncs = syncs < 1 ? 1 : syncs > 1e12 ? (long long)1e12 : (long long)syncs;
    t.next_sync = sync_point(&t, 1);
  }
  uint64_t *counts = xrealloc(NULL, n_words, sizeof *counts);
  t.keep_below = xrealloc(NULL, n_words, sizeof *t.keep_below);
  t.always_keep = xrealloc(NULL, n_words, 1);
  for (size_t w = 0; w < n_words; w++) {
    counts[w] = v.words[order[w]].count;
    /* word2vec.c keeps a word with probability
     * (sqrt(f / (sample * total)) + 1) * (sample * total) / f. */
    double keep = 1.0;
    if (o.sample > 0 && counts[w] > 0) {
      double threshold = o.sample * (double)train_words, f = (double)counts[w];
      keep = (sqrt(f / threshold) + 1.0) * threshold / f;
    }
    t.always_keep[w] = keep >= 1.0;
    t.keep_below[w] = keep >= 1.0 ? UINT32_MAX : (uint32_t)(keep * 4294967296.0);
  }
  fastloss_sampler *sampler;
  check(fastloss_sampler_create_unigram(&sampler, counts, n_words, 0.75, o.seed),
        "fastloss_sampler_create_unigram");
  t.sampler = sampler;
  free(counts);

  /* word2vec.c's initialisation: input vectors uniform in
   * (-0.5, 0.5) / size, output vectors zero. */
  size_t cells = n_words * t.dim;
  if (t.dim && cells / t.dim != n_words) fail("-size times the vocabulary is too large");
  t.in_emb = alloc_floats(cells);
  t.out_emb = alloc_floats(cells);
  fastloss_rng init_rng;
  fastloss_rng_init(&init_rng, o.seed, 0);
  for (size_t i = 0; i < cells; i++)
    t.in_emb[i] = (float)((fastloss_rng_uniform(&init_rng) - 0.5) / (double)t.dim);
  memset(t.out_emb, 0, cells * sizeof(float));
  if (mpi_ranks > 1 && o.sync_touched) {
    t.in_snapshot = alloc_floats(cells);
    t.out_snapshot = alloc_floats(cells);
    t.pack = alloc_floats(cells); /* under half of the two tables */
    t.touched = xrealloc(NULL, 2 * ((n_words + 63) / 64), sizeof *t.touched);
    memcpy(t.in_snapshot, t.in_emb, cells * sizeof(float));
    memcpy(t.out_snapshot, t.out_emb, cells * sizeof(float));
  }
  /* Every rank the same initial tables, its own windows, subsampling and
   * negatives (rank 0's are the single-process streams). */
  uint64_t rank_streams = (uint64_t)world_rank << 32;
  fastloss_rng_init(&t.window_rng, o.seed, rank_streams + 1);
  fastloss_rng_init(&t.sample_rng, o.seed, rank_streams + 2);
  /* A key of its own, so the per-group streams never meet streams 0-2. */
  t.negative_seed = o.seed ^ 0x9E3779B97F4A7C15u;
  t.negative_stream = (uint64_t)world_rank << 48;
  if (o.replicas == 1 && o.deterministic)
    fail("-replicas 1 and -deterministic 1 exclude each other: replicas give output that "
         "depends on -threads");
  /* The default: replicas for 2 to FL_W2V_MAX_REPLICAS Hogwild threads. */
  int use_replicas = o.replicas < 0 ? o.threads > 1 && o.threads <= FL_W2V_MAX_REPLICAS &&
                                          !o.deterministic && world_size == 1
                                    : o.replicas == 1 && o.threads > 1;
  if (use_replicas && world_size > 1) fail("-replicas 1 is for a single process (no mpirun)");
  if (use_replicas && o.threads > FL_W2V_MAX_REPLICAS)
    fail("-replicas 1 takes at most %d threads (-threads %lld)", FL_W2V_MAX_REPLICAS, o.threads);
  if (o.balance >= 0 && !use_replicas)
    fail("-balance is for -replicas 1 (2 to %d threads, one process, -deterministic 0)",
         FL_W2V_MAX_REPLICAS);
  if (o.balance < 0) o.balance = 1;
  if (o.share_rare >= 0 && !(use_replicas && o.balance))
    fail("-share-rare is for -replicas 1 -balance 1 (its output depends on timing already)");
  if (o.share_rare < 0) o.share_rare = use_replicas && o.balance ? 2 : 0;
  if (o.test_share_plan && (o.share_rare != 2 || !o.test_share_plan[0] ||
                            strspn(o.test_share_plan, "01") != strlen(o.test_share_plan)))
    fail("-test-share-plan needs -share-rare 2 and a string of 0s and 1s");
  check(fastloss_set_num_threads(use_replicas ? 1 : (int)o.threads), "fastloss_set_num_threads");

  if (use_replicas)
    train_replicas(&t, &c);
  else
    train(&t, &c);
  double train_seconds = now_seconds() - t.start;
  free(c.ids);
#ifdef FL_W2V_MPI
  double sync_seconds_max = t.sync_seconds;
  if (mpi_ranks > 1) { /* totals over the ranks for the summary */
    long long totals[3] = {t.s.words_done, t.s.pairs, t.s.late_pairs};
    double sums[3] = {t.s.loss_sum, t.s.late_loss_sum, t.s.step_seconds};
    MPI_Allreduce(MPI_IN_PLACE, totals, 3, MPI_LONG_LONG, MPI_SUM, MPI_COMM_WORLD);
    MPI_Allreduce(MPI_IN_PLACE, sums, 3, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    MPI_Allreduce(MPI_IN_PLACE, &sync_seconds_max, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    t.s.words_done = totals[0];
    t.s.pairs = totals[1];
    t.s.late_pairs = totals[2];
    t.s.loss_sum = sums[0];
    t.s.late_loss_sum = sums[1];
    t.s.step_seconds = sums[2] / (double)mpi_ranks;
  }
#endif
  if (!speaks()) goto done;

  FILE *out = fopen(o.output, "wb");
  if (!out) fail("cannot write -output %s: %s", o.output, strerror(errno));
  if (o.classes)
    write_classes(out, &v, order, n_words, t.dim, (size_t)o.classes, t.in_emb);
  else
    write_vectors(out, &o, &v, order, n_words, t.in_emb);
  if (ferror(out) | fclose(out)) fail("error writing -output %s: %s", o.output, strerror(errno));

  double words_per_second = (double)t.s.words_done / (train_seconds > 0 ? train_seconds : 1e-9);
  fprintf(stderr,
          "%s%s: %lld words in %.3f s: %.1f words/sec, %.1f words/sec/thread (%lld threads, "
          "%s, %s, %s negatives); average loss per %s %.6f, last 10%% of words %.6f; "
          "wall %.3f s; library step (negative draws included) %.3f s, serial %s generation "
          "%.3f s\n",
          o.debug > 1 ? "\n" : "", program, t.s.words_done, train_seconds, words_per_second,
          words_per_second / (double)o.threads / (double)mpi_ranks, o.threads,
          fastloss_isa_name(fastloss_get_isa()),
          o.cbow ? "cbow" : "skip-gram",
          o.cbow ? "per-centre-word" : o.shared_negatives ? "shared" : "per-pair",
          o.cbow ? "centre word" : "pair",
          t.s.pairs ? t.s.loss_sum / (double)t.s.pairs : 0.0,
          t.s.late_pairs ? t.s.late_loss_sum / (double)t.s.late_pairs : 0.0,
          now_seconds() - program_start, t.s.step_seconds, o.cbow ? "example" : "pair",
          train_seconds - t.s.step_seconds);
  char copies[256] = "each on its own copy of the tables", trips[64] = "-test-share-plan";
  if (!o.test_share_plan)
    snprintf(trips, sizeof trips, "cache-line round trip %.0f-%.0f ns", t.trip_min_ns,
             t.trip_max_ns);
  if (use_replicas && o.share_rare == 1 && t.shared_from < t.vocab)
    snprintf(copies, sizeof copies,
             "each on its own copy of the first %zu rows of the tables, sharing the others",
             t.shared_from);
  else if (use_replicas && o.share_rare == 2 && t.shared_from < t.vocab)
    snprintf(copies, sizeof copies,
             "each on its own copy of the tables, sharing the rows from %zu on in %lld of %lld "
             "intervals (%s)",
             t.shared_from, t.shared_intervals, t.intervals, trips);
  if (use_replicas)
    fprintf(stderr,
            "%s: -replicas 1: %lld threads, %s; %lld merges "
            "(every %lld words of each thread), %.3f s = %.1f%% of training on thread 0 (its "
            "library step %.3f s), of which waiting for the other threads %.3f s; words per "
            "thread %lld to %lld (%s)\n",
            program, o.threads, copies, t.n_syncs, t.replica_sync, t.sync_seconds,
            100.0 * t.sync_seconds / (train_seconds > 0 ? train_seconds : 1e-9), t.s.step_seconds,
            t.wait_seconds, t.member_words_min, t.member_words_max,
            o.balance ? "-balance 1: chunks taken in turn" : "-balance 0: fixed parts");
#ifdef FL_W2V_MPI
  if (mpi_ranks > 1)
    fprintf(stderr,
            "%s: %d ranks x %lld threads: %.1f words/sec/rank; %lld syncs (every %lld words; "
            "%lld of %lld table syncs sparse), %.4g rows summed per sync (of %zu); sync %.3f s = "
            "%.1f%% of training "
            "on rank 0 (in MPI calls %.3f s = %.1f%%, of which waiting for the slowest rank "
            "%.3f s = %.1f%%), at most %.3f s on a rank\n",
            program, mpi_ranks, o.threads, words_per_second / (double)mpi_ranks, t.n_syncs,
            o.sync_words, t.sparse_tables, 2 * t.n_syncs,
            (double)t.rows_sent / (double)(t.n_syncs ? t.n_syncs : 1), 2 * n_words,
            t.sync_seconds, 100.0 * t.sync_seconds / (train_seconds > 0 ? train_seconds : 1e-9),
            t.mpi_seconds, 100.0 * t.mpi_seconds / (train_seconds > 0 ? train_seconds : 1e-9),
            t.wait_seconds, 100.0 * t.wait_seconds / (train_seconds > 0 ? train_seconds : 1e-9),
            sync_seconds_max);
#endif

done:
  fastloss_sampler_destroy(sampler);
  free(t.in_emb);
  free(t.out_emb);
  free(t.keep_below);
  free(t.always_keep);
  free(order);
  free(v.words);
  free(v.arena);
  free(v.slots);
  free(t.in_snapshot);
  free(t.out_snapshot);
  free(t.pack);
  free(t.touched);
  finish(0);
}
