/* Bad input: one test per status, each checking the status, the message
 * and that no output was written. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testing.h"

enum { N = 4, M = 6, LD = 8 };

typedef struct fl_outputs {
  float row_loss[N];
  double loss;
  float grad[N * LD];
} fl_outputs;

static float fl_logits[N * LD];
static int32_t fl_labels[N] = {0, 5, 2, 3};

static void fl_outputs_poison(fl_outputs *o) { memset(o, 0x5a, sizeof *o); }

static void fl_outputs_untouched(const fl_outputs *o) {
  fl_outputs expect;
  fl_outputs_poison(&expect);
  ck_assert_msg(memcmp(o, &expect, sizeof expect) == 0, "an output was written on error");
}

/* Calls the f32 fused entry point and checks status, message and outputs. */
static void fl_expect(fastloss_status want, const char *message_part, size_t n, size_t m,
                      const float *logits, size_t ld, const int32_t *labels,
                      const fastloss_xent_params *params, size_t ld_grad) {
  fl_outputs o;
  fl_outputs_poison(&o);
  const fastloss_status got =
      fastloss_xent_f32(n, m, logits, ld, labels, params, o.row_loss, &o.loss, o.grad, ld_grad);
  ck_assert_msg(got == want, "got %s (%s), want %s", fastloss_status_str(got), fastloss_last_error(),
                fastloss_status_str(want));
  ck_assert_msg(strstr(fastloss_last_error(), message_part) != NULL, "message '%s' lacks '%s'",
                fastloss_last_error(), message_part);
  fl_outputs_untouched(&o);
}

START_TEST(error_null_pointer) {
  fl_expect(FASTLOSS_ERR_NULL_POINTER, "logits is NULL", N, M, NULL, LD, fl_labels, NULL, LD);
  fl_expect(FASTLOSS_ERR_NULL_POINTER, "labels is NULL", N, M, fl_logits, LD, NULL, NULL, LD);
  fl_outputs o;
  fl_outputs_poison(&o);
  ck_assert_int_eq(
      fastloss_xent_soft_f32(N, M, fl_logits, LD, NULL, M, NULL, o.row_loss, &o.loss, o.grad, LD),
      FASTLOSS_ERR_NULL_POINTER);
  ck_assert_str_eq(fastloss_last_error(), "target is NULL");
  fl_outputs_untouched(&o);
  double loss = 1.0;
  ck_assert_int_eq(fastloss_crossentropy_loss_f32(1, 1, NULL, fl_logits, &loss), FASTLOSS_ERR_NULL_POINTER);
  ck_assert(loss == 1.0);
}
END_TEST

START_TEST(error_invalid_shape) {
  fl_expect(FASTLOSS_ERR_INVALID_SHAPE, "n = 0", 0, M, fl_logits, LD, fl_labels, NULL, LD);
  fl_expect(FASTLOSS_ERR_INVALID_SHAPE, "m = 0", N, 0, fl_logits, LD, fl_labels, NULL, LD);
  double loss = 1.0;
  const float one = 1.0f;
  ck_assert_int_eq(fastloss_crossentropy_loss_f32(0, 1, &one, &one, &loss), FASTLOSS_ERR_INVALID_SHAPE);
  ck_assert(loss == 1.0);
}
END_TEST

START_TEST(error_size_overflow) {
  fl_expect(FASTLOSS_ERR_SIZE_OVERFLOW, "overflows", SIZE_MAX / 4, M, fl_logits, SIZE_MAX / 8,
            fl_labels, NULL, SIZE_MAX / 8);
  double loss = 1.0;
  const float one = 1.0f;
  ck_assert_int_eq(fastloss_crossentropy_loss_f32(SIZE_MAX / 2, 4, &one, &one, &loss),
                   FASTLOSS_ERR_SIZE_OVERFLOW);
  ck_assert_str_eq(fastloss_last_error(), "n * m = 9223372036854775807 * 4 overflows");
  ck_assert(loss == 1.0);
  float grad[4] = {9, 9, 9, 9};
  ck_assert_int_eq(fastloss_crossentropy_grad_f32(SIZE_MAX / 2, 4, &one, &one, grad),
                   FASTLOSS_ERR_SIZE_OVERFLOW);
  ck_assert_str_eq(fastloss_last_error(), "n * m = 9223372036854775807 * 4 overflows");
  ck_assert(grad[0] == 9 && grad[1] == 9 && grad[2] == 9 && grad[3] == 9);
}
END_TEST

