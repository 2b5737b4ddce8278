/* Every f32 micro-kernel of the ISA under test against the scalar kernel and
 * a float64 reference: sizes around the vector width, primes, large rows,
 * misaligned pointers, canaries around every output, extreme values. */
#include <float.h>
#include <math.h>
#include <stdlib.h>

#include "testing.h"

/* Sizes: 1..67, multiples of the widths used by the unrolled loops +-1,
 * primes, and large rows. */
static size_t fl_sizes(size_t *out) {
  size_t count = 0;
  for (size_t m = 1; m <= 67; m++) out[count++] = m;
  const size_t lanes = fl_run.lanes > 1 ? fl_run.lanes : 8;
  const size_t widths[] = {lanes, 2 * lanes, 4 * lanes, 16 * lanes, 32 * lanes};
  for (size_t k = 0; k < sizeof widths / sizeof widths[0]; k++)
    for (size_t mult = 1; mult <= 3; mult++) {
      const size_t base = widths[k] * mult;
      if (base > 67) {
        out[count++] = base - 1;
        out[count++] = base;
        out[count++] = base + 1;
      }
    }
  const size_t big[] = {101, 257, 1009, 4093, 32000, 128000};
  /* Runs under qemu are 20-200x slower: one large row is enough. */
  const size_t nbig = fl_run.slow ? 5 : sizeof big / sizeof big[0];
  for (size_t k = 0; k < nbig; k++) out[count++] = big[k];
  return count;
}

/* kind 0: N(0, 3); 1: extremes and -inf masks; 2: all equal; 3: some NaN. */
static void fl_fill(float *x, size_t m, int kind, fl_rng *rng) {
  for (size_t j = 0; j < m; j++) {
    double v = 3.0 * fl_rng_normal(rng);
    if (kind == 1) {
      const uint32_t r = fl_rng_u32(rng) % 8;
      if (r == 0) v = -INFINITY;
      if (r == 1) v = 88.0;
      if (r == 2) v = -88.0;
      if (r == 3) v = -1e30;
      if (r == 4) v = 60.0 + v;
    }
    if (kind == 2) v = 1.5;
    x[j] = (float)v;
  }
  if (kind == 3) x[fl_rng_u32(rng) % m] = NAN;
}

/* Float sums over lanes: relative error grows with the row. */
static double fl_sum_tol(size_t m) { return m > 10000 ? 3e-5 : 1e-5; }

static double fl_ref_max(size_t m, const float *x) {
  double max = -INFINITY;
  for (size_t j = 0; j < m; j++)
    if (x[j] > max) max = x[j];
  return max;
}

static int fl_has_nan(size_t m, const float *x) {
  for (size_t j = 0; j < m; j++)
    if (isnan(x[j])) return 1;
  return 0;
}

START_TEST(rmax_exact) {
  const fl_f32_xent_kernels *k = fl_run.kernels->f32_xent;
  size_t sizes[128];
  const size_t ns = fl_sizes(sizes);
  fl_rng rng;
  fl_rng_seed(&rng, 11);
  for (size_t s = 0; s < ns; s++)
    for (int kind = 0; kind < 4; kind++)
      for (int mis = 0; mis < 2; mis++) {
        const size_t m = sizes[s];
        fl_buf x = fl_buf_new(m, mis);
        fl_fill(x.data, m, kind, &rng);
        const float got = k->xent_rmax(m, x.data);
        FL_CHECK(fl_same_bits(got, (float)fl_ref_max(m, x.data)),
                      "rmax m=%zu kind=%d: %g vs %g", m, kind, (double)got, fl_ref_max(m, x.data));
        FL_CHECK1(fl_same_bits(got, fl_f32_xent_kernels__scalar.xent_rmax(m, x.data)));
        fl_buf_free(&x);
      }
  /* All -inf. */
  float minf[37];
  for (size_t j = 0; j < 37; j++) minf[j] = -INFINITY;
  for (size_t m = 1; m <= 37; m++) FL_CHECK1(k->xent_rmax(m, minf) == -INFINITY);
}
END_TEST

