#!/usr/bin/env python3
"""devicex benchmark: devicex vs The Sleuth Kit + hashdeep vs plaso vs the hash-bound floor.

Build the images first (bench/work/ is git-ignored; never commit images)::

    apt-get install -y sleuthkit hashdeep ntfs-3g e2fsprogs     # tsk_recover, hashdeep, mkntfs/ntfs-3g, mke2fs
    python3 -m venv bench/work/plaso-venv && bench/work/plaso-venv/bin/pip install plaso   # image_export
    bash bench/build_images.sh                 # bench.ntfs + bench.ext4 (~1.2 GiB each, make_tree seed 7)
    bash bench/build_images.sh memory          # mem.ext4 (one 2 GiB file inside)
    bash bench/build_images.sh scale           # scale-1x/10x.ext4, dir-10k/100k.ext4

Then::

    python3 bench/run_bench.py                              # compare on bench.ntfs, 3 rounds in alternation
    python3 bench/run_bench.py --image bench/work/bench.ext4 --runs 5
    python3 bench/run_bench.py --mode memory                # peak RSS: 1.2 GiB image vs 2 GiB-file image
    python3 bench/run_bench.py --mode scale                 # 1x vs 10x files; 10k vs 100k entries in one dir
    python3 bench/run_bench.py --mode determinism           # workers=1 vs workers=N, twice: identical rows

A run during which other processes used more than 10% of a core is measured again (up to twice; the
``[others N CPU-s]`` column shows what they took), since a colleague's test run on a 2-core machine skews every
figure. Each measured command runs as a child process tree; wall time is taken around it, CPU is user+sys of the
whole (waited-for) tree from ``wait4``, and peak RSS is the largest *sum* of RSS over the tree, sampled from
/proc every 50 ms (and never less than the largest single process's ``ru_maxrss``), and peak PSS the largest sum
of PSS (``smaps_rollup``: a page shared by several processes of the tree, such as the shared-memory hand-off ring
or what forked workers inherited, divided among them, so counted once in all). Before every run the
image is read once (so every tool starts with it in the page cache) and ``sync`` flushes the previous run's
writes. Every run writes to a fresh folder under ``bench/work/runs/``; nothing is deleted while measuring (see
``settle``: deleting 20,000 files slows the next run's file creation on ext4 for a minute or more), so the
disk needs room for all outputs of one invocation (about 1 GiB per run on bench.ntfs).

Tools measured (``--tools``):

* ``devicex[:CHOICE]``: this tree's ``devicex extract IMAGE -o OUT --workers N -q [--reverify CHOICE]`` (walk
  incl. deleted, MD5+SHA-1+SHA-256, libmagic, EXIF, export of every file, case database, intake hashes of the
  whole media from the same read, re-verification as CHOICE says);
* ``tsk``: ``tsk_recover -a IMAGE OUT`` then ``hashdeep -c md5,sha256 -r OUT`` (C tools, doing less);
* ``tskstd``: the same deliverable as devicex made with TSK and standard tools (``TSK_STANDARD``: image hashed
  before and after, ``fls -m``, ``tsk_recover -e``, ``hashdeep`` with three hashes, ``file``, ``exiftool``);
* ``plaso``: ``image_export --unattended -w OUT IMAGE`` from ``bench/work/plaso-venv`` (SHA-256 + dedup);
* ``floor``: read the image once, MD5 on one thread and SHA-1 + SHA-256 on another (``--floor IMAGE``).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import queue
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORK = HERE / "work"
PAGE = os.sysconf("SC_PAGE_SIZE")


# --------------------------------------------------------------------------- measuring a process tree
def _children_map() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(b")") + 2:].split()[1])
        kids.setdefault(ppid, []).append(int(name))
    return kids


def _tree_memory(root: int) -> tuple[int, int]:
    """(RSS, PSS) summed over the process tree, in bytes. The RSS sum counts a page shared by forked processes
    (the shared-memory ring, libraries, inherited heap) once per process; PSS shares it out between them."""
    kids = _children_map()
    rss = pss = 0
    todo = [root]
    while todo:
        pid = todo.pop()
        try:
            with open(f"/proc/{pid}/statm", "rb") as fh:
                rss += int(fh.read().split()[1]) * PAGE
            with open(f"/proc/{pid}/smaps_rollup", "rb") as fh:
                pss += next(int(line.split()[1]) << 10 for line in fh if line.startswith(b"Pss:"))
        except (OSError, IndexError, ValueError, StopIteration):
            pass
        todo.extend(kids.get(pid, ()))
    return rss, pss


def measure(cmd: list[str], *, env: dict[str, str] | None = None, log: Path | None = None,
            cgroups: tuple[Path, ...] = ()) -> dict[str, float]:
    """Run ``cmd`` (in the ``cgroups`` given); return wall seconds, CPU seconds (user+sys of the tree),
    peak RSS MiB (sum over tree)."""
    out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115
    busy0 = _machine_busy()
    self0 = resource.getrusage(resource.RUSAGE_SELF)

    def join_cgroup() -> None:
        for group in cgroups:
            (group / "cgroup.procs").write_text(str(os.getpid()))

    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, preexec_fn=join_cgroup)
    peak = peak_pss = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak, peak_pss
        while not done.is_set():
            rss, pss = _tree_memory(proc.pid)
            peak, peak_pss = max(peak, rss), max(peak_pss, pss)
            done.wait(0.05)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    _, status, ru = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    done.set()
    th.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if log:
        out.close()
    peak = max(peak, ru.ru_maxrss * 1024)
    self1 = resource.getrusage(resource.RUSAGE_SELF)
    mine = (ru.ru_utime + ru.ru_stime + self1.ru_utime + self1.ru_stime - self0.ru_utime - self0.ru_stime)
    others = max(0.0, _machine_busy() - busy0 - mine)  # CPU seconds other processes used meanwhile
    return {"wall": wall, "cpu": ru.ru_utime + ru.ru_stime, "user": ru.ru_utime, "sys": ru.ru_stime,
            "rss": peak / 2**20, "pss": peak_pss / 2**20, "rc": proc.returncode, "others_cpu": others}


def _machine_busy() -> float:
    """CPU seconds the whole machine has spent busy (not idle, not waiting on I/O) since boot."""
    with open("/proc/stat") as fh:
        vals = [int(v) for v in fh.readline().split()[1:]]
    return (sum(vals[:8]) - vals[3] - vals[4]) / os.sysconf("SC_CLK_TCK")


def _cpu_idle(seconds: float = 1.0) -> float:
    """Fraction of CPU time idle across the machine over ``seconds``."""
    def read() -> tuple[int, int]:
        with open("/proc/stat") as fh:
            vals = [int(v) for v in fh.readline().split()[1:]]
        return vals[3] + vals[4], sum(vals)
    i0, t0 = read()
    time.sleep(seconds)
    i1, t1 = read()
    return (i1 - i0) / max(1, t1 - t0)


QUIET_WAITED: list[float] = []
CONTENDED = 0.10  # a run during which others used more than 10% of one core (on average) is measured again
RETRIES = 2
SETTINGS: dict[str, float] = {"quiet_wait": 120.0, "retries": RETRIES}


def wait_quiet(threshold: float = 0.9) -> None:
    """Wait (up to ``--quiet-wait`` s) until the machine is >= ``threshold`` idle: other work on a 2-core
    machine (a colleague's test run) inflates every figure. Runs that never got a quiet machine are noted."""
    limit = SETTINGS["quiet_wait"]
    t0 = time.monotonic()
    while (idle := _cpu_idle()) < threshold:
        if time.monotonic() - t0 > limit:
            print(f"  (machine still busy: {100 * (1 - idle):.0f}% CPU used by others; measuring anyway)", flush=True)
            QUIET_WAITED.append(-1.0)
            return
    QUIET_WAITED.append(time.monotonic() - t0)


COLD: dict[str, Path] = {}  # "cgroup": the memory cgroup cold runs are made in (--cold); "disk", "device" (--disk)


def cold_cgroup(limit_mib: int) -> Path:
    """A cgroup v1 memory cgroup limited to ``limit_mib``: the page cache of a process in it (the image it
    reads, the files it writes) is charged to it, so the image cannot stay cached from one read to the next."""
    group = Path("/sys/fs/cgroup/memory") / f"devicex-bench-{os.getpid()}"
    group.mkdir(exist_ok=True)
    (group / "memory.limit_in_bytes").write_text(str(limit_mib << 20))
    return group


def slow_disk(image: Path, spec: str) -> Path:
    """The image behind a read-only loop device (``--direct-io``: the image file's own page cache is not used)
    whose reads are limited by a cgroup v1 blkio group to MB/s and, if given, requests/s (``spec`` "MBPS[,IOPS]"):
    the evidence on a disk-like device, the outputs on the machine's own disk."""
    mbps, _, iops = spec.partition(",")
    dev = Path(subprocess.run(["losetup", "-f", "--show", "-r", "--direct-io=on", str(image)], check=True,
                              capture_output=True, text=True).stdout.strip())
    rdev = dev.stat().st_rdev
    device = f"{os.major(rdev)}:{os.minor(rdev)}"
    group = Path("/sys/fs/cgroup/blkio") / f"devicex-bench-{os.getpid()}"
    group.mkdir(exist_ok=True)
    (group / "blkio.throttle.read_bps_device").write_text(f"{device} {int(float(mbps) * 1e6)}")
    if iops:
        (group / "blkio.throttle.read_iops_device").write_text(f"{device} {int(iops)}")
    COLD["disk"], COLD["device"] = group, dev
    return dev


def media_size(image: Path) -> int:
    with open(image, "rb") as fh:  # a block device's stat has no size
        return fh.seek(0, os.SEEK_END)


def drop(image: Path) -> None:
    """Flush, then drop the image from the page cache (posix_fadvise DONTNEED): the run reads it from disk."""
    subprocess.run(["sync"], check=False)
    fd = os.open(image, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def warm(image: Path) -> None:
    with open(image, "rb", buffering=0) as fh:
        buf = bytearray(8 << 20)
        while fh.readinto(buf):
            pass
    subprocess.run(["sync"], check=False)


# --------------------------------------------------------------------------- the hash-bound floor
def floor(image: Path, chunk: int = 4 << 20) -> None:
    """Read ``image`` once; MD5 on one thread, SHA-1 + SHA-256 on another (hashlib releases the GIL)."""
    md5, sha1, sha256 = hashlib.md5(), hashlib.sha1(), hashlib.sha256()
    queues = [queue.Queue(maxsize=8), queue.Queue(maxsize=8)]
    jobs = [(md5.update,), (sha1.update, sha256.update)]

    def worker(q: queue.Queue, fns: tuple) -> None:
        while (data := q.get()) is not None:
            for fn in fns:
                fn(data)

    threads = [threading.Thread(target=worker, args=(q, fns)) for q, fns in zip(queues, jobs, strict=False)]
    for t in threads:
        t.start()
    with open(image, "rb", buffering=0) as fh:
        while data := fh.read(chunk):
            for q in queues:
                q.put(data)
    for q in queues:
        q.put(None)
    for t in threads:
        t.join()
    print(md5.hexdigest(), sha1.hexdigest(), sha256.hexdigest(), image)


# --------------------------------------------------------------------------- tools
def devicex_bin() -> str:
    return shutil.which("devicex") or str(Path(sys.executable).with_name("devicex"))


SOURCES: dict[str, Path] = {}  # tool name "devicex@LABEL" -> a source tree to run devicex from (--src)


def devicex_cmd(tool: str) -> tuple[list[str], dict[str, str] | None]:
    """The devicex command for ``devicex`` (this tree) or ``devicex@LABEL`` (a --src tree); a ``:CHOICE`` suffix
    (``devicex:none``, ``devicex@old:all``) is the ``--reverify`` choice, added by :func:`tool_cmd`."""
    base = tool.split(":", 1)[0]
    src = SOURCES[base.split("@", 1)[1]] if "@" in base else HERE.parent
    env = dict(os.environ, PYTHONPATH=str(src))
    # -P: the current directory (a devicex checkout, perhaps) must not shadow PYTHONPATH
    return [sys.executable, "-P", "-c", "import sys; from cli import main; sys.argv[0] = 'devicex'; main()"], env


def tool_cmd(tool: str, image: Path, out: Path, workers: int) -> list[str]:
    if tool.startswith("devicex"):
        reverify = ["--reverify", tool.split(":", 1)[1]] if ":" in tool else []
        return [*devicex_cmd(tool)[0], "extract", str(image), "-o", str(out), "--workers", str(workers), "-q",
                *full_extraction_args(tool.split(":", 1)[0]), *reverify]
    if tool == "tskstd":
        return ["bash", "-c", TSK_STANDARD, "tskstd", str(image), str(out)]
    if tool == "tsk":
        script = (f"tsk_recover -a {sh(image)} {sh(out)} >/dev/null && "
                  f"hashdeep -c md5,sha256 -r {sh(out)} > {sh(out)}.hashdeep.txt")
        return ["bash", "-c", script]
    if tool == "plaso":
        exe = WORK / "plaso-venv" / "bin" / "image_export"
        if not exe.exists():
            exe = WORK / "plaso-venv" / "bin" / "image_export.py"
        return [str(exe), "--unattended", "-q", "--logfile", f"{out}.log.gz", "-w", str(out), str(image)]
    if tool == "floor":
        return [sys.executable, str(Path(__file__).resolve()), "--floor", str(image)]
    raise SystemExit(f"unknown tool {tool}")


# The deliverable devicex makes, made with The Sleuth Kit and standard tools: the image hashed before and after
# (three hashes), the file-system timeline body (fls -m), every allocated file recovered, its three hashes,
# file(1) MIME type and description of its first 8 KiB, exiftool on the pictures.
TSK_STANDARD = r"""
set -e
I="$1"; OUT="$2"
mkdir -p "$OUT/x"
md5sum "$I" > "$OUT/before.md5"; sha1sum "$I" > "$OUT/before.sha1"; sha256sum "$I" > "$OUT/before.sha256"
fls -r -m / "$I" > "$OUT/body.txt"
tsk_recover -e "$I" "$OUT/x" > /dev/null
hashdeep -c md5,sha1,sha256 -r "$OUT/x" > "$OUT/hashes.txt"
find "$OUT/x" -type f -print0 | xargs -0 -r file -P bytes=8192 -b --mime-type > "$OUT/mime.txt"
find "$OUT/x" -type f -print0 | xargs -0 -r file -P bytes=8192 -b > "$OUT/magic.txt"
exiftool -q -q -r -j -ext jpg -ext jpeg -ext png "$OUT/x" > "$OUT/exif.json" || true
md5sum "$I" > "$OUT/after.md5"; sha1sum "$I" > "$OUT/after.sha1"; sha256sum "$I" > "$OUT/after.sha256"
"""

_FULL_ARGS: dict[str, list[str]] = {}


def full_extraction_args(tool: str = "devicex") -> list[str]:
    """``--full-extraction-reason`` when this devicex asks for one (a full extraction needs a reason)."""
    if tool not in _FULL_ARGS:
        cmd, env = devicex_cmd(tool)
        help_text = subprocess.run([*cmd, "extract", "--help"], capture_output=True, text=True, env=env,
                                   check=False).stdout
        _FULL_ARGS[tool] = (["--full-extraction-reason", "benchmark of the full pipeline on a synthetic image"]
                            if "--full-extraction-reason" in help_text else [])
    return _FULL_ARGS[tool]


def sh(p: Path | str) -> str:
    return "'" + str(p).replace("'", "'\\''") + "'"


def tool_available(tool: str) -> str | None:
    """None if runnable, else why not."""
    if tool in ("tsk", "tskstd"):
        need = ("tsk_recover", "hashdeep") + (("fls", "file", "exiftool", "sha1sum") if tool == "tskstd" else ())
        missing = [t for t in need if not shutil.which(t)]
        return f"missing {', '.join(missing)} (apt-get install sleuthkit hashdeep)" if missing else None
    if tool == "plaso":
        venv = WORK / "plaso-venv" / "bin"
        if not (venv / "image_export").exists() and not (venv / "image_export.py").exists():
            note = WORK / "plaso-install.log"
            why = ""
            if note.exists():
                lines = [ln for ln in note.read_text(errors="replace").splitlines() if ln.strip()]
                why = " | ".join(lines[-3:])
            return f"plaso's image_export not installed in {venv.parent} {why}".strip()
    return None


def clean(out: Path) -> None:
    shutil.rmtree(out, ignore_errors=True)
    for extra in out.parent.glob(out.name + ".*"):
        extra.unlink()


# Outputs are never deleted while anything is being measured. Deleting the previous run's 20,000 files right
# before the next run made that run pay for it: ext4 skips recently deleted inodes when it allocates new ones
# (``recently_deleted``: inodes freed within the last 60 s, 360 s while their table block is dirty), and
# checking them took 58% of the CPU samples of a tsk_recover run right after such a delete (perf: kernel
# ``recently_deleted``, ``find_get_block_common``, ``ext4_get_group_desc``, ``find_inode_bit``): tsk+hashdeep
# 5.5 s vs 16-17 s, devicex sys time 2.9 s vs 12 s. So each run writes to a fresh folder under RUNS, which is
# emptied before measuring starts (then the recency window is waited out) and after it ends.
RUNS = WORK / "runs"
OUT_FS: dict[str, Path] = {}  # --out-fs: the loop-mounted output file system and its image
RECENTLY_DELETED = 61.0  # seconds: ext4's RECENTCY_MIN (60) plus a margin; sync first so blocks are not dirty
_run_seq = [0]


def settle() -> None:
    """Delete earlier runs' outputs, flush, and wait until ext4 no longer counts them as recently deleted."""
    had = RUNS.exists() and any(RUNS.iterdir())
    shutil.rmtree(RUNS, ignore_errors=True)
    RUNS.mkdir(parents=True, exist_ok=True)
    subprocess.run(["sync"], check=False)
    if had:
        print(f"  (deleted earlier outputs; waiting {RECENTLY_DELETED:.0f} s so that no measured run pays "
              f"for their inodes)", flush=True)
        time.sleep(RECENTLY_DELETED)


def output_fs(gib: int) -> None:
    """The runs' outputs on a fresh journaled ext4 of ``gib`` GiB (a sparse file in WORK, loop-mounted): the file
    system an examiner's output disk has. The machine's own disk has no journal (``/proc/fs/jbd2`` lists none),
    and ext4 without a journal checks every inode freed in the last minutes before it reuses one, so every
    tool's system time moved from round to round with what earlier runs had written and deleted."""
    global RUNS
    image, mount = WORK / "outfs.img", WORK / "outfs"
    image.unlink(missing_ok=True)
    with open(image, "wb") as fh:
        fh.truncate(gib << 30)
    subprocess.run(["mkfs.ext4", "-q", "-F", "-O", "has_journal", str(image)], check=True)
    mount.mkdir(exist_ok=True)
    subprocess.run(["mount", "-o", "loop", str(image), str(mount)], check=True)
    OUT_FS["image"], OUT_FS["mount"] = image, mount
    RUNS = mount / "runs"


def drop_output_fs() -> None:
    if "mount" in OUT_FS:
        subprocess.run(["umount", str(OUT_FS["mount"])], check=False)
        OUT_FS["mount"].rmdir()
        OUT_FS["image"].unlink(missing_ok=True)


def fresh_out(tool: str) -> Path:
    _run_seq[0] += 1
    return RUNS / f"{_run_seq[0]:03d}-{tool.replace('@', '-')}"


def prepare(image: Path) -> None:
    """Warm runs: the image read once, into the page cache; cold runs: dropped from it."""
    if "cgroup" in COLD:
        drop(image)
    else:
        warm(image)


def read_ratio(stats: Path) -> float | None:
    """Bytes devicex read from the media per media byte (its DEVICEX_STATS summary), if it wrote one."""
    try:
        data = json.loads(stats.read_text())
    except (OSError, ValueError):
        return None
    return data["media_bytes_read"] / data["media_size"] if data.get("media_size") else None


def run_one(tool: str, image: Path, workers: int, log: Path | None = None) -> dict[str, float]:
    out = fresh_out(tool)
    out.parent.mkdir(parents=True, exist_ok=True)
    prepare(image)
    wait_quiet()
    env = devicex_cmd(tool)[1] if tool.startswith("devicex") else None
    retries = int(SETTINGS["retries"])
    for attempt in range(1 + retries):
        if env is not None:
            env["DEVICEX_STATS"] = f"{out}.stats.json"
        r = measure(tool_cmd(tool, image, out, workers), env=env, log=log or WORK / f"log-{tool}.txt",
                    cgroups=tuple(COLD[k] for k in ("cgroup", "disk") if k in COLD))
        if env is not None:
            r["read_ratio"] = read_ratio(Path(f"{out}.stats.json"))
        if r["others_cpu"] <= CONTENDED * r["wall"] or attempt == retries:
            break
        print(f"  ({tool}: other processes used {r['others_cpu']:.1f} CPU-s during the run: contended, "
              f"run again)", flush=True)
        out = fresh_out(tool)
        prepare(image)
        wait_quiet()
    if r["rc"] != 0:
        print(f"  ! {tool} exited {r['rc']} (see {log or WORK / f'log-{tool}.txt'})", flush=True)
    return r


def median(rows: list[dict[str, float]], key: str) -> float:
    return statistics.median(r[key] for r in rows)


def compare(args: argparse.Namespace) -> dict:
    image = Path(args.image)
    tools = []
    for t in args.tools.split(","):
        why = tool_available(t)
        if why:
            print(f"skipping {t}: {why}")
        else:
            tools.append(t)
    disk = f", reads of the image limited to {args.disk} (MB/s[,requests/s])" if args.disk else ""
    print(f"image {image} ({media_size(image) / 2**30:.2f} GiB), {args.runs} rounds, tools {tools}, "
          f"devicex --workers {args.workers}, " + (f"COLD (page cache dropped, cgroup memory limit {args.cold} MiB"
                                                   f"{disk})" if args.cold else "warm (image in the page cache)"),
          flush=True)
    results: dict[str, list[dict[str, float]]] = {t: [] for t in tools}
    for rnd in range(args.runs):
        order = tools if rnd % 2 == 0 else list(reversed(tools))  # alternate and reverse: no tool always first
        for t in order:
            r = run_one(t, image, args.workers)
            results[t].append(r)
            ratio = f"  read {r['read_ratio']:.3f}x" if r.get("read_ratio") else ""
            print(f"  round {rnd + 1} {t:14s} wall {r['wall']:7.2f} s  cpu {r['cpu']:7.2f} s "
                  f"(user {r['user']:.2f}, sys {r['sys']:.2f})  peak RSS {r['rss']:7.1f} MiB (PSS {r['pss']:.1f})  "
                  f"[others {r['others_cpu']:.1f} CPU-s, load {os.getloadavg()[0]:.1f}]{ratio}", flush=True)
    print(f"\n{'tool':16s} {'median wall s':>14s} {'median CPU s':>13s} {'median peak RSS MiB':>20s}")
    for t in tools:
        rows = results[t]
        ratios_read = [r["read_ratio"] for r in rows if r.get("read_ratio")]
        read = f"  media bytes read per media byte {statistics.median(ratios_read):.3f}" if ratios_read else ""
        print(f"{t:16s} {median(rows, 'wall'):14.2f} {median(rows, 'cpu'):13.2f} {median(rows, 'rss'):20.1f}{read}")
    ratios = {}
    targets = ({"tsk": 1.0, "plaso": 0.5} if "cgroup" in COLD else {"tskstd": 0.25, "plaso": 0.7})
    targets |= {k: v for k, v in {"tsk": None, "tskstd": None, "floor": None}.items() if k not in targets}
    for dx in [t for t in tools if t.startswith("devicex")]:
        print()
        for other, target in targets.items():
            if other not in results:
                continue
            paired = [d["wall"] / o["wall"] for d, o in zip(results[dx], results[other], strict=False)]
            of_medians = median(results[dx], "wall") / median(results[other], "wall")
            ratios[f"{dx}/{other}"] = {"median_of_paired": statistics.median(paired), "of_medians": of_medians,
                                       "target": target}
            ok = "" if target is None else f"target <= {target}  " + ("MET" if of_medians <= target else "NOT MET")
            print(f"{dx}/{other:6s} wall: {of_medians:5.2f} (ratio of medians), "
                  f"{statistics.median(paired):5.2f} (median of paired rounds)  {ok}")
    return {"image": str(image), "results": results, "ratios": ratios}


def memory(args: argparse.Namespace) -> dict:
    images = [Path(p) for p in (args.images or [WORK / "bench.ntfs", WORK / "bench.ext4", WORK / "mem.ext4"])]
    out = {}
    print(f"devicex peak RSS (sum over the process tree), --workers {args.workers}, {args.runs} runs each")
    for image in images:
        if not image.exists():
            print(f"  {image}: missing (bash bench/build_images.sh memory)")
            continue
        rows = [run_one("devicex", image, args.workers) for _ in range(args.runs)]
        out[str(image)] = rows
        print(f"  {image.name:14s} {image.stat().st_size / 2**30:5.2f} GiB  peak RSS median "
              f"{median(rows, 'rss'):6.1f} MiB  max {max(r['rss'] for r in rows):6.1f} MiB  "
              f"(PSS median {median(rows, 'pss'):6.1f}, max {max(r['pss'] for r in rows):6.1f} MiB)  "
              f"wall {median(rows, 'wall'):6.2f} s", flush=True)
    return out


def walk_only(image: Path) -> float:
    """Seconds to walk every file system of ``image`` with devicex's walker (no content read)."""
    code = ("import sys,time\nfrom devicex.sources import open_source\nfrom devicex.sources.volumes import discover\n"
            "from devicex.sources.walk import walk\nsrc=open_source(sys.argv[1]);t=time.perf_counter();n=0\n"
            "for fs in discover(src).filesystems:\n for e,_ in walk(fs, src.label): n+=1\n"
            "print(time.perf_counter()-t, n)")
    res = subprocess.run([sys.executable, "-c", code, str(image)], capture_output=True, text=True, check=True)
    secs, _ = res.stdout.split()
    return float(secs)


def scale(args: argparse.Namespace) -> dict:
    out = {}
    pairs = [("files", WORK / "scale-1x.ext4", WORK / "scale-10x.ext4", 10.5),
             ("one directory", WORK / "dir-10k.ext4", WORK / "dir-100k.ext4", 10.5)]
    for label, small, big, target in pairs:
        if not small.exists() or not big.exists():
            print(f"{label}: images missing (bash bench/build_images.sh scale)")
            continue
        rs, rb, ws, wb = [], [], [], []
        for _ in range(args.runs):
            rs.append(run_one("devicex", small, args.workers))
            rb.append(run_one("devicex", big, args.workers))
            ws.append(walk_only(small))
            wb.append(walk_only(big))
        ratio = median(rb, "wall") / median(rs, "wall")
        wratio = statistics.median(wb) / statistics.median(ws)
        out[label] = {"small": rs, "big": rb, "walk_small": ws, "walk_big": wb, "ratio": ratio, "walk_ratio": wratio}
        print(f"{label}: {small.name} {median(rs, 'wall'):.2f} s (RSS {median(rs, 'rss'):.0f} MiB) -> "
              f"{big.name} {median(rb, 'wall'):.2f} s (RSS {median(rb, 'rss'):.0f} MiB): x{ratio:.2f} "
              f"(target <= {target}: {'MET' if ratio <= target else 'NOT MET'}); walk only "
              f"{statistics.median(ws):.3f} s -> {statistics.median(wb):.3f} s: x{wratio:.2f}", flush=True)
    return out


def determinism(args: argparse.Namespace) -> dict:
    image = Path(args.image)
    query = "SELECT path, stream, address, md5, sha1, sha256 FROM files ORDER BY id"
    dumps = {}
    for label, workers in (("w1-a", 1), ("w1-b", 1), (f"w{args.workers}-a", args.workers),
                           (f"w{args.workers}-b", args.workers)):
        out = fresh_out(f"det-{label}")
        r = measure(tool_cmd("devicex", image, out, workers))
        conn = sqlite3.connect(out / "data" / "case.db")
        rows = conn.execute(query).fetchall()
        conn.close()
        exports = sorted(str(p.relative_to(out)) for p in (out / "data" / "files").rglob("*"))
        dumps[label] = hashlib.sha256(json.dumps([rows, exports]).encode()).hexdigest()
        print(f"  {label}: {len(rows)} rows, {len(exports)} export paths, wall {r['wall']:.2f} s, "
              f"digest {dumps[label][:16]}", flush=True)
    same = len(set(dumps.values())) == 1
    print("deterministic: " + ("yes, all identical" if same else "NO, outputs differ"))
    return {"digests": dumps, "identical": same}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mode", choices=["compare", "memory", "scale", "determinism"], default="compare")
    ap.add_argument("--image", default=str(WORK / "bench.ntfs"))
    ap.add_argument("--images", nargs="*", help="memory mode: images to measure")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--tools", default="devicex,tsk,plaso,floor")
    ap.add_argument("--json", help="write the raw measurements here")
    ap.add_argument("--src", action="append", default=[], metavar="LABEL=DIR",
                    help="also run devicex from source tree DIR as tool devicex@LABEL (e.g. a `git archive` of an "
                         "older commit, for before/after runs in alternation); add devicex@LABEL to --tools")
    ap.add_argument("--cold", type=int, metavar="MIB", nargs="?", const=512,
                    help="cold runs: the image dropped from the page cache (posix_fadvise DONTNEED) before each run "
                         "and every tool run in a cgroup v1 memory cgroup limited to MIB (default 512)")
    ap.add_argument("--disk", metavar="MBPS[,IOPS]",
                    help="with --cold: every tool reads the image through a read-only loop device whose reads are "
                         "limited to MBPS MB/s (and IOPS requests/s): the image on a disk-like device (the machine's "
                         "virtual disk is cached by its host, so plain cold runs read at memory speed)")
    ap.add_argument("--quiet-wait", type=float, default=120.0, metavar="S",
                    help="wait up to S seconds for a quiet machine before each run (default 120)")
    ap.add_argument("--retries", type=int, default=RETRIES,
                    help=f"measure a contended run again up to this many times (default {RETRIES})")
    ap.add_argument("--out-fs", type=int, metavar="GIB",
                    help="write every run's output to a fresh journaled ext4 of GIB GiB, loop-mounted for the "
                         "measurements (root; a sparse file in bench/work), instead of the machine's own disk")
    ap.add_argument("--floor", metavar="IMAGE", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.floor:
        floor(Path(args.floor))
        return
    if args.cold:
        COLD["cgroup"] = cold_cgroup(args.cold)
    if args.disk:
        if not args.cold:
            raise SystemExit("--disk needs --cold")
        args.image = str(slow_disk(Path(args.image), args.disk))
    SETTINGS["quiet_wait"], SETTINGS["retries"] = args.quiet_wait, args.retries
    for spec in args.src:
        label, _, path = spec.partition("=")
        SOURCES[label] = Path(path).resolve()
    WORK.mkdir(exist_ok=True)
    if args.out_fs:
        output_fs(args.out_fs)
    settle()
    try:
        result = {"compare": compare, "memory": memory, "scale": scale, "determinism": determinism}[args.mode](args)
    finally:
        shutil.rmtree(RUNS, ignore_errors=True)  # after the last measurement
        drop_output_fs()
        if "cgroup" in COLD:
            COLD["cgroup"].rmdir()
        if "disk" in COLD:
            subprocess.run(["losetup", "-d", str(COLD["device"])], check=False)
            COLD["disk"].rmdir()
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1, default=str))


if __name__ == "__main__":
    main()
