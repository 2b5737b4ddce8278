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

TARGETS = ['xent', 'act', 'vae', 'sgns', 'sampler', 'nce']
HERE = os.path.dirname(os.path.abspath(__file__))


def moderate(rng, count):
    """count floats in fz_float's moderate form: selector 48..159, int16 / 1024."""
    out = bytearray()
    for _ in range(count):
        out += bytes([rng.randrange(48, 160)]) + rng.randrange(-8192, 8192).to_bytes(2, 'little', signed=True)
    return out


for t in TARGETS:
    d = os.path.join(HERE, 'corpus', t)
    os.makedirs(d, exist_ok=True)
    rng = random.Random('fastloss-' + t)
    seeds = {
        'small': bytes([0, 3, 5, 1, 1, 1, 0, 0]) + moderate(rng, 40),
        'moderate': bytes([rng.randrange(256) & 0x01, 8, 17, 2, 2, 2, 1, 1]) + moderate(rng, 300),
        'random-short': bytes(rng.randrange(256) for _ in range(96)),
        'random-long': bytes(rng.randrange(256) for _ in range(1500)),
        'specials': bytes([0x02, 4, 33, 0, 1, 0, 0, 0]) + bytes(rng.randrange(48) for _ in range(400)),
    }
    for name, data in seeds.items():
        with open(os.path.join(d, name), 'wb') as f:
            f.write(data)
print('wrote', ', '.join(os.path.join('tests/fuzz/corpus', t) for t in TARGETS))