START_TEST(rexpstore_and_vexpscale) {
  const fl_f32_xent_kernels *k = fl_run.kernels->f32_xent;
  size_t sizes[128];
  const size_t ns = fl_sizes(sizes);
  fl_rng rng;
  fl_rng_seed(&rng, 12);
  for (size_t s = 0; s < ns; s++)
    for (int kind = 0; kind < 4; kind++) {
      const size_t m = sizes[s];
      const int mis = (int)(s + (size_t)kind) % 2;
      fl_buf x = fl_buf_new(m, mis), y = fl_buf_new(m, !mis), y2 = fl_buf_new(m, 0);
      /* The next row: another kind (every kind, NaN included, over the
       * loop) and the other alignment; every 5th size all -inf. */
      fl_buf nx = fl_buf_new(m, !mis);
      fl_fill(x.data, m, kind, &rng);
      fl_fill(nx.data, m, (kind + 1 + (int)s) % 4, &rng);
      if (s % 5 == 0)
        for (size_t j = 0; j < m; j++) nx.data[j] = -INFINITY;
      const float max = (float)fl_ref_max(m, x.data);
      if (max == -INFINITY) goto next;
      float next_max = 0.0f;
      const float sum = k->xent_rexpstore(m, x.data, max, y.data, nx.data, &next_max);
      fl_buf_check_canaries(&nx, "rexpstore next");
      FL_CHECK(fl_same_bits(next_max, (float)fl_ref_max(m, nx.data)),
               "rexpstore next_max m=%zu kind=%d: %g vs %g", m, kind, (double)next_max,
               fl_ref_max(m, nx.data));
      FL_CHECK1(fl_same_bits(next_max, fl_f32_xent_kernels__scalar.xent_rmax(m, nx.data)));
      /* rexpsum: rexpstore's sum and next max, without stores. */
      float sum_only_next_max = 0.0f;
      const float sum_only = k->xent_rexpsum(m, x.data, max, nx.data, &sum_only_next_max);
      FL_CHECK(fl_same_bits(sum_only, sum) && fl_same_bits(sum_only_next_max, next_max),
               "rexpsum m=%zu kind=%d: %.9g vs %.9g", m, kind, (double)sum_only, (double)sum);
      const float scalar_sum_only =
          fl_f32_xent_kernels__scalar.xent_rexpsum(m, x.data, max, nx.data, &sum_only_next_max);
      FL_CHECK1(fl_close(sum_only, scalar_sum_only, 0.0, fl_sum_tol(m)) &&
                fl_same_bits(sum_only_next_max, next_max));
      /* In place, next = x = y: the same exps, sum and max (x's own). */
      for (size_t j = 0; j < m; j++) y2.data[j] = x.data[j];
      float own_max = 0.0f;
      const float sum_in_place = k->xent_rexpstore(m, y2.data, max, y2.data, y2.data, &own_max);
      FL_CHECK1(fl_same_bits(sum_in_place, sum) && fl_same_bits(own_max, max));
      for (size_t j = 0; j < m; j++)
        FL_CHECK(fl_same_bits(y2.data[j], y.data[j]), "rexpstore in place m=%zu j=%zu", m, j);
      fl_buf_check_canaries(&y2, "rexpstore in place");
      const float scale = 0.37f;
      k->xent_vexpscale(m, x.data, max, scale, y2.data);
      fl_buf_check_canaries(&y, "rexpstore y");
      fl_buf_check_canaries(&y2, "vexpscale y");
      double ref_sum = 0.0;
      for (size_t j = 0; j < m; j++) {
        const double e = exp((double)x.data[j] - (double)max);
        ref_sum += e;
        /* 1 ULP of exp plus the rounding of x - max in float. */
        const double rel = 2.5e-7 + fabs((double)x.data[j] - (double)max) * 6e-8;
        FL_CHECK(fl_close(y.data[j], e, 1e-37, rel), "rexpstore m=%zu j=%zu: %g vs %g", m, j,
                      (double)y.data[j], e);
        FL_CHECK(fl_close(y2.data[j], e * scale, 1e-37, rel + 1.5e-7), "vexpscale m=%zu j=%zu", m, j);
      }
      FL_CHECK(fl_close(sum, ref_sum, 0.0, fl_sum_tol(m)), "rexpstore sum m=%zu kind=%d: %.9g vs %.9g", m,
                    kind, (double)sum, ref_sum);
      const float scalar_sum =
          fl_f32_xent_kernels__scalar.xent_rexpstore(m, x.data, max, y2.data, x.data, &own_max);
      FL_CHECK1(fl_close(sum, scalar_sum, 0.0, fl_sum_tol(m)));
    next:
      fl_buf_free(&nx);
      fl_buf_free(&x);
      fl_buf_free(&y);
      fl_buf_free(&y2);
    }
}
END_TEST

