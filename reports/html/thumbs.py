"""Gallery thumbnails made with Pillow from the exported files (never the
image): turned upright by their EXIF orientation, at most 240 px, saved as
JPEG without metadata under ``report/thumbs/<sha256>.jpg`` (identical
pictures share one thumbnail)."""
from __future__ import annotations

import contextlib
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps

from devicex.errors import one_line

SIZE = 240
MAX_BYTES = 256 << 20
MAX_PIXELS = 100_000_000
# Formats Pillow decodes safely enough to preview (no vector or script formats).
FORMATS = {"JPEG", "PNG", "GIF", "BMP", "WEBP", "TIFF", "MPO"}


@dataclass(frozen=True)
class Job:
    file_id: int
    sha256: str
    source: Path
    path: str


@dataclass(frozen=True)
class Outcome:
    job: Job
    thumb: str | None      # relative to the report folder
    problem: str | None


def make(job: Job, out_dir: Path) -> Outcome:
    rel = f"thumbs/{job.sha256}.jpg"
    target = out_dir / rel
    if target.exists():
        return Outcome(job, rel, None)
    try:
        if job.source.stat().st_size > MAX_BYTES:
            return Outcome(job, None, "thumbnail skipped: file larger than 256 MiB")
        with Image.open(job.source) as im:
            if im.format not in FORMATS:
                return Outcome(job, None, f"thumbnail skipped: format {im.format} not previewed")
            if im.width * im.height > MAX_PIXELS:
                return Outcome(job, None, f"thumbnail skipped: {im.width}x{im.height} pixels")
            im.draft("RGB", (SIZE * 2, SIZE * 2))
            upright = ImageOps.exif_transpose(im)
            pic = upright.convert("RGB")
            pic.thumbnail((SIZE, SIZE))
            tmp = target.with_name(f".{target.name}.{os.getpid()}.part")
            pic.save(tmp, "JPEG", quality=80)
            os.replace(tmp, target)
        return Outcome(job, rel, None)
    except Exception as exc:  # noqa: BLE001 - hostile pictures may break Pillow anywhere: record, go on
        text = one_line(exc)[:300]
        return Outcome(job, None, f"thumbnail failed: {type(exc).__name__}: {text}")


def make_all(jobs: list[Job], out_dir: Path, workers: int | None = None) -> list[Outcome]:
    """Thumbnails for ``jobs``, in the jobs' order; duplicates made once."""
    (out_dir / "thumbs").mkdir(parents=True, exist_ok=True)
    first: dict[str, Job] = {}
    for job in jobs:
        first.setdefault(job.sha256, job)
    with ThreadPoolExecutor(max_workers=workers or min(4, os.cpu_count() or 1)) as pool:
        made = dict(zip(first, pool.map(lambda j: make(j, out_dir), first.values()), strict=False))
    results = []
    for job in jobs:
        o = made[job.sha256]
        results.append(Outcome(job, o.thumb, o.problem))
    if not any(o.thumb for o in results):  # none made (only broken pictures): no empty folder for seal to refuse
        with contextlib.suppress(OSError):  # not empty: thumbnails of an earlier report
            (out_dir / "thumbs").rmdir()
    return results
