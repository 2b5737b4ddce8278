#!/usr/bin/python3
"""fastloss.torch.sgns_loss next to the same loss in plain PyTorch.

Skip-gram negative sampling over embedding tables: forward + backward
(torch.autograd.grad for both tables), batch 4096 pairs, dim 100, k 5
negatives per pair, vocab 1e5, reduction 'sum', one thread for both
(torch.set_num_threads(1), fastloss.set_num_threads(1)); dense gradients
(the tables' shape) and sparse ones (COO, as nn.Embedding(sparse=True)).
The plain version is fastloss.torch.sgns_loss_torch: F.embedding, bmm,
F.logsigmoid.  Runs are interleaved (ABAB...) so that load from other work
falls on both sides alike; the median of each.

Run from a build tree: PYTHONPATH=<build>/python bench/peers/torch_sgns.py.
Prints markdown on stdout.
"""
import argparse
import os
import statistics
import time

import torch

import fastloss
from fastloss.torch import sgns_loss, sgns_loss_torch


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=4096)
    parser.add_argument("--dim", type=int, default=100)
    parser.add_argument("-k", type=int, default=5)
    parser.add_argument("--vocab", type=int, default=100000)
    parser.add_argument("--runs", type=int, default=7, help="timed calls per function")
    args = parser.parse_args()
    torch.set_num_threads(1)
    fastloss.set_num_threads(1)
    g = torch.Generator().manual_seed(1)
    V, d, n, k = args.vocab, args.dim, args.batch, args.k
    a = ((torch.rand(V, d, generator=g) - 0.5) / d).requires_grad_()
    b = (torch.randn(V, d, generator=g) * 0.1).requires_grad_()
    c = torch.randint(0, V, (n,), generator=g)
    o = torch.randint(0, V, (n,), generator=g)
    s = torch.randint(0, V, (n, k), generator=g)
    load = " ".join("%.2f" % v for v in os.getloadavg())
    print("### fastloss.torch.sgns_loss vs plain PyTorch\n")
    print("batch %d, dim %d, k %d, vocab %d, reduction 'sum', forward + autograd.grad of "
          "both tables, 1 thread (torch %s, ISA %s); median of %d interleaved calls.\n"
          % (n, d, k, V, torch.__version__, fastloss.get_isa(), args.runs))
    print("| gradients | fastloss ms | PyTorch ms | speedup |")
    print("|---|---:|---:|---:|")
    for sparse in (False, True):
        times = {"fastloss": [], "torch": []}
        fns = {"fastloss": sgns_loss, "torch": sgns_loss_torch}
        for _ in range(args.runs + 1):
            for name, fn in fns.items():
                start = time.perf_counter()
                loss = fn(a, b, c, o, s, reduction="sum", sparse=sparse)
                torch.autograd.grad(loss, (a, b))
                times[name].append(time.perf_counter() - start)
        ours = statistics.median(times["fastloss"][1:])
        theirs = statistics.median(times["torch"][1:])
        print("| %s | %.2f | %.2f | %.2fx |" % ("sparse (COO)" if sparse else "dense",
                                                ours * 1e3, theirs * 1e3, theirs / ours))
    print("\nload average before: %s" % load)
    fastloss.set_num_threads(0)


if __name__ == "__main__":
    main()
