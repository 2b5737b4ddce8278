#!/usr/bin/python3
"""Peer comparison for fastloss-bench: PyTorch's fused cross-entropy on the CPU.

Times torch.nn.functional.cross_entropy(logits, labels, reduction='sum')
forward and backward (torch.autograd.grad of the loss with respect to the
logits, so every call produces a fresh gradient, as fastloss_xent_f32 writes
one) on the shapes of bench/bench-xent.c, float32, with
torch.set_num_threads(1) and (2).  Inputs follow the same distribution as
fastloss-bench (logits ~ N(0, 3^2), labels uniform), drawn with torch's own
generator.  For each shape and thread count: one untimed warm-up call, then
`--repetitions` runs of at least `--min-time` seconds each; the median rate
is reported.

Writes JSON ({"torch_version", "min_time", "repetitions", "results": [...]})
to --out, or to stdout.  Not a dependency of fastloss: scripts/bench runs it
only when Debian's /usr/bin/python3 can import torch.
"""
import argparse
import json
import statistics
import sys
import time

import torch
import torch.nn.functional as F

SHAPES = [(256, 1000), (256, 32000), (4096, 1000), (64, 128000), (4096, 10)]


def measure(step, logits_per_call, min_time):
    """(logits per second, seconds per call) over at least min_time seconds."""
    calls = 0
    start = time.perf_counter()
    while True:
        step()
        calls += 1
        elapsed = time.perf_counter() - start
        if elapsed >= min_time:
            return calls * logits_per_call / elapsed, elapsed / calls


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--min-time", type=float, default=0.2)
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument("--threads", default="1,2", help="comma-separated thread counts")
    parser.add_argument("--out", help="JSON output file (default: stdout)")
    args = parser.parse_args()
    thread_counts = [int(t) for t in args.threads.split(",") if t]

    # Intra-op threads only, as fastloss parallelises inside one call.
    torch.set_num_interop_threads(1)
    results = []
    for n, m in SHAPES:
        generator = torch.Generator().manual_seed(n * 1000003 + m)
        logits = (torch.randn(n, m, generator=generator) * 3.0).requires_grad_()
        labels = torch.randint(0, m, (n,), generator=generator)

        def step():
            loss = F.cross_entropy(logits, labels, reduction="sum")
            (grad,) = torch.autograd.grad(loss, logits)
            return grad

        for threads in thread_counts:
            torch.set_num_threads(threads)
            step()
            runs = [measure(step, n * m, args.min_time) for _ in range(args.repetitions)]
            results.append({
                "op": "fwdbwd",
                "type": "f32",
                "n": n,
                "m": m,
                "threads": threads,
                "logits_per_second": statistics.median(r[0] for r in runs),
                "seconds_per_call": statistics.median(r[1] for r in runs),
            })

    report = {
        "torch_version": torch.__version__,
        "min_time": args.min_time,
        "repetitions": args.repetitions,
        "results": results,
    }
    if args.out:
        with open(args.out, "w") as out:
            json.dump(report, out, indent=1)
    else:
        json.dump(report, sys.stdout, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
