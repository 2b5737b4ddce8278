#!/bin/sh
# meson test 'word2vec-mpi': fastloss-word2vec under `mpirun -np 2` (built with
# MPI) on the generated corpus of the 'word2vec' test.  Checks:
# (a) 2 ranks finish and write V + 1 vectors; their average loss per pair over
#     the last 10% of words (the summary line, summed over the ranks) is within
#     LOSS_TOLERANCE (relative) of one process with 2 threads doing the same
#     total work (same corpus, same -iter), with -sync-words 20000;
# (b) the 2-rank -save-vocab equals the single-process one byte for byte, at
#     -min-count 1 and 5, and also for 3 ranks on a small hand-made corpus of
#     tabs, CRLF line ends and long words, where the byte ranges cut words;
# (c) determinism.  2 averaged ranks are NOT sequential training on the
#     concatenation of the shards, whatever the flags: rank 1 starts from the
#     initial tables, not from the tables rank 0 reached after its shard, and
#     SGD steps do not commute (each gradient depends on the current
#     parameters), so averaging the two end points (w0 + d0 + w0 + d1) / 2 =
#     w0 + (d0 + d1) / 2 differs from w0 + d0 + d1' (d1' computed at w0 + d0),
#     and halves each rank's step as well.  The test shows that they differ
#     (the output differs from the 1-process output) and checks what does hold,
#     with -threads 1 -deterministic 1 and -sync-words above the whole corpus
#     (one sync, at the end): the 2-rank vectors equal, bit for bit, the
#     float32 average (a + b) / 2 of two single-process runs with the test
#     flags -shard-index R -shard-count 2, each training shard R alone from the
#     same initial tables with the same vocabulary, noise table, random
#     streams and learning-rate schedule as rank R (and a != b, so the
#     average is not one of them); with -read-vocab of (b)'s vocabulary
#     (read by every rank, not merged) the 2-rank and shard runs give the
#     same bytes;
# (d) with many syncs (-sync-words 10000), two runs give the same bytes, and
#     on a corpus with a large vocabulary (where the input table syncs only
#     its touched rows, as the summary line must say) -sync-touched 1 gives
#     the same bytes as -sync-touched 0 (whole tables): with 2 ranks the
#     average of two equal rows is that row exactly;
# (e) mpirun -np 1 gives the same bytes as a plain run (no change with 1 rank);
# (f) failures end every rank with a non-zero exit and a message, never a hang
#     (each run under `timeout 60`): a missing -train or -read-vocab (every
#     rank), an unwritable -output (rank 0 only: rank 1 is waiting in
#     MPI_Allgatherv),
#     and -test-fail-rank 1 (rank 1 fails at the first sync while rank 0 waits
#     in MPI_Allreduce); -replicas 1 (per-thread table copies are for one
#     process).
# Exits 77 (meson's SKIP) without /usr/bin/python3 (it writes the corpus and
# compares binary vectors).
#   usage: test-word2vec-mpi.sh PATH/fastloss-word2vec PATH/gen-corpus.py PATH/mpirun
set -eu

w2v=$1
gen=$2
mpirun=$3
. "$(dirname "$0")/test-common.sh"
# As root Open MPI needs these; --oversubscribe: more ranks than free cores.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# No core binding: on a 2-core machine shared with other jobs, binding makes
# ranks wait for one busy core.
run() { timeout 60 "$mpirun" --oversubscribe --bind-to none "$@"; }
LOSS_TOLERANCE=0.05

# (a) training and the loss.
last_loss() { sed -n 's/.*last 10% of words \([0-9.]*\);.*/\1/p' "$1"; }
"$w2v" $common -iter 2 -threads 2 -output "$dir/one.txt" 2>"$dir/one.log" ||
  { cat "$dir/one.log"; bad "(a) the 1-process run failed"; }
run -np 2 "$w2v" $common -iter 2 -threads 1 -sync-words 20000 -output "$dir/two.txt" \
  2>"$dir/two.log" || { cat "$dir/two.log"; bad "(a) the 2-rank run failed"; }