START_TEST(ronline_matches_two_pass) {
  const fl_f32_xent_kernels *k = fl_run.kernels->f32_xent;
  size_t sizes[128];
  const size_t ns = fl_sizes(sizes);
  fl_rng rng;
  fl_rng_seed(&rng, 13);
  for (size_t s = 0; s < ns; s++)
    for (int kind = 0; kind < 4; kind++)
      for (int mis = 0; mis < 2; mis++) {
        const size_t m = sizes[s];
        fl_buf x = fl_buf_new(m, mis);
        fl_fill(x.data, m, kind, &rng);
        /* Increasing rows make the running max move at every block. */
        if (kind == 2 && mis == 1)
          for (size_t j = 0; j < m; j++) x.data[j] = (float)j * 0.01f;
        float max, sum;
        k->xent_ronline(m, x.data, &max, &sum);
        const double ref_max = fl_ref_max(m, x.data);
        FL_CHECK(fl_same_bits(max, (float)ref_max), "ronline max m=%zu kind=%d", m, kind);
        if (fl_has_nan(m, x.data)) {
          FL_CHECK(isnan(sum), "ronline m=%zu: NaN input must give a NaN sum", m);
        } else if (ref_max == -INFINITY) {
          FL_CHECK1(sum == 0.0f);
        } else {
          double ref_sum = 0.0;
          for (size_t j = 0; j < m; j++) ref_sum += exp((double)x.data[j] - ref_max);
          FL_CHECK(fl_close(sum, ref_sum, 0.0, fl_sum_tol(m)), "ronline sum m=%zu kind=%d: %.9g vs %.9g",
                        m, kind, (double)sum, ref_sum);
        }
        fl_buf_free(&x);
      }
  float minf[300];
  for (size_t j = 0; j < 300; j++) minf[j] = -INFINITY;
  for (size_t m = 1; m <= 300; m += 7) {
    float max, sum;
    k->xent_ronline(m, minf, &max, &sum);
    FL_CHECK1(max == -INFINITY && sum == 0.0f);
  }
}
END_TEST

START_TEST(vaffine_variants) {
  const fl_f32_xent_kernels *k = fl_run.kernels->f32_xent;
  size_t sizes[128];
  const size_t ns = fl_sizes(sizes);
  fl_rng rng;
  fl_rng_seed(&rng, 14);
  for (size_t s = 0; s < ns; s++)
    for (int variant = 0; variant < 4; variant++) {
      const size_t m = sizes[s];
      const int mis = (int)s % 2;
      fl_buf y = fl_buf_new(m, mis), t = fl_buf_new(m, !mis), w = fl_buf_new(m, mis);
      float *y0 = malloc(m * sizeof *y0);
      for (size_t j = 0; j < m; j++) {
        y.data[j] = y0[j] = (float)fl_rng_uniform(&rng);
        t.data[j] = (float)fl_rng_uniform(&rng);
        w.data[j] = (float)(2.0 * fl_rng_uniform(&rng));
      }
      const float *tp = (variant & 1) ? t.data : NULL, *wp = (variant & 2) ? w.data : NULL;
      const float alpha = 1.7f, beta = variant == 0 ? 0.0f : 0.01f, gamma = 0.9f;
      k->xent_vaffine(m, y.data, alpha, beta, gamma, tp, wp);
      fl_buf_check_canaries(&y, "vaffine y");
      for (size_t j = 0; j < m; j++) {
        double target = beta + (tp ? (double)gamma * tp[j] : 0.0);
        if (wp) target *= wp[j];
        const double want = (double)alpha * y0[j] - target;
        const double tol = 1e-7 + 1e-6 * (fabs((double)alpha * y0[j]) + fabs(target));
        FL_CHECK(fabs(y.data[j] - want) <= tol, "vaffine variant %d m=%zu j=%zu", variant,
                      m, j);
      }
      free(y0);
      fl_buf_free(&y);
      fl_buf_free(&t);
      fl_buf_free(&w);
    }
}
END_TEST

