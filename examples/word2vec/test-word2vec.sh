#!/bin/sh
# meson test 'word2vec': trains fastloss-word2vec on a small generated corpus
# and checks (a) the loss falls, with a control run at -alpha 0 showing the
# check can fail; (b) -deterministic 1 gives byte-identical vectors on 1 and 2
# threads; (c) the text and binary formats; (d) bad arguments exit 1 with a
# message; (e) the same for CBOW (-cbow 1): it trains, writes vectors, its
# loss falls, and 1 and 2 threads agree byte for byte with -deterministic 1.
# Exits 77 (meson's SKIP) without /usr/bin/python3, which writes
# the corpus.
#   usage: test-word2vec.sh PATH/fastloss-word2vec PATH/gen-corpus.py
set -eu

w2v=$1
gen=$2
. "$(dirname "$0")/test-common.sh"

# (a) The average loss per pair over the last 20000 words is clearly below
# the first 20000 words' (a model that learns nothing keeps 6 ln 2 = 4.16).
# falls FILE: true when the last -loss-every line's loss < 0.9 x the first's.
falls() {
  awk '/^loss-every:/ { loss = $NF; if (n++ == 0) first = loss; last = loss }
       END { if (n < 3) { print "  only " n " loss-every lines"; exit 1 }
             printf "  loss first %.4f, last %.4f (%d intervals)\n", first, last, n
             exit !(last < 0.9 * first) }' "$1"
}
"$w2v" $common -iter 2 -sample 1e-3 -threads 2 -loss-every 20000 \
  -output "$dir/vectors.txt" 2>"$dir/train.log" || { cat "$dir/train.log"; bad "training failed"; }
tr '\r' '\n' <"$dir/train.log" >"$dir/train.lines"
if falls "$dir/train.lines"; then ok "(a) the loss falls"; else bad "(a) the loss does not fall"; fi
if grep -q 'words/sec/thread' "$dir/train.lines"; then ok "summary line"
else bad "no summary line on stderr"; fi
"$w2v" $common -iter 1 -alpha 0 -threads 1 -loss-every 20000 \
  -output "$dir/frozen.txt" 2>"$dir/frozen.log" || bad "-alpha 0 run failed"
tr '\r' '\n' <"$dir/frozen.log" >"$dir/frozen.lines"
if falls "$dir/frozen.lines"; then bad "(a) control: the check passed at -alpha 0"
else ok "(a) control: the check fails when nothing is learnt"; fi

# (b) -deterministic 1: the same bytes on 1 and 2 threads, per-pair and shared
# negatives.
for shared in 0 1; do
  for t in 1 2; do
    "$w2v" $common -iter 1 -threads $t -deterministic 1 -shared-negatives $shared \
      -output "$dir/det-$shared-$t.txt" 2>"$dir/det.log" || { cat "$dir/det.log"; bad "det run failed"; }
  done
  if cmp -s "$dir/det-$shared-1.txt" "$dir/det-$shared-2.txt"; then
    ok "(b) -shared-negatives $shared: 1 and 2 threads byte-identical"
  else
    bad "(b) -shared-negatives $shared: 1 and 2 threads differ"
  fi
done
if cmp -s "$dir/det-0-1.txt" "$dir/det-1-1.txt"; then
  bad "(b) per-pair and shared negatives gave the same vectors"
fi

# (c) Formats: "V size" then V lines of a word and size numbers; binary:
# word, space, size raw floats, newline; both the same words and vectors
# (-deterministic 1: Hogwild runs differ from each other).
"$w2v" $common -iter 1 -threads 2 -deterministic 1 -binary 1 -output "$dir/vectors.bin" 2>/dev/null ||
  bad "binary run failed"
"$w2v" $common -iter 1 -threads 2 -deterministic 1 -binary 0 -output "$dir/vectors1.txt" 2>/dev/null ||
  bad "text run failed"
if "$python" - "$dir/vectors1.txt" "$dir/vectors.bin" "$((vocab + 1))" 32 <<'PY'
import struct, sys
text, binary, vocab, size = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
with open(text, "rb") as f:
    lines = f.read().split(b"\n")
assert lines[-1] == b"", "text: no final newline"
lines = lines[:-1]
assert lines[0] == b"%d %d" % (vocab, size), "text header %r, want %d %d" % (lines[0], vocab, size)
assert len(lines) == vocab + 1, "text: %d lines, want %d" % (len(lines), vocab + 1)
words, rows = [], []
for line in lines[1:]:
    fields = line.split()
    assert len(fields) == size + 1, "text: %d fields in %r" % (len(fields), line[:40])
    words.append(fields[0])
    rows.append([float(x) for x in fields[1:]])
assert words[0] == b"</s>", "first word %r" % words[0]
assert len(set(words)) == vocab, "repeated words"
with open(binary, "rb") as f:
    data = f.read()
