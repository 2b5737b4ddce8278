/* Random streams and the DiscreteSampler.
 *
 * Streams are Philox4x32-10 (Salmon, Moraes, Dror and Shaw, "Parallel random
 * numbers: as easy as 1, 2, 3", SC 2011): ten rounds of a bijection keyed by
 * the seed, applied to a counter, so the n-th word of a stream needs no state
 * but (seed, stream, n).  Key = the seed's two 32-bit halves; the 128-bit
 * counter = (block low, block high, stream low, stream high).
 *
 * The sampler is Vose's alias method ("A linear algorithm for generating
 * random numbers with a given distribution", IEEE TSE 1991), built in double.
 * A draw takes one uniform double u: x = u n, column i = floor(x), and the
 * draw is i when x - i < threshold[i], else alias[i].  Table building and
 * draws use only +, -, * and / of doubles; the library is built as ISO C11
 * (GCC then contracts nothing into FMA) and no expression here feeds a
 * product straight into a sum anyway, so a seed gives the same draws on
 * every ISA and thread count.  (The log-weight and unigram constructors also call
 * exp and pow from libm, which could differ in the last bit between C
 * libraries, never between ISAs of one build.)
 *
 * Without replacement the k draws of a call are successive sampling: each
 * from the classes not yet drawn, renormalised.  Two exact ways:
 * - rejection: draw from the full table and redraw repeats.  Conditioned on
 *   acceptance the draw has exactly the renormalised distribution, and how
 *   many tries it took is independent of which class it is, so giving up
 *   after FL_MAX_REJECTIONS tries and drawing exactly from the remainder
 *   instead keeps the distribution exact.  O(1) per draw while the drawn
 *   mass is small.
 * - a sum tree over the remaining probabilities: O(n) to build, O(log n) per
 *   draw, for k a large fraction of n and as the fallback of rejection (a
 *   linear walk over the remaining classes when the tree cannot be
 *   allocated, so a call that has started writing never fails).
 * Which one runs depends only on (n, k) and on the draws themselves, so the
 * draws stay a function of the stream. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "sampler-impl.h"

/* Hidden: the raw block function, checked by the tests against the
 * published known answers. */
void fl_philox4x32_10(const uint32_t counter[4], const uint32_t key[2], uint32_t out[4]);
/* Hidden, tests only: 0 makes rejection fall back to the linear walk, the
 * path otherwise taken only when the sum tree cannot be allocated.  Not for
 * use while another thread samples. */
void fl_sampler_test_allow_tree(int allow);

enum {
  /* Consecutive repeats before rejection gives up on a draw: at a drawn
   * mass of 1/2 that happens once in 2^32 draws. */
  FL_MAX_REJECTIONS = 32,
  /* Without replacement, k >= n / FL_TREE_FRACTION uses the sum tree from
   * the start: its O(n) build is then O(k). */
  FL_TREE_FRACTION = 4,
  /* Slots of the drawn-set hash table kept on the stack. */
  FL_LOCAL_SET = 256
};

static int fl_tree_allowed = 1;

void fl_sampler_test_allow_tree(int allow) { fl_tree_allowed = allow; }

/* ------------------------------------------------------------ Philox */

void fl_philox4x32_10(const uint32_t counter[4], const uint32_t key[2], uint32_t out[4]) {
  uint32_t block[1][4];
  fl_philox_blocks((uint64_t)key[1] << 32 | key[0], (uint64_t)counter[3] << 32 | counter[2],
                   (uint64_t)counter[1] << 32 | counter[0], 1, block);
  memcpy(out, block[0], sizeof block[0]);
}

void fastloss_rng_init(fastloss_rng *rng, uint64_t seed, uint64_t stream) {
  if (rng == NULL) return;
  rng->key = seed;
  rng->stream = stream;
  rng->counter = 0;
  memset(rng->buffer, 0, sizeof rng->buffer);
  rng->used = 4;
}

static void fl_rng_refill(fastloss_rng *rng) {
  uint32_t block[1][4];
  fl_philox_blocks(rng->key, rng->stream, rng->counter, 1, block);
  memcpy(rng->buffer, block[0], sizeof rng->buffer);
  rng->counter++;
  rng->used = 0;
}

uint32_t fastloss_rng_u32(fastloss_rng *rng) {
  if (rng == NULL) return 0;
  /* >= rather than ==: a struct filled by hand with a bad count still
   * cannot index past the buffer. */
  if (rng->used >= 4) fl_rng_refill(rng);
  return rng->buffer[rng->used++];
}

