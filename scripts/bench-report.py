#!/usr/bin/python3
"""Formats a fastloss-bench JSON report (and the optional PyTorch peer
results) as markdown tables, readable in a terminal and pasteable into a
README.  Standard library only.

Every number printed comes from the files given: the kernels' throughput,
the memory bound (memcpy / streaming read of the same bytes, measured in the
same run) and the peer's throughput.  The issue's targets are printed next to
the measured numbers, never assumed.

usage: bench-report.py FASTLOSS_JSON [--torch TORCH_JSON | --peers-skipped WHY]
                       [--build-dir DIR] [--min-time S] [--seconds S]
"""
import argparse
import json
import os
import re
import statistics
import sys

OPS = {
    "fwdbwd": ("fused forward+backward (loss and gradient)", "copy",
               "memcpy of the n*m floats (read n*m + write n*m)"),
    "fwd": ("forward only (loss)", "read",
            "streaming read-sum of the n*m floats (read n*m)"),
}

# (label, op, threads, minimum e9 logits/s or speed-up, kind, shapes)
LARGE = "large"  # every shape with m >= 1000
SMALL = "small"  # the small-vocabulary shape (m < 100)
TARGETS = [
    ("fwd+bwd, 1 thread, >= 1.5e9 logits/s", "fwdbwd", 1, 1.5, "rate", LARGE),
    ("fwd+bwd, 2 threads, >= 2.8e9 logits/s", "fwdbwd", 2, 2.8, "rate", LARGE),
    ("fwd+bwd, 1 thread, >= 4x scalar", "fwdbwd", 1, 4.0, "speedup", LARGE),
    ("fwd+bwd, 2 threads, >= 4x scalar", "fwdbwd", 2, 4.0, "speedup", LARGE),
    ("fwd, 1 thread, >= 2.0e9 logits/s", "fwd", 1, 2.0, "rate", LARGE),
    ("small vocab fwd+bwd, 1 thread, >= 0.5e9 logits/s", "fwdbwd", 1, 0.5, "rate", SMALL),
    ("small vocab fwd+bwd, 2 threads, >= 0.5e9 logits/s", "fwdbwd", 2, 0.5, "rate", SMALL),
]

TIME_UNITS = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}


def parse_name(run_name):
    """('f32', 'fwdbwd'|'fwd'|'copy'|'read', isa or None, n, m, threads)."""
    parts = [p for p in run_name.split("/") if p != "real_time"]
    kind = parts[0].split("_")
    dtype = kind[0]
    if kind[1] == "xent":
        op, isa, shape, omp = kind[2], parts[1], parts[2], parts[3]
    else:
        op, isa, shape, omp = kind[1], None, parts[1], parts[2]
    n, m = (int(x) for x in shape.split("x"))
    return dtype, op, isa, n, m, int(omp.split(":")[1])


def load_fastloss(path):
    """context, {key: (logits/s, seconds/call)}, repetitions, errors."""
    with open(path) as f:
        report = json.load(f)
    medians, samples, errors, repetitions, shares = {}, {}, [], 1, []
    # negative sampling, NCE, VAE, SquaredError, WGAN-GP: run name -> [(items/s, s/call)]
    others = {}
    for b in report.get("benchmarks", []):
        run_name = b.get("run_name", b["name"])
        if b.get("error_occurred"):
            errors.append("%s: %s" % (run_name, b.get("error_message", "error")))
            continue
        if run_name.split("_")[1].split("/")[0] in ("sgns", "cbow", "nce", "vae", "sqerr", "wgangp", "small"):
            if b.get("run_type") != "aggregate" or b.get("aggregate_name") == "median":
                others.setdefault(run_name, []).append(
                    (b["items_per_second"], b["real_time"] * TIME_UNITS[b.get("time_unit", "ns")]))
            continue
        key = parse_name(run_name)
        if key[5] == 1 and b.get("aggregate_name", "median") == "median" and b["real_time"] > 0:
            shares.append(b["cpu_time"] / b["real_time"])
        value = (b["items_per_second"], b["real_time"] * TIME_UNITS[b.get("time_unit", "ns")])
        if b.get("run_type") == "aggregate":
            if b.get("aggregate_name") == "median":
                medians[key] = value
                repetitions = max(repetitions, int(b.get("repetitions", 1)))
        else:
            samples.setdefault(key, []).append(value)
    results = dict(medians)
    for key, values in samples.items():
        if key not in results:
            results[key] = (statistics.median(v[0] for v in values),
                            statistics.median(v[1] for v in values))
            repetitions = max(repetitions, len(values))
    others = {name: (statistics.median(v[0] for v in values), statistics.median(v[1] for v in values))
              for name, values in others.items()}
    return report.get("context", {}), results, repetitions, errors, shares, others


