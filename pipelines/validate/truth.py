"""Readers of reference data with known truth, made by independent tools.

Two layouts are read (both documented in docs/validation.md):

* **devicex layout** (``fixtures/``): ``images/<image>`` and ``truth/<image>/`` holding
  ``fls.o<OFF>.txt`` (``fls -r -p -l``), ``files.o<OFF>.tsv`` (``icat`` piped to md5sum,
  sha1sum, sha256sum; with ``mime`` from ``file --mime-type`` when present), ``media.tsv``
  and ``exiftool.json``;
* **corpus layout** (``../shared/corpus``): ``<source>/<stored file>`` and
  ``<source>/truth/<prefix>[.o<OFF>][.as-<type>].{fls.txt,files.tsv,deleted.tsv}`` plus
  ``<prefix>.media-hashes.tsv``, written by the corpus's ``make-truth.sh``.

Nothing here runs devicex: these are the answers devicex is compared with.
"""
from __future__ import annotations

import gzip
import re
import shutil
import tarfile
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from pipelines.validate.plaso_sheet import read_sheet, sheet_in

FLS_LINE = re.compile(r"^(?P<type>\S+) (?P<del>\* )?(?P<addr>[\d-]+)(?P<realloc>\(realloc\))?:\t(?P<rest>.*)$")
_CORPUS_TRUTH = re.compile(r"^(?P<prefix>.+?)(?:\.o(?P<offset>\d+))?(?:\.as-(?P<as>\w+))?\.fls\.txt$")
FS_FAMILY = {"ext": "ext", "ntfs": "ntfs", "ufs": "ffs", "fat": "fat", "iso9660": "iso9660"}
SECTOR = 512


@dataclass(frozen=True)
class FlsEntry:
    """One line of ``fls -r -p -l``: TSK's listing of a name, its times (UTC, seconds) and size."""

    type: str
    deleted: bool
    addr: str
    realloc: bool
    path: str  # as fls prints it, without the leading '/'
    mtime: datetime | None
    atime: datetime | None
    ctime: datetime | None
    crtime: datetime | None
    size: int | None
    line: str


def _fls_time(text: str) -> datetime | None:
    text = text.replace(" (UTC)", "").strip()
    if not text or text.startswith("0000-00-00"):
        return None
    return datetime.strptime(text[:19], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)


def read_fls(path: Path) -> list[FlsEntry]:
    out = []
    for line in path.read_bytes().decode("utf-8", "backslashreplace").splitlines():
        m = FLS_LINE.match(line)
        if m is None:
            continue
        cols = m.group("rest").split("\t")
        times = [_fls_time(c) for c in cols[1:5]] if len(cols) >= 5 else [None] * 4
        size = int(cols[5]) if len(cols) > 5 and cols[5].isdigit() else None
        out.append(FlsEntry(m.group("type"), bool(m.group("del")), m.group("addr"), bool(m.group("realloc")),
                            cols[0], times[0], times[1], times[2], times[3], size, line))
    return out


def read_tsv(path: Path) -> list[dict[str, str]]:
    """A truth table whose header line starts with '#' (``#md5\\tsha1...``)."""
    rows: list[dict[str, str]] = []
    header: list[str] | None = None
    for line in path.read_bytes().decode("utf-8", "backslashreplace").splitlines():
        if line.startswith("#"):
            if header is None and "\t" in line:  # the column names; other '#' lines are comments
                header = line[1:].split("\t")
            continue
        if line and header is not None:
            rows.append(dict(zip(header, line.split("\t"), strict=False)))
    return rows


