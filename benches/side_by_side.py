#!/usr/bin/env python3
"""einkern's `compare` bench next to its peers, interleaved, with ratios.

On a shared, noisy machine a table measured in three separate runs compares
three different machines. This script runs, for each workload in turn and
for several rounds, einkern's `compare`, the Rust peers and `peers.py`
(each with `--only <workload>`, and `--quick` unless `--full`; each round
starts with the next tool in turn), takes every peer's median over the
rounds, and prints the workload table with einkern's ratio to the best
peer: an allocating row against the best allocating peer, an `(into)` row
against the best `(into)` peer, as ../shared/bench/WORKLOADS.md defines it.

Usage (from the repository root, after `cargo bench --bench compare --no-run`
and a build of the Rust peers by ../shared/bench/rust-peers/run.sh):

    RAYON_NUM_THREADS=1 python3 benches/side_by_side.py [--rounds 3] [--full] [--only a,b]

`--quick` (the default here) times 3 calls per tool and round; `--full`
times the 7 of WORKLOADS.md's standard protocol, for every tool alike. With
3 calls, one slow call moves a round's median; with 7 it does not, at about
twice the time per round. The first call after the warm-up is often slow on
this machine: over 24 processes of attention scores, its median was 10%
above that of the calls after it.
"""

import argparse
import glob
import os
import re
import statistics
import subprocess
import sys
from collections import defaultdict

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(ROOT, "..", "shared", "bench")
PEERS_TARGET = os.environ.get("EINKERN_PEERS_TARGET", "/tmp/einkern-rust-peers-target")
GEMM_ROWS = {"matmul_f64_512", "matmul_f32_1024", "bmm_f32_64x64", "attn_scores_f32", "chain3_f64", "tensor4_f64"}
# Peers that do not do the workload's work (a view, or a copy that keeps the layout).
NOT_THE_SAME_WORK = {
    "transpose_f64_4096": lambda peer: peer != "numpy.copy(T)",
}


def compare_binary():
    found = sorted(glob.glob(os.path.join(ROOT, "target", "release", "deps", "compare-*")), key=os.path.getmtime)
    found = [f for f in found if os.access(f, os.X_OK) and not f.endswith(".d")]
    if not found:
        sys.exit("no compare binary: run `cargo bench --bench compare --no-run` first")
    return found[-1]


def workloads_table():
    """workload -> (target text, factor or None) from WORKLOADS.md."""
    rows = {}
    with open(os.path.join(SHARED, "WORKLOADS.md")) as f:
        for line in f:
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            # Five cells and a name: a workload row (the header is not one).
            if len(cells) == 5 and re.fullmatch(r"[A-Za-z0-9_]+", cells[0]) and cells[0] != "workload":
                m = re.search(r"≤\s*([0-9.]+)", cells[4])
                rows[cells[0]] = (cells[4], float(m.group(1)) if m else None)
    return rows


def is_into(peer):
    """Whether a peer writes into a preallocated output: `(into)`, or `into`
    among the tags of `name(tag,tag)`, e.g. `rust-loop(running-sum,into)`."""
    m = re.search(r"\(([^)]*)\)$", peer)
    return bool(m) and "into" in [t.strip() for t in m.group(1).split(",")]


def run(cmd):
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=dict(os.environ, RAYON_NUM_THREADS=os.environ.get("RAYON_NUM_THREADS", "1")))
    if out.returncode != 0:
        print(f"warning: {' '.join(cmd)} exited {out.returncode}: {out.stderr.strip()[-500:]}", file=sys.stderr)
    rows = []
    for line in out.stdout.splitlines():
        parts = line.split()
        if len(parts) == 4:
            try:
                rows.append((parts[0], parts[1], float(parts[2])))
            except ValueError:
                pass
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--only", default="")
    ap.add_argument("--full", action="store_true", help="7 timed calls per tool and round instead of 3")
    ap.add_argument("--no-python", action="store_true")
    ap.add_argument("--no-rust", action="store_true")
    args = ap.parse_args()
    table = workloads_table()
    names = [w for w in args.only.split(",") if w] or list(table) + ["stream_copy_f64_10M", "fill_fresh_f64_10M"]
    binary = compare_binary()
    times = defaultdict(list)
    quick = [] if args.full else ["--quick"]
    for round_no in range(args.rounds):
        for w in names:
            cmds = [[binary, *quick, "--only", w]]
            if not args.no_rust:
                default = os.path.join(PEERS_TARGET, "default", "release", "rust-peers")
                if os.path.exists(default):
                    cmds.append([default, *quick, "--only", w])
                avx512 = os.path.join(PEERS_TARGET, "default-avx512", "release", "rust-peers")
                if w in GEMM_ROWS and os.path.exists(avx512):
                    cmds.append([avx512, *quick, "--only", w, "--libs", "ndarray,matrixmultiply,gemm,ndarray-einsum"])
            if not args.no_python:
                cmds.append([sys.executable, os.path.join(SHARED, "peers.py"), *quick, "--only", w])
            # Each round starts with a different tool, so that whatever the
            # first process after another workload meets (the previous
            # tool's exit, a cold core) falls on every tool alike.
            shift = round_no % len(cmds)
            for cmd in cmds[shift:] + cmds[:shift]:
                for workload, peer, ms in run(cmd):
                    times[(workload, peer)].append(ms)
    print(f"{'workload':<24} {'einkern row':<18} {'ms':>9} {'best peer':<28} {'ms':>9} {'ratio':>6}  target")
    for w in names:
        ours = {p: statistics.median(t) for (wl, p), t in times.items() if wl == w and p.startswith("einkern")}
        peers = {p: statistics.median(t) for (wl, p), t in times.items() if wl == w and not p.startswith("einkern")}
        skip = NOT_THE_SAME_WORK.get(w, lambda p: False)
        peers = {p: t for p, t in peers.items() if not skip(p)}
        target = table.get(w, ("", None))[0]
        for mine, ms in sorted(ours.items()):
            into = is_into(mine)
            same = {p: t for p, t in peers.items() if is_into(p) == into}
            if same:
                best = min(same, key=same.get)
                print(f"{w:<24} {mine:<18} {ms:>9.3f} {best:<28} {same[best]:>9.3f} {ms / same[best]:>6.2f}  {target}")
            else:
                print(f"{w:<24} {mine:<18} {ms:>9.3f} {'-':<28} {'':>9} {'':>6}  {target}")


if __name__ == "__main__":
    main()