header, _, rest = data.partition(b"\n")
assert header == b"%d %d" % (vocab, size), "binary header %r" % header
pos = 0
for word, row in zip(words, rows):
    end = rest.index(b" ", pos)
    assert rest[pos:end] == word, "binary word %r, text word %r" % (rest[pos:end], word)
    values = struct.unpack("<%df" % size, rest[end + 1:end + 1 + 4 * size])
    assert rest[end + 1 + 4 * size:end + 2 + 4 * size] == b"\n", "binary: no newline after a row"
    assert all(abs(a - b) <= 5e-7 for a, b in zip(values, row)), "binary and text rows differ"
    pos = end + 2 + 4 * size
assert pos == len(rest), "binary: %d trailing bytes" % (len(rest) - pos)
PY
then ok "(c) text and binary formats ($((vocab + 1)) words with </s>, size 32)"
else bad "(c) output format"; fi

# (d) Errors: exit status 1 and a message on stderr naming the problem.
expect_error() {
  want=$1
  shift
  set +e
  "$w2v" "$@" >"$dir/err.out" 2>"$dir/err.log"
  status=$?
  set -e
  if [ "$status" -eq 1 ] && grep -q -- "$want" "$dir/err.log"; then
    ok "(d) $* -> exit 1: $(cat "$dir/err.log")"
  else
    bad "(d) $* -> exit $status, stderr: $(cat "$dir/err.log"), wanted '$want'"
  fi
}
expect_error "unknown flag '-bogus'" -train "$dir/corpus.txt" -output "$dir/x.txt" -bogus 1
expect_error "-size needs a value" -train "$dir/corpus.txt" -output "$dir/x.txt" -size
expect_error "-size needs an integer" -train "$dir/corpus.txt" -output "$dir/x.txt" -size 10x
expect_error "-sample needs a finite number" -train "$dir/corpus.txt" -output "$dir/x.txt" -sample nan
expect_error "cannot read -train $dir/missing.txt" -train "$dir/missing.txt" -output "$dir/x.txt"
expect_error "cannot write -output $dir/no/such/dir/x.txt" -train "$dir/corpus.txt" -output "$dir/no/such/dir/x.txt"
expect_error "-train FILE is required" -output "$dir/x.txt"
expect_error "-shared-negatives 1 is for skip-gram only" -train "$dir/corpus.txt" -output "$dir/x.txt" -cbow 1 -shared-negatives 1
expect_error "-cbow needs an integer" -train "$dir/corpus.txt" -output "$dir/x.txt" -cbow 2

# (e) CBOW: trains on 2 threads (Hogwild) and writes V + 1 lines of 32
# numbers, its loss per centre word falls (the -alpha 0 control must not
# pass), and -deterministic 1 gives the same bytes on 1 and 2 threads.
"$w2v" $common -cbow 1 -iter 2 -sample 1e-3 -threads 2 -loss-every 20000 \
  -output "$dir/cbow.txt" 2>"$dir/cbow.log" || { cat "$dir/cbow.log"; bad "(e) cbow training failed"; }
tr '\r' '\n' <"$dir/cbow.log" >"$dir/cbow.lines"
if vectors_ok "$dir/cbow.txt"; then
  ok "(e) cbow writes $((vocab + 1)) vectors of size 32"
else
  bad "(e) cbow output: $(head -n 1 "$dir/cbow.txt" 2>/dev/null)"
fi
if grep -q 'words/sec/thread (2 threads, [a-z0-9]*, cbow, per-centre-word negatives)' "$dir/cbow.lines"
then ok "(e) cbow summary line"; else bad "(e) no cbow summary line on stderr"; fi
if falls "$dir/cbow.lines"; then ok "(e) the cbow loss falls"; else bad "(e) the cbow loss does not fall"; fi
"$w2v" $common -cbow 1 -iter 1 -alpha 0 -threads 1 -loss-every 20000 \
  -output "$dir/cbow-frozen.txt" 2>"$dir/cbow-frozen.log" || bad "(e) cbow -alpha 0 run failed"
tr '\r' '\n' <"$dir/cbow-frozen.log" >"$dir/cbow-frozen.lines"
if falls "$dir/cbow-frozen.lines"; then bad "(e) control: the cbow check passed at -alpha 0"
else ok "(e) control: the cbow check fails when nothing is learnt"; fi
for t in 1 2; do
  "$w2v" $common -cbow 1 -iter 1 -threads $t -deterministic 1 \
    -output "$dir/cbow-det-$t.txt" 2>"$dir/cbow-det.log" || { cat "$dir/cbow-det.log"; bad "(e) cbow det run failed"; }
done
if cmp -s "$dir/cbow-det-1.txt" "$dir/cbow-det-2.txt"; then
  ok "(e) cbow -deterministic 1: 1 and 2 threads byte-identical"
else
  bad "(e) cbow -deterministic 1: 1 and 2 threads differ"
fi
if cmp -s "$dir/cbow-det-1.txt" "$dir/det-0-1.txt"; then
  bad "(e) cbow and skip-gram gave the same vectors"
fi

finish word2vec