def decode(stored: Path, member: str | None, into: Path) -> Path:
    """The raw media of a stored file (gzip, a zip or tar member, or as is), decoded with
    Python's gzip / zipfile / tarfile into ``into`` (once)."""
    name = stored.name
    if member is None and not name.endswith((".gz", ".tgz", ".zip")):
        return stored
    target = into / (f"{name}--{Path(member).name}" if member else name.rsplit(".", 1)[0])
    if target.exists():
        return target
    into.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(target.suffix + ".part")
    if name.endswith(".zip"):
        with zipfile.ZipFile(stored) as zf:
            wanted = next(n for n in zf.namelist() if n == member or n.endswith("/" + str(member)))
            with zf.open(wanted) as src, open(tmp, "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
    elif name.endswith(".tgz"):
        with tarfile.open(stored) as tf:
            first = next(m for m in tf.getmembers() if m.isfile())
            with tf.extractfile(first) as src, open(tmp, "wb") as dst:  # type: ignore[union-attr]
                shutil.copyfileobj(src, dst, 1 << 20)
    else:
        with gzip.open(stored) as src, open(tmp, "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
    tmp.rename(target)
    return target


@dataclass(frozen=True)
class Media:
    """One piece of reference media: where it is stored and how to get its raw bytes."""

    dataset: str
    label: str  # how the record names it: "<dataset>:<source>/<stored>[--member]"
    stored: Path
    member: str | None = None

    @property
    def later_segment(self) -> bool:
        """A second (third ...) segment of a split image: read through the first one."""
        m = re.search(r"\.(?:E(?P<e>\d\d)|(?P<n>\d{3}))$", self.stored.name)
        if m is None or self.member is not None:
            return False
        number = int(m.group("e") or m.group("n"))
        previous = f"E{number - 1:02d}" if m.group("e") else f"{number - 1:03d}"
        return number > 1 - (m.group("n") is not None) and \
            self.stored.with_name(self.stored.name[: m.start()] + "." + previous).exists()

    def path(self, work: Path) -> Path:
        return decode(self.stored, self.member, work)


@dataclass(frozen=True)
class FsTruth:
    """The truth about one file system of a piece of media."""

    media: Media
    offset: int  # bytes
    as_type: str | None  # the forced type (corpus ``.as-<type>``), else None
    fls: Path
    hashes: tuple[Path, ...] = ()  # files/deleted tables from icat
    exif: Path | None = None

    @property
    def label(self) -> str:
        extra = f" @{self.offset // SECTOR}" if self.offset else ""
        return self.media.label + extra + (f" as {self.as_type}" if self.as_type else "")


@dataclass
class Dataset:
    name: str
    root: Path
    layout: str  # "devicex" or "corpus"
    filesystems: list[FsTruth] = field(default_factory=list)
    media_hashes: dict[Media, Path] = field(default_factory=dict)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (stored file, why it is not validated)
    photo_folders: list[Path] = field(default_factory=list)  # folders of photos with exiftool truth, read as a source
    plaso_folders: list[Path] = field(default_factory=list)  # test databases with plaso's expectations sheet
    untested_media: dict[str, Path] = field(default_factory=dict)  # label -> media no truth tool read

    @property
    def media(self) -> list[Media]:
        seen: dict[Media, None] = {}
        for fs in self.filesystems:
            seen.setdefault(fs.media)
        for m in self.media_hashes:
            seen.setdefault(m)
        return list(seen)


def load_dataset(root: Path) -> Dataset:
    """A dataset folder in either layout (``ValueError`` naming the folder if neither)."""
    if (root / "images").is_dir() and (root / "truth").is_dir():
        return _devicex_dataset(root)
    sources = [root] if (root / "truth").is_dir() else sorted(p for p in root.iterdir() if (p / "truth").is_dir()) \
        if root.is_dir() else []
    if not sources:
        raise ValueError(f"{root}: not a validation dataset (no images/ + truth/, and no <source>/truth/ folders)")
    ds = Dataset(root.name, root, "corpus")
    for source in sources:
        _corpus_source(ds, source)
    return ds


def _devicex_dataset(root: Path) -> Dataset:
    ds = Dataset(root.name, root, "devicex")
    for tdir in sorted(p for p in (root / "truth").iterdir() if p.is_dir()):
        image = root / "images" / tdir.name
        if not image.exists():
            ds.skipped.append((tdir.name, "image not present"))
            continue
        media = Media(ds.name, f"{ds.name}:{tdir.name}", image)
        if (tdir / "media.tsv").exists():
            ds.media_hashes[media] = tdir / "media.tsv"
        exif = tdir / "exiftool.json"
        for fls in sorted(tdir.glob("fls.o*.txt")):
            off = int(fls.name.split(".")[1][1:])
            tables = tuple(sorted(tdir.glob(f"files.o{off}.tsv")))
            ds.filesystems.append(FsTruth(media, off * SECTOR, None, fls, tables, exif if exif.exists() else None))
    if sheet_in(root / "comms" / "plaso") is not None:
        ds.plaso_folders.append(root / "comms" / "plaso")
    return ds


def _corpus_source(ds: Dataset, source: Path) -> None:
    truth = source / "truth"
    stored = sorted((p for p in source.iterdir() if p.is_file() and p.name != "LICENSE"), key=lambda p: -len(p.name))
    medias: dict[str, Media] = {}

    def media_for(prefix: str) -> Media | None:
        match = next((s for s in stored if prefix == s.name or prefix.startswith(s.name + "--")), None)
        if match is None:
            return None
        member = prefix[len(match.name) + 2:] if prefix != match.name else None
        key = f"{match.name}--{member}" if member else match.name
        return medias.setdefault(key, Media(ds.name, f"{ds.name}:{source.name}/{key}", match, member))

    for fls in sorted(truth.glob("*.fls.txt")):
        m = _CORPUS_TRUTH.match(fls.name)
        if m is None or ".apfs-" in fls.name:
            continue
        media = media_for(m.group("prefix"))
        if media is None:
            continue
        base = fls.name[: -len(".fls.txt")]
        tables = tuple(p for p in (truth / f"{base}.files.tsv", truth / f"{base}.deleted.tsv") if p.exists())
        ds.filesystems.append(FsTruth(media, int(m.group("offset") or 0) * SECTOR, m.group("as"), fls, tables,
                                      None))
    for hashes in sorted(truth.glob("*.media-hashes.tsv")):
        media = media_for(hashes.name[: -len(".media-hashes.tsv")])
        if media is not None:
            ds.media_hashes[media] = hashes
    used = {m.stored for m in medias.values()}
    photos = {p for p in stored if p.suffix.lower() in PHOTO_SUFFIXES and (truth / f"{p.name}.exiftool.json").exists()}
    if photos:
        ds.photo_folders.append(source)
    sheet = sheet_in(source)
    databases = {source / row.file for row in read_sheet(sheet)} if sheet is not None else set()
    if databases:
        ds.plaso_folders.append(source)
    for path in sorted(set(stored) - used - photos - databases):
        if path.suffix in (".sh", ".md", ".txt"):
            continue  # the dataset's own scripts and notes
        why = _no_truth_reason(path)
        ds.skipped.append((f"{ds.name}:{source.name}/{path.name}", why))
        if why == NO_TRUTH:
            ds.untested_media[f"{ds.name}:{source.name}/{path.name}"] = path


PHOTO_SUFFIXES = (".jpg", ".jpeg", ".tif", ".tiff")
NO_TRUTH = "no file-system or whole-media truth for it (the truth tools could not read it either)"


def _no_truth_reason(path: Path) -> str:
    if Media("", "", path).later_segment:
        return "a later segment of a split image: read through the first"
    name = path.name.lower()
    if name.endswith((".jpg", ".jpeg", ".tif", ".tiff")):
        return "a stand-alone photo, not a device image: its exiftool truth is not compared"
    if ".db" in name or name.endswith((".sqlite", "-wal")) or "history" in name:
        return "a database no parser check compares (not in the folder's plaso expectations sheet)"
    return NO_TRUTH