if vectors_ok "$dir/two.txt"; then
  ok "(a) 2 ranks write $((vocab + 1)) vectors of size 32"
else
  bad "(a) 2-rank output: $(head -n 1 "$dir/two.txt" 2>/dev/null)"
fi
# ceil(2 epochs x 211491 words / 20000) = 22 syncs
if grep -q '2 ranks x 1 threads: .* words/sec/rank; 22 syncs (every 20000 words' "$dir/two.log"; then
  ok "(a) rank 0 reports words/sec/rank and the syncs: $(grep 'ranks x' "$dir/two.log")"
else
  bad "(a) no MPI summary line: $(cat "$dir/two.log")"
fi
one=$(last_loss "$dir/one.log")
two=$(last_loss "$dir/two.log")
# near A B: both positive and within LOSS_TOLERANCE of each other (relative to A).
near() {
  awk -v a="$1" -v b="$2" -v tol="$LOSS_TOLERANCE" \
    'BEGIN { d = (b - a) / a; if (d < 0) d = -d; exit !(a > 0 && b > 0 && d <= tol) }'
}
if near "$one" "$two"; then
  ok "(a) last-10% loss: 1 process $one, 2 ranks $two (within $LOSS_TOLERANCE relative)"
else
  bad "(a) last-10% loss: 1 process '$one', 2 ranks '$two' (tolerance $LOSS_TOLERANCE)"
fi
# Control: a 2-rank run that learns nothing (-alpha 0) must fail that check.
run -np 2 "$w2v" $common -iter 2 -threads 1 -alpha 0 -output "$dir/frozen.txt" \
  2>"$dir/frozen.log" || bad "(a) the -alpha 0 run failed"
frozen=$(last_loss "$dir/frozen.log")
if near "$one" "$frozen"; then
  bad "(a) control: a 2-rank -alpha 0 run ($frozen) passed the loss check"
else
  ok "(a) control: the loss check fails for a 2-rank -alpha 0 run ($frozen)"
fi

# (b) the vocabulary.
for min in 1 5; do
  "$w2v" $common -min-count $min -iter 1 -threads 1 -output "$dir/v.txt" \
    -save-vocab "$dir/one-$min.vocab" 2>/dev/null || bad "(b) 1-process -save-vocab run failed"
  run -np 2 "$w2v" $common -min-count $min -iter 1 -threads 1 -output "$dir/v.txt" \
    -save-vocab "$dir/two-$min.vocab" 2>/dev/null || bad "(b) 2-rank -save-vocab run failed"
  if [ -s "$dir/one-$min.vocab" ] && cmp -s "$dir/one-$min.vocab" "$dir/two-$min.vocab"; then
    ok "(b) -min-count $min: 2-rank vocabulary = 1-process ($(wc -l <"$dir/one-$min.vocab") words)"
  else
    bad "(b) -min-count $min: the 2-rank vocabulary differs"
  fi
done
"$python" - "$dir/odd.txt" <<'PY'
import sys
words = ["a", "bb", "ccc", "x" * 150, "dd\r", "e", "ff", "g" * 40]
parts = []
for i in range(400):
    parts.append(words[(i * 7) % len(words)] + str(i % 13))
    parts.append(["\t", " ", "  ", "\r\n", "\n", " \t "][(i * 5) % 6])
open(sys.argv[1], "w", newline="").write("".join(parts))
PY
"$w2v" -train "$dir/odd.txt" -min-count 1 -size 4 -iter 1 -threads 1 -debug 0 \
  -output "$dir/v.txt" -save-vocab "$dir/odd-one.vocab" 2>/dev/null || bad "(b) odd corpus run failed"
