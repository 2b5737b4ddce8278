/* Internal interfaces shared by the files of src/.  Nothing here is
 * exported from the shared library. */
#ifndef FASTLOSS_INTERNAL_H
#define FASTLOSS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "fastloss.h"
#include "kernels.h"

#if defined(__GNUC__)
#define FL_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define FL_PRINTF(f, a)
#endif

/* Records the message for fastloss_last_error() and returns status. */
fastloss_status fl_fail(fastloss_status status, const char *fmt, ...) FL_PRINTF(2, 3);

/* The kernels of one ISA. */
typedef struct fl_isa_kernels {
  fastloss_isa isa;
  const char *name;
  const fl_f32_xent_kernels *f32_xent;
  const fl_f64_xent_kernels *f64_xent;
  const fl_f32_nce_kernels *f32_nce;
  const fl_f64_nce_kernels *f64_nce;
  const fl_f32_vae_kernels *f32_vae;
  const fl_f64_vae_kernels *f64_vae;
  const fl_f32_sqerr_kernels *f32_sqerr;
  const fl_f64_sqerr_kernels *f64_sqerr;
  const fl_f32_wgangp_kernels *f32_wgangp;
  const fl_f64_wgangp_kernels *f64_wgangp;
  const fl_u32_rng_kernels *u32_rng;
} fl_isa_kernels;

/* The selected kernels; selects on first use.  Fetch once per call, before
 * any OpenMP region. */
const fl_isa_kernels *fl_kernels(void);

/* Tests only: runs every later call on `kernels` (e.g. the SIMDe-emulated
 * AVX-512 table, which the library itself never selects). */
void fl_dispatch_force(const fl_isa_kernels *kernels);

/* Threads a call of `work` element-operations may use (1 when small). */
int fl_threads_for(double work);

/* Runs region(job) on `threads` threads: in an OpenMP parallel region of
 * its own, or, for one thread when the caller is in no OpenMP region, as a
 * plain call.  A region, even of one thread, costs 0.3-0.6 us in libgomp
 * (the team's start and a futex wake at each barrier), more than a small
 * call's work; in the plain call the region's orphaned omp for and
 * omp_get_thread_num() see the caller's implicit team of one.  A caller
 * inside its own region (its threads each calling fastloss) still gets a
 * team of its own, or an orphaned omp for would split the loop across the
 * caller's threads. */
void fl_parallel(int threads, void (*region)(const void *job), const void *job);

/* body(job, first, last) over contiguous shares of [0, count) on `threads`
 * threads (fl_thread_share in a region of its own), or in one plain call
 * on the calling thread when threads <= 1, inside a caller's region too:
 * body uses no OpenMP construct, so nothing in it can split across the
 * caller's threads.  Each item's result must not depend on the share it
 * fell in (per-item or per-block outputs, summed afterwards in a fixed
 * order), so that the output is the same for any thread count. */
void fl_parallel_for(int threads, size_t count,
                     void (*body)(const void *job, size_t first, size_t last), const void *job);

/* The calling thread's contiguous share [first, last) of `count` items in
 * the innermost parallel region (all of them outside one): thread t of T
 * takes [count t / T, count (t + 1) / T). */
void fl_thread_share(size_t count, size_t *first, size_t *last);

/* Sum of count doubles, `stride` bytes apart from x (sizeof(double) for an
 * array, the record size for a field of an array of records), in a fixed
 * pairwise order: the same result whatever the thread count that produced
 * them. */
double fl_sum_pairwise(const double *x, size_t count, size_t stride);

/* Checks that [base, base + (rows - 1) * ld + cols) is addressable in size_t
 * elements; names `what` in the error. */
fastloss_status fl_check_matrix(const void *base, const char *what, size_t rows, size_t cols,
                                size_t ld);

/* Whether two matrices' element ranges overlap in memory. */
int fl_ranges_overlap(const void *a, size_t a_bytes, const void *b, size_t b_bytes);

/* malloc'd memory for per-thread scratch: `bytes` starting on a 64-byte
 * cache line, so that regions of 64-byte multiples carved from it share no
 * line with each other or with other allocations (malloc alone aligns to
 * 16, which put the end of thread t's region and the start of thread t+1's
 * on one line).  *block is what to free(); both are NULL without memory. */
void *fl_malloc_lines(size_t bytes, void **block);

/* Asks for `bytes` from p into the cache (for writing when `write`). */
static inline void fl_prefetch(const void *p, size_t bytes, int write) {
#if defined(__GNUC__)
  const char *c = p;
  for (size_t at = 0; at < bytes; at += 64) {
    if (write)
      __builtin_prefetch(c + at, 1, 3);
    else
      __builtin_prefetch(c + at, 0, 3);
  }
#else
  (void)p;
  (void)bytes;
  (void)write;
#endif
}

/* Asks for the rows ids[0, count) of a (rows, dim) float table, for writing:
 * the rows of a negative-sampling step are random rows of tables larger
 * than the L2, so a step that waits for each is a chain of trips to the L3
 * (or to the other core's cache, for a row another Hogwild thread wrote
 * last); asked for a few groups ahead, they arrive while the current group
 * computes. */
static inline void fl_prefetch_rows(const float *table, const int32_t *ids, size_t count,
                                    size_t dim) {
  for (size_t i = 0; i < count; i++)
    fl_prefetch(table + (size_t)ids[i] * dim, dim * sizeof(float), 1);
}