/* Every byte of a small output buffer keeps the canary. */
static void fl_canary_fill(void *p, size_t bytes) { memset(p, 0x5a, bytes); }

static int fl_canary_intact(const void *p, size_t bytes) {
  const unsigned char *b = p;
  for (size_t k = 0; k < bytes; k++)
    if (b[k] != 0x5a) return 0;
  return 1;
}

/* The status and a message naming the matrix and its sizes. */
static void fl_expect_overflow(fastloss_status got, const char *what, size_t rows, size_t cols,
                               size_t ld) {
  ck_assert_msg(got == FASTLOSS_ERR_SIZE_OVERFLOW, "%s %zu x %zu (ld %zu): got %s (%s)", what, rows,
                cols, ld, fastloss_status_str(got), fastloss_last_error());
  char want[160];
  snprintf(want, sizeof want, "%s (%zu x %zu, leading dimension %zu) overflows", what, rows, cols,
           ld);
  ck_assert_msg(strstr(fastloss_last_error(), want) != NULL, "message '%s' lacks '%s'",
                fastloss_last_error(), want);
}

/* Matrices whose element or byte count overflows size_t, through every
 * kind of caller of the shared shape check, with 1, 2 and 3 rows and
 * m = ld = SIZE_MAX / 8 + 1 (2^61 on 64 bits: more bytes than size_t holds
 * at 8 bytes an element), SIZE_MAX / 4 + 1 (2^62) and SIZE_MAX / 2 + 1
 * (2^63); 2 rows of 2^63 also overflow the element count itself.  The
 * buffers are a few elements long: the call must fail before reading them.
 * Each call also carries a later error (a label out of range, a bad
 * parameter), so that a check letting the shape through fails here with
 * that status instead of running the kernels over 2^61 elements. */
