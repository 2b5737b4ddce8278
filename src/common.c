/* Helpers shared by the loss entry points: argument checks and the
 * deterministic reduction. */
#include <stdint.h>
#include <stdlib.h>

#include "internal.h"

double fl_sum_pairwise(const double *x, size_t count, size_t stride) {
  if (count <= 8) {
    double sum = 0.0;
    for (size_t i = 0; i < count; i++) sum += *(const double *)((const char *)x + i * stride);
    return sum;
  }
  const size_t half = count / 2;
  return fl_sum_pairwise(x, half, stride) +
         fl_sum_pairwise((const double *)((const char *)x + half * stride), count - half, stride);
}

fastloss_status fl_check_matrix(const void *base, const char *what, size_t rows, size_t cols,
                                size_t ld) {
  if (base == NULL) return fl_fail(FASTLOSS_ERR_NULL_POINTER, "%s is NULL", what);
  if (ld < cols)
    return fl_fail(FASTLOSS_ERR_INVALID_STRIDE, "leading dimension of %s = %zu is smaller than m = %zu",
                   what, ld, cols);
  /* (rows - 1) * ld + cols elements, each of at most 8 bytes, must be
   * addressable.  ld (>= cols here) is bounded on its own first: limit -
   * cols would wrap for cols > limit, and one row of more than limit
   * elements overflows the byte count too.  Callers reject rows == 0. */
  const size_t limit = SIZE_MAX / 8;
  if (ld > limit || (rows > 1 && ld > (limit - cols) / (rows - 1)))
    return fl_fail(FASTLOSS_ERR_SIZE_OVERFLOW,
                   "%s (%zu x %zu, leading dimension %zu) overflows the address space", what, rows,
                   cols, ld);
  return FASTLOSS_OK;
}

int fl_ranges_overlap(const void *a, size_t a_bytes, const void *b, size_t b_bytes) {
  const uintptr_t pa = (uintptr_t)a, pb = (uintptr_t)b;
  return pa < pb + b_bytes && pb < pa + a_bytes;
}

void *fl_malloc_lines(size_t bytes, void **block) {
  *block = bytes <= SIZE_MAX - 64 ? malloc(bytes + 64) : NULL;
  if (*block == NULL) return NULL;
  return (char *)*block + (64 - (uintptr_t)*block % 64) % 64;
}
