"""Read-only looks at a source without extracting: what it is (``info``) and
what it holds (``ls``)."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from devicex.entries import Entry
from devicex.sources import open_source
from devicex.sources.base import WalkIssue
from pipelines.events import Reporter, SilentReporter
from pipelines.intake import check_stored, hash_media


def describe(path: Path, with_hashes: bool = True, reporter: Reporter | None = None) -> dict[str, Any]:
    src = open_source(path)
    try:
        info: dict[str, Any] = {
            "path": str(path), "container": src.container, "size": src.size,
            "segments": [p.name for p in src.segments], "stored_hashes": dict(src.stored_hashes),
            "ewf_headers": dict(src.ewf_headers),
        }
        if with_hashes:
            digests = hash_media(src, reporter or SilentReporter(), "hashing")
            info["hashes"] = {"md5": digests.md5, "sha1": digests.sha1, "sha256": digests.sha256}
            info["stored_hash_check"] = check_stored(src, digests).verdict
        layout = src.layout()
        info["partition_table"] = layout.table
        info["volumes"] = [{"label": v.label, "addr": v.addr, "start": v.start, "length": v.length,
                            "sector_size": v.sector_size, "description": v.description,
                            "allocated": v.allocated, "past_end": v.past_end} for v in layout.volumes]
        info["filesystems"] = [{"label": f.label, "offset": f.offset, "type": f.fs_type,
                                "block_size": f.block_size, "block_count": f.block_count,
                                "forced_type": f.forced,
                                "size": f.block_size * f.block_count if f.block_size and f.block_count else None}
                               for f in layout.filesystems]
        info["problems"] = [{"volume": p.volume.label, "message": p.message} for p in layout.problems]
        return info
    finally:
        src.close()


def listing(path: Path) -> Iterator[Entry | str]:
    """Every entry of every file system, in walk order; problems as strings."""
    src = open_source(path)
    try:
        layout = src.layout()
        for prob in layout.problems:
            yield f"volume {prob.volume.label}: {prob.message}"
        if not layout.filesystems:
            yield f"{path}: no readable file system found"
        for fs in layout.filesystems:
            for entry, reader in fs.entries(src.label):
                if entry is None:
                    yield f"{fs.label}: {reader}" if isinstance(reader, WalkIssue) else str(reader)
                else:
                    yield entry
    finally:
        src.close()