double fastloss_rng_uniform(fastloss_rng *rng) {
  const uint32_t high = fastloss_rng_u32(rng);
  const uint32_t low = fastloss_rng_u32(rng);
  return fl_uniform_of(high, low);
}

/* ------------------------------------------------------- the sampler */

/* struct fastloss_sampler is in sampler-impl.h, for the inline draws. */

void fastloss_sampler_destroy(fastloss_sampler *sampler) {
  if (sampler == NULL) return;
  free(sampler->prob);
  free(sampler->threshold);
  free(sampler->alias);
  free(sampler);
}

static fastloss_status fl_check_size(const void *sampler, const void *data, const char *name,
                                     size_t n) {
  if (sampler == NULL) return fl_fail(FASTLOSS_ERR_NULL_POINTER, "sampler is NULL");
  if (data == NULL) return fl_fail(FASTLOSS_ERR_NULL_POINTER, "%s is NULL", name);
  if (n == 0) return fl_fail(FASTLOSS_ERR_INVALID_SHAPE, "n = 0: the sampler needs a class");
  if (n > (size_t)INT32_MAX)
    return fl_fail(FASTLOSS_ERR_INVALID_SHAPE,
                   "n = %zu exceeds INT32_MAX = 2147483647 (class ids are int32)", n);
  if (n > SIZE_MAX / (2 * sizeof(double)))
    return fl_fail(FASTLOSS_ERR_SIZE_OVERFLOW, "n = %zu classes overflow size_t", n);
  return FASTLOSS_OK;
}

/* The sampler with room for n classes; *work gets n scratch ids for the
 * build.  prob is left for the caller to fill. */
static fastloss_status fl_sampler_alloc(size_t n, int with_replacement, uint64_t seed,
                                        fastloss_sampler **out, int32_t **work) {
  fastloss_sampler *s = calloc(1, sizeof *s);
  int32_t *scratch = malloc(n * sizeof *scratch);
  if (s != NULL) {
    s->prob = malloc(n * sizeof *s->prob);
    s->threshold = malloc(n * sizeof *s->threshold);
    s->alias = malloc(n * sizeof *s->alias);
  }
  if (s == NULL || scratch == NULL || s->prob == NULL || s->threshold == NULL || s->alias == NULL) {
    fastloss_sampler_destroy(s);
    free(scratch);
    return fl_fail(FASTLOSS_ERR_OUT_OF_MEMORY, "cannot allocate a sampler of %zu classes", n);
  }
  s->n = n;
  s->with_replacement = with_replacement != 0;
  fastloss_rng_init(&s->rng, seed, 0);
  *out = s;
  *work = scratch;
  return FASTLOSS_OK;
}

/* prob holds weights in [0, 1] with a largest of 1, so their sum is in
 * [1, n] and cannot overflow.  Normalises them and builds the table. */
static void fl_sampler_build(fastloss_sampler *s, int32_t *work) {
  const size_t n = s->n;
  double *p = s->prob, *q = s->threshold;
  const double total = fl_sum_pairwise(p, n, sizeof(double));
  size_t heaviest = 0;
  s->nonzero = 0;
  for (size_t i = 0; i < n; i++) {
    p[i] /= total;
    if (p[i] > 0.0) s->nonzero++;
    if (p[i] > p[heaviest]) heaviest = i;
  }

  /* Vose: columns below 1 (small, stacked from the front of work) take the
   * rest of their column from one at or above 1 (large, from the back). */
  const double scale = (double)n;
  size_t small = 0, large = n;
  for (size_t i = 0; i < n; i++) {
    q[i] = p[i] * scale;
    s->alias[i] = (int32_t)i;
    if (q[i] < 1.0)
      work[small++] = (int32_t)i;
    else
      work[--large] = (int32_t)i;
  }
  while (small > 0 && large < n) {
    const int32_t lo = work[--small], hi = work[large];
    s->alias[lo] = hi;
    /* Vose's order: the sum first keeps the rounding error small. */
    q[hi] = (q[hi] + q[lo]) - 1.0;
    if (q[hi] < 1.0) {
      large++;
      work[small++] = hi;
    }
  }
  /* What is left is 1 up to rounding.  A class of probability 0 can only be
   * left over through rounding too, and must still never be drawn. */
  while (large < n) q[work[large++]] = 1.0;
  while (small > 0) {
    const int32_t i = work[--small];
    if (p[i] > 0.0) {
      q[i] = 1.0;
    } else {
      q[i] = 0.0;
      s->alias[i] = (int32_t)heaviest;
    }
  }
}