# VAELoss: the peers (e9 elements/s, fused BCE + KL forward and
# backward at n=1024, N=784, T=64, 1 thread) and the speed-ups it asks for.
VAE_PEERS = [("PyTorch 1.13", 0.068, 6.0), ("numpy-ml", 0.024, 25.0)]


def vae_section(out, vae):
    """VAELoss, one row per benchmark, with the issue's targets."""
    if not vae:
        return
    out.append("## VAELoss (fastloss_vae_f32)")
    out.append("")
    out.append("n=1024 images, N=784 pixels, T=64 latents; items = n*(N+T) input elements.  "
               "fwdbwd = the fused call (loss, row terms, dY_pred, dLogVar, dMean); fwd = loss "
               "only.  bin: y exactly 0/1 (one log per pixel); soft: grey levels (two logs); "
               "logits: from_logits with binary y.")
    out.append("")
    out.append("| benchmark | e9 items/s | time per call | vs %s |" %
               " | vs ".join(name for name, _, _ in VAE_PEERS))
    out.append("|---|---:|---:|" + "---:|" * len(VAE_PEERS))
    for name, (rate, seconds) in vae.items():
        ratios = " | ".join("%.1fx" % (rate / 1e9 / peer) for _, peer, _ in VAE_PEERS)
        out.append("| %s | %.3f | %s | %s |" % (name.replace("/real_time", ""), rate / 1e9,
                                               fmt_time(seconds), ratios))
    out.append("")
    for peer, peer_rate, factor in VAE_PEERS:
        best = [(rate, name) for name, (rate, _) in vae.items()
                if name.startswith("f32_vae_fwdbwd/") and "/omp:1" in name]
        if not best:
            continue
        rate, name = max(best)
        measured = rate / 1e9
        out.append("- target: fused fwd+bwd, 1 thread, >= %gx %s (%.3f e9/s): best measured %.3f "
                   "e9/s (%.1fx, %s): %s" % (factor, peer, factor * peer_rate, measured,
                                              measured / peer_rate, name.replace("/real_time", ""),
                                              "met" if measured >= factor * peer_rate else "NOT met"))
    out.append("")


def others_section(out, others):
    """The negative-sampling step and the NCE object, one row per benchmark;
    VAELoss in its own section."""
    vae = {name: value for name, value in others.items() if name.startswith("f32_vae_")}
    others = {name: value for name, value in others.items() if name not in vae}
    vae_section(out, vae)
    if not others:
        return
    out.append("## Negative sampling (fastloss_sgns_step_f32), the NCELoss object, "
               "SquaredError and WGAN_GPLoss")
    out.append("")
    out.append("sgns: a batch of 8192 (input, target) pairs, vocabulary 30000 with Zipf ids, "
               "unigram^0.75 negatives; pair = k negatives per pair, shared = groups of 6 pairs "
               "sharing k negatives; items = pairs; _draw: the step draws the negatives itself "
               "(params.noise) instead of taking them drawn.  cbow: fastloss_cbow_step_f32 on "
               "examples of c context words (context:c); items = examples.  "
               "nce: loss() + grad() with the SGD update "
               "at the issue's shape, f32 and f64 (numpy-ml's dtype); items = examples.  sqerr: loss, and the gradient through "
               "each activation, n = m = 1024; wgangp: the critic's loss and gradients, "
               "256 x 3072; items = input elements.  small: one small call on the best ISA, "
               "1 thread (nce: loss + grad + update of 2 examples, d 16; sgns: one pair, d 100, "
               "k 5); items = calls.")
    out.append("")
    out.append("| benchmark | e6 items/s | time per call |")
    out.append("|---|---:|---:|")
    for name, (rate, seconds) in others.items():
        out.append("| %s | %.3f | %s |" % (name.replace("/real_time", ""), rate / 1e6,
                                            fmt_time(seconds)))
    out.append("")


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() in ("model name", "Model", "CPU part"):
                    return value.strip()
    except OSError:
        pass
    return "unknown"


def build_options(build_dir):
    if not build_dir:
        return {}
    try:
        with open(os.path.join(build_dir, "meson-info", "intro-buildoptions.json")) as f:
            return {o["name"]: o["value"] for o in json.load(f)}
    except (OSError, ValueError, KeyError):
        return {}


def fmt_rate(value):
    return "%.3f" % (value / 1e9)


def fmt_time(seconds):
    if seconds < 1e-3:
        return "%.1f us" % (seconds * 1e6)
    return "%.2f ms" % (seconds * 1e3)


def bound_for(results, dtype, op, n, m, threads):
    """Fastest measured bound with at most `threads` threads: more threads
    can always leave one idle, so a slower many-thread copy is overhead, not
    the bound."""
    kind = OPS[op][1]
    rates = [results[(dtype, kind, None, n, m, t)][0] for t in range(1, threads + 1)
             if (dtype, kind, None, n, m, t) in results]
    return max(rates) if rates else None