START_TEST(rdot_skips_zero_weights) {
  const fl_f32_xent_kernels *k = fl_run.kernels->f32_xent;
  size_t sizes[128];
  const size_t ns = fl_sizes(sizes);
  fl_rng rng;
  fl_rng_seed(&rng, 15);
  for (size_t s = 0; s < ns; s++)
    for (int variant = 0; variant < 4; variant++) {
      const size_t m = sizes[s];
      fl_buf a = fl_buf_new(m, 1), b = fl_buf_new(m, 0), c = fl_buf_new(m, 1);
      for (size_t j = 0; j < m; j++) {
        a.data[j] = (float)(3.0 * fl_rng_normal(&rng));
        b.data[j] = (fl_rng_u32(&rng) % 3 == 0) ? 0.0f : (float)fl_rng_uniform(&rng);
        c.data[j] = (float)fl_rng_uniform(&rng);
        if (b.data[j] == 0.0f && (variant & 1)) a.data[j] = -INFINITY; /* masked logit */
      }
      const float *bp = (variant & 1) ? b.data : NULL, *cp = (variant & 2) ? c.data : NULL;
      const float shift = variant == 3 ? 0.0f : 2.5f;
      double want = 0.0, scale = 0.0;
      for (size_t j = 0; j < m; j++) {
        const double weight = (bp ? (double)bp[j] : 1.0) * (cp ? (double)cp[j] : 1.0);
        if (weight == 0.0) continue;
        want += ((double)a.data[j] - shift) * weight;
        scale += fabs(((double)a.data[j] - shift) * weight);
      }
      const float got = k->xent_rdot(m, a.data, shift, bp, cp);
      FL_CHECK(fabs(got - want) <= 1e-5 * scale + 1e-6, "rdot variant %d m=%zu: %.9g vs %.9g",
                    variant, m, (double)got, want);
      fl_buf_free(&a);
      fl_buf_free(&b);
      fl_buf_free(&c);
    }
}
END_TEST

/* Row r's label: 0, m - 1, outside [0, m) in every way (negative, m, the
 * int32 extremes, an ignore-index-like -100) or inside at random. */
static int32_t fl_small_label(size_t m, size_t r, int variant, fl_rng *rng) {
  switch ((r + m + (size_t)variant) % 8) {
    case 0:
      return 0;
    case 1:
      return (int32_t)m - 1;
    case 2:
      return -1;
    case 3:
      return (int32_t)m;
    case 4:
      return INT32_MIN;
    case 5:
      return r % 2 ? INT32_MAX : -100;
    default:
      return (int32_t)(fl_rng_u32(rng) % m);
  }
}

