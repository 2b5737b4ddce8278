#!/bin/sh
# meson test 'word2vec': trains fastloss-word2vec on a small generated corpus
# and checks (a) the loss falls, with a control run at -alpha 0 showing the
# check can fail; (b) -deterministic 1 gives byte-identical vectors on 1 and 2
# threads; (c) the text and binary formats; (d) bad arguments exit 1 with a
# message; (e) the same for CBOW (-cbow 1): it trains, writes vectors, its
# loss falls, and 1 and 2 threads agree byte for byte with -deterministic 1;
# (f) -read-vocab: a -save-vocab file read back gives the same bytes, the
# words, order, pruning and counts come from the file, -train's other words
# are skipped, and bad files exit 1; (g) -classes N: "word class" lines equal
# to word2vec.c's k-means recomputed in Python from the run's vectors, the
# same on 1 and 2 threads, and N above the vocabulary exits 1; (h) the
# library's private rows (-replicas 0); (i) -replicas 1: the loss, merges,
# reproducibility, progress lines, a one-line corpus's parts, and errors.
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
import sys
from read_vectors import read_binary
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
bwords, brows = read_binary(binary)
assert bwords == words, "binary words differ from the text words"
assert all(len(b) == size for b in brows), "binary rows of another size"
for word, row, values in zip(words, rows, brows):
    assert all(abs(a - b) <= 5e-7 for a, b in zip(values, row)), "binary and text rows of %r differ" % word
PY
then ok "(c) text and binary formats ($((vocab + 1)) words with </s>, size 32)"
else bad "(c) output format"; fi

