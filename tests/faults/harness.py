"""Fault injection: damaged images and kill -9, checked end to end.

Two classes of fault:

* **mutations** of every fixture image (FAT16, exFAT, NTFS, ext4 incl. the
  Android-like one, the E01, the MBR and GPT disks and a split raw segment):
  bit flips, truncations, zeroed blocks and duplicated blocks, placed in the
  metadata regions (partition tables and backup GPT, boot sectors and
  superblocks, FATs and root folders, the NTFS MFT, ext4 group descriptors and
  inode tables, the E01's sections). Each mutated image is extracted by the
  real command line in a forked child under a time limit, and checked: no
  traceback or internal error, no hang, an exit code in the documented set,
  the source byte-identical before and after, no run left ``running``, a valid
  custody chain, and (exit 0) a folder that seals and verifies;
* **kill -9** of a real ``devicex extract`` process at a random moment after
  intake: its workers must die with it, and a rerun into the same OUT must
  exit 0, close the killed run as interrupted and leave a folder that seals
  and verifies.

``python3 tests/faults/harness.py`` runs the CI-sized set (what
tests/faults/test_faults.py runs); ``--long`` (or DEVICEX_FAULTS_LONG=1) runs a
much larger one with a random seed; both print tried / survived / wrong per
class and list every wrong case with its reason.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import signal
import sqlite3
import struct
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import closing, suppress
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
IMAGES = REPO / "fixtures" / "images"
ALLOWED_EXIT = {0, 3, 4}  # success, nothing readable, integrity failure (README "Exit codes")
TIME_LIMIT = 90.0

if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


@dataclass(frozen=True)
class Region:
    target: str  # class of what is damaged: fat, exfat, ntfs, ext4, e01, mbr, gpt, split
    file: str  # the image file (or segment) that is changed
    start: int
    end: int


@dataclass
class Outcome:
    case: str
    cls: str
    problems: list[str] = field(default_factory=list)
    exit_code: int | None = None


# --------------------------------------------------------------------------- where the metadata is
def _fs_regions(target: str, image: Path, start: int) -> list[Region]:
    """Metadata regions of the file system at byte ``start`` of ``image`` (from its own boot sector)."""
    boot = image.read_bytes()[start:start + 512]
    name = image.name
    if boot[3:11] == b"NTFS    ":
        bps, spc = struct.unpack_from("<HB", boot, 11)
        mft = struct.unpack_from("<Q", boot, 48)[0] * bps * spc
        return [Region("ntfs", name, start, start + 8192), Region("ntfs", name, start + mft, start + mft + 65536)]
    if boot[3:11] == b"EXFAT   ":
        return [Region("exfat", name, start, start + (512 << 10))]
    if boot[54:59] in (b"FAT12", b"FAT16"):
        bps, _, reserved, fats, entries = struct.unpack_from("<HBHBH", boot, 11)
        fat = struct.unpack_from("<H", boot, 22)[0]
        end = (reserved + fats * fat) * bps + entries * 32
        return [Region("fat", name, start, start + end)]
    return [Region("ext4", name, start, start + (256 << 10))]  # superblock, group descriptors, bitmaps, inodes


def regions() -> list[Region]:
    out: list[Region] = []
    for name in ("fat16.img", "exfat.img", "ntfs.img", "ext4.img", "phone.img"):
        out += _fs_regions("", IMAGES / name, 0)
    mbr2 = IMAGES / "mbr2.img"
    out.append(Region("mbr", "mbr2.img", 0, 512))
    out += _fs_regions("", mbr2, 2048 * 512) + _fs_regions("", mbr2, 12288 * 512)
    gpt = IMAGES / "gpt.img"
    size = gpt.stat().st_size
    out += [Region("gpt", "gpt.img", 0, 34 * 512), Region("gpt", "gpt.img", size - 33 * 512, size)]
    out += _fs_regions("", gpt, 2048 * 512)
    e01 = (IMAGES / "ext4.E01").stat().st_size
    out += [Region("e01", "ext4.E01", 0, 8192), Region("e01", "ext4.E01", 8192, max(8193, e01 - 4096)),
            Region("e01", "ext4.E01", max(0, e01 - 4096), e01)]
    out.append(Region("split", "split.raw.002", 0, (IMAGES / "split.raw.002").stat().st_size))
    return out


# --------------------------------------------------------------------------- mutations
Mutation = Callable[[bytearray, Region, random.Random], str]


def flip(data: bytearray, r: Region, rng: random.Random) -> str:
    offsets = sorted(rng.randrange(r.start, min(r.end, len(data))) for _ in range(rng.randint(1, 16)))
    for off in offsets:
        data[off] ^= 1 << rng.randrange(8)
    return f"{len(offsets)} bit flips at {offsets[0]}..{offsets[-1]}"


def zero(data: bytearray, r: Region, rng: random.Random) -> str:
    size = rng.choice((512, 1024, 4096))
    off = rng.randrange(r.start, max(r.start + 1, min(r.end, len(data)) - size + 1)) // 512 * 512
    data[off:off + size] = bytes(len(data[off:off + size]))
    return f"{size} bytes zeroed at {off}"


def duplicate(data: bytearray, r: Region, rng: random.Random) -> str:
    size = 4096
    end = max(r.start + 1, min(r.end, len(data)) - size)
    src, dst = (rng.randrange(r.start, end) // 512 * 512 for _ in range(2))
    data[dst:dst + size] = data[src:src + size]
    return f"block {src} copied over {dst}"


def truncate(data: bytearray, r: Region, rng: random.Random) -> str:
    cut = rng.randrange(r.start, len(data)) if r.start < len(data) else len(data) // 2
    del data[cut:]
    return f"truncated at {cut}"


MUTATIONS: dict[str, Mutation] = {"flip": flip, "zero": zero, "duplicate": duplicate, "truncate": truncate}


# --------------------------------------------------------------------------- running the command line
def _digest(paths: list[Path]) -> str:
    h = hashlib.sha256()
    for p in paths:
        h.update(p.read_bytes())
    return h.hexdigest()


def _cli(args: list[str], log: Path, limit: float) -> tuple[int | None, str]:
    """The real command line in a forked child (this process has it imported already); (exit code or None on
    a hang, what it printed)."""
    pid = os.fork()
    if pid == 0:  # child
        code = 70
        try:
            fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            os.dup2(fd, 1)
            os.dup2(fd, 2)
            os.setsid()
            from cli import main

            main.main(args=args, prog_name="devicex", standalone_mode=True)
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException:  # noqa: BLE001 - the child reports through its exit code and log only
            import traceback

            traceback.print_exc()
            code = 71
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    deadline = time.monotonic() + limit
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status), log.read_text(errors="replace")
        if time.monotonic() > deadline:
            with suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return None, log.read_text(errors="replace")
        time.sleep(0.01)


def _check_case(out: Path, code: int | None, text: str, key: object, problems: list[str]) -> None:
    if code is None:
        problems.append(f"hang: no exit within {TIME_LIMIT:g} s")
    elif code not in ALLOWED_EXIT:
        problems.append(f"exit code {code} not in {sorted(ALLOWED_EXIT)}")
    if "Traceback" in text or "internal error" in text:
        problems.append("traceback or internal error: " + text.strip().splitlines()[-1][:200])
    db = out / "data" / "case.db"
    if db.exists():
        try:
            with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
                open_runs = conn.execute("SELECT COUNT(*) FROM runs WHERE status = 'running'").fetchone()[0]
            if open_runs and code is not None:
                problems.append("a run is left 'running' in case.db")
        except sqlite3.Error as exc:
            problems.append(f"case.db unreadable: {exc}")
    custody = out / "custody.jsonl"
    if custody.exists():
        from devicex.custody import check_chain

        report = check_chain(custody.read_bytes())
        if not report.ok:
            problems.append(f"custody chain invalid: {report.issues[:1]}")
    if code == 0:
        _seal_and_verify(out, key, problems)


def _seal_and_verify(out: Path, key: object, problems: list[str]) -> None:
    from devicex.bundle import seal
    from devicex.custody import Actor
    from devicex.keys import fingerprint
    from devicex.verify import verify_bundle

    try:
        seal(out, key, Actor("F-1", "Fault Harness"))  # type: ignore[arg-type]
        result = verify_bundle(out, fingerprint(key.public_key()))  # type: ignore[attr-defined]
    except Exception as exc:  # noqa: BLE001 - any failure to seal a successful extraction is a finding
        problems.append(f"seal/verify raised {type(exc).__name__}: {exc}")
        return
    if not result.ok:
        problems.append("does not verify: " + "; ".join(f"{f.code} {f.message}" for f in result.failures[:2]))


def mutation_cases(rng: random.Random, count: int) -> Iterator[tuple[Region, str]]:
    rs = regions()
    kinds = sorted(MUTATIONS)
    for i in range(count):
        yield rs[i % len(rs)], kinds[(i // len(rs)) % len(kinds)] if i < len(rs) * len(kinds) else rng.choice(kinds)


def run_mutation(work: Path, region: Region, kind: str, rng: random.Random, key: object, n: int) -> Outcome:
    case_dir = work / f"m{n:05d}"
    case_dir.mkdir()
    files = [region.file]
    if region.file.startswith("split.raw"):
        files = ["split.raw.001", "split.raw.002", "split.raw.003"]
    for name in files:
        shutil.copyfile(IMAGES / name, case_dir / name)
    data = bytearray((case_dir / region.file).read_bytes())
    what = MUTATIONS[kind](data, region, rng)
    (case_dir / region.file).write_bytes(bytes(data))
    source = case_dir / (files[0] if region.file.startswith("split") else region.file)
    segments = [case_dir / name for name in files]
    before = _digest(segments)
    out = case_dir / "out"
    workers = "2" if n % 4 == 0 else "1"
    code, text = _cli(["extract", str(source), "-o", str(out), "-q", "--workers", workers,
                       "--full-extraction-reason", "fault injection"], case_dir / "log.txt", TIME_LIMIT)
    outcome = Outcome(f"{region.file}[{region.start}:{region.end}] {kind}: {what}", f"{kind} / {region.target}",
                      exit_code=code)
    if _digest(segments) != before:
        outcome.problems.append("the source changed")
    _check_case(out, code, text, key, outcome.problems)
    if not outcome.problems:
        shutil.rmtree(case_dir)
    return outcome


# --------------------------------------------------------------------------- kill -9
def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def run_kill(work: Path, image: Path, delay: float, key: object, n: int) -> Outcome:
    case_dir = work / f"k{n:05d}"
    case_dir.mkdir()
    out = case_dir / "out"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    args = [sys.executable, "-m", "devicex", "extract", str(image), "-o", str(out), "-q", "--workers", "2",
            "--full-extraction-reason", "fault injection"]
    outcome = Outcome(f"kill -9 {delay:.2f} s after intake of {image.name}", "kill-9 / after intake")
    proc = subprocess.Popen(args, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    custody = out / "custody.jsonl"
    deadline = time.monotonic() + 60
    while not (custody.exists() and b'"action":"intake"' in custody.read_bytes()) and proc.poll() is None:
        if time.monotonic() > deadline:
            break
        time.sleep(0.005)
    time.sleep(delay)
    children = _children(proc.pid)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    time.sleep(0.5)
    if any(_alive(c) for c in children):
        outcome.problems.append("workers outlived the killed main process")
        for c in children:
            with suppress(ProcessLookupError):
                os.kill(c, signal.SIGKILL)
    before = _digest([image])
    code, text = _cli(args[3:], case_dir / "log.txt", TIME_LIMIT)
    outcome.exit_code = code
    if code != 0:
        outcome.problems.append(f"rerun exit code {code}")
    if _digest([image]) != before:
        outcome.problems.append("the source changed")
    _check_case(out, code, text, key, outcome.problems)
    if not outcome.problems:
        shutil.rmtree(case_dir)
    return outcome


def slow_image(work: Path) -> Path:
    """The NTFS fixture followed by 256 MiB of holes: an intake and re-verify long enough to be killed in."""
    image = work / "ntfs-padded.img"
    if not image.exists():
        shutil.copyfile(IMAGES / "ntfs.img", image)
        os.truncate(image, 256 << 20)
    return image


# --------------------------------------------------------------------------- the whole run
@dataclass
class Report:
    outcomes: list[Outcome]

    def table(self) -> dict[str, dict[str, int]]:
        tried, wrong = Counter(o.cls for o in self.outcomes), Counter(o.cls for o in self.outcomes if o.problems)
        return {cls: {"tried": tried[cls], "survived": tried[cls] - wrong[cls], "wrong": wrong[cls]}
                for cls in sorted(tried)}

    def wrong(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.problems]

    def render(self) -> str:
        lines = [f"{'class':28} {'tried':>6} {'survived':>9} {'wrong':>6}"]
        total = Counter()
        for cls, row in self.table().items():
            lines.append(f"{cls:28} {row['tried']:>6} {row['survived']:>9} {row['wrong']:>6}")
            total.update(row)
        lines.append(f"{'total':28} {total['tried']:>6} {total['survived']:>9} {total['wrong']:>6}")
        for o in self.wrong():
            lines.append(f"WRONG {o.case} (exit {o.exit_code}): {'; '.join(o.problems)}")
        return "\n".join(lines)


def run_all(work: Path, mutations: int, kills: int, seed: int) -> Report:
    from devicex.keys import init_keys, load_private_key

    rng = random.Random(seed)
    key = load_private_key(init_keys(work / "keys" / "harness.pem").private_path)
    outcomes = [run_mutation(work, region, kind, rng, key, n)
                for n, (region, kind) in enumerate(mutation_cases(rng, mutations))]
    if kills:
        image = slow_image(work)
        outcomes += [run_kill(work, image, rng.uniform(0.0, 1.5), key, n) for n in range(kills)]
    return Report(outcomes)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--long", action="store_true", default=os.environ.get("DEVICEX_FAULTS_LONG") == "1",
                        help="the long local run (thousands of mutations, dozens of kills, random seed)")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--work", type=Path, default=None, help="keep cases here (default: a temp folder)")
    parser.add_argument("--json", type=Path, default=None, help="also write the table as JSON here")
    parser.add_argument("--mutations", type=int, default=None, help="number of mutated images to try")
    parser.add_argument("--kills", type=int, default=None, help="number of kill -9 cases to try")
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else (random.randrange(1 << 30) if args.long else 13)
    mutations, kills = (3000, 40) if args.long else (CI_MUTATIONS, CI_KILLS)
    mutations = args.mutations if args.mutations is not None else mutations
    kills = args.kills if args.kills is not None else kills
    work = args.work or Path(tempfile.mkdtemp(prefix="devicex-faults-"))
    work.mkdir(parents=True, exist_ok=True)
    began = time.monotonic()
    report = run_all(work, mutations, kills, seed)
    print(f"devicex fault injection: seed {seed}, {time.monotonic() - began:.0f} s, cases kept in {work} "
          "when wrong")
    print(report.render())
    if args.json:
        args.json.write_text(json.dumps({"seed": seed, "classes": report.table()}, indent=2), encoding="utf-8")
    return 1 if report.wrong() else 0


CI_MUTATIONS = 120
CI_KILLS = 3

if __name__ == "__main__":
    sys.exit(main())
