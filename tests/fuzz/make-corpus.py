#!/usr/bin/env python3
"""Writes the checked-in seed corpus tests/fuzz/corpus/<target>/: a few
small inputs per target, deterministic (fixed seeds), so that the short run
of scripts/test starts from shapes and values worth mutating rather than
from nothing.  The inputs are raw bytes; each target decodes them as its
header comment says (tests/fuzz/fuzz.h: fz_float's selector byte picks
special values, moderate values, [0, 1] or raw bits).  Rerun after changing
a target's decoding:  /usr/bin/python3 tests/fuzz/make-corpus.py"""
import os
import random

TARGETS = ['xent', 'act', 'vae', 'sgns', 'sampler', 'nce', 'cbow', 'wgangp', 'ce', 'nce-steps', 'xent64',
           'nsloss']
HERE = os.path.dirname(os.path.abspath(__file__))


def moderate(rng, count):
    """count floats in fz_float's moderate form: selector 48..159, int16 / 1024."""
    out = bytearray()
    for _ in range(count):
        out += bytes([rng.randrange(48, 160)]) + rng.randrange(-8192, 8192).to_bytes(2, 'little', signed=True)
    return out


def flt(value):
    """One float in fz_float's moderate form (value rounded to a multiple of 1/1024)."""
    return bytes([100]) + max(-32768, min(32767, round(value * 1024))).to_bytes(2, 'little', signed=True)


def u32(v):
    return v.to_bytes(4, 'little')


def cbow_seed(rng, n_ex, k, contexts, vocab=10, dim=8):
    """Valid input for fuzz-cbow.c: given negatives, a loss, deterministic."""
    out = bytearray([0, vocab, dim, n_ex, k]) + flt(0.025)
    for _ in range(2 * vocab * dim):
        out += flt(rng.uniform(-0.5, 0.5))
    out += bytes([0])  # offsets[0] = 0
    for e in range(n_ex):
        out += bytes([0, rng.randrange(vocab), contexts[e]])  # target, context count
    out += bytes([0])  # n_contexts = the last offset
    for _ in range(sum(contexts)):
        out += bytes([0, rng.randrange(vocab)])
    for _ in range(n_ex * k):
        out += bytes([100, 0, rng.randrange(vocab)])  # a negative (not forced to the target)
    return bytes(out + u32(rng.randrange(2**32)) + bytes([3]))


def wgangp_seed(rng, module, n_fake, n_real, n, n_feats, unit_rows):
    """Valid input for fuzz-wgangp.c: every output, default lambda."""
    out = bytearray([0, 0, 0 if module == 'C' else 130, 0, 0, n_fake - 1, n_real - 1, n - 1,
                     n_feats - 1, 10])
    for _ in range(n_fake + n_real):
        out += flt(rng.uniform(-4, 4))
    out += bytes([0 if unit_rows else 200])
    for _ in range(n * (n_feats + 1)):
        out += flt(rng.uniform(-2, 2))
    for _ in range(n_fake + n_real):
        out += flt(0.0)
    return bytes(out + bytes([128]))


def ce_seed(rng, n, m, edits=()):
    """Valid one-hot / stochastic input for fuzz-ce.c, then (what, at, value) edits."""
    out = bytearray([0, n, m])
    for _ in range(n):
        out += bytes([rng.randrange(m)]) + bytes(rng.randrange(32, 256) for _ in range(m))
    out += bytes([len(edits)])
    for what, at, value in edits:
        out += bytes([what, at]) + flt(value)
    return bytes(out)


def nsloss_seed(rng, rsel, vocab=12, dim=8, n=6, k=3, scale=0.5, flags=0):
    """Valid input for fuzz-nsloss.c: flags, zero selector, reduction selector
    (< 80 sum, < 160 mean, < 250 none), vocab, dim, n, k, the two tables,
    then (centre, context) per pair and the negatives, all in range."""
    out = bytearray([flags, 0, rsel, vocab - 1, dim - 1, n - 1, k])
    for _ in range(2 * vocab * dim):
        out += flt(rng.uniform(-scale, scale))
    for _ in range(2 * n + n * k):
        out += bytes([0, rng.randrange(vocab)])
    return bytes(out)