START_TEST(error_size_overflow_wide) {
  static const size_t wide[] = {SIZE_MAX / 8 + 1, SIZE_MAX / 4 + 1, SIZE_MAX / 2 + 1};
  static const float in32[16] = {0};
  static const double in64[16] = {0};
  static const int32_t bad_labels[3] = {-1, -1, -1};
  const fastloss_xent_params bad_smoothing = {.label_smoothing = 2.0};
  const fastloss_vae_params bad_flag = {.from_logits = 2};
  const fastloss_activation bad_act = {.use_params = 7};
  struct {
    double row[4], row2[4], loss, grad[16], grad2[16], grad3[16];
  } o;
  for (size_t rows = 1; rows <= 3; rows++) {
    for (size_t k = 0; k < sizeof wide / sizeof wide[0]; k++) {
      const size_t m = wide[k];
      fl_canary_fill(&o, sizeof o);
      fl_expect_overflow(fastloss_xent_f32(rows, m, in32, m, bad_labels, NULL, (float *)o.row,
                                           &o.loss, (float *)o.grad, m),
                         "logits", rows, m, m);
      fl_expect_overflow(
          fastloss_xent_f64(rows, m, in64, m, bad_labels, NULL, o.row, &o.loss, o.grad, m),
          "logits", rows, m, m);
      fl_expect_overflow(fastloss_xent_soft_f32(rows, m, in32, m, in32, m, &bad_smoothing,
                                                (float *)o.row, &o.loss, (float *)o.grad, m),
                         "logits", rows, m, m);
      fl_expect_overflow(fastloss_xent_soft_f64(rows, m, in64, m, in64, m, &bad_smoothing, o.row,
                                                &o.loss, o.grad, m),
                         "logits", rows, m, m);
      fl_expect_overflow(fastloss_vae_f32(rows, m, 1, in32, m, in32, m, in32, in32, 1, &bad_flag,
                                          (float *)o.row, (float *)o.row2, &o.loss, (float *)o.grad,
                                          (float *)o.grad2, (float *)o.grad3),
                         "y", rows, m, m);
      fl_expect_overflow(fastloss_vae_f64(rows, m, 1, in64, m, in64, m, in64, in64, 1, &bad_flag,
                                          o.row, o.row2, &o.loss, o.grad, o.grad2, o.grad3),
                         "y", rows, m, m);
      fl_expect_overflow(
          fastloss_sqerr_grad_f32(rows, m, in32, in32, in32, &bad_act, (float *)o.grad), "y", rows,
          m, m);
      fl_expect_overflow(fastloss_sqerr_grad_f64(rows, m, in64, in64, in64, &bad_act, o.grad), "y",
                         rows, m, m);
      if (rows == 1) {
        fl_expect_overflow(fastloss_activation_fn_f32(&bad_act, m, in32, (float *)o.grad), "z", 1,
                           m, m);
        fl_expect_overflow(fastloss_activation_grad_f64(&bad_act, m, in64, o.grad), "z", 1, m, m);
      }
      ck_assert_msg(fl_canary_intact(&o, sizeof o), "%zu rows, m = %zu: an output was written",
                    rows, m);
    }
  }
  /* A leading dimension past the limit is refused with a short row too. */
  fl_canary_fill(&o, sizeof o);
  fl_expect_overflow(fastloss_xent_soft_f32(1, 4, in32, 4, in32, SIZE_MAX / 2 + 1, &bad_smoothing,
                                            (float *)o.row, &o.loss, (float *)o.grad, 4),
                     "target", 1, 4, SIZE_MAX / 2 + 1);
  ck_assert_msg(fl_canary_intact(&o, sizeof o), "an output was written");
}
END_TEST

START_TEST(error_invalid_stride) {
  fl_expect(FASTLOSS_ERR_INVALID_STRIDE, "leading dimension of logits = 5 is smaller than m = 6", N, M,
            fl_logits, 5, fl_labels, NULL, LD);
  fl_expect(FASTLOSS_ERR_INVALID_STRIDE, "leading dimension of grad = 2", N, M, fl_logits, LD, fl_labels,
            NULL, 2);
}
END_TEST

START_TEST(error_label_out_of_range) {
  int32_t labels[N] = {0, 1, 6, 2};
  fl_expect(FASTLOSS_ERR_LABEL_OUT_OF_RANGE, "labels[2] = 6 is outside [0, 6)", N, M, fl_logits, LD,
            labels, NULL, LD);
  labels[2] = -1;
  fl_expect(FASTLOSS_ERR_LABEL_OUT_OF_RANGE, "labels[2] = -1 is outside [0, 6)", N, M, fl_logits, LD,
            labels, NULL, LD);
  /* -1 is fine once it is the ignore index; 6 is still out of range. */
  fastloss_xent_params p = {.use_ignore_index = 1, .ignore_index = -1};
  labels[3] = 60000;
  fl_expect(FASTLOSS_ERR_LABEL_OUT_OF_RANGE, "labels[3] = 60000 is outside [0, 6)", N, M, fl_logits, LD,
            labels, &p, LD);
}
END_TEST

/* Long label arrays: the check runs a branch-free pass over chunks of 64
 * labels before its first-offender loop, so a bad label at a chunk's edges,
 * in the remainder, with and without an ignore index, must still be named;
 * a valid array's MEAN must divide by the rows that are not ignored. */