for n in 2 3; do
  run -np $n "$w2v" -train "$dir/odd.txt" -min-count 1 -size 4 -iter 1 -threads 1 -debug 0 \
    -output "$dir/v.txt" -save-vocab "$dir/odd-$n.vocab" 2>/dev/null || bad "(b) odd corpus -np $n failed"
  if [ -s "$dir/odd-one.vocab" ] && cmp -s "$dir/odd-one.vocab" "$dir/odd-$n.vocab"; then
    ok "(b) tabs/CRLF/long words, $n ranks: the same vocabulary ($(wc -l <"$dir/odd-one.vocab") words)"
  else
    bad "(b) tabs/CRLF/long words, $n ranks: the vocabulary differs"
  fi
done

# (c) one sync at the end: the average of the two shards' runs.
det="$common -iter 1 -threads 1 -deterministic 1 -binary 1"
run -np 2 "$w2v" $det -sync-words 1000000000 -output "$dir/avg.bin" 2>"$dir/avg.log" ||
  { cat "$dir/avg.log"; bad "(c) 2-rank deterministic run failed"; }
for r in 0 1; do
  "$w2v" $det -shard-index $r -shard-count 2 -output "$dir/shard$r.bin" 2>/dev/null ||
    bad "(c) -shard-index $r run failed"
done
"$w2v" $det -output "$dir/sequential.bin" 2>/dev/null || bad "(c) 1-process run failed"
if "$python" - "$dir" <<'PY'
import sys
import numpy as np
from read_vectors import read_binary
def load(path):
    words, rows = read_binary(path)
    return words, np.array(rows, dtype=np.float32)
d = sys.argv[1]
words, two = load(d + "/avg.bin")
words0, a = load(d + "/shard0.bin")
words1, b = load(d + "/shard1.bin")
_, seq = load(d + "/sequential.bin")
assert words == words0 == words1, "the shards' vocabularies differ"
assert not np.array_equal(a, b), "the two shards trained the same vectors"
expected = ((a + b) / np.float32(2)).astype(np.float32)
assert expected.dtype == np.float32
diff = np.abs(two - expected).max()
assert np.array_equal(two, expected), "2 ranks != (shard 0 + shard 1) / 2, max diff %g" % diff
assert not np.array_equal(two, seq), "2 ranks equal the 1-process run"
print("  max |shard0 - shard1| %.3g, max |2 ranks - 1 process| %.3g"
      % (np.abs(a - b).max(), np.abs(two - seq).max()))
PY
then ok "(c) 2 ranks, one sync = float32 (shard 0 run + shard 1 run) / 2 bit for bit; != 1 process"
else bad "(c) the 2-rank vectors are not the average of the shard runs"; fi
# -read-vocab (every rank reads the file, nothing merged) of (b)'s -min-count 1
# vocabulary: the same bytes as the merged vocabulary's runs, 2 ranks and a shard.
run -np 2 "$w2v" $det -sync-words 1000000000 -read-vocab "$dir/one-1.vocab" \
  -output "$dir/avg-read.bin" -save-vocab "$dir/two-read.vocab" 2>"$dir/avg-read.log" ||
  { cat "$dir/avg-read.log"; bad "(c) 2-rank -read-vocab run failed"; }
"$w2v" $det -shard-index 1 -shard-count 2 -read-vocab "$dir/one-1.vocab" \
  -output "$dir/shard1-read.bin" 2>/dev/null || bad "(c) -shard-index 1 -read-vocab run failed"
if [ -s "$dir/avg.bin" ] && cmp -s "$dir/avg.bin" "$dir/avg-read.bin" &&
   cmp -s "$dir/one-1.vocab" "$dir/two-read.vocab" &&
   [ -s "$dir/shard1.bin" ] && cmp -s "$dir/shard1.bin" "$dir/shard1-read.bin"; then
  ok "(c) -read-vocab: 2 ranks and -shard-index 1 give the merged vocabulary's bytes"
else bad "(c) -read-vocab: 2 ranks or -shard-index 1 differ from the merged vocabulary's runs"; fi

# (d) many syncs: run to run, and touched rows against whole tables.
for i in 1 2; do
  run -np 2 "$w2v" $det -sync-words 10000 -output "$dir/many$i.bin" 2>/dev/null ||
    bad "(d) many-sync run $i failed"