# (d) Errors: exit status 1 and a message on stderr naming the problem.
part="(d)"
expect_error() {
  want=$1
  shift
  set +e
  "$w2v" "$@" >"$dir/err.out" 2>"$dir/err.log"
  status=$?
  set -e
  if [ "$status" -eq 1 ] && grep -q -- "$want" "$dir/err.log"; then
    ok "$part $* -> exit 1: $(cat "$dir/err.log")"
  else
    bad "$part $* -> exit $status, stderr: $(cat "$dir/err.log"), wanted '$want'"
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

# (f) -read-vocab FILE: the vocabulary and counts are FILE's.  Read back, a
# -save-vocab file gives the run that wrote it byte for byte (and -save-vocab
# writes it again); half of its words: the output has those words, in order,
# training reads only them (the summary's word count is -iter times their
# counts' sum) and the loss still falls; counts reversed at -min-count 20:
# the order and pruning follow the file's counts; counts raised by 1000 (the
# same order): other vectors, as the noise table, subsampling and learning
# rate use the file's counts; bad files exit 1 with a message.
rv="$common -iter 1 -threads 2 -deterministic 1"
"$w2v" $rv -output "$dir/rv-built.txt" -save-vocab "$dir/built.vocab" 2>/dev/null ||
  bad "(f) -save-vocab run failed"
"$w2v" $rv -read-vocab "$dir/built.vocab" -output "$dir/rv-read.txt" \
  -save-vocab "$dir/read.vocab" 2>"$dir/rv.log" || { cat "$dir/rv.log"; bad "(f) -read-vocab run failed"; }
if [ -s "$dir/rv-built.txt" ] && cmp -s "$dir/rv-built.txt" "$dir/rv-read.txt"; then
  ok "(f) -read-vocab of the run's -save-vocab: the same vectors byte for byte"
else
  bad "(f) -read-vocab of the run's -save-vocab gives other vectors"
fi
if [ -s "$dir/read.vocab" ] && cmp -s "$dir/built.vocab" "$dir/read.vocab"; then
  ok "(f) -save-vocab with -read-vocab writes the vocabulary read ($(wc -l <"$dir/read.vocab") words)"
else
  bad "(f) -save-vocab with -read-vocab: $(head -n 3 "$dir/read.vocab" 2>/dev/null)"
fi
"$python" - "$dir" <<'PY'
import sys
d = sys.argv[1]
lines = open(d + "/built.vocab").read().splitlines()
words = [l.split(" ")[0] for l in lines]
counts = [int(l.split(" ")[1]) for l in lines]
# </s> and every other word
with open(d + "/half.vocab", "w") as f:
    for i in range(0, len(lines), 2):
        f.write("%s %d\n" % (words[i], counts[i]))
# counts reversed (</s> keeps its own); expected -save-vocab at -min-count 20:
# </s> first, then by count (ties in file order), counts under 20 dropped
rest = list(range(1, len(lines)))
new = {i: counts[len(lines) - i] for i in rest}
with open(d + "/reversed.vocab", "w") as f:
    f.write("%s %d\n" % (words[0], counts[0]))
    for i in rest:
        f.write("%s %d\n" % (words[i], new[i]))
with open(d + "/reversed-expected.vocab", "w") as f:
    f.write("%s %d\n" % (words[0], counts[0]))
    for i in sorted(rest, key=lambda i: (-new[i], i)):
        if new[i] >= 20:
            f.write("%s %d\n" % (words[i], new[i]))
with open(d + "/plus1000.vocab", "w") as f:
    f.write("%s %d\n" % (words[0], counts[0]))
    for i in rest:
        f.write("%s %d\n" % (words[i], counts[i] + 1000))
PY
"$w2v" $common -iter 2 -sample 1e-3 -threads 2 -loss-every 20000 -read-vocab "$dir/half.vocab" \
  -output "$dir/half.txt" 2>"$dir/half.log" || { cat "$dir/half.log"; bad "(f) half-vocabulary run failed"; }
tr '\r' '\n' <"$dir/half.log" >"$dir/half.lines"
half_words=$(wc -l <"$dir/half.vocab")
if [ "$(head -n 1 "$dir/half.txt")" = "$half_words 32" ] &&
   [ "$(sed 1d "$dir/half.txt" | cut -d ' ' -f 1)" = "$(cut -d ' ' -f 1 "$dir/half.vocab")" ]; then
  ok "(f) half the words in -read-vocab: the output has those $half_words words, in order"
else
  bad "(f) half the words in -read-vocab: output header $(head -n 1 "$dir/half.txt" 2>/dev/null)"
fi
half_read=$(awk '{ s += $2 } END { print 2 * s }' "$dir/half.vocab")
if grep -q "fastloss-word2vec: $half_read words in" "$dir/half.lines"; then
  ok "(f) the other words of -train are skipped: $half_read words trained (2 x their counts)"
else
  bad "(f) want $half_read words trained: $(grep 'words in' "$dir/half.lines")"
fi
if falls "$dir/half.lines"; then ok "(f) half vocabulary: the loss falls"
else bad "(f) half vocabulary: the loss does not fall"; fi
"$w2v" $rv -min-count 20 -read-vocab "$dir/reversed.vocab" -output "$dir/reversed.txt" \
  -save-vocab "$dir/reversed-saved.vocab" 2>/dev/null || bad "(f) reversed-counts run failed"
if [ -s "$dir/reversed-saved.vocab" ] &&
   cmp -s "$dir/reversed-expected.vocab" "$dir/reversed-saved.vocab" &&
   [ "$(head -n 1 "$dir/reversed.txt")" = "$(wc -l <"$dir/reversed-expected.vocab") 32" ]; then
  ok "(f) reversed counts, -min-count 20: the file's order and pruning ($(wc -l <"$dir/reversed-saved.vocab") words)"
else
  bad "(f) reversed counts: the vocabulary is not sorted and pruned by the file's counts"
fi
"$w2v" $rv -read-vocab "$dir/plus1000.vocab" -output "$dir/plus1000.txt" 2>/dev/null ||
  bad "(f) plus-1000 run failed"
if [ "$(cut -d ' ' -f 1 "$dir/plus1000.txt")" = "$(cut -d ' ' -f 1 "$dir/rv-built.txt")" ] &&
   ! cmp -s "$dir/plus1000.txt" "$dir/rv-built.txt"; then
  ok "(f) counts + 1000 (the same order): the same words, other vectors"
else
  bad "(f) counts + 1000: the file's counts are not what trains"
fi
part="(f)"
printf '</s> 5\nfoo 12x\n' >"$dir/bad-count.vocab"
printf '</s> 5\nfoo\n' >"$dir/no-count.vocab"
printf '</s> 5\nfoo -3\n' >"$dir/negative.vocab"
printf '</s> 5\nfoo 3\nbar 2\nfoo 2\n' >"$dir/repeated.vocab"
: >"$dir/empty.vocab"
for case in "cannot read -read-vocab $dir/missing.vocab:missing" \
            "line 2 is not \"word count\":bad-count" "line 2 is not \"word count\":no-count" \
            "line 2 is not \"word count\":negative" "line 4 repeats the word 'foo':repeated" \
            "has no words:empty"; do
  expect_error "${case%:*}" $common -output "$dir/x.txt" -read-vocab "$dir/${case##*:}.vocab"
done

# (g) -classes N: "word class" lines, the words of the vectors' output and
# classes in [0, N), all used; the same bytes on 1 and 2 threads with
# -deterministic 1; equal to word2vec.c's k-means recomputed here from the
# binary vectors of the same run with -classes 0 ((c)'s vectors.bin); N above
# the vocabulary exits 1.
for t in 1 2; do
  "$w2v" $common -iter 1 -threads $t -deterministic 1 -binary 1 -classes 5 \
    -output "$dir/classes-$t.txt" 2>"$dir/classes.log" || { cat "$dir/classes.log"; bad "(g) -classes run failed"; }
done
if [ -s "$dir/classes-1.txt" ] && cmp -s "$dir/classes-1.txt" "$dir/classes-2.txt"; then
  ok "(g) -classes 5 -deterministic 1: 1 and 2 threads byte-identical"
else
  bad "(g) -classes 5 -deterministic 1: 1 and 2 threads differ"
fi
if "$python" - "$dir/vectors.bin" "$dir/classes-2.txt" 5 <<'PY'
import math, sys
from read_vectors import read_binary
vectors, classes, k = sys.argv[1], sys.argv[2], int(sys.argv[3])
words, rows = read_binary(vectors)
n, dim = len(rows), len(rows[0])
lines = open(classes, "rb").read().split(b"\n")
assert lines[-1] == b"", "no final newline"
pairs = [l.split(b" ") for l in lines[:-1]]
assert len(pairs) == n, "%d lines, want %d" % (len(pairs), n)
assert all(len(p) == 2 for p in pairs), "a line is not 'word class'"
assert [p[0] for p in pairs] == words, "not the vectors' words"
got = [int(p[1]) for p in pairs]
assert all(0 <= c < k for c in got), "a class outside [0, %d)" % k
assert len(set(got)) == k, "only %d classes used" % len(set(got))
# word2vec.c's k-means, in double, every sum in index order
cl = [a % k for a in range(n)]
for _ in range(10):
    cent = [[0.0] * dim for _ in range(k)]
    size = [1] * k
    for c in range(n):
        row, ce = rows[c], cent[cl[c]]
        for d in range(dim):
            ce[d] += row[d]
        size[cl[c]] += 1
    usable = []
    for b in range(k):
        ce, norm = cent[b], 0.0
        for d in range(dim):
            ce[d] /= size[b]
            norm += ce[d] * ce[d]
        norm = math.sqrt(norm)
        usable.append(norm > 0.0)
        if norm > 0.0:
            for d in range(dim):
                ce[d] /= norm
    for c in range(n):
        best, best_class, row = -10.0, 0, rows[c]
        for b in range(k):
            if not usable[b]:
                continue
            x, ce = 0.0, cent[b]
            for d in range(dim):
                x += ce[d] * row[d]
            if x > best:
                best, best_class = x, b
        cl[c] = best_class
diff = sum(1 for a, b in zip(cl, got) if a != b)
assert diff == 0, "%d of %d words in another class than the reference k-means" % (diff, n)
print("  %d words, class sizes %s" % (n, [got.count(c) for c in range(k)]))
PY
then ok "(g) -classes 5: $((vocab + 1)) 'word class' lines, all 5 classes, = the reference k-means"
else bad "(g) -classes 5 output"; fi
part="(g)"
expect_error "-classes $((vocab + 2)) is more than the $((vocab + 1)) words" $common -output "$dir/x.txt" -classes $((vocab + 2))
expect_error "-classes needs an integer" $common -output "$dir/x.txt" -classes -1

# (h) -private-rows with -replicas 0: 2 Hogwild threads averaging the 64 most
# frequent words' rows per batch, all rows Hogwild (0) and the default (an
# eighth of the vocabulary here) end at about the loss of one thread (last
# 10% of words, within 3%); a negative count exits 1.
part="(h)"
last10() { sed -n 's/.*last 10% of words \([0-9.]*\);.*/\1/p' "$1"; }
"$w2v" $common -iter 1 -threads 1 -output "$dir/pr-1.txt" 2>"$dir/pr-1.log" || bad "(h) 1-thread run failed"
for rows in 0 64 default; do
  flag="-private-rows $rows"
  [ "$rows" = default ] && flag=
  "$w2v" $common -iter 1 -threads 2 -replicas 0 $flag -output "$dir/pr.txt" 2>"$dir/pr.log" ||
    { cat "$dir/pr.log"; bad "(h) -private-rows $rows run failed"; }
  one=$(last10 "$dir/pr-1.log"); two=$(last10 "$dir/pr.log")
  if awk -v a="$one" -v b="$two" 'BEGIN { exit !(a > 0 && b > 0 && b < 1.03 * a && b > 0.97 * a) }'; then
    ok "(h) -private-rows $rows, 2 threads: last-10% loss $two, 1 thread $one"
  else
    bad "(h) -private-rows $rows, 2 threads: last-10% loss '$two' vs 1 thread '$one'"
  fi
done
expect_error "-private-rows needs an integer in \[0, 2147483647\]" $common -output "$dir/x.txt" -private-rows -1

# (i) -replicas 1 (the default with -threads > 1): each thread trains on its
# own copy of the tables, merged every -replica-sync words of each thread;
# with -balance 1 (the default) the threads take chunks of the corpus in
# turn, with -balance 0 each trains a fixed part.  On 2 and 3 threads, both
# ways, with the default interval (16 merges on this short corpus) and with a
# merge every 5000 words, skip-gram (per-pair and shared negatives) and CBOW
# end within 3% of one thread's last-10% loss; the summary counts the merges;
# two -balance 0 runs give the same bytes (each thread's part and random
# streams are fixed), unlike one thread's; -balance 1 trains every word once;
# -balance 1 with whole copies (-share-rare 0), with only the -private-rows
# rows copied and the others shared (-share-rare 1), switching between the
# two at merges (-share-rare 2, the default, as a cache-line probe says, and
# a fixed -test-share-plan), or with every row shared (-private-rows 0),
# each within the same 3%; errors exit 1.
part="(i)"
merges() { sed -n 's/.*; \([0-9]*\) merges (every.*/\1/p' "$1"; }
for model in "-shared-negatives 0" "-shared-negatives 1" "-cbow 1"; do
  "$w2v" $common -iter 1 -threads 1 $model -output "$dir/rep-1.txt" 2>"$dir/rep-1.log" ||
    { cat "$dir/rep-1.log"; bad "(i) $model 1-thread run failed"; }
  for threads in 2 3; do
    for sync in default 5000; do
     for mode in "1" "1 -share-rare 0" "1 -share-rare 1" "1 -test-share-plan 0110" "0"; do
      balance=${mode%% *}
      what="$model -threads $threads -replica-sync $sync -balance $mode"
      flag="-replica-sync $sync -balance $mode"
      [ "$sync" = default ] && flag="-balance $mode"
      "$w2v" $common -iter 1 -threads $threads $flag $model \
        -output "$dir/rep.txt" 2>"$dir/rep.log" || { cat "$dir/rep.log"; bad "(i) $what failed"; }
      one=$(last10 "$dir/rep-1.log"); many=$(last10 "$dir/rep.log"); n=$(merges "$dir/rep.log")
      want_merges=16
      [ "$sync" = 5000 ] && want_merges=$(( (200000 * 21 / 20) / threads / 5000 ))
      if awk -v a="$one" -v b="$many" 'BEGIN { exit !(a > 0 && b > 0 && b < 1.03 * a && b > 0.97 * a) }' &&
        [ -n "$n" ] && [ "$n" -ge "$want_merges" ] && [ "$n" -le $((want_merges + 2)) ]; then
        ok "(i) $what: last-10% loss $many, 1 thread $one; $n merges"
      else
        cat "$dir/rep.log"
        bad "(i) $what: last-10% loss '$many' vs 1 thread '$one'; '$n' merges, want about $want_merges"
      fi
      # The vectors written are the merged tables: near one thread's (the
      # same start), not the initial ones (whose mean cosine to one thread's
      # is 0.07, norm ratio 0.04) or a mean that starves rare rows.  The
      # frequent words' cosine depends on the order the threads train in:
      # -balance 0 gives 0.938 on 2 threads every run; -balance 1 gave
      # 0.81-0.96 over ten runs, hence its lower bound.
      if [ "$model" = "-shared-negatives 0" ] && [ "$sync" = default ]; then
        min_cos=0.85
        [ "$balance" = 1 ] && min_cos=0.7
        if "$python" - "$dir/rep-1.txt" "$dir/rep.txt" "$min_cos" <<'PY'
import math, sys
def load(path):
    with open(path) as f:
        next(f)
        return [[float(x) for x in line.split()[1:]] for line in f]
one, many = load(sys.argv[1]), load(sys.argv[2])
norm = lambda v: math.sqrt(sum(x * x for x in v))
cos = sum(sum(a * b for a, b in zip(u, v)) / (norm(u) * norm(v)) for u, v in zip(one[:200], many[:200])) / 200
ratios = [sum(norm(v) for v in m[lo:hi]) / sum(norm(v) for v in one[lo:hi])
          for m in [many] for lo, hi in ((0, 100), (len(one) - 1000, len(one)))]
print("  mean cosine of the 200 most frequent words' vectors to one thread's %.3f; "
      "norm ratio, 100 most frequent %.3f, 1000 rarest %.3f" % (cos, ratios[0], ratios[1]))
sys.exit(not (cos >= float(sys.argv[3]) and all(0.85 <= r <= 1.15 for r in ratios)))
PY
        then ok "(i) $what: the vectors are near one thread's"
        else bad "(i) $what: the vectors are far from one thread's"; fi
      fi
     done
    done
  done
done
# What the summary says each thread copies: the -private-rows rows (here
# an eighth of the vocabulary by default, and 0) while sharing the others,
# in how many of the 16 intervals between merges (the first before one), or
# the whole tables; the loss within 3% of one thread's, or 5% with every
# row merged by the mean (-private-rows above the vocabulary: rare rows
# learn less, 2.9% above).
"$w2v" $common -iter 1 -threads 1 -output "$dir/rep-1.txt" 2>"$dir/rep-1.log" ||
  { cat "$dir/rep-1.log"; bad "(i) 1-thread run failed"; }
"$w2v" $common -iter 1 -threads 1 -cbow 1 -output "$dir/rep-cbow-1.txt" 2>"$dir/rep-cbow-1.log" ||
  { cat "$dir/rep-cbow-1.log"; bad "(i) 1-thread CBOW run failed"; }
vocab_rows=$(head -n 1 "$dir/rep-1.txt" | cut -d' ' -f1)
hot=$((vocab_rows / 8))
for run in "default:auto $hot:1.03" "-test-share-plan 0110:plan $hot 8:1.03" \
  "-test-share-plan 1000:plan $hot 4:1.03" "-share-rare 1:first $hot:1.03" \
  "-share-rare 1 -private-rows 0:first 0:1.03" "-share-rare 0:all:1.03" \
  "-private-rows 100000:all:1.05" "-cbow 1 -test-share-plan 0110:plan $hot 8:1.03"; do
  flag=${run%%:*} rest=${run#*:}
  want=${rest%%:*} within=${rest#*:}
  [ "$flag" = default ] && flag=
  "$w2v" $common -iter 1 -threads 2 $flag -output "$dir/rep.txt" 2>"$dir/rep.log" ||
    { cat "$dir/rep.log"; bad "(i) 2 threads $flag failed"; }
  one=$(last10 "$dir/rep-1.log"); many=$(last10 "$dir/rep.log")
  case $flag in -cbow*) one=$(last10 "$dir/rep-cbow-1.log") ;; esac
  set -- $want
  case $1 in
  all) summary="each on its own copy of the tables;" ;;
  first) summary="each on its own copy of the first $2 rows of the tables, sharing the others;" ;;
  auto) summary="each on its own copy of the tables, sharing the rows from $2 on in [0-9]* of 16 intervals (cache-line round trip [0-9]*-[0-9]* ns);" ;;
  plan) summary="each on its own copy of the tables, sharing the rows from $2 on in $3 of 16 intervals (-test-share-plan);" ;;
  esac
  if grep -q -- "-replicas 1: 2 threads, $summary" "$dir/rep.log" &&
    awk -v a="$one" -v b="$many" -v w="$within" 'BEGIN { exit !(a > 0 && b > 0 && b < w * a && b > a / w) }'
  then
    ok "(i) 2 threads ${flag:-(defaults)}: copies ($want), last-10% loss $many, 1 thread $one"
  else
    cat "$dir/rep.log"
    bad "(i) 2 threads ${flag:-(defaults)}: want copies ($want), loss within x$within of $one"
  fi