fastloss_status fastloss_sampler_create(fastloss_sampler **sampler, const double *weights, size_t n,
                                        int log_weights, int with_replacement, uint64_t seed) {
  fastloss_status status = fl_check_size(sampler, weights, "weights", n);
  if (status != FASTLOSS_OK) return status;
  double largest = log_weights ? -INFINITY : 0.0;
  for (size_t i = 0; i < n; i++) {
    const double w = weights[i];
    if (log_weights) {
      if (isnan(w) || w == INFINITY)
        return fl_fail(FASTLOSS_ERR_INVALID_ARGUMENT,
                       "weights[%zu] = %g is not a log weight (NaN or +inf)", i, w);
    } else {
      if (!isfinite(w))
        return fl_fail(FASTLOSS_ERR_INVALID_ARGUMENT, "weights[%zu] = %g is not finite", i, w);
      if (w < 0.0)
        return fl_fail(FASTLOSS_ERR_INVALID_ARGUMENT, "weights[%zu] = %g is negative", i, w);
    }
    if (w > largest) largest = w;
  }
  if (log_weights && largest == -INFINITY)
    return fl_fail(FASTLOSS_ERR_INVALID_ARGUMENT, "every log weight is -inf: the weights sum to 0");
  if (!log_weights && largest == 0.0)
    return fl_fail(FASTLOSS_ERR_INVALID_ARGUMENT, "every weight is 0: the weights sum to 0");

  fastloss_sampler *s;
  int32_t *work;
  status = fl_sampler_alloc(n, with_replacement, seed, &s, &work);
  if (status != FASTLOSS_OK) return status;
  /* Relative to the largest, so that huge weights or log weights neither
   * overflow nor lose every other class. */
  for (size_t i = 0; i < n; i++)
    s->prob[i] = log_weights ? exp(weights[i] - largest) : weights[i] / largest;
  fl_sampler_build(s, work);
  free(work);
  *sampler = s;
  return FASTLOSS_OK;
}

fastloss_status fastloss_sampler_create_unigram(fastloss_sampler **sampler, const uint64_t *counts,
                                                size_t n, double power, uint64_t seed) {
  fastloss_status status = fl_check_size(sampler, counts, "counts", n);
  if (status != FASTLOSS_OK) return status;
  if (!isfinite(power))
    return fl_fail(FASTLOSS_ERR_INVALID_ARGUMENT, "power = %g is not finite", power);
  if (power <= 0.0) power = 0.75;
  uint64_t largest = 0;
  for (size_t i = 0; i < n; i++)
    if (counts[i] > largest) largest = counts[i];
  if (largest == 0)
    return fl_fail(FASTLOSS_ERR_INVALID_ARGUMENT, "every count is 0: the weights sum to 0");

  fastloss_sampler *s;
  int32_t *work;
  status = fl_sampler_alloc(n, 1, seed, &s, &work);
  if (status != FASTLOSS_OK) return status;
  /* (c / c_max)^power <= 1: no overflow for any count or power. */
  for (size_t i = 0; i < n; i++)
    s->prob[i] = counts[i] == 0 ? 0.0 : pow((double)counts[i] / (double)largest, power);
  fl_sampler_build(s, work);
  free(work);
  *sampler = s;
  return FASTLOSS_OK;
}

size_t fastloss_sampler_size(const fastloss_sampler *sampler) {
  return sampler == NULL ? 0 : sampler->n;
}

fastloss_status fastloss_sampler_prob(const fastloss_sampler *sampler, size_t i, double *prob) {
  if (sampler == NULL) return fl_fail(FASTLOSS_ERR_NULL_POINTER, "sampler is NULL");
  if (prob == NULL) return fl_fail(FASTLOSS_ERR_NULL_POINTER, "prob is NULL");
  if (i >= sampler->n)
    return fl_fail(FASTLOSS_ERR_LABEL_OUT_OF_RANGE, "i = %zu is outside [0, %zu)", i, sampler->n);
  *prob = sampler->prob[i];
  return FASTLOSS_OK;
}

static int32_t fl_alias_draw(const fastloss_sampler *s, fastloss_rng *rng) {
  return fl_alias_pick(s, fastloss_rng_uniform(rng));
}

/* ----------------------------------------- without replacement: the sets */

/* Open addressing over a power-of-two table of ids, -1 for empty. */
typedef struct fl_drawn_set {
  int32_t *slots;
  size_t mask;
  unsigned shift;
} fl_drawn_set;