def table(out, results, peers, dtype, op, n, m, isas, thread_counts, peer_name):
    short = "fwd+bwd" if op == "fwdbwd" else "fwd"
    out.append("### %s %s, %d x %d (%s logits)" % (dtype, short, n, m, "{:,}".format(n * m)))
    out.append("")
    out.append("| ISA | threads | e9 logits/s | time/call | vs scalar | bound e9 logits/s | of bound |")
    out.append("|---|---:|---:|---:|---:|---:|---:|")
    rows = []
    for isa in isas:
        for t in thread_counts:
            key = (dtype, op, isa, n, m, t)
            if key in results:
                rows.append((isa, t) + results[key])
    if op == "fwdbwd" and dtype == "f32":
        for t in thread_counts:
            if (n, m, t) in peers:
                rows.append((peer_name, t) + peers[(n, m, t)])
    if not rows:
        return False
    for name, t, rate, seconds in rows:
        scalar = results.get((dtype, op, "scalar", n, m, t))
        speedup = "%.2fx" % (rate / scalar[0]) if scalar else "-"
        bound = bound_for(results, dtype, op, n, m, t)
        out.append("| %s | %d | %s | %s | %s | %s | %s |" % (
            name, t, fmt_rate(rate), fmt_time(seconds), speedup,
            fmt_rate(bound) if bound else "-", "%.0f%%" % (100 * rate / bound) if bound else "-"))
    out.append("")
    return True


def targets_section(out, results, isa, shapes, thread_counts):
    large = [s for s in shapes if s[1] >= 1000]
    small = [s for s in shapes if s[1] < 100]
    out.append("## Targets (from the issue), ISA %s as AUTO selects it" % isa)
    out.append("")
    header = "| target |" + "".join(" %dx%d |" % s for s in large + small)
    out.append(header)
    out.append("|---|" + "---:|" * (len(large) + len(small)))
    met = missed = 0
    for label, op, threads, minimum, kind, which in TARGETS:
        if threads not in thread_counts:
            continue
        cells = []
        for shape in large + small:
            applies = (which == LARGE and shape in large) or (which == SMALL and shape in small)
            key = ("f32", op, isa, shape[0], shape[1], threads)
            if not applies or key not in results:
                cells.append("")
                continue
            rate = results[key][0]
            if kind == "rate":
                value, shown = rate / 1e9, fmt_rate(rate)
            else:
                scalar = results.get(("f32", op, "scalar", shape[0], shape[1], threads))
                if not scalar:
                    cells.append("-")
                    continue
                value = rate / scalar[0]
                shown = "%.2f" % value
                if (float(shown) >= minimum) != (value >= minimum):
                    shown = "%.3f" % value  # two decimals would show the other side of the target
                shown += "x"
            ok = value >= minimum
            met += ok
            missed += not ok
            cells.append("%s %s" % (shown, "met" if ok else "MISSED"))
        out.append("| %s |%s" % (label, "".join(" %s |" % c for c in cells)))
    out.append("")
    out.append("%d met, %d missed." % (met, missed))
    out.append("")


def host_probe_summary(lines):
    """fastloss-host-probe lines (before and after the run) as one line."""
    found = [re.search(r"(\d+) threads [\d.]+ e9 op/s; scaling ([\d.]+)x", line) for line in lines]
    found = [m for m in found if m]
    if not found:
        return "not run"
    return ("a 2nd thread added %s to register-only arithmetic (before, after the run; "
            "bench/host-probe.c; about 2x when the host gives two free cores)" %
            " and ".join("%sx" % m.group(2) for m in found))