done
# On one CPU (taskset) -share-rare 2 takes no probe, where each round trip
# would wait for the scheduler (it made a 200k-word run's merges 36 s), and
# keeps whole copies.
if command -v taskset >/dev/null 2>&1 && taskset -c 0 true 2>/dev/null; then
  taskset -c 0 "$w2v" $common -iter 1 -threads 2 -output "$dir/rep.txt" 2>"$dir/rep.log" ||
    { cat "$dir/rep.log"; bad "(i) 2 threads on one CPU failed"; }
  if grep -q -- "-replicas 1: 2 threads, each on its own copy of the tables;" "$dir/rep.log"; then
    ok "(i) 2 threads on one CPU: whole copies, no probe"
  else
    cat "$dir/rep.log"
    bad "(i) 2 threads on one CPU: want whole copies"
  fi
fi
for run in a b; do
  "$w2v" $common -iter 1 -threads 2 -replica-sync 5000 -balance 0 -output "$dir/rep-$run.txt" \
    2>"$dir/rep.log" || bad "(i) reproducibility run $run failed"
done
"$w2v" $common -iter 1 -threads 1 -output "$dir/rep-one.txt" 2>/dev/null || bad "(i) 1-thread run failed"
if cmp -s "$dir/rep-a.txt" "$dir/rep-b.txt" && ! cmp -s "$dir/rep-a.txt" "$dir/rep-one.txt"; then
  ok "(i) two 2-thread -balance 0 runs byte-identical, and not one thread's output"