/* A table of the negative-sampling steps as they address it: rows
 * [0, head_rows) at `head` (fastloss_sgns_params.in_head / out_head), the
 * others at `rows` (in_emb / out_emb); both are indexed from row 0. */
typedef struct fl_ns_table {
  float *rows, *head;
  size_t head_rows;
} fl_ns_table;

static inline float *fl_ns_row(const fl_ns_table *table, int32_t id, size_t dim) {
  const size_t i = (size_t)id;
  return (i < table->head_rows ? table->head : table->rows) + i * dim;
}

/* fl_prefetch_rows for a table with a head. */
static inline void fl_ns_prefetch_rows(const fl_ns_table *table, const int32_t *ids, size_t count,
                                       size_t dim) {
  for (size_t i = 0; i < count; i++)
    fl_prefetch(fl_ns_row(table, ids[i], dim), dim * sizeof(float), 1);
}

/* fastloss_sgns_params.in_touched / out_touched: map[ids[i]] = 1 for each
 * of `count` rows (none when map is NULL).  Relaxed atomic stores, as
 * Hogwild threads may mark one row at once; a plain byte store on x86 and
 * Arm. */
static inline void fl_ns_mark(unsigned char *map, const int32_t *ids, size_t count) {
  if (map == NULL) return;
  for (size_t i = 0; i < count; i++) __atomic_store_n(&map[ids[i]], 1, __ATOMIC_RELAXED);
}

/* sgns.c: negative sampling shared by the skip-gram and CBOW steps. */
/* Logits whose probabilities are multiplied before one log: each factor is
 * at least FLT_EPSILON (2^-23), so 32 of them stay above 2^-736, far from
 * double's underflow. */
#define FL_NS_LOG_BATCH 32
/* Redraws of a negative equal to the target. */
#define FL_NS_REDRAWS 16
double fl_ns_loss(size_t count, const float *q, const float *c);
/* FASTLOSS_ERR_LABEL_OUT_OF_RANGE naming what[i] unless every id is in [0, vocab). */
fastloss_status fl_ns_check_ids(const char *what, const int32_t *ids, size_t count,
                                size_t vocab);
/* The two (vocab, dim) tables: not NULL, not empty, addressable. */
fastloss_status fl_ns_check_tables(size_t vocab, size_t dim, const float *in_emb,
                                   const float *out_emb);
/* A step's: the tables, then that they do not overlap (both are written),
 * then lr finite and >= 0. */
fastloss_status fl_ns_check_step(size_t vocab, size_t dim, const float *in_emb,
                                 const float *out_emb, float lr);
/* The tables as a step addresses them (head rows from params, when it has
 * head_rows > 0): an error when head_rows is above vocab, a head is NULL,
 * or a head overlaps the other head or either table.  Call after
 * fl_ns_check_step. */
fastloss_status fl_ns_tables(size_t vocab, size_t dim, float *in_emb, float *out_emb,
                             const fastloss_sgns_params *params, fl_ns_table *in, fl_ns_table *out);
/* Sets *draw when the step draws its own negatives (negatives NULL,
 * params->noise set); an error when it has none, when the noise has more
 * classes than vocab, or when `groups` (its name) times k overflows. */
fastloss_status fl_ns_check_negatives(const int32_t *negatives, const fastloss_sgns_params *params,
                                      const char *groups, size_t n_groups, size_t k, size_t vocab,
                                      int *draw);
/* offsets[0..count] must run from 0 up, never down, to total (the names
 * are for the messages); *largest becomes the largest offsets[i + 1] -
 * offsets[i] if that is above it. */
fastloss_status fl_ns_check_offsets(const char *what, const size_t *offsets, const char *count_name,
                                    size_t count, const char *total_name, size_t total,
                                    size_t *largest);

/* A step's memory: one scratch region a thread, the threads' losses, and
 * the negatives it draws. */
typedef struct fl_ns_work {
  char *scratch; /* threads regions of scratch_bytes (a multiple of 64), from a line */
  void *scratch_block; /* the allocation (fl_malloc_lines) */
  size_t scratch_bytes;
  double *thread_loss; /* [threads] */
  int32_t *drawn;      /* [n_groups * k] when the step draws (and k > 0), else NULL */
  const fl_u32_rng_kernels *rng; /* the draws' Philox, fetched before the region */
  int threads;
} fl_ns_work;
/* Allocates it and makes a trial draw, so that a sampler that cannot give k
 * distinct classes fails before anything is written; on failure frees all. */
fastloss_status fl_ns_work_alloc(fl_ns_work *work, int threads, size_t scratch_bytes,
                                 const fastloss_sgns_params *params, int draw, size_t n_groups,
                                 size_t k);
/* Inside the step's parallel region, before its groups: draws every group's
 * negatives (an omp for; its barrier ends the pass) while the alias table
 * is in cache, group g from stream (seed, stream + g) as fastloss.h states.
 * Its target is targets[offsets[g]] (target_by_pair, skip-gram) or
 * targets[g]; a group with offsets[g + 1] == offsets[g] draws nothing.
 * Does nothing when work->drawn is NULL. */
void fl_ns_draw_pass(const fastloss_sgns_params *params, const fl_ns_work *work, size_t n_groups,
                     size_t k, const int32_t *targets, const size_t *offsets, int target_by_pair);
/* Sums the threads' losses into *loss (when not NULL) and frees the work. */
void fl_ns_work_finish(fl_ns_work *work, double *loss);
/* The calling thread's number in the step's parallel region (0 outside). */
int fl_ns_thread(void);

/* cpu.c */
unsigned fl_detect_cpu_features(void);

#endif