def nce_steps_seed(rng, kind, lazy, steps, classes=8, n_in=6, k=3, lr_index=3, osel=0):
    """Valid input for fuzz-nce-steps.c: given negatives, one call a step."""
    out = bytearray([kind | (lazy << 2), 0, classes - 1, n_in - 1, k - 1, lr_index, osel, 0])
    out += u32(rng.randrange(2**32)) + bytes(rng.randrange(256) for _ in range(classes))
    out += bytes([steps - 1])
    for s in range(steps):
        out += bytes([2 * (s % 2)])  # one call; the update by grad() or separately
        n_ex, n_c = 2, 2
        out += bytes([n_ex - 1, n_c - 1])
        for _ in range(n_ex * n_c * n_in):
            out += bytes([0, rng.randrange(256)])  # X = int8 / 32
        for _ in range(n_ex):
            out += bytes([0, rng.randrange(classes)])
        out += bytes(rng.randrange(classes) for _ in range(k))
    return bytes(out)


SPECIFIC = {
    'cbow': lambda rng: {
        'one-example': cbow_seed(rng, 1, 2, [3]),
        'examples': cbow_seed(rng, 4, 3, [2, 0, 5, 1]),
        'no-negatives': cbow_seed(rng, 2, 0, [4, 2]),
    },
    'wgangp': lambda rng: {
        'critic-unit-rows': wgangp_seed(rng, 'C', 4, 5, 6, 17, True),
        'critic': wgangp_seed(rng, 'C', 8, 8, 8, 33, False),
        'generator': wgangp_seed(rng, 'G', 5, 1, 1, 1, False),
    },
    'ce': lambda rng: {
        'valid': ce_seed(rng, 6, 10),
        'valid-wide': ce_seed(rng, 12, 37),
        'not-binary': ce_seed(rng, 4, 5, [(10, 7, 0.5)]),
        'not-stochastic': ce_seed(rng, 4, 5, [(100, 12, 1.5)]),
    },
    'nce-steps': lambda rng: {
        'sgd-momentum': nce_steps_seed(rng, 0, 0, 3, osel=2 | (2 << 2)),
        'adagrad-lazy': nce_steps_seed(rng, 1, 1, 3),
        'rmsprop': nce_steps_seed(rng, 2, 0, 2, osel=(2 << 4)),
        'adam-lazy': nce_steps_seed(rng, 3, 1, 4, lr_index=2),
        'adam-dense': nce_steps_seed(rng, 3, 0, 4, lr_index=2),
    },
    'nsloss': lambda rng: {
        'sum': nsloss_seed(rng, 0),
        'mean': nsloss_seed(rng, 100, n=9, k=4),
        'none': nsloss_seed(rng, 200, vocab=5, dim=33, n=4, k=1),
        'large-logits': nsloss_seed(rng, 0, scale=20.0, flags=0x04),
    },
}


for t in TARGETS:
    d = os.path.join(HERE, 'corpus', t)
    os.makedirs(d, exist_ok=True)
    # xent64 decodes its input as xent does: the same seeds.
    rng = random.Random('fastloss-' + ('xent' if t == 'xent64' else t))
    seeds = {
        'small': bytes([0, 3, 5, 1, 1, 1, 0, 0]) + moderate(rng, 40),
        'moderate': bytes([rng.randrange(256) & 0x01, 8, 17, 2, 2, 2, 1, 1]) + moderate(rng, 300),
        'random-short': bytes(rng.randrange(256) for _ in range(96)),
        'random-long': bytes(rng.randrange(256) for _ in range(1500)),
        'specials': bytes([0x02, 4, 33, 0, 1, 0, 0, 0]) + bytes(rng.randrange(48) for _ in range(400)),
    }
    if t in SPECIFIC:
        seeds.update(SPECIFIC[t](random.Random('fastloss-specific-' + t)))
    for name, data in seeds.items():
        with open(os.path.join(d, name), 'wb') as f:
            f.write(data)
print('wrote', ', '.join(os.path.join('tests/fuzz/corpus', t) for t in TARGETS))
