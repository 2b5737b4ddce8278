#!/usr/bin/python3
"""Writes a synthetic text corpus for the word2vec example, its test and its
benchmark: --tokens words drawn independently from a Zipf distribution over
--vocab words (P(rank r) proportional to 1 / r^exponent, ranks 1..V, exponent
1.0 by default), named w1 (the most frequent), w2, ...; one sentence per line,
each of 5..30 words (uniform).  The token count excludes the newlines.

The words are independent draws, so the corpus has word frequencies but no
meaning: enough to time training and to watch the loss fall (a model learns
the frequencies), not to judge the quality of the vectors.

The output depends only on the arguments (Python's random.Random with a fixed
seed; random.choices with cumulative weights draws one uniform per word), so
the benchmark can cache it.  Standard library only.
"""
import argparse
import itertools
import random
import sys


def main():
    parser = argparse.ArgumentParser(
        description="Deterministic Zipf corpus: N tokens over V words (w1 most frequent), "
        "P(rank r) ~ 1/r^exponent (default exponent 1.0), sentences of 5..30 words, "
        "one per line.")
    parser.add_argument("--tokens", type=int, default=5_000_000, help="words to write (default 5000000)")
    parser.add_argument("--vocab", type=int, default=30000, help="distinct words (default 30000)")
    parser.add_argument("--exponent", type=float, default=1.0, help="Zipf exponent (default 1.0)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument("--out", default="-", help="output file (default: stdout)")
    args = parser.parse_args()
    if args.tokens < 0 or args.vocab < 1:
        parser.error("--tokens must be >= 0 and --vocab >= 1")

    rng = random.Random(args.seed)
    names = ["w%d" % r for r in range(1, args.vocab + 1)]
    cumulative = list(itertools.accumulate(1.0 / r ** args.exponent
                                           for r in range(1, args.vocab + 1)))

    out = sys.stdout if args.out == "-" else open(args.out, "w", encoding="ascii")
    # Chunks of whole sentences keep memory flat for large corpora; the draws
    # are the same as one long run because each chunk continues the stream.
    left = args.tokens
    while left > 0:
        lengths = []
        total = 0
        while left - total > 0 and total < 1_000_000:
            n = min(rng.randint(5, 30), left - total)
            lengths.append(n)
            total += n
        words = rng.choices(names, cum_weights=cumulative, k=total)
        lines = []
        start = 0
        for n in lengths:
            lines.append(" ".join(words[start:start + n]))
            start += n
        out.write("\n".join(lines))
        out.write("\n")
        left -= total
    if out is not sys.stdout:
        out.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
