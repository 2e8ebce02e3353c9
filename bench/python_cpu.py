#!/usr/bin/env python3
"""Python CPU per entry of ``devicex extract``: CPU spent executing Python, apart from the C work it drives.

    python3 bench/python_cpu.py                                   # bench.ext4, --workers 2
    python3 bench/python_cpu.py --image bench/work/bench.ntfs --freq 499
    python3 bench/python_cpu.py --src old=OLD_TREE --src new=. --rounds 3   # paired, in alternation, medians

(OLD_TREE: ``git archive COMMIT | tar -x -C OLD_TREE``.) The glibc regex functions below are charged to
libmagic by name (nothing else in these processes uses glibc's regex engine) because their callers are
often not unwound.

The run is sampled by ``perf record`` (every process and thread of the run, ``cpu-clock`` at ``--freq`` Hz,
DWARF call chains) and each sample is charged by the shared object it ran in:

* the interpreter: ``libpython``, the ``python`` executable and the standard library's C modules
  (``lib-dynload``: pickle, sqlite3 and ctypes glue, struct, select ...) -- **Python CPU**;
* the C libraries doing the mandated work: OpenSSL (``libcrypto``: MD5/SHA-1/SHA-256), libmagic, TSK
  (``pytsk3``), SQLite, zlib, Pillow;
* the kernel, by what it was doing (file writes, reads, pipes, page faults, other system calls).

A sample in the C runtime (glibc's ``memcpy``, ``malloc``, regex ...) is charged to the first caller up its
call chain that is not the runtime (glibc's regex engine under libmagic counts as libmagic, a ``memcpy`` of
bytes objects as Python); with no such caller in the unwound chain it is listed as the runtime's own
(an upper bound of what the Python figure may miss).
The sampled total is checked against the run's CPU from ``wait4`` (user+sys of the whole process tree,
measured around the same run by a small parent that perf follows).
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORK = HERE / "work"
# the C runtime, and what an unwinder that lost its way names as a caller
RUNTIME = re.compile(r"/(libc|libm|libpthread|ld-linux[^/]*|libgcc_s|libstdc\+\+)[.-][^/]*$|"
                     r"^\[(vdso|unknown|heap|stack)\]$|^anon$|^//anon$")
LIBRARIES = [  # (category, pattern on the shared object's path), first match wins
    ("Python", re.compile(r"libpython3|/python3(\.\d+)?$|/lib-dynload/")),
    ("OpenSSL (hashing)", re.compile(r"libcrypto")),
    ("libmagic", re.compile(r"libmagic")),
    ("TSK (pytsk3)", re.compile(r"pytsk3|libtsk")),
    ("SQLite", re.compile(r"libsqlite3")),
    ("zlib", re.compile(r"libz\.")),
    ("Pillow", re.compile(r"/PIL/")),
]
# glibc functions only libmagic calls in these processes (Python's re and str formatting are its own): the
# regex engine (libmagic's text rules), memmem (its searches), ctype lookups and printf (its descriptions)
GLIBC_UNDER_LIBMAGIC = re.compile(
    r"(re_|check_|transit_state|bitset_|match_ctx|acquire_init_state|acquire_state|build_|calc_|create_cd|"
    r"preorder|postorder|parse_|peek_token|fetch_token|free_token|free_dfa|done_add|duplicate_node|optimize_|"
    r"lower_subexp|link_nfa|expand_|sift_|update_regs|get_subexp|search_cur|merge_state|prune_impossible|"
    r"set_regs|proceed_next|init_dfa|register_state|regexec|__regexec|__GI___regcomp|__regcomp|__ctype_b_loc|"
    r"__GI___memmem|__memmem|memmem|__vfprintf|vfprintf|__vasprintf|vasprintf|__printf_fp|_IO_)")
SYSCALL_WRAPPERS = re.compile(r"ftruncate|fstatat|utimensat|__brk|mremap|getdents|futex|lll_|openat|__close|"
                              r"__libc_write|__libc_read|pread|rename|mkdir|unlink|lseek|mmap|munmap|madvise|"
                              r"tcgetattr|__GI___write|__GI___read|_pthread_|clone")
KERNEL = [  # (what the kernel was doing, function names in its call chain), first match wins
    ("pipes (hand-off between processes)", ("pipe_write", "pipe_read", "anon_pipe")),
    ("page faults and memory mapping", ("exc_page_fault", "do_user_addr_fault", "__x64_sys_munmap",
                                        "__x64_sys_mmap", "__x64_sys_brk", "__x64_sys_madvise")),
    ("file writes, creation, renames", ("vfs_write", "ext4_file_write", "do_sys_openat2", "__x64_sys_rename",
                                        "__x64_sys_renameat2", "__x64_sys_utimensat", "__x64_sys_mkdir",
                                        "__x64_sys_unlink", "__x64_sys_ftruncate", "__x64_sys_fsync",
                                        "__x64_sys_fdatasync", "do_renameat2", "__x64_sys_lseek")),
    ("file reads", ("vfs_read", "filemap_read", "__x64_sys_pread64", "__x64_sys_read")),
    ("process and thread scheduling", ("schedule", "futex", "__x64_sys_clone", "__x64_sys_wait4",
                                       "__x64_sys_exit", "do_exit", "exec")),
]


def _category(frames: list[tuple[str, str]]) -> str:
    """A sample's category from its frames (symbol, shared object), leaf first."""
    if frames and frames[0][1] == "[kernel.kallsyms]":
        syms = [sym for sym, dso in frames if dso == "[kernel.kallsyms]"]
        for what, keys in KERNEL:
            if any(key in sym for sym in syms for key in keys):
                return f"kernel: {what}"
        return "kernel: other"
    for _sym, dso in frames:
        if dso == "inlined" or RUNTIME.search(dso):
            continue
        for name, pattern in LIBRARIES:
            if pattern.search(dso):
                return name
        return f"other: {Path(dso).name}"
    leaf = frames[0][0] if frames else ""
    if GLIBC_UNDER_LIBMAGIC.match(leaf):
        return "libmagic"
    if SYSCALL_WRAPPERS.search(leaf):
        return "C runtime: system call wrappers"
    return "C runtime: memcpy, malloc ... (caller not unwound)"


