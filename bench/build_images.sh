#!/usr/bin/env bash
# Build the benchmark images for bench/run_bench.py into bench/work/ (git-ignored).
#
#   bash bench/build_images.sh            # default set: tree (20,000 files + 256 MiB of "videos", seed 7),
#                                         # bench.ntfs (mkntfs + ntfs-3g copy) and bench.ext4 (mke2fs -d)
#   bash bench/build_images.sh memory     # mem.ext4: the default tree's small files plus one 2 GiB file
#   bash bench/build_images.sh scale      # scale-1x.ext4 / scale-10x.ext4 (2,000 vs 20,000 files, no big files)
#                                         # and dir-10k.ext4 / dir-100k.ext4 (one directory of 10,000 / 100,000 files)
#
# Needs (Debian): apt-get install -y sleuthkit hashdeep ntfs-3g e2fsprogs   and /dev/fuse for the ntfs-3g mount
# (falls back to ntfscp, file by file, when FUSE is not usable). Python: Pillow (a devicex dependency).
set -euo pipefail
cd "$(dirname "$0")"
WORK=${BENCH_WORK:-work}
MAKE_TREE=${MAKE_TREE:-../../shared/bench/make_tree.py}
[ -f "$MAKE_TREE" ] || MAKE_TREE=/work/shared/bench/make_tree.py
mkdir -p "$WORK"
what=${1:-default}

tree() {  # tree DIR FILES BIG_MB
  if [ ! -f "$1/.done" ]; then
    rm -rf "$1"; mkdir -p "$1"
    python3 "$MAKE_TREE" "$1/t" --files "$2" --big-mb "$3" --seed 7
    touch "$1/.done"
  fi
}

ntfs_image() {  # ntfs_image TREE IMAGE SIZE
  [ -f "$2" ] && return 0
  truncate -s "$3" "$2.tmp"
  mkntfs -F -q -Q -L bench "$2.tmp" >/dev/null 2>&1
  local mnt; mnt=$(mktemp -d)
  if ntfs-3g "$2.tmp" "$mnt" 2>/dev/null; then
    cp -r "$1/." "$mnt/"
    umount "$mnt"
  else
    # ntfscp cannot create directories: each file goes to the root, named after its path (a flatter tree,
    # the same bytes and file count).
    echo "ntfs-3g FUSE mount unavailable: copying with ntfscp file by file (flat, slow)" >&2
    (cd "$1" && find . -type f | sort) | while read -r f; do
      ntfscp -f "$2.tmp" "$1/$f" "/$(echo "${f#./}" | tr / _)" >/dev/null
    done
  fi
  rmdir "$mnt"
  mv "$2.tmp" "$2"
}

ext4_image() {  # ext4_image TREE IMAGE SIZE
  [ -f "$2" ] && return 0
  mke2fs -q -F -t ext4 -L bench -d "$1" "$2.tmp" "$3"
  mv "$2.tmp" "$2"
}

case "$what" in
  default)
    tree "$WORK/tree" 20000 256
    ntfs_image "$WORK/tree/t" "$WORK/bench.ntfs" 1229M
    ext4_image "$WORK/tree/t" "$WORK/bench.ext4" 1229M
    ;;
  memory)
    tree "$WORK/tree" 20000 256
    mkdir -p "$WORK/memtree"
    if [ ! -f "$WORK/memtree/.done" ]; then
      rm -rf "$WORK/memtree/t"; mkdir -p "$WORK/memtree/t/big"
      cp -r "$WORK/tree/t/Documents" "$WORK/tree/t/Download" "$WORK/memtree/t/"
      head -c 2G /dev/urandom > "$WORK/memtree/t/big/disk_dump.bin"
      touch "$WORK/memtree/.done"
    fi
    ext4_image "$WORK/memtree/t" "$WORK/mem.ext4" 2600M
    ;;
  scale)
    tree "$WORK/tree-2k" 2000 0
    tree "$WORK/tree-20k" 20000 0
    ext4_image "$WORK/tree-2k/t" "$WORK/scale-1x.ext4" 200M
    ext4_image "$WORK/tree-20k/t" "$WORK/scale-10x.ext4" 1200M
    for n in 10000 100000; do
      d="$WORK/dirtree-$n"
      if [ ! -f "$d/.done" ]; then
        rm -rf "$d"; mkdir -p "$d/t/flat"
        python3 - "$d/t/flat" "$n" <<'PY'
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    with open(os.path.join(root, f"f{i:06d}.txt"), "wb") as fh:
        fh.write(f"entry {i}\n".encode())
PY
        touch "$d/.done"
      fi
      ext4_image "$d/t" "$WORK/dir-$((n / 1000))k.ext4" "$((n / 100 * 3 + 64))M"
    done
    ;;
  *) echo "usage: $0 [default|memory|scale]" >&2; exit 2 ;;
esac
ls -la "$WORK"/*.ntfs "$WORK"/*.ext4 2>/dev/null || true
