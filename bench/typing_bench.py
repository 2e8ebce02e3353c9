#!/usr/bin/env python3
"""CPU seconds of typing (devicex.filetype.identify) over the leading 8 KiB of every file of a tree, for
several devicex trees in paired, interleaved rounds (each run a fresh process; medians printed).

    python3 bench/typing_bench.py TREE --src old=DIR [--src new=DIR] [--rounds 5] [--once]
    python3 bench/typing_bench.py TREE --check      # this tree's typing against the file command, every head

TREE: a folder of files (the bench tree: ``make_tree.py bench/work/tree/t --files 20000 --big-mb 256``).
``--src NAME=DIR``: a devicex source tree (``git archive COMMIT | tar -x -C DIR``); this tree is ``new``
unless given. ``--once``: also type each distinct head once (a cache keyed by the head's bytes).
Prints per run the CPU seconds, the load average, and how many heads went by each path. ``--check``: the
MIME type, category and description of every head against ``file -b --mime-type`` and ``file -b`` run on the
same bytes (each head written to a file of its own), differences listed.
"""
from __future__ import annotations

import argparse
import os
import pickle
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HEAD_SIZE = 8192
_CHILD = r"""
import pickle, sys, time
from devicex import filetype
heads = pickle.load(open(sys.argv[1], "rb"))
once = sys.argv[2] == "1"
seen = {}
t = time.process_time()
for ext, head in heads:
    if once:
        if head not in seen:
            seen[head] = filetype.identify(head, ext)
    else:
        filetype.identify(head, ext)
cpu = time.process_time() - t
prose = sum(1 for _, h in heads if getattr(filetype, "plain_prose", lambda b: False)(h))
print(f"{cpu:.3f} {prose}")
"""


def heads_of(tree: Path) -> list[tuple[str, bytes]]:
    heads = []
    for dirpath, dirs, names in os.walk(tree):
        dirs.sort()
        for name in sorted(names):
            with open(os.path.join(dirpath, name), "rb") as fh:
                head = fh.read(HEAD_SIZE)
            if head:
                dot = name.rfind(".")
                heads.append((name[dot + 1:].lower() if 0 < dot < len(name) - 1 else "", head))
    return heads


def run_one(src: Path, heads_file: Path, once: bool) -> tuple[float, int]:
    env = dict(os.environ, PYTHONPATH=str(src))
    out = subprocess.run([sys.executable, "-c", _CHILD, str(heads_file), "1" if once else "0"], env=env,
                         cwd=src, capture_output=True, text=True, check=True).stdout.split()
    return float(out[0]), int(out[1])


def check(heads: list[tuple[str, bytes]]) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from devicex.filetype import category_for, identify, plain_prose

    with tempfile.TemporaryDirectory() as tmp:
        names = []
        for n, (_, head) in enumerate(heads):
            names.append(os.path.join(tmp, f"{n:06d}"))
            Path(names[-1]).write_bytes(head)
        (Path(tmp) / "list").write_text("\n".join(names) + "\n")
        truth = [subprocess.run(["file", "-b", *opt, "-f", os.path.join(tmp, "list")], capture_output=True,
                                text=True, check=True).stdout.split("\n")[:-1] for opt in (["--mime-type"], [])]
    counts = dict.fromkeys(("MIME type", "category", "description", "plain prose"), 0)
    for (ext, head), mime, desc in zip(heads, truth[0], truth[1], strict=True):
        ours = identify(head, ext)
        counts["plain prose"] += plain_prose(head)
        for what, differs in (("MIME type", ours.mime != mime), ("description", ours.description != desc),
                              ("category", (ours.category, ours.mime.split("/")[0]) !=
                               (category_for(mime), mime.split("/")[0]))):
            if differs:
                counts[what] += 1
                print(f"{what} differs: {ours.mime} / {ours.description!r}  file: {mime} / {desc!r}")
    print(f"{len(heads)} heads ({counts.pop('plain prose')} plain prose); differences from file(1): "
          + ", ".join(f"{what} {n}" for what, n in counts.items()))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("tree", type=Path)
    ap.add_argument("--src", action="append", default=[], help="NAME=DIR: a devicex source tree")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--once", action="store_true", help="also measure each distinct head typed once")
    ap.add_argument("--check", action="store_true", help="compare this tree's typing with the file command")
    a = ap.parse_args()
    if a.check:
        check(heads_of(a.tree))
        return
    srcs = dict(s.split("=", 1) for s in a.src)
    srcs.setdefault("new", str(Path(__file__).resolve().parents[1]))
    heads = heads_of(a.tree)
    print(f"{len(heads)} heads, {len({h for _, h in heads})} distinct")
    variants = [(name, Path(d), False) for name, d in srcs.items()]
    variants += [(name + "+once", Path(d), True) for name, d in srcs.items()] if a.once else []
    cpu: dict[str, list[float]] = {v[0]: [] for v in variants}
    with tempfile.TemporaryDirectory() as tmp:
        heads_file = Path(tmp) / "heads.pkl"
        heads_file.write_bytes(pickle.dumps(heads))
        for r in range(a.rounds):
            for name, src, once in variants if r % 2 == 0 else variants[::-1]:
                seconds, prose = run_one(src, heads_file, once)
                cpu[name].append(seconds)
                print(f"round {r + 1} {name:12s} {seconds:7.2f} CPU-s  plain-prose heads {prose}  "
                      f"load {os.getloadavg()[0]:.2f}", flush=True)
    for name, values in cpu.items():
        print(f"median {name:12s} {statistics.median(values):7.2f} CPU-s  (min {min(values):.2f}, "
              f"max {max(values):.2f})")


if __name__ == "__main__":
    main()
