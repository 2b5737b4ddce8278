/* fastloss-host-probe: how much arithmetic a second thread adds on this
 * machine right now, so that a multi-thread benchmark can be read against
 * what the host gave it.  Each thread runs the same register-only loop
 * (independent multiply-add chains: no memory traffic, nothing shared), first
 * one thread alone, then `threads` at once; the output is the ratio of the
 * total rates.  On a machine with that many free cores it is close to the
 * thread count; on a VM whose vCPUs land on one host core's two hardware
 * threads, or share cores with other guests, it is lower, and no code that
 * runs in those threads can scale better.
 *   usage: fastloss-host-probe [threads (2)] [seconds per measurement (0.3)]
 * Prints one line: "host-probe: 1 thread R1 e9 op/s; T threads RT e9 op/s;
 * scaling S.SSx". */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

/* The loops' results end here, so that the compiler keeps them. */
volatile double fl_probe_sink;

/* 12 chains of x = x * a + b: enough independent work to keep a core's
 * floating-point pipes busy (a loop bound by latency would also gain from a
 * second hardware thread of the same core, and hide the sharing); a < 1 keeps
 * the values bounded. */
static double fl_probe_work(long iterations) {
  double x[12];
  for (int c = 0; c < 12; c++) x[c] = 1.0 + 0.1 * c;
  const double a = 0.999999, b = 1e-7;
  for (long i = 0; i < iterations; i++)
    for (int c = 0; c < 12; c++) x[c] = x[c] * a + b;
  double sum = 0.0;
  for (int c = 0; c < 12; c++) sum += x[c];
  return sum;
}

/* Seconds for `threads` threads each running `iterations`. */
static double fl_probe_time(int threads, long iterations, double *sink) {
  double sum = 0.0;
  const double start = omp_get_wtime();
#pragma omp parallel num_threads(threads) reduction(+ : sum)
  sum += fl_probe_work(iterations);
  const double seconds = omp_get_wtime() - start;
  *sink += sum;
  return seconds;
}

int main(int argc, char **argv) {
  const int threads = argc > 1 ? atoi(argv[1]) : 2;
  const double seconds = argc > 2 ? atof(argv[2]) : 0.3;
  if (threads < 1 || threads > 4096 || !(seconds > 0.0 && seconds < 60.0)) {
    fprintf(stderr, "usage: %s [threads (1..4096)] [seconds (0..60)]\n", argv[0]);
    return 1;
  }
  double sink = 0.0;
  /* Calibrate: iterations for about `seconds` on one thread. */
  long iterations = 1 << 20;
  double t = fl_probe_time(1, iterations, &sink);
  while (t < seconds / 8 && iterations < (1L << 40)) {
    iterations *= 2;
    t = fl_probe_time(1, iterations, &sink);
  }
  iterations = (long)((double)iterations * seconds / t) + 1;
  /* Best of three each: a measurement can only lose time to the host. */
  double one = 1e300, many = 1e300;
  for (int round = 0; round < 3; round++) {
    const double t1 = fl_probe_time(1, iterations, &sink);
    const double tn = fl_probe_time(threads, iterations, &sink);
    if (t1 < one) one = t1;
    if (tn < many) many = tn;
  }
  const double ops = 24.0 * (double)iterations; /* 12 chains, a multiply and an add each */
  fl_probe_sink = sink;
  printf("host-probe: 1 thread %.2f e9 op/s; %d threads %.2f e9 op/s; scaling %.2fx\n",
         ops / one / 1e9, threads, ops * threads / many / 1e9, (one * threads) / many);
  return 0;
}