else
  bad "(i) 2-thread -balance 0 runs differ from each other, or equal one thread's output"
fi
# Progress lines (-debug 2, the default): at most one per 10000 words of the
# first thread, as word2vec.c, not one per 1024-word chunk, and at least one.
span_of() { sed -n 's/.*words per thread \([0-9]*\) to \([0-9]*\) (.*/\1 \2/p' "$1"; }
"$w2v" $common -iter 1 -threads 2 -debug 2 -output "$dir/rep.txt" 2>"$dir/rep.log" ||
  bad "(i) -debug 2 run failed"
lines=$(tr '\r' '\n' <"$dir/rep.log" | grep -c '^Alpha: ' || true)
most=$(span_of "$dir/rep.log" | cut -d' ' -f2)
if [ -n "$most" ] && [ "$lines" -ge 1 ] && [ "$lines" -le $((most / 10000 + 2)) ]; then
  ok "(i) 2 threads: $lines progress lines for at most $most words a thread"
else
  bad "(i) 2 threads: $lines progress lines for at most '$most' words a thread"
fi
# A corpus on one line (as text8).  -balance 0: the parts are cut
# mid-line, so each of 2 threads trains about half of it (the cut moves at
# most MAX_SENTENCE = 1000 words on looking for a line end), not one thread
# all of it.  -balance 1: the chunks (also cut mid-line) cover each word of
# every pass once, whichever thread takes them: the 2 threads' words add up
# to the corpus times -iter.
tr '\n' ' ' <"$dir/corpus.txt" >"$dir/one-long-line.txt"
total=$(wc -w <"$dir/one-long-line.txt")
for run in "0 1" "1 1" "1 2" "1 2 -cbow 1"; do
  set -- $run
  balance=$1 iter=$2
  shift 2
  what="a one-line corpus of $total words, -balance $balance -iter $iter $*"
  "$w2v" -train "$dir/one-long-line.txt" -size 32 -window 5 -negative 5 -min-count 1 -debug 0 \
    -seed 3 -iter "$iter" -threads 2 -balance "$balance" "$@" -output "$dir/long.txt" \
    2>"$dir/long.log" || { cat "$dir/long.log"; bad "(i) $what failed"; }
  span=$(span_of "$dir/long.log")
  if [ -n "$span" ] && awk -v s="$span" -v n="$((total * iter))" -v chunks="$balance" \
    'BEGIN { split(s, w, " "); exit !(w[1] + w[2] == n && (chunks || (w[1] > 0 && w[2] - w[1] <= 2002))) }'
  then
    ok "(i) $what on 2 threads: words per thread $span"
  else
    bad "(i) $what on 2 threads: words per thread '$span'"
  fi