static size_t fl_drawn_slot(const fl_drawn_set *set, int32_t id) {
  /* Fibonacci hashing: the top bits of id * 2^32 / phi. */
  return (size_t)(((uint32_t)id * 0x9E3779B1u) >> set->shift) & set->mask;
}

static int fl_drawn_contains(const fl_drawn_set *set, int32_t id) {
  for (size_t slot = fl_drawn_slot(set, id);; slot = (slot + 1) & set->mask) {
    if (set->slots[slot] == id) return 1;
    if (set->slots[slot] < 0) return 0;
  }
}

/* 1 if id was new. */
static int fl_drawn_insert(fl_drawn_set *set, int32_t id) {
  for (size_t slot = fl_drawn_slot(set, id);; slot = (slot + 1) & set->mask) {
    if (set->slots[slot] == id) return 0;
    if (set->slots[slot] < 0) {
      set->slots[slot] = id;
      return 1;
    }
  }
}

/* -------------------------------------- without replacement: the sum tree */

/* A heap-ordered binary tree over n leaves: node i (1 <= i < n) holds
 * tree[2i] + tree[2i + 1], class c is leaf n + c.  Any n works: every index
 * from 2 to 2n - 1 has exactly one parent i / 2.  Sums are always recomputed
 * from the children, never updated by subtraction, so no cancellation. */
static double *fl_tree_alloc(size_t n) {
  return fl_tree_allowed ? malloc(2 * n * sizeof(double)) : NULL;
}

static void fl_tree_build(double *tree, const double *prob, size_t n, const int32_t *drawn,
                          size_t count) {
  memcpy(tree + n, prob, n * sizeof *tree);
  for (size_t t = 0; t < count; t++) tree[n + (size_t)drawn[t]] = 0.0;
  for (size_t i = n - 1; i >= 1; i--) tree[i] = tree[2 * i] + tree[2 * i + 1];
}

/* Draws a class of the tree's remaining mass and takes it out. */
static int32_t fl_tree_draw(double *tree, size_t n, fastloss_rng *rng) {
  double target = fastloss_rng_uniform(rng) * tree[1];
  size_t node = 1;
  while (node < n) {
    const double left = tree[2 * node], right = tree[2 * node + 1];
    /* Rounding may push target past a subtree's sum: never step into an
     * empty subtree (a node > 0 has a child > 0). */
    if (right == 0.0 || (left > 0.0 && target < left)) {
      node = 2 * node;
    } else {
      target -= left;
      node = 2 * node + 1;
    }
  }
  const int32_t drawn = (int32_t)(node - n);
  tree[node] = 0.0;
  for (node /= 2; node >= 1; node /= 2) tree[node] = tree[2 * node] + tree[2 * node + 1];
  return drawn;
}

/* The allocation-free fallback: O(n) per draw. */
static int32_t fl_walk_draw(const fastloss_sampler *s, fl_drawn_set *set, fastloss_rng *rng) {
  double remaining = 0.0;
  for (size_t c = 0; c < s->n; c++)
    if (s->prob[c] > 0.0 && !fl_drawn_contains(set, (int32_t)c)) remaining += s->prob[c];
  const double target = fastloss_rng_uniform(rng) * remaining;
  double cumulative = 0.0;
  int32_t last = -1;
  for (size_t c = 0; c < s->n; c++) {
    if (s->prob[c] == 0.0 || fl_drawn_contains(set, (int32_t)c)) continue;
    last = (int32_t)c;
    cumulative += s->prob[c];
    if (target < cumulative) break;
  }
  /* Rounding can leave target at or past the last sum: that is the last. */
  fl_drawn_insert(set, last);
  return last;
}

/* A set for k ids: on the stack (local, FL_LOCAL_SET slots) when it fits,
 * at most half full so probes stay short. */
static fastloss_status fl_drawn_open(fl_drawn_set *set, size_t k, int32_t *local) {
  size_t capacity = 16;
  unsigned bits = 4;
  while (capacity < 2 * k) {
    capacity *= 2;
    bits++;
  }
  set->slots = capacity <= FL_LOCAL_SET ? local : malloc(capacity * sizeof *set->slots);
  if (set->slots == NULL)
    return fl_fail(FASTLOSS_ERR_OUT_OF_MEMORY, "cannot allocate a set of %zu ids to draw k = %zu",
                   capacity, k);
  set->mask = capacity - 1;
  set->shift = 32 - bits;
  memset(set->slots, 0xff, capacity * sizeof *set->slots);
  return FASTLOSS_OK;
}