START_TEST(error_label_out_of_range_long) {
  enum { LN = 300 };
  static const size_t ms[] = {10, 40}; /* small-rows and row paths */
  static const size_t where[] = {0, 63, 64, 127, 128, 255, 256, 299};
  int32_t *labels = malloc(LN * sizeof *labels);
  float *logits = malloc(LN * 40 * sizeof *logits);
  float *grad = malloc(LN * 40 * sizeof *grad), *row_loss = malloc(LN * sizeof *row_loss);
  ck_assert(labels != NULL && logits != NULL && grad != NULL && row_loss != NULL);
  for (size_t i = 0; i < LN * 40; i++) logits[i] = (float)((i * 7919) % 23) * 0.25f - 2.0f;
  for (size_t mi = 0; mi < 2; mi++) {
    const size_t m = ms[mi];
    for (int ignore = 0; ignore < 2; ignore++) {
      /* ignore_index = m: a label of m is skipped, not out of range. */
      const fastloss_xent_params p = {.use_ignore_index = ignore, .ignore_index = (int32_t)m};
      for (size_t w = 0; w < sizeof where / sizeof where[0]; w++) {
        for (int sign = 0; sign < 2; sign++) {
          for (size_t i = 0; i < LN; i++) labels[i] = (int32_t)((i * 13) % m);
          if (ignore)
            for (size_t i = 5; i < LN; i += 37) labels[i] = (int32_t)m;
          const int32_t bad = sign ? -1 - (int32_t)w : (int32_t)(m + 1 + w);
          labels[where[w]] = bad;
          if (ignore && where[w] + 1 < LN) labels[where[w] + 1] = (int32_t)m; /* next to it */
          memset(grad, 0x5a, LN * 40 * sizeof *grad);
          memset(row_loss, 0x5a, LN * sizeof *row_loss);
          double loss = 12345.0;
          const fastloss_status got =
              fastloss_xent_f32(LN, m, logits, m, labels, &p, row_loss, &loss, grad, m);
          ck_assert_int_eq(got, FASTLOSS_ERR_LABEL_OUT_OF_RANGE);
          char want[96];
          snprintf(want, sizeof want, "labels[%zu] = %d is outside [0, %zu)", where[w], (int)bad, m);
          ck_assert_msg(strstr(fastloss_last_error(), want) != NULL, "message '%s' lacks '%s'",
                        fastloss_last_error(), want);
          ck_assert(loss == 12345.0);
          for (size_t i = 0; i < LN * m; i++) {
            uint32_t bits;
            memcpy(&bits, &grad[i], 4);
            ck_assert_msg(bits == 0x5a5a5a5au, "grad[%zu] written on error", i);
          }
        }
      }
      /* Valid labels: MEAN = SUM / (rows not ignored), the same total. */
      size_t ignored = 0;
      for (size_t i = 0; i < LN; i++) labels[i] = (int32_t)((i * 13) % m);
      if (ignore)
        for (size_t i = 5; i < LN; i += 37, ignored++) labels[i] = (int32_t)m;
      fastloss_xent_params sum_p = p, mean_p = p;
      sum_p.reduction = FASTLOSS_REDUCTION_SUM;
      mean_p.reduction = FASTLOSS_REDUCTION_MEAN;
      double sum = 0.0, mean = 0.0;
      ck_assert_int_eq(fastloss_xent_f32(LN, m, logits, m, labels, &sum_p, NULL, &sum, NULL, m),
                       FASTLOSS_OK);
      ck_assert_int_eq(fastloss_xent_f32(LN, m, logits, m, labels, &mean_p, NULL, &mean, NULL, m),
                       FASTLOSS_OK);
      ck_assert_msg(ignore == 0 || ignored == 8, "ignored %zu rows", ignored);
      ck_assert_msg(mean == sum / (double)(LN - ignored), "mean %.17g, sum %.17g / %zu", mean, sum,
                    (size_t)LN - ignored);
    }
  }
  free(labels);
  free(logits);
  free(grad);
  free(row_loss);
}
END_TEST

