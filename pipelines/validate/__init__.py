"""``devicex validate``: run this devicex over reference data with known truth and write
a validation record (what was tested, against what truth made by whom, counts,
acceptance criteria, every disagreement, known truth-tool faults, limitations, the
environment). See docs/validation.md."""
from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import parsers
from devicex.custody import Actor
from devicex.errors import SourceError
from devicex.sources import open_source
from pipelines.extract import ExtractOptions, run
from pipelines.select import ScopeSelector
from pipelines.validate import answers, compare, plaso_compare, process_checks
from pipelines.validate.record import FAIL, NOT_TESTED, PASS, Tally
from pipelines.validate.requirements import BUILT_IN, check_modules, parser_requirement
from pipelines.validate.truth import Dataset, Media, load_dataset

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
FORMAT = "devicex-validation/1"

LIMITATIONS = (
    ("FAT deleted-file content is a guess: TSK reads the clusters that follow the first one, so a deleted file "
    "whose clusters were fragmented comes back with wrong content (DFTT #6: frag1.dat, frag2.dat, frag3.dat). "
    "devicex marks such content guessed; its hashes equal TSK icat's (content hashes), and the DFTT #6 answer "
    "sheet shows them wrong: they are listed under the answer-sheet requirement as this known limitation."),
    ("FAT times are zone-less local times; devicex records them as if UTC (as fls shows them). exFAT times whose "
    "UTC offset is recorded are converted to UTC (the files table's utc_offsets column says which)."),
    ("APFS is not read (pytsk3 has no pool API); Volume Shadow Copies are not interpreted; encrypted volumes "
    "are not decrypted."),
    ("Deleted entries' content is TSK's reading of unallocated metadata: for a name whose inode was reused by "
    "another file it is the new file's content."),
    ("File types are libmagic's (file(1)); a file the magic database does not know is typed by its content "
    "class only (data, text)."),
    ("Web history is page visits (and Chrome downloads): bookmarks, bookmark folders and annotations (Firefox "
    "moz_bookmarks) are not reported, so plaso's Firefox record count is larger than devicex's."),
)


@dataclass
class Coverage:
    media: str
    read: bool
    filesystems: int = 0
    note: str = ""


@dataclass
class Outcome:
    tallies: dict[str, Tally]
    coverage: list[Coverage] = field(default_factory=list)
    datasets: list[dict[str, Any]] = field(default_factory=list)
    limitations: list[str] = field(default_factory=list)

    @property
    def result(self) -> str:
        statuses = {t.status for t in self.tallies.values()}
        return FAIL if FAIL in statuses else PASS


def unsupported(path: Path) -> str | None:
    """Why this devicex does not read the media at ``path`` (a format it does not open), or None."""
    try:
        open_source(path).close()
    except SourceError as exc:
        return exc.problem if exc.problem else str(exc)
    return None


