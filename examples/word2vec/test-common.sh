# Sourced by test-word2vec.sh and test-word2vec-mpi.sh after they set $gen
# (scripts/gen-corpus.py): Debian's python3 (or exit 77, meson's SKIP), a
# scratch directory $dir removed at exit, the ok/bad check counters, the
# generated corpus $dir/corpus.txt (200000 tokens, 2000 words, seed 7) and
# the flags every run shares, $common, its number of distinct words, $vocab,
# and vectors_ok FILE, true when FILE is word2vec text output of those
# words plus </s> with 32 numbers each.  finish NAME ends the script.
# PYTHONPATH gets this directory: the Python checks import read_vectors.py.
python=/usr/bin/python3
if [ ! -x "$python" ]; then
  echo "SKIP: $python not found (it generates the corpus)"
  exit 77
fi

PYTHONPATH="$(cd "$(dirname "$0")" && pwd)${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONPATH

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
failures=0
ok() { echo "ok: $*"; }
bad() { echo "FAILED: $*"; failures=$((failures + 1)); }
finish() {
  if [ "$failures" -ne 0 ]; then
    echo "$failures check(s) failed"
    exit 1
  fi
  echo "all $1 checks passed"
}

"$python" "$gen" --tokens 200000 --vocab 2000 --seed 7 --out "$dir/corpus.txt"
common="-train $dir/corpus.txt -size 32 -window 5 -negative 5 -min-count 1 -debug 0 -seed 3"
vocab=$(tr ' ' '\n' <"$dir/corpus.txt" | grep . | sort -u | wc -l)
vectors_ok() {
  [ -s "$1" ] && [ "$(head -n 1 "$1")" = "$((vocab + 1)) 32" ] &&
    [ "$(wc -l <"$1")" -eq "$((vocab + 2))" ] &&
    [ "$(awk 'NR > 1 && NF != 33' "$1" | wc -l)" -eq 0 ]
}