START_TEST(error_invalid_argument) {
  fastloss_xent_params p = {.label_smoothing = NAN};
  fl_expect(FASTLOSS_ERR_INVALID_ARGUMENT, "label_smoothing = nan is outside [0, 1)", N, M, fl_logits,
            LD, fl_labels, &p, LD);
  p.label_smoothing = 1.0;
  fl_expect(FASTLOSS_ERR_INVALID_ARGUMENT, "label_smoothing = 1", N, M, fl_logits, LD, fl_labels, &p, LD);
  p.label_smoothing = -0.1;
  fl_expect(FASTLOSS_ERR_INVALID_ARGUMENT, "label_smoothing = -0.1", N, M, fl_logits, LD, fl_labels, &p,
            LD);
  fastloss_xent_params q = {.reduction = (fastloss_reduction)7};
  fl_expect(FASTLOSS_ERR_INVALID_ARGUMENT, "reduction = 7", N, M, fl_logits, LD, fl_labels, &q, LD);
  const double w64[M] = {1, 1, 1, 1, 1, 1};
  fastloss_xent_params r = {.weight_f64 = w64};
  fl_expect(FASTLOSS_ERR_INVALID_ARGUMENT, "weight_f64 is set on an f32 call", N, M, fl_logits, LD,
            fl_labels, &r, LD);
  float w32[M] = {1, 1, 1, -0.5f, 1, 1};
  fastloss_xent_params pw = {.weight_f32 = w32};
  fl_expect(FASTLOSS_ERR_INVALID_ARGUMENT, "params->weight_f32[3] = -0.5: class weights must be finite",
            N, M, fl_logits, LD, fl_labels, &pw, LD);
  w32[3] = 1;
  w32[5] = NAN;
  fl_expect(FASTLOSS_ERR_INVALID_ARGUMENT, "params->weight_f32[5] = nan", N, M, fl_logits, LD, fl_labels,
            &pw, LD);
  w32[5] = INFINITY;
  fl_expect(FASTLOSS_ERR_INVALID_ARGUMENT, "params->weight_f32[5] = inf", N, M, fl_logits, LD, fl_labels,
            &pw, LD);
  w32[5] = 0; /* zero weights are fine */
  ck_assert_int_eq(fastloss_xent_f32(N, M, fl_logits, LD, fl_labels, &pw, NULL, NULL, NULL, LD),
                   FASTLOSS_OK);
  ck_assert_int_eq(fastloss_set_num_threads(-1), FASTLOSS_ERR_INVALID_ARGUMENT);
}
END_TEST

/* y[0][1] = 0.5 is the first entry of y that is neither 0 nor 1: named by
 * the loss and the gradient alike, and neither output written. */
START_TEST(error_not_binary) {
  const float y[4] = {0.0f, 0.5f, 1.0f, 0.0f}, p[4] = {0.5f, 0.5f, 0.5f, 0.5f};
  float grad[4] = {9, 9, 9, 9};
  double loss = 9.0;
  ck_assert_int_eq(fastloss_crossentropy_loss_f32(2, 2, y, p, &loss), FASTLOSS_ERR_NOT_BINARY);
  ck_assert_str_eq(fastloss_last_error(), "y[0][1] is not 0 or 1 (y must be one-hot)");
  ck_assert(loss == 9.0);
  ck_assert_int_eq(fastloss_crossentropy_grad_f32(2, 2, y, p, grad), FASTLOSS_ERR_NOT_BINARY);
  ck_assert_str_eq(fastloss_last_error(), "y[0][1] is not 0 or 1 (y must be one-hot)");
  ck_assert(grad[0] == 9 && grad[1] == 9 && grad[2] == 9 && grad[3] == 9);
}
END_TEST

/* Row 1 of y_pred sums to 1.2 (y is one-hot): named by the loss and the
 * gradient alike, and neither output written. */