def main():
    parser = argparse.ArgumentParser(description="Formats fastloss-bench results.")
    parser.add_argument("fastloss_json")
    parser.add_argument("--torch", help="JSON from bench/peers/torch_xent.py")
    parser.add_argument("--peers-skipped", help="why the peer comparison did not run")
    parser.add_argument("--build-dir")
    parser.add_argument("--min-time", help="--benchmark_min_time used, for the method line")
    parser.add_argument("--seconds", help="wall time of the benchmark run, for the method line")
    parser.add_argument("--host-probe", action="append", default=[],
                        help="a fastloss-host-probe output line (before and after the run)")
    args = parser.parse_args()

    context, results, repetitions, errors, shares, others = load_fastloss(args.fastloss_json)
    peers, peer_name, peer_version = {}, "pytorch", None
    if args.torch:
        with open(args.torch) as f:
            peer = json.load(f)
        peer_version = peer["torch_version"]
        peer_name = "pytorch-" + ".".join(peer_version.split("+")[0].split(".")[:2])
        for r in peer["results"]:
            peers[(r["n"], r["m"], r["threads"])] = (r["logits_per_second"], r["seconds_per_call"])

    isas = context.get("fastloss_isas", "").split() or sorted({k[2] for k in results if k[2]})
    auto = context.get("fastloss_isa_auto", isas[-1] if isas else "scalar")
    thread_counts = sorted({k[5] for k in results})
    shapes = []
    for key in results:  # registration order, kept by the JSON and by dict
        if key[0] == "f32" and key[1] != "exp" and (key[3], key[4]) not in shapes:
            shapes.append((key[3], key[4]))
    f64_shapes = []
    for key in results:
        if key[0] == "f64" and (key[3], key[4]) not in f64_shapes:
            f64_shapes.append((key[3], key[4]))
    options = build_options(args.build_dir)

    out = ["# fastloss benchmark", ""]
    load = context.get("load_avg") or []
    info = [
        ("date", context.get("date", "unknown")),
        ("cpu", "%s, %s logical CPUs, %s MHz (Google Benchmark's estimate)" % (
            cpu_model(), context.get("num_cpus", "?"), context.get("mhz_per_cpu", "?"))),
        ("cpu features", context.get("fastloss_cpu_features", "unknown") +
         " (fastloss_cpu_features)"),
        ("ISAs benchmarked", " ".join(isas) + "; AUTO selects " + auto),
        ("fastloss", "%s, OpenMP %s (default %s threads)%s" % (
            context.get("fastloss_version", "?"), context.get("fastloss_openmp", "?"),
            context.get("fastloss_openmp_default_threads", "?"),
            ", meson buildtype=%s, exp=%s" % (options.get("buildtype"), options.get("exp"))
            if options else "")),
        ("load average", " ".join("%.2f" % x for x in load) +
         ("  (other work was running: expect noisy numbers, 2-thread ones most)"
          if load and load[0] >= 0.5 else "")),
        ("cpu share", "%s  (1-thread benchmarks: CPU time / wall time, median; below ~95%% "
                      "means other work took the CPU)" % (
                          "%.0f%%" % (100 * statistics.median(shares)) if shares else "-")),
        ("host probe", host_probe_summary(args.host_probe)),
        ("method", "median of %d repetition%s%s, wall-clock, items = n*m logits%s" % (
            repetitions, "" if repetitions == 1 else "s", " of >= %s s each" % args.min_time if args.min_time else "",
            "; run took %s s" % args.seconds if args.seconds else "")),
        ("bound", "the operation's compulsory traffic, timed in this run: memcpy of n*m floats "
                  "(fwd+bwd), read-sum of n*m floats (fwd); best of 1..t threads"),
    ]
    width = max(len(k) for k, _ in info)
    out.append("```")
    for key, value in info:
        out.append("%-*s  %s" % (width + 1, key + ":", value))
    out.append("```")
    out.append("")

    for op in ("fwdbwd", "fwd"):
        out.append("## f32 %s" % OPS[op][0])
        out.append("")
        for n, m in shapes:
            table(out, results, peers, "f32", op, n, m, isas, thread_counts, peer_name)
    for n, m in f64_shapes:
        out.append("## f64 fused forward+backward (reference)")
        out.append("")
        table(out, results, {}, "f64", "fwdbwd", n, m, isas, thread_counts, peer_name)

    exp_rows = [(isa, results[("f32", "exp", isa, 1, 4096, 1)]) for isa in isas
                 if ("f32", "exp", isa, 1, 4096, 1) in results]
    if exp_rows:
        out.append("## The exp ceiling")
        out.append("")
        out.append("Each ISA's exp alone (its vexpscale kernel on one L1-resident row of 4096 "
                   "floats, 1 thread): one exp per logit bounds every fused call.")
        out.append("")
        out.append("| ISA | e9 exp/s | best f32 fwd, 1 thread, e9 logits/s | fwd / exp |")
        out.append("|---|---:|---:|---:|")
        for isa, (rate, _) in exp_rows:
            fwd = [results[k][0] for k in results
                   if k[0] == "f32" and k[1] == "fwd" and k[2] == isa and k[5] == 1]
            best = max(fwd) if fwd else float("nan")
            out.append("| %s | %s | %s | %.0f%% |" % (isa, fmt_rate(rate), fmt_rate(best),
                                                      100.0 * best / rate))
        out.append("")

    if peer_version:
        out.append("Peer: torch.nn.functional.cross_entropy(reduction='sum') + torch.autograd.grad, "
                   "float32, torch %s, torch.set_num_threads(t)." % peer_version)
    else:
        out.append("Peer comparison skipped: %s" % (
            args.peers_skipped or "no PyTorch results given"))
    out.append("")

    targets_section(out, results, auto, shapes, thread_counts)
    others_section(out, others)
    for e in errors:
        out.append("error: " + e)
    print("\n".join(out).rstrip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