class Validation:
    def __init__(self, work: Path, verify: Callable[[Path], list[str]], progress: Callable[[str], None]) -> None:
        self.work = work
        self.verify = verify
        self.progress = progress
        self.tallies = {r.id: Tally(r) for r in BUILT_IN}
        self.outcome = Outcome(self.tallies, limitations=list(LIMITATIONS))
        self.plaso_folders: list[tuple[str, Path]] = []
        self._n = 0

    def extract(self, source: Path, **kw: Any) -> tuple[Path, Any]:
        self._n += 1
        out = self.work / "runs" / f"{self._n:03d}-{source.name}"
        summary = run(ExtractOptions(source=source, out=out, case_ref="VALIDATION", exhibit_ref=source.name,
                                     examiner="devicex validate", **kw))
        return out, summary

    def dataset(self, ds: Dataset) -> None:
        self.outcome.datasets.append({"name": ds.name, "path": str(ds.root), "layout": ds.layout,
                                      "media": len(ds.media), "filesystems": len(ds.filesystems)})
        for media in ds.media:
            self._media(ds, media)
        for folder in ds.photo_folders:
            self._photos(ds, folder)
        self.plaso_folders += [(f"{ds.name}:{folder.relative_to(ds.root)}", folder) for folder in ds.plaso_folders]
        for label, why in ds.skipped:
            if label in ds.untested_media:  # say whether this devicex opens it
                refused = unsupported(ds.untested_media[label])
                why += f"; devicex: {refused}" if refused else "; devicex opens it (nothing to compare)"
            self.outcome.coverage.append(Coverage(label, False, 0, why))

    def _media(self, ds: Dataset, media: Media) -> None:
        targets = [fs for fs in ds.filesystems if fs.media == media]
        if media.later_segment:
            self.outcome.coverage.append(Coverage(media.label, True, 0, "a later segment: read through the first"))
            return
        self.progress(media.label)
        path = media.path(self.work / "decoded")
        why = unsupported(path)
        if why is not None:
            self.outcome.coverage.append(Coverage(media.label, False, len(targets), why))
            return
        out, summary = self.extract(path, full_reason="validation", workers=2)
        conn = sqlite3.connect(out / "data" / "case.db")
        try:
            if summary.fatal and not summary.files and not targets:
                self.outcome.coverage.append(Coverage(media.label, True, 0, f"no file system ({summary.fatal}); "
                                                      "the truth has none either"))
            else:
                self.outcome.coverage.append(Coverage(media.label, True, len(targets)))
            if media in ds.media_hashes:
                compare.media_hashes(media.label, ds.media_hashes[media], conn, self.tallies["media-hashes"])
            self._filesystems(targets, path, conn)
            sheet = answers.sheet_for(media.stored) if ds.layout == "corpus" else None
            if sheet is not None:
                answers.compare(media.label, sheet, conn, self.tallies["answer-sheets"])
            compare.exports(media.label, out, conn, self.tallies["exports"])
            process_checks.custody_chain(media.label, out / "custody.jsonl", self.tallies["custody-chain"])
        finally:
            conn.close()
        if ds.layout == "devicex" and media.stored.name == "ntfs.img":
            self._bundle(media, out)
        shutil.rmtree(out / "data" / "files", ignore_errors=True)  # exports checked: free the space

    def _photos(self, ds: Dataset, folder: Path) -> None:
        """A folder of photos read as a source (devicex's folder source), EXIF against exiftool."""
        label = f"{ds.name}:{folder.name}/ (folder)"
        self.progress(label)
        out, _ = self.extract(folder, full_reason="validation", workers=2, export=False)
        conn = sqlite3.connect(out / "data" / "case.db")
        try:
            self.outcome.coverage.append(Coverage(label, True, 0, "photos with exiftool truth, read as a folder"))
            compare.exif_folder(label, folder / "truth", conn, self.tallies["exif"])
            process_checks.custody_chain(label, out / "custody.jsonl", self.tallies["custody-chain"])
        finally:
            conn.close()

    def _filesystems(self, targets: list[Any], path: Path, conn: sqlite3.Connection) -> None:
        try:
            src = open_source(path)
        except SourceError:
            src = None
        try:
            for fs in targets:
                rows = compare.fs_rows(conn, fs)
                compare.listing(fs, rows, self.tallies["entries-listed"], self.tallies["deleted-found"])
                compare.content_hashes(fs, rows, self.tallies["content-hashes"])
                compare.times(fs, rows, self.tallies["times"], src.img if src is not None else None)
                compare.typing(fs, rows, self.tallies["typing"])
                compare.exif(fs, conn, self.tallies["exif"])
        finally:
            if src is not None:
                src.close()

    def _bundle(self, media: Media, out: Path) -> None:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        from devicex.bundle import seal

        seal(out, Ed25519PrivateKey.generate(), Actor("validation", "devicex validate"))
        process_checks.bundle_verification(media.label, out, self.verify, self.tallies["bundle-verification"])
        process_checks.tamper_detection(media.label, out, self.verify, self.tallies["tamper-detection"])

    def scope(self, fixtures: Path) -> None:
        from devicex.scope import parse_text

        phone = fixtures / "images" / "phone.img"
        manifest = fixtures / "truth" / "phone.img" / "manifest.tsv"
        if not (phone.exists() and manifest.exists()):
            return
        self.progress("scope: phone.img")
        scope = parse_text(process_checks.SCOPE, name="validation-scope.toml")
        out, _ = self.extract(phone, selector=ScopeSelector(scope), scope_text=scope.text)
        process_checks.scope_exclusion("fixtures:phone.img (scoped)", out, manifest, self.tallies["scope-exclusion"])
        process_checks.custody_chain("fixtures:phone.img (scoped)", out / "custody.jsonl",
                                     self.tallies["custody-chain"])

    def parsers(self) -> None:
        plugins = {getattr(m, "PARSER", None): m for m in check_modules()}
        for spec in parsers.registry():
            if spec.name == "exif":
                continue  # the EXIF requirement
            plugin = plugins.get(spec.name)
            requirement = plugin.REQUIREMENT if plugin is not None else parser_requirement(spec.name, spec.version)
            tally = self.tallies[requirement.id] = Tally(requirement)
            if plugin is None:
                tally.tested = False
                tally.note = "no truth check for this parser: its records are not validated"
                self.outcome.limitations.append(f"Parser {spec.name} {spec.version} is not validated (no truth "
                                                 "check module).")
            else:
                plugin.check(self, tally)
        for name, folder in self.plaso_folders:
            self.progress(f"{name} (plaso's test databases)")
            placed = plaso_compare.run(self, self.tallies, name, folder)
            self.outcome.coverage.append(Coverage(f"{name}/ (folder)", True, 0, f"{placed} test database(s) placed "
                                                  "at device paths, compared with plaso's test expectations"))

    def finish(self) -> Outcome:
        for coverage in self.outcome.coverage:
            if not coverage.read and coverage.filesystems:
                self.outcome.limitations.append(f"{coverage.media} is not read ({coverage.note}).")
        for tally in self.tallies.values():
            if tally.compared == 0 and tally.tested and not tally.note:
                tally.note = "nothing of this kind in the reference data given"
        return self.outcome


def validate(datasets: list[Path], work: Path, verify: Callable[[Path], list[str]],
             progress: Callable[[str], None] = lambda _: None, fixtures: Path = FIXTURES) -> Outcome:
    """Run devicex over the shipped fixtures and each dataset; compare; return the outcome."""
    v = Validation(work, verify, progress)
    loaded = [load_dataset(fixtures)] + [load_dataset(d) for d in datasets]  # bad folders fail before any work
    for ds in loaded:
        v.dataset(ds)
    v.scope(fixtures)
    v.parsers()
    return v.finish()


__all__ = ["FORMAT", "NOT_TESTED", "Outcome", "validate"]