START_TEST(error_not_stochastic) {
  const float y[4] = {0.0f, 1.0f, 1.0f, 0.0f}, p[4] = {0.5f, 0.5f, 0.7f, 0.5f};
  float grad[4] = {9, 9, 9, 9};
  double loss = 9.0;
  ck_assert_int_eq(fastloss_crossentropy_loss_f32(2, 2, y, p, &loss), FASTLOSS_ERR_NOT_STOCHASTIC);
  ck_assert_msg(strstr(fastloss_last_error(), "row 1 of y_pred sums to 1.2") != NULL, "%s",
                fastloss_last_error());
  ck_assert(loss == 9.0);
  ck_assert_int_eq(fastloss_crossentropy_grad_f32(2, 2, y, p, grad), FASTLOSS_ERR_NOT_STOCHASTIC);
  ck_assert_msg(strstr(fastloss_last_error(), "row 1 of y_pred sums to 1.2") != NULL, "%s",
                fastloss_last_error());
  ck_assert(grad[0] == 9 && grad[1] == 9 && grad[2] == 9 && grad[3] == 9);
}
END_TEST

/* Reduction NONE puts the losses in row_loss, so it is required: hard and
 * soft labels, f32 and f64, with and without a gradient; nothing written. */
START_TEST(error_none_without_row_loss) {
  const fastloss_xent_params none = {.reduction = FASTLOSS_REDUCTION_NONE};
  static const char want[] = "row_loss is NULL but reduction is FASTLOSS_REDUCTION_NONE";
  static double logits64[N * LD];
  for (size_t k = 0; k < N * LD; k++) logits64[k] = (double)k;
  for (int with_grad = 0; with_grad < 2; with_grad++) {
    struct {
      double loss, grad[N * LD];
    } o;
    for (int call = 0; call < 4; call++) {
      fl_canary_fill(&o, sizeof o);
      float *g32 = with_grad ? (float *)o.grad : NULL;
      double *g64 = with_grad ? o.grad : NULL;
      fastloss_status got = FASTLOSS_OK;
      switch (call) {
        case 0:
          got = fastloss_xent_f32(N, M, fl_logits, LD, fl_labels, &none, NULL, &o.loss, g32, LD);
          break;
        case 1:
          got = fastloss_xent_f64(N, M, logits64, LD, fl_labels, &none, NULL, &o.loss, g64, LD);
          break;
        case 2:
          got = fastloss_xent_soft_f32(N, M, fl_logits, LD, fl_logits, LD, &none, NULL, &o.loss,
                                       g32, LD);
          break;
        case 3:
          got = fastloss_xent_soft_f64(N, M, logits64, LD, logits64, LD, &none, NULL, &o.loss, g64,
                                       LD);
          break;
      }
      ck_assert_msg(got == FASTLOSS_ERR_NULL_POINTER, "call %d, grad %d: got %s (%s)", call,
                    with_grad, fastloss_status_str(got), fastloss_last_error());
      ck_assert_str_eq(fastloss_last_error(), want);
      ck_assert_msg(fl_canary_intact(&o, sizeof o), "call %d, grad %d: an output was written", call,
                    with_grad);
    }
  }
  /* With row_loss, NONE is fine: the losses are there. */
  float row[N];
  double loss;
  ck_assert_int_eq(fastloss_xent_f32(N, M, fl_logits, LD, fl_labels, &none, row, &loss, NULL, LD),
                   FASTLOSS_OK);
  for (size_t i = 0; i < N; i++) ck_assert(isfinite(row[i]) && row[i] > 0.0f);
}
END_TEST