def _samples(data: Path) -> collections.abc.Iterator[tuple[int, int, list[tuple[str, str]]]]:
    """(pid, period in ns, frames) of every sample in a perf.data file."""
    proc = subprocess.Popen(["perf", "script", "-i", str(data), "-F", "pid,period,ip,sym,dso"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, errors="replace")
    assert proc.stdout is not None
    head: tuple[int, int] | None = None
    frames: list[tuple[str, str]] = []
    frame = re.compile(r"^\s+[0-9a-f]+ (.*) \((.*)\)$")
    for line in proc.stdout:
        if not line.strip():
            if head is not None:
                yield head[0], head[1], frames
            head, frames = None, []
        elif not line.startswith("\t"):  # a sample's head (the pid right-aligned), then its frames
            parts = line.split()
            head = (int(parts[0].split("/")[0]), int(parts[1]))
        elif (m := frame.match(line.rstrip("\n"))) is not None:
            frames.append((m.group(1), m.group(2)))
    if head is not None:
        yield head[0], head[1], frames
    proc.wait()


def _leaf(frames: list[tuple[str, str]]) -> str:
    """The function a sample ran in, and its caller outside the C runtime (where that was unwound)."""
    if not frames:
        return "?"
    leaf = f"{frames[0][0]} ({Path(frames[0][1]).name})"
    caller = next((f"{sym} ({Path(dso).name})" for sym, dso in frames[1:]
                   if dso != "inlined" and not RUNTIME.search(dso)), None)
    return f"{leaf} <- {caller}" if caller and caller != leaf else leaf


def child(rusage_file: Path, cmd: list[str]) -> int:
    """Run ``cmd`` and write the CPU of its whole (waited-for) process tree, as wait4 reports it."""
    start = time.monotonic()
    proc = subprocess.Popen(cmd)
    _, status, usage = os.wait4(proc.pid, 0)
    rusage_file.write_text(json.dumps({"cpu": usage.ru_utime + usage.ru_stime, "user": usage.ru_utime,
                                       "sys": usage.ru_stime, "wall": time.monotonic() - start,
                                       "minflt": usage.ru_minflt, "pid": proc.pid, "parent": os.getpid(),
                                       "rc": os.waitstatus_to_exitcode(status)}))
    return 0


def _devicex(src: Path, image: Path, out: Path, workers: int, reverify: str) -> tuple[list[str], dict[str, str]]:
    env = dict(os.environ, PYTHONPATH=str(src))
    help_text = subprocess.run([sys.executable, "-m", "devicex", "extract", "--help"], capture_output=True,
                               text=True, env=env, cwd=src).stdout
    reason = (["--full-extraction-reason", "benchmark of the full pipeline on a synthetic image"]
              if "--full-extraction-reason" in help_text else [])
    cmd = [sys.executable, "-m", "devicex", "extract", str(image), "-o", str(out), "--workers", str(workers),
           "-q", "--reverify", reverify, *reason]
    return cmd, env


def record(args: argparse.Namespace) -> Path:
    """Run devicex under perf; the run's folder (its perf.data and wait4 figures beside it)."""
    image, src = args.image.resolve(), args.tree.resolve()
    out = WORK / "runs" / f"pycpu-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(image, "rb") as fh:  # the image in the page cache, as for every warm run
        while fh.read(8 << 20):
            pass
    subprocess.run(["sync"], check=True)
    cmd, env = _devicex(src, image, out, args.workers, args.reverify)
    load = os.getloadavg()
    usage_file = out.with_suffix(".rusage.json")
    perf = ["perf", "record", "-q", "-F", str(args.freq), "--call-graph", f"dwarf,{args.stack}",
            "-o", str(out.with_suffix(".perf.data")), "--", sys.executable, __file__, "--child", str(usage_file),
            "--", *cmd]
    subprocess.run(perf, env=env, cwd=src, check=True, stderr=subprocess.DEVNULL)
    usage = json.loads(usage_file.read_text())
    if usage["rc"] != 0:
        raise SystemExit(f"devicex extract exited {usage['rc']} (output in {out})")
    usage.update(image=str(args.image), src=str(args.tree), label=args.label, workers=args.workers,
                 reverify=args.reverify, load=[round(x, 2) for x in load],
                 end_load=[round(x, 2) for x in os.getloadavg()])
    usage_file.write_text(json.dumps(usage))
    return out


def analyse(out: Path, detail: int) -> dict[str, object]:
    """The samples of a recorded run, by category and process (main or workers)."""
    r: dict[str, object] = json.loads(out.with_suffix(".rusage.json").read_text())
    by_cat: collections.Counter[str] = collections.Counter()
    by_role: collections.Counter[tuple[str, str]] = collections.Counter()
    leaves: collections.Counter[tuple[str, str]] = collections.Counter()
    for pid, period, frames in _samples(out.with_suffix(".perf.data")):
        if pid == r["parent"]:
            continue  # the small parent measuring the run
        cat = _category(frames)
        by_cat[cat] += period
        leaves[(cat, _leaf(frames))] += period
        by_role[("main" if pid == r["pid"] else "workers", cat)] += period
    with sqlite3.connect(f"file:{out / 'data' / 'case.db'}?mode=ro", uri=True) as conn:
        r["entries"] = conn.execute("SELECT count(*) FROM files").fetchone()[0]
    r["ns"] = dict(by_cat)
    r["roles"] = {f"{role}|{cat}": v for (role, cat), v in by_role.items()}
    r["leaves"] = [(cat, sym, v) for (cat, sym), v in leaves.most_common(detail)]
    return r


def report(r: dict[str, object]) -> None:
    ns: dict[str, int] = r["ns"]  # type: ignore[assignment]
    usage: dict[str, float] = r  # type: ignore[assignment]
    entries: int = r["entries"]  # type: ignore[assignment]
    total = sum(ns.values()) / 1e9
    print(f"{r['image']}  --workers {r['workers']} --reverify {r['reverify']}  src {r['src']}")
    print(f"entries (files rows): {entries:,}; load average at start {r['load']}, at end {r['end_load']}")
    print(f"wait4: {usage['cpu']:.2f} CPU-s (user {usage['user']:.2f}, sys {usage['sys']:.2f}), "
          f"wall {usage['wall']:.2f} s; perf samples: {total:.2f} CPU-s ({100 * total / usage['cpu']:.0f}%); "
          f"{usage.get('minflt', 0):,} page faults")
    roles: dict[str, int] = r["roles"]  # type: ignore[assignment]
    print(f"{'category':<52} {'CPU-s':>7} {'share':>6} {'main':>7} {'workers':>8} {'us/entry':>9}")
    for cat, value in sorted(ns.items(), key=lambda kv: -kv[1]):
        main, workers = roles.get(f"main|{cat}", 0) / 1e9, roles.get(f"workers|{cat}", 0) / 1e9
        print(f"{cat:<52} {value / 1e9:7.2f} {100 * value / 1e9 / total:5.1f}% {main:7.2f} {workers:8.2f} "
              f"{value / 1e3 / entries:9.1f}")
    for cat, sym, value in r["leaves"]:  # type: ignore[attr-defined]
        print(f"    {value / 1e9:6.2f}  {cat}: {sym}")
    python = ns.get("Python", 0)
    print(f"Python CPU per entry: {python / 1e3 / entries:.0f} us "
          f"({python / 1e9:.2f} CPU-s of samples over {entries:,} entries)")


def paired(args: argparse.Namespace) -> list[dict[str, object]]:
    """Every tree of ``--src`` in alternation, ``--rounds`` times; each run analysed as it ends."""
    runs = []
    for n in range(args.rounds):
        for label, src in args.src:
            args.label, args.tree = label, src
            out = record(args)
            args.outs.append(out)
            try:
                r = analyse(out, args.detail)
            finally:
                if not args.keep:
                    out.with_suffix(".perf.data").unlink()
            r["label"], r["round"] = label, n + 1
            report(r)
            print()
            runs.append(r)
    return runs


def medians(runs: list[dict[str, object]]) -> None:
    """Per tree: the median of its runs' Python CPU per entry, whole-run CPU and page faults."""
    print(f"{'tree':<12} {'runs':>4} {'Python us/entry':>16} {'CPU-s (wait4)':>14} {'wall s':>7} {'page faults':>12}"
          "   per run: Python us/entry, CPU-s, load at start")
    for label in dict.fromkeys(str(r["label"]) for r in runs):
        mine = [r for r in runs if r["label"] == label]
        per_entry = [r["ns"].get("Python", 0) / 1e3 / r["entries"] for r in mine]  # type: ignore[attr-defined]
        cpu = [float(r["cpu"]) for r in mine]  # type: ignore[arg-type]
        each = ", ".join(f"{p:.0f} us {c:.1f} s load {r['load'][0]}"  # type: ignore[index]
                         for p, c, r in zip(per_entry, cpu, mine, strict=True))
        print(f"{label:<12} {len(mine):>4} {statistics.median(per_entry):16.0f} {statistics.median(cpu):14.2f} "
              f"{statistics.median(float(r['wall']) for r in mine):7.1f} "  # type: ignore[arg-type]
              f"{statistics.median(int(r.get('minflt', 0)) for r in mine):12,.0f}   {each}")  # type: ignore[call-overload]


def _src(text: str) -> tuple[str, Path]:
    label, _, path = text.rpartition("=")
    return (label or Path(path).name, Path(path))


def main() -> int:
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        return child(Path(sys.argv[2]), sys.argv[4:])
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--image", type=Path, default=WORK / "bench.ext4")
    ap.add_argument("--src", type=_src, action="append",
                    help="LABEL=DIR: a devicex tree to run (repeat for paired runs; default: this tree)")
    ap.add_argument("--rounds", type=int, default=1, help="runs of each tree, in alternation")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--reverify", default="sha256")
    ap.add_argument("--freq", type=int, default=250, help="samples per second of CPU (cpu-clock)")
    ap.add_argument("--stack", type=int, default=8192, help="user stack bytes copied per sample for unwinding")
    ap.add_argument("--keep", action="store_true",
                    help="keep each run's output folder and its perf.data beside it (deleted after the last run)")
    ap.add_argument("--again", type=Path, help="analyse a kept run again (its output folder)")
    ap.add_argument("--detail", type=int, default=0, help="list this many of the busiest functions")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()
    args.src = args.src or [("this", HERE.parent)]
    if args.again:
        runs = [analyse(args.again, args.detail)]
        report(runs[0])
    else:
        args.outs = []
        try:
            runs = paired(args)
        finally:
            if not args.keep:  # after the last run: deleting 20,000 files slows the next run's file creation
                for out in args.outs:
                    shutil.rmtree(out, ignore_errors=True)
                    out.with_suffix(".rusage.json").unlink(missing_ok=True)
        if len(runs) > 1:
            medians(runs)
    if args.json:
        args.json.write_text(json.dumps(runs, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