done
if [ -s "$dir/many1.bin" ] && cmp -s "$dir/many1.bin" "$dir/many2.bin"; then
  ok "(d) 2 ranks, 22 syncs: two runs byte-identical"
else bad "(d) two deterministic 2-rank runs differ"; fi
if cmp -s "$dir/many1.bin" "$dir/avg.bin"; then bad "(d) 22 syncs gave the 1-sync vectors"; fi
"$python" "$gen" --tokens 100000 --vocab 50000 --seed 5 --out "$dir/wide.txt"
for touched in 0 1; do
  run -np 2 "$w2v" -train "$dir/wide.txt" -size 16 -window 5 -negative 5 -min-count 1 -debug 0 \
    -iter 1 -threads 1 -deterministic 1 -binary 1 -sync-words 10000 -sync-touched $touched \
    -output "$dir/wide$touched.bin" 2>"$dir/wide$touched.log" || bad "(d) -sync-touched $touched failed"
done
if grep -q ' 0 of [0-9]* table syncs sparse' "$dir/wide0.log" &&
   grep -q ' [1-9][0-9]* of [0-9]* table syncs sparse' "$dir/wide1.log"; then
  ok "(d) $(grep -o '[0-9]* of [0-9]* table syncs sparse' "$dir/wide1.log") with -sync-touched 1, none with 0"
else
  bad "(d) sparse syncs: $(cat "$dir/wide0.log" "$dir/wide1.log")"
fi
if [ -s "$dir/wide0.bin" ] && cmp -s "$dir/wide0.bin" "$dir/wide1.bin"; then
  ok "(d) touched-row syncs = whole-table syncs byte for byte"
else bad "(d) touched-row syncs differ from whole-table syncs"; fi

# (e) one rank under mpirun: the plain program's bytes.
run -np 1 "$w2v" $det -sync-words 10000 -output "$dir/np1.bin" 2>/dev/null || bad "(e) -np 1 failed"
if [ -s "$dir/np1.bin" ] && cmp -s "$dir/np1.bin" "$dir/sequential.bin"; then
  ok "(e) mpirun -np 1 = plain run, byte for byte"
else bad "(e) mpirun -np 1 differs from a plain run"; fi

# (f) failures.
expect_abort() {
  want=$1
  shift
  set +e
  run -np 2 "$w2v" "$@" >"$dir/err.out" 2>"$dir/err.log"
  status=$?
  set -e
  # (Open MPI's own "MPI_ABORT was invoked" banner is not always printed.)
  if [ "$status" -ne 0 ] && [ "$status" -ne 124 ] && grep -q -- "$want" "$dir/err.log"; then
    ok "(f) exit $status: $(grep -- "$want" "$dir/err.log" | head -n 1)"
  else
    bad "(f) $* -> exit $status (124: hung), wanted '$want': $(cat "$dir/err.log")"
  fi
}
expect_abort "rank [01] of 2: cannot read -train $dir/missing.txt" \
  -train "$dir/missing.txt" -output "$dir/x.txt"
expect_abort "rank [01] of 2: cannot read -read-vocab $dir/missing.vocab" \
  $common -iter 1 -threads 1 -read-vocab "$dir/missing.vocab" -output "$dir/x.txt"
expect_abort "rank 0 of 2: cannot write -output $dir/no/such/dir/x.txt" \
  $common -iter 1 -threads 1 -output "$dir/no/such/dir/x.txt"
expect_abort "rank 1 of 2: out of memory (simulated by -test-fail-rank 1 at the first sync)" \
  $common -iter 1 -threads 1 -sync-words 20000 -test-fail-rank 1 -output "$dir/x.txt"
expect_abort "-replicas 1 is for a single process (no mpirun)" \
  $common -iter 1 -threads 2 -replicas 1 -output "$dir/x.txt"
if [ -e "$dir/x.txt" ]; then bad "(f) a failed run wrote -output"; fi

finish word2vec-mpi
