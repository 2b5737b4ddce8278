/* Fused softmax cross-entropy on a batch: loss and gradient in one call.
 *   cc xent-example.c $(pkg-config --cflags --libs fastloss) */
#include <fastloss.h>
#include <stdio.h>

int main(void) {
  enum { N = 2, M = 4 };
  const float logits[N * M] = {1.0f, 2.0f, 0.5f, -1.0f, 0.0f, 0.0f, 3.0f, 0.0f};
  const int32_t labels[N] = {1, 2};
  float grad[N * M];
  double loss;
  fastloss_xent_params params = {.reduction = FASTLOSS_REDUCTION_MEAN};
  fastloss_status s = fastloss_xent_f32(N, M, logits, M, labels, &params, NULL, &loss, grad, M);
  if (s != FASTLOSS_OK) {
    fprintf(stderr, "%s: %s\n", fastloss_status_str(s), fastloss_last_error());
    return 1;
  }
  printf("isa %s, mean loss %.6f, dloss/dz[0] = %.6f\n",
         fastloss_isa_name(fastloss_get_isa()), loss, grad[0]);
  const int32_t bad[N] = {1, 7};
  s = fastloss_xent_f32(N, M, logits, M, bad, NULL, NULL, &loss, grad, M);
  printf("bad label -> %s: %s\n", fastloss_status_str(s), fastloss_last_error());
  return 0;
}