done
# fewer words than threads: some threads get no words, and all still meet
# at every merge
printf 'a b a\n' >"$dir/one-line.txt"
if "$w2v" -train "$dir/one-line.txt" -min-count 1 -size 4 -iter 3 -threads 5 -debug 0 \
  -output "$dir/tiny.txt" 2>"$dir/tiny.log" && [ "$(head -n 1 "$dir/tiny.txt")" = "3 4" ] &&
  grep -q -- '-replicas 1: 5 threads' "$dir/tiny.log"; then
  ok "(i) 4 words (</s> included) on 5 threads: 3 vectors"
else
  bad "(i) 4 words on 5 threads: $(cat "$dir/tiny.log")"
fi
# over 256 threads the default is the library's threads (-replicas 0)
if "$w2v" -train "$dir/one-line.txt" -min-count 1 -size 4 -iter 1 -threads 257 -debug 0 \
  -output "$dir/tiny.txt" 2>"$dir/tiny.log" && [ "$(head -n 1 "$dir/tiny.txt")" = "3 4" ] &&
  ! grep -q -- '-replicas 1:' "$dir/tiny.log"; then
  ok "(i) -threads 257 without -replicas: the library's threads"
else
  bad "(i) -threads 257 without -replicas: $(cat "$dir/tiny.log")"
