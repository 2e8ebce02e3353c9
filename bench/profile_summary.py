#!/usr/bin/env python3
"""Summarise a py-spy raw (collapsed) profile of ``devicex extract`` by stage.

    py-spy record -r 200 -f raw --threads -o prof.txt -- devicex extract IMAGE -o OUT -q
    python3 bench/profile_summary.py prof.txt

Each sample is charged to the first stage of RULES (in that order) that any of
its frames matches (so a hash inside the intake pass counts as "media hash", a
TSK read inside a worker as "read"). Times are samples / rate, per thread kind.
"""
import collections
import sys

# (stage, substrings of a frame), checked leaf first; the first frame matching any rule decides.
RULES = [
    ("media hash (intake in the one read + re-verify)", ("hash_media (pipelines/intake.py", "hash_media (devicex/",
                                                         "_run (devicex/hashing.py", "sha256_reader (devicex/")),
    ("hash (per file)", ("update (devicex/hashing.py", "_hash_chunk", "(hashlib", "digests (devicex/hashing.py")),
    ("read (pytsk3 read_random)", ("read (devicex/sources/walk.py", "read (devicex/sources/image.py")),
    ("magic", ("devicex/filetype.py", "magic/")),
    ("EXIF", ("parsers/exif.py", "exifread/")),
    ("database", ("devicex/casedb.py", "pipelines/store.py", "sqlite3")),
    ("export naming", ("devicex/exportpath.py",)),
    ("writes (export: open/write/rename/utime/mkdir)", ("_set_times", "write (", "mkdir", "replace", "open (",
                                                         "close (", "with_name", "exists (", "unlink (",
                                                         "_export", "_write_out")),
    ("walk (TSK metadata, entries)", ("devicex/sources/walk.py", "devicex/entries.py", "devicex/timeutil.py",
                                      "devicex/sources/volumes.py")),
    ("custody log", ("devicex/custody.py",)),
    ("media pass (read blocks, gather streams)", ("advance (pipelines/onepass.py", "take (pipelines/onepass.py")),
    ("imports/startup", ("_find_and_load", "_call_with_frames_removed")),
    ("plan and order (spools)", ("pipelines/sequence.py", "PlanStore", "by_offset (pipelines/planstore.py")),
    ("pool/bookkeeping", ("concurrent/futures", "queue.py", "pipelines/process.py", "pipelines/extract.py",
                          "pipelines/parallel.py", "threading.py")),
]


def stage_of(frames):
    for stage, keys in RULES:
        if any(k in frame for frame in frames for k in keys):
            return stage
    return "other"


def main(path, rate=200):
    by_stage = collections.Counter()
    by_thread = collections.Counter()
    total = 0
    with open(path, encoding="utf-8", errors="replace") as fh:
        lines = fh.read().splitlines()
    for line in lines:
        stack, _, count = line.rpartition(" ")
        n = int(count)
        frames = stack.split(";")
        thread = frames[0]
        kind = "main" if "MainThread" in thread else ("worker" if "dvx" in thread or "ThreadPool" in thread
                                                     else thread.split(":")[-1].strip()[:20])
        by_stage[stage_of(frames[1:])] += n
        by_thread[kind] += n
        total += n
    print(f"{total} samples = {total / rate:.1f} thread-seconds on CPU (py-spy, non-idle)")
    for stage, n in by_stage.most_common():
        print(f"  {stage:50s} {n / rate:7.2f} s  {100 * n / total:5.1f} %")
    print("by thread kind: " + ", ".join(f"{k} {n / rate:.1f} s" for k, n in by_thread.most_common()))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 200)