START_TEST(smallrows_against_reference) {
  const fl_f32_xent_kernels *k = fl_run.kernels->f32_xent;
  fl_rng rng;
  fl_rng_seed(&rng, 16);
  for (size_t m = 1; m <= FL_XENT_SMALL_M; m++)
    for (size_t rows = 1; rows <= FL_XENT_SMALL_ROWS; rows += (rows < 40 ? 1 : 11))
      for (int variant = 0; variant < 4; variant++) {
        const int odd = variant & 1; /* ld > m and misaligned pointers */
        const size_t ld = odd ? m + 3 : m;
        const int with_grad = variant != 2, in_place = variant == 3;
        const size_t total = (rows - 1) * ld + m;
        fl_buf z = fl_buf_new(total, odd), g = fl_buf_new(total, 0);
        fl_buf outs = fl_buf_new(4 * rows, odd), coefs = fl_buf_new(3 * rows, odd);
        /* The labels end where their allocation does, so that an
         * AddressSanitizer build sees a read past them. */
        int32_t *label_base = malloc((rows + (size_t)odd) * sizeof *label_base);
        int32_t *labels = label_base + odd;
        float *alpha = coefs.data, *beta = coefs.data + rows, *label_coef = coefs.data + 2 * rows;
        for (size_t e = 0; e < total; e++) z.data[e] = (float)(3.0 * fl_rng_normal(&rng));
        for (size_t r = 0; r < rows; r++) {
          alpha[r] = (float)(0.5 + fl_rng_uniform(&rng));
          beta[r] = (float)(0.01 * fl_rng_uniform(&rng));
          label_coef[r] = r % 5 == 4 ? 0.0f : (float)(0.5 + fl_rng_uniform(&rng));
          labels[r] = fl_small_label(m, r, variant, &rng);
        }
        if (rows > 2) { /* an all -inf row and a row with -inf masks */
          for (size_t j = 0; j < m; j++) z.data[1 * ld + j] = -INFINITY;
          z.data[2 * ld] = -INFINITY;
        }
        if (rows > 3) z.data[3 * ld + (m - 1)] = NAN; /* NaN at the label when it is m - 1 */
        float *z0 = malloc(total * sizeof *z0);
        for (size_t e = 0; e < total; e++) z0[e] = z.data[e];
        float *grad = with_grad ? (in_place ? z.data : g.data) : NULL;
        float *row_max = outs.data, *row_logsum = outs.data + rows, *row_zsum = outs.data + 2 * rows;
        float *row_zy = outs.data + 3 * rows;
        /* Without a gradient the coefficients are not read. */
        k->xent_smallrows(rows, m, z.data, ld, labels, with_grad ? alpha : NULL,
                          with_grad ? beta : NULL, with_grad ? label_coef : NULL, grad, ld, row_max,
                          row_logsum, row_zsum, row_zy);
        fl_buf_check_canaries(&z, "smallrows z");
        fl_buf_check_canaries(&g, "smallrows grad");
        fl_buf_check_canaries(&outs, "smallrows row outputs");
        /* The scalar kernel on the same rows: the same max and z at the label, bit for bit. */
        float scalar_outs[4 * FL_XENT_SMALL_ROWS];
        fl_f32_xent_kernels__scalar.xent_smallrows(rows, m, z0, ld, labels, NULL, NULL, NULL, NULL,
                                                   0, scalar_outs, scalar_outs + rows, NULL,
                                                   scalar_outs + 3 * rows);
        for (size_t r = 0; r < rows; r++) {
          const float *zr = z0 + r * ld;
          const int32_t y = labels[r];
          const int labelled = y >= 0 && (size_t)y < m;
          const double max = fl_ref_max(m, zr);
          const double shift = max > -FLT_MAX ? max : -FLT_MAX;
          double sum = 0.0, zsum = 0.0;
          for (size_t j = 0; j < m; j++) zsum += (double)zr[j] - shift;
          FL_CHECK1(fl_same_bits(row_max[r], (float)max));
          FL_CHECK(fl_same_bits(row_zy[r], labelled ? zr[y] : 0.0f),
                   "smallrows zy m=%zu rows=%zu r=%zu label %d: %g", m, rows, r, (int)y,
                   (double)row_zy[r]);
          FL_CHECK1(fl_same_bits(row_max[r], scalar_outs[r]));
          FL_CHECK1(fl_same_bits(row_zy[r], scalar_outs[3 * rows + r]));
          FL_CHECK(fl_close(row_zsum[r], zsum, 1e-5, 1e-5), "zsum rows=%zu r=%zu: %g vs %g", rows, r,
                        (double)row_zsum[r], zsum);
          /* The gaps between rows (ld > m) are never written. */
          if (ld > m && !in_place && r + 1 < rows)
            for (size_t j = m; j < ld; j++) FL_CHECK1(isnan(g.data[r * ld + j]));
          if (max == -INFINITY) continue; /* the caller handles such rows */
          for (size_t j = 0; j < m; j++) sum += exp((double)zr[j] - max);
          /* sum >= 1 (the max term), so log sum >= 0: 2 ULP of the float log plus
           * the float sum's rounding, as an absolute bound. */
          FL_CHECK(fl_close(row_logsum[r], log(sum), 4e-7, 4e-7), "log sum m=%zu rows=%zu r=%zu: %g vs %g", m,
                   rows, r, (double)row_logsum[r], log(sum));
          if (!with_grad) continue;
          for (size_t j = 0; j < m; j++) {
            const double softmax = exp((double)zr[j] - max) * alpha[r] / sum;
            const double term = labelled && j == (size_t)y ? (double)label_coef[r] : 0.0;
            const double want = softmax - beta[r] - term;
            const double got = grad[r * ld + j];
            /* The label term cancels the softmax's: bound by the terms' size. */
            const double tol = 1e-7 + 1e-6 * (fabs(softmax) + term);
            FL_CHECK(isnan(want) ? isnan(got) : fabs(got - want) <= tol,
                     "smallrows grad m=%zu rows=%zu r=%zu j=%zu label %d: %.9g vs %.9g", m, rows, r,
                     j, (int)y, got, want);
          }
        }
        free(z0);
        free(label_base);
        fl_buf_free(&z);
        fl_buf_free(&g);
        fl_buf_free(&outs);
        fl_buf_free(&coefs);
      }
}
END_TEST

Suite *fl_suite_kernels(void) {
  Suite *s = suite_create("kernels");
  TCase *tc = tcase_create("f32 xent micro-kernels");
  tcase_set_timeout(tc, 600);
  tcase_add_test(tc, rmax_exact);
  tcase_add_test(tc, rexpstore_and_vexpscale);
  tcase_add_test(tc, ronline_matches_two_pass);
  tcase_add_test(tc, vaffine_variants);
  tcase_add_test(tc, rdot_skips_zero_weights);
  tcase_add_test(tc, smallrows_against_reference);
  suite_add_tcase(s, tc);
  return s;
}