static void fl_drawn_close(fl_drawn_set *set, const int32_t *local) {
  if (set->slots != local) free(set->slots);
}

static fastloss_status fl_sample_tree(const fastloss_sampler *s, fastloss_rng *rng, size_t k,
                                      int32_t *out) {
  double *tree = fl_tree_alloc(s->n);
  if (tree != NULL) {
    fl_tree_build(tree, s->prob, s->n, NULL, 0);
    for (size_t j = 0; j < k; j++) out[j] = fl_tree_draw(tree, s->n, rng);
    free(tree);
    return FASTLOSS_OK;
  }
  /* Nothing is written yet, so running out of memory can still fail. */
  if (fl_tree_allowed)
    return fl_fail(FASTLOSS_ERR_OUT_OF_MEMORY, "cannot allocate %zu doubles to draw %zu of %zu",
                   2 * s->n, k, s->n);
  /* The test hook: the walk, as rejection's fallback without a tree. */
  int32_t local[FL_LOCAL_SET];
  fl_drawn_set set;
  const fastloss_status status = fl_drawn_open(&set, k, local);
  if (status != FASTLOSS_OK) return status;
  for (size_t j = 0; j < k; j++) out[j] = fl_walk_draw(s, &set, rng);
  fl_drawn_close(&set, local);
  return FASTLOSS_OK;
}

static fastloss_status fl_sample_rejection(const fastloss_sampler *s, fastloss_rng *rng, size_t k,
                                           int32_t *out) {
  int32_t local[FL_LOCAL_SET];
  fl_drawn_set set;
  const fastloss_status status = fl_drawn_open(&set, k, local);
  if (status != FASTLOSS_OK) return status;
  size_t j = 0;
  for (; j < k; j++) {
    int drawn = 0;
    for (int tries = 0; tries < FL_MAX_REJECTIONS && !drawn; tries++) {
      const int32_t c = fl_alias_draw(s, rng);
      if (fl_drawn_insert(&set, c)) {
        out[j] = c;
        drawn = 1;
      }
    }
    if (!drawn) break;
  }
  if (j < k) {
    /* The drawn mass is large: draw the rest exactly from what remains. */
    double *tree = fl_tree_alloc(s->n);
    if (tree != NULL) {
      fl_tree_build(tree, s->prob, s->n, out, j);
      for (; j < k; j++) out[j] = fl_tree_draw(tree, s->n, rng);
      free(tree);
    } else {
      for (; j < k; j++) out[j] = fl_walk_draw(s, &set, rng);
    }
  }
  fl_drawn_close(&set, local);
  return FASTLOSS_OK;
}

/* Reads the sampler only: any number of threads may call it on one sampler,
 * each with its own stream. */
fastloss_status fastloss_sampler_sample_rng(const fastloss_sampler *sampler, fastloss_rng *rng,
                                            size_t k, int32_t *out) {
  if (sampler == NULL) return fl_fail(FASTLOSS_ERR_NULL_POINTER, "sampler is NULL");
  if (rng == NULL) return fl_fail(FASTLOSS_ERR_NULL_POINTER, "rng is NULL");
  if (k == 0) return FASTLOSS_OK;
  if (out == NULL) return fl_fail(FASTLOSS_ERR_NULL_POINTER, "out is NULL");
  if (sampler->with_replacement) {
    for (size_t j = 0; j < k; j++) out[j] = fl_alias_draw(sampler, rng);
    return FASTLOSS_OK;
  }
  if (k > sampler->nonzero)
    return fl_fail(FASTLOSS_ERR_INVALID_ARGUMENT,
                   "k = %zu exceeds the %zu classes of nonzero probability (sampling without "
                   "replacement)",
                   k, sampler->nonzero);
  if (k >= sampler->n / FL_TREE_FRACTION) return fl_sample_tree(sampler, rng, k, out);
  return fl_sample_rejection(sampler, rng, k, out);
}

/* Advances the sampler's own stream: not safe to call from two threads on
 * one sampler (use fastloss_sampler_sample_rng with a stream per thread). */
fastloss_status fastloss_sampler_sample(fastloss_sampler *sampler, size_t k, int32_t *out) {
  if (sampler == NULL) return fl_fail(FASTLOSS_ERR_NULL_POINTER, "sampler is NULL");
  return fastloss_sampler_sample_rng(sampler, &sampler->rng, k, out);
}
