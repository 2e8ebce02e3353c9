#!/usr/bin/env bash
# Communications benchmark: a phone image (ext4, mke2fs -d) holding a 1,000,000-message mmssms.db and a
# 1,000,000-message msgstore.db (fixtures/comms/make_big.sh, from the real schema text), extracted by
# devicex with --workers 2. Reports wall time, the peak RSS of the process tree (sum over the extraction and
# its workers, sampled every 50 ms), messages stored (counted in case.db) and messages per second.
# Usage: bash bench/comms_bench.sh [N]      (N messages per database, default 1000000)
set -euo pipefail
N=${1:-1000000}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$HERE")
WORK=$HERE/work/comms
mkdir -p "$WORK"
IMG=$WORK/phone-$N.ext4
if [ ! -f "$IMG" ]; then
  rm -rf "$WORK/root"
  DB=$WORK/root/data/data
  mkdir -p "$DB/com.android.providers.telephony/databases" "$DB/com.whatsapp/databases"
  bash "$REPO/fixtures/comms/make_big.sh" mmssms "$N" "$DB/com.android.providers.telephony/databases/mmssms.db" >/dev/null
  bash "$REPO/fixtures/comms/make_big.sh" msgstore "$N" "$DB/com.whatsapp/databases/msgstore.db" >/dev/null
  SIZE=$(( $(du -sm "$WORK/root" | cut -f1) * 2 + 64 ))
  mke2fs -q -t ext4 -d "$WORK/root" "$IMG" "${SIZE}M"
  rm -rf "$WORK/root"
fi
OUT=$WORK/out-$(date +%s)
cd "$REPO"
python3 - "$IMG" "$OUT" <<'PY'
import os, resource, sqlite3, subprocess, sys, time
img, out = sys.argv[1], sys.argv[2]

def tree_rss(pid: int) -> int:
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/status") as fh:
                total += next(int(l.split()[1]) for l in fh if l.startswith("VmRSS:"))
            with open(f"/proc/{p}/task/{p}/children") as fh:
                todo += [int(c) for c in fh.read().split()]
        except (OSError, StopIteration):
            pass
    return total * 1024

env = dict(os.environ, PYTHONPATH=os.getcwd())
start = time.monotonic()
proc = subprocess.Popen([sys.executable, "-m", "devicex", "extract", img, "-o", out, "-q", "--workers", "2",
                         "--full-extraction-reason", "benchmark"], env=env)
peak = 0
while proc.poll() is None:
    peak = max(peak, tree_rss(proc.pid))
    time.sleep(0.05)
wall = time.monotonic() - start
usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # the extraction and its workers (all waited for)
cpu = usage.ru_utime + usage.ru_stime
conn = sqlite3.connect(os.path.join(out, "data", "case.db"))
n = conn.execute("SELECT count(*) FROM records WHERE record_type = 'message'").fetchone()[0]
errors = [r[0] for r in conn.execute("SELECT message FROM errors WHERE severity = 'error'")]
cores = os.cpu_count() or 1
print(f"exit {proc.returncode}; {n:,} messages stored in {wall:.1f} s wall: {n / wall:,.0f} messages/s; "
      f"CPU (user+sys, whole process tree) {cpu:.1f} s: {n / cpu:,.0f} messages per CPU-second, "
      f"{n / max(cpu / cores, 1e-9):,.0f} messages/s if the {cores} cores were the extraction's alone; "
      f"peak RSS (process tree) {peak / 2**20:.0f} MiB; load average at the end {os.getloadavg()[0]:.1f} "
      f"on {cores} cores (shared with other work)")
for message in errors:  # e.g. a parser stopped by its time limit on a very busy machine: the figure is not valid
    print(f"ERROR recorded by the run: {message}")
PY