START_TEST(error_overlap) {
  float buf[N * LD + 8];
  memset(buf, 0, sizeof buf);
  fl_outputs o;
  fl_outputs_poison(&o);
  /* grad shifted by one element over the logits. */
  ck_assert_int_eq(fastloss_xent_f32(N, M, buf, LD, fl_labels, NULL, NULL, &o.loss, buf + 1, LD),
                   FASTLOSS_ERR_OVERLAP);
  ck_assert_str_eq(fastloss_last_error(),
                   "grad overlaps logits without being the same buffer with the same leading dimension");
  ck_assert_int_eq(fastloss_xent_f32(N, M, buf, LD, fl_labels, NULL, NULL, &o.loss, buf, LD - 1),
                   FASTLOSS_ERR_OVERLAP);
  ck_assert_int_eq(fastloss_xent_f32(N, M, buf, LD, fl_labels, NULL, NULL, &o.loss, buf, M),
                   FASTLOSS_ERR_OVERLAP);
  ck_assert_int_eq(fastloss_xent_f32(N, M, buf, LD, fl_labels, NULL, buf + 2, &o.loss, NULL, LD),
                   FASTLOSS_ERR_OVERLAP);
  fl_outputs_untouched(&o);
  /* Exact aliasing (in place) is allowed. */
  ck_assert_int_eq(fastloss_xent_f32(N, M, buf, LD, fl_labels, NULL, NULL, &o.loss, buf, LD), FASTLOSS_OK);
}
END_TEST

START_TEST(error_unsupported_isa) {
  const unsigned cpu = fastloss_cpu_features();
  if (!(cpu & FASTLOSS_CPU_NEON)) {
    ck_assert_int_eq(fastloss_set_isa(FASTLOSS_ISA_NEON), FASTLOSS_ERR_UNSUPPORTED_ISA);
    ck_assert_msg(strstr(fastloss_last_error(), "isa neon") != NULL, "%s", fastloss_last_error());
  }
  if (!(cpu & FASTLOSS_CPU_AVX512))
    ck_assert_int_eq(fastloss_set_isa(FASTLOSS_ISA_AVX512), FASTLOSS_ERR_UNSUPPORTED_ISA);
  ck_assert_int_eq(fastloss_set_isa((fastloss_isa)42), FASTLOSS_ERR_INVALID_ARGUMENT);
  /* The kernels under test are still installed. */
  ck_assert_ptr_eq(fl_kernels(), fl_run.kernels);
}
END_TEST

/* NaN and inf logits are data: OK status, damage confined to their row. */
START_TEST(nan_logits_are_data) {
  float z[N * M];
  for (size_t k = 0; k < N * M; k++) z[k] = (float)k * 0.1f;
  z[1 * M + 2] = NAN;
  z[2 * M + 0] = INFINITY;
  float row[N], grad[N * M];
  double loss;
  ck_assert_int_eq(fastloss_xent_f32(N, M, z, M, fl_labels, NULL, row, &loss, grad, M), FASTLOSS_OK);
  ck_assert(isfinite(row[0]) && isnan(row[1]) && isnan(row[2]) && isfinite(row[3]));
  for (size_t j = 0; j < M; j++) {
    ck_assert(isfinite(grad[j]) && isfinite(grad[3 * M + j]));
    ck_assert(isnan(grad[M + j]));
  }
  ck_assert(isnan(loss));
}
END_TEST

Suite *fl_suite_errors(void) {
  for (size_t k = 0; k < N * LD; k++) fl_logits[k] = (float)k;
  Suite *s = suite_create("errors");
  TCase *tc = tcase_create("bad input");
  tcase_add_test(tc, error_null_pointer);
  tcase_add_test(tc, error_invalid_shape);
  tcase_add_test(tc, error_size_overflow);
  tcase_add_test(tc, error_size_overflow_wide);
  tcase_add_test(tc, error_invalid_stride);
  tcase_add_test(tc, error_label_out_of_range);
  tcase_add_test(tc, error_label_out_of_range_long);
  tcase_add_test(tc, error_invalid_argument);
  tcase_add_test(tc, error_not_binary);
  tcase_add_test(tc, error_not_stochastic);
  tcase_add_test(tc, error_none_without_row_loss);
  tcase_add_test(tc, error_overlap);
  tcase_add_test(tc, error_unsupported_isa);
  tcase_add_test(tc, nan_logits_are_data);
  suite_add_tcase(s, tc);
  return s;
}