fi
expect_error "-replicas needs an integer in \[0, 1\]" $common -output "$dir/x.txt" -replicas 2
expect_error "-replica-sync needs an integer in \[1, " $common -output "$dir/x.txt" -replica-sync 0
expect_error "-replicas 1 and -deterministic 1 exclude each other" $common -output "$dir/x.txt" -threads 2 -replicas 1 -deterministic 1
expect_error "-replicas 1 takes at most 256 threads" $common -output "$dir/x.txt" -threads 257 -replicas 1
expect_error "-balance needs an integer in \[0, 1\]" $common -output "$dir/x.txt" -threads 2 -balance 2
expect_error "-balance is for -replicas 1" $common -output "$dir/x.txt" -threads 1 -balance 1
expect_error "-balance is for -replicas 1" $common -output "$dir/x.txt" -threads 2 -replicas 0 -balance 0
expect_error "-share-rare needs an integer in \[0, 2\]" $common -output "$dir/x.txt" -threads 2 -share-rare 3
expect_error "-test-share-plan needs -share-rare 2 and a string of 0s and 1s" $common -output "$dir/x.txt" -threads 2 -share-rare 1 -test-share-plan 01
expect_error "-test-share-plan needs -share-rare 2 and a string of 0s and 1s" $common -output "$dir/x.txt" -threads 2 -test-share-plan 012
expect_error "-share-rare is for -replicas 1 -balance 1" $common -output "$dir/x.txt" -threads 2 -balance 0 -share-rare 1
expect_error "-share-rare is for -replicas 1 -balance 1" $common -output "$dir/x.txt" -threads 1 -share-rare 0

finish word2vec
