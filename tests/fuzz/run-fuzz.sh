#!/usr/bin/env bash
# run-fuzz.sh EXE SRCDIR TARGET BUILDDIR [MAX_RUNS]: replays the checked-in
# regression inputs of TARGET, then fuzzes for ${FL_FUZZ_SECONDS:-45} seconds
# (or FL_FUZZ_RUNS inputs from seed 1, at most MAX_RUNS when given and not 0:
# tests/fuzz/meson.build caps the slow targets) starting
# from the checked-in corpus.  New inputs go to BUILDDIR/corpus-TARGET (the
# checked-in corpus is only read); crashes to BUILDDIR/artifacts-TARGET/.
set -euo pipefail
exe=$1 src=$2 target=$3 build=$4 max_runs=${5:-0}
seconds=${FL_FUZZ_SECONDS:-45}
scratch=$build/corpus-$target
artifacts=$build/artifacts-$target
mkdir -p "$scratch" "$artifacts"
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
# The tree is built with -fno-sanitize-recover=all: a UBSan report aborts.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:abort_on_error=1:print_stacktrace=1}
regs=("$src/regressions/$target"/*)
if [ -e "${regs[0]}" ]; then
  echo "replaying ${#regs[@]} regression input(s)"
  "$exe" -error_exitcode=1 "${regs[@]}"
fi
# FL_FUZZ_RUNS (scripts/test): a fixed seed and a fixed number of runs, so the
# short run is nearly the same search every time (two build trees of the same
# source have explored differently once: README "Fuzzing");
# scripts/fuzz explores with fresh seeds for FL_FUZZ_SECONDS instead.
if [ -n "${FL_FUZZ_RUNS:-}" ]; then
  runs=$FL_FUZZ_RUNS
  if [ "$max_runs" -gt 0 ] && [ "$max_runs" -lt "$runs" ]; then runs=$max_runs; fi
  echo "fuzzing $runs inputs from seed 1"
  limit=(-seed=1 -runs="$runs")
  rm -rf "$scratch" && mkdir -p "$scratch" # start from the checked-in corpus only
else
  limit=(-max_total_time="$seconds")
fi
exec "$exe" -error_exitcode=1 "${limit[@]}" -timeout=20 -rss_limit_mb=2048 -max_len=4096 \
  -print_final_stats=1 -artifact_prefix="$artifacts/" "$scratch" "$src/corpus/$target"
