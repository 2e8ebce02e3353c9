#!/usr/bin/env python3
"""Where the wall time of one ``devicex extract`` goes: its phases, and how busy the cores are in each.

    python3 bench/timeline.py                                  # bench.ext4, --workers 2, warm
    python3 bench/timeline.py --image bench/work/bench.ntfs --rounds 3

The run is this tree's ``devicex extract`` in a child process (``--child``) that notes, on the monotonic clock,
when each phase begins: start-up (imports, case database, worker pool), the walk (every entry listed and
planned), the pass (the one sequential read of the media: content to the workers, media hashes), the drain
(the pass is over; the workers finish and the last results are written) and the close (re-verification's
verdict, parser summaries, custody log), then the exit. Meanwhile this process samples, every 50 ms, the CPU
of the whole machine (``/proc/stat``), of the main process (all its threads) and of its worker processes
(``/proc/PID/stat``). The table gives, per phase, its wall time, the cores busy on average (of ``os.cpu_count()``)
and the CPU-s of main and of the workers: a phase with fewer cores busy than the machine has is wall time no
faster code in the other processes can win back. Phase times are taken inside the run, so they do not include
the interpreter's own start (shown as "python start").
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORK = HERE / "work"
TICK = os.sysconf("SC_CLK_TCK")
PHASES = ["python start", "start-up", "walk", "pass", "drain", "close", "exit"]


def _child(marks: Path, argv: list[str]) -> None:
    """Run ``devicex extract argv`` here, writing each phase's start time to ``marks``."""
    sys.path.insert(0, str(ROOT))
    import pipelines.extract as extract
    import pipelines.oneread as oneread

    out = marks.open("w")

    def mark(name: str) -> None:
        out.write(f"{name} {time.monotonic()}\n")
        out.flush()

    def around(owner: object, attr: str, before: str, after: str | None = None) -> None:
        inner = getattr(owner, attr)

        def wrapped(*args: object, **kwargs: object) -> object:
            mark(before)
            try:
                return inner(*args, **kwargs)
            finally:
                if after:
                    mark(after)

        setattr(owner, attr, wrapped)

    around(oneread.OneRead, "_walk_all", "walk")
    around(oneread.OneRead, "_read_media", "pass", "drain")
    around(extract, "_close", "close")
    mark("start-up")
    from cli import main

    try:
        main(argv, standalone_mode=False)
    finally:
        mark("exit")


def _stat_busy() -> tuple[int, int]:
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    return sum(values), sum(values) - values[3] - values[4]


def _proc_cpu(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def run_once(image: Path, workers: int, reverify: str) -> dict[str, dict[str, float]]:
    """One run: each phase's wall seconds, cores busy and main/worker CPU-s."""
    work = Path(tempfile.mkdtemp(prefix="timeline-", dir=WORK))
    marks = work / "marks.txt"
    argv = ["extract", str(image), "-o", str(work / "out"), "--case", "C", "--exhibit", "E", "--examiner", "X",
            "--full-extraction-reason", "timeline", "--workers", str(workers), "--reverify", reverify, "-q"]
    subprocess.run(["sync"], check=True)
    t0 = time.monotonic()
    proc = subprocess.Popen([sys.executable, __file__, "--child", str(marks), "--", *argv], cwd=ROOT)
    samples: list[tuple[float, int, int, int, int]] = []  # time, machine total, machine busy, main, workers
    seen: dict[int, int] = {}
    while proc.poll() is None:
        total, busy = _stat_busy()
        for kid in _children(proc.pid):
            seen[kid] = max(seen.get(kid, 0), _proc_cpu(kid))
        samples.append((time.monotonic(), total, busy, _proc_cpu(proc.pid), sum(seen.values())))
        time.sleep(0.05)
    end = time.monotonic()
    if proc.returncode != 0:
        raise SystemExit(f"devicex extract exited {proc.returncode} on {image}")
    starts = {"python start": t0}
    for line in marks.read_text().splitlines():
        name, at = line.split()
        starts.setdefault(name, float(at))
    shutil.rmtree(work)
    return _phases(starts, end, samples)


def _phases(starts: dict[str, float], end: float,
            samples: list[tuple[float, int, int, int, int]]) -> dict[str, dict[str, float]]:
    order = [p for p in PHASES if p in starts]
    bounds = [(p, starts[p], starts[q]) for p, q in zip(order, order[1:], strict=False)]
    bounds.append(("exit", starts["exit"], end))
    cores = os.cpu_count() or 1
    table: dict[str, dict[str, float]] = {}
    for name, begin, stop in bounds:
        inside = [s for s in samples if begin <= s[0] <= stop]
        row = {"wall": stop - begin, "cores": 0.0, "main": 0.0, "workers": 0.0}
        if len(inside) >= 2:
            first, last = inside[0], inside[-1]
            ticks = last[1] - first[1]
            row["cores"] = cores * (last[2] - first[2]) / ticks if ticks else 0.0
            row["main"] = (last[3] - first[3]) / TICK
            row["workers"] = (last[4] - first[4]) / TICK
        table[name] = row
    return table


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        _child(Path(sys.argv[2]), sys.argv[4:])
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--image", type=Path, default=WORK / "bench.ext4")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--reverify", default="sha256")
    ap.add_argument("--rounds", type=int, default=1, help="runs; the table gives each figure's median")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()
    runs = []
    for i in range(args.rounds):
        if i:
            time.sleep(45)  # the output file system's inode allocator slows after 20,000 deletions
        runs.append(run_once(args.image, args.workers, args.reverify))
    names = [p for p in PHASES if all(p in r for r in runs)]
    print(f"{args.image}  --workers {args.workers} --reverify {args.reverify}  rounds {args.rounds}  "
          f"load {os.getloadavg()[0]:.2f}")
    print(f"{'phase':<14}{'wall s':>8}{'cores busy':>12}{'main CPU-s':>12}{'workers CPU-s':>15}")
    for name in names:
        med = {k: statistics.median(r[name][k] for r in runs) for k in ("wall", "cores", "main", "workers")}
        print(f"{name:<14}{med['wall']:8.2f}{med['cores']:12.2f}{med['main']:12.2f}{med['workers']:15.2f}")
    total = statistics.median(sum(r[n]["wall"] for n in names) for r in runs)
    print(f"{'total':<14}{total:8.2f}")
    if args.json:
        args.json.write_text(json.dumps({"image": str(args.image), "runs": runs}, indent=1))


if __name__ == "__main__":
    main()
