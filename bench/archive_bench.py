#!/usr/bin/env python3
"""devicex on a tar and a tar.gz vs the same deliverable made with standard tools, in paired runs.

Build the archives first (bench/work/ is git-ignored)::

    bash bench/build_images.sh              # bench/work/tree/t: make_tree.py's 20,000 files (+256 MiB), seed 7
    python3 bench/archive_bench.py --build  # bench/work/bench.tar (GNU tar) and bench.tar.gz (gzip -n)

Then::

    python3 bench/archive_bench.py --runs 3            # both archives, 3 pairs each (tools first, then devicex)

The standard-tools deliverable (one shell script, ``STANDARD`` below): the archive hashed before and after
(``md5sum``, ``sha1sum``, ``sha256sum``), ``tar -xf`` / ``tar -xzf``, ``hashdeep -c md5,sha1,sha256 -r`` of
what was extracted, ``file`` MIME type and description of the first 8 KiB of every file (``file -P
bytes=8192``), ``exiftool`` on the pictures (JPEG/PNG). devicex: ``devicex extract ARCHIVE -o OUT
--workers 2 --full-extraction-reason bench -q`` (intake and re-verify hashes of the archive, one pass over
it -- one decompression for the tar.gz --, MD5+SHA-1+SHA-256, libmagic on the first 8 KiB, EXIF of every
picture, export of every file, the case database and custody log).

Wall time is taken around each command; CPU is user+sys of its whole process tree. Each run writes to a
fresh folder under bench/work/runs/ (deleted after the pair is measured), after ``sync``; the archive is
read once before each run so both start with it in the page cache.
"""
from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORK = HERE / "work"
REPO = HERE.parent
STANDARD = r"""
set -e
A="$1"; OUT="$2"; X="$3"
mkdir -p "$OUT/x"
md5sum "$A" > "$OUT/before.md5"; sha1sum "$A" > "$OUT/before.sha1"; sha256sum "$A" > "$OUT/before.sha256"
tar "$X" "$A" -C "$OUT/x"
hashdeep -c md5,sha1,sha256 -r "$OUT/x" > "$OUT/hashes.txt"
find "$OUT/x" -type f -print0 | xargs -0 -r file -P bytes=8192 -b --mime-type > "$OUT/mime.txt"
find "$OUT/x" -type f -print0 | xargs -0 -r file -P bytes=8192 -b > "$OUT/magic.txt"
exiftool -q -q -r -j -ext jpg -ext jpeg -ext png "$OUT/x" > "$OUT/exif.json" || true
md5sum "$A" > "$OUT/after.md5"; sha1sum "$A" > "$OUT/after.sha1"; sha256sum "$A" > "$OUT/after.sha256"
"""


def build() -> None:
    tree = WORK / "tree" / "t"
    if not tree.is_dir():
        sys.exit(f"{tree} missing: run bash bench/build_images.sh first")
    subprocess.run(["tar", "--sort=name", "-cf", WORK / "bench.tar", "-C", tree, "."], check=True)
    with open(WORK / "bench.tar.gz", "wb") as fh:
        subprocess.run(["gzip", "-n", "-c", WORK / "bench.tar"], check=True, stdout=fh)


def _measure(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    subprocess.run(["sync"], check=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _warm(path: Path) -> None:
    with open(path, "rb") as fh:
        while fh.read(8 << 20):
            pass


def pair(archive: Path, n: int) -> dict[str, tuple[float, float]]:
    runs = WORK / "runs"
    out: dict[str, tuple[float, float]] = {}
    std_out, dvx_out = runs / f"std-{archive.name}-{n}", runs / f"dvx-{archive.name}-{n}"
    for d in (std_out, dvx_out):
        shutil.rmtree(d, ignore_errors=True)
    flag = "-xzf" if archive.name.endswith(".gz") else "-xf"
    _warm(archive)
    out["tools"] = _measure(["bash", "-c", STANDARD, "std", str(archive), str(std_out), flag])
    _warm(archive)
    env = dict(os.environ, PYTHONPATH=str(REPO))
    out["devicex"] = _measure([sys.executable, "-m", "devicex", "extract", str(archive), "-o", str(dvx_out),
                               "--workers", "2", "--full-extraction-reason", "bench", "-q"], env=env)
    for d in (std_out, dvx_out):
        shutil.rmtree(d, ignore_errors=True)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", action="store_true", help="make bench/work/bench.tar and bench.tar.gz")
    ap.add_argument("--runs", type=int, default=3, help="pairs per archive")
    ap.add_argument("--archives", default="bench.tar,bench.tar.gz")
    args = ap.parse_args()
    if args.build:
        build()
        return 0
    print("archive        run  tools wall  devicex wall  ratio  (CPU s: tools / devicex)")
    for name in args.archives.split(","):
        archive = WORK / name
        walls: dict[str, list[float]] = {"tools": [], "devicex": []}
        for n in range(args.runs):
            got = pair(archive, n)
            for k, (wall, _) in got.items():
                walls[k].append(wall)
            t, d = got["tools"], got["devicex"]
            print(f"{name:<14} {n + 1:>3}  {t[0]:>9.1f}s  {d[0]:>11.1f}s  {d[0] / t[0]:>5.2f}  "
                  f"({t[1]:.1f} / {d[1]:.1f})", flush=True)
        mt, md = statistics.median(walls["tools"]), statistics.median(walls["devicex"])
        print(f"{name:<14} med  {mt:>9.1f}s  {md:>11.1f}s  {md / mt:>5.2f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
