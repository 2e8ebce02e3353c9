"""Reports rendered from a finished case folder or bundle (never the image).

Renderers are chosen by name; each takes a read-only :class:`reports.model.Case`
and returns the paths it wrote. Machine formats go to ``data/export/``, the
HTML report to ``data/report/`` (written last, so it can link the exports).
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from devicex.hashing import sha256_file as _sha256_file_size
from devicex.custody import FILENAME as CUSTODY_FILE
from devicex.custody import Actor, Artefact, CustodyLog
from reports.model import Case, CaseError, open_case


@dataclass(frozen=True)
class Renderer:
    name: str
    module: str
    description: str


RENDERERS: dict[str, Renderer] = {r.name: r for r in (
    Renderer("csv", "reports.csv_tables", "files.csv, exif.csv, timeline.csv (UTF-8 BOM, formula-safe)"),
    Renderer("jsonl", "reports.jsonl", "records.jsonl (all parser records), files.jsonl"),
    Renderer("bodyfile", "reports.bodyfile", "bodyfile.txt: TSK 3.x body file for mactime"),
    Renderer("timesketch", "reports.timesketch", "timesketch.jsonl and timesketch.csv"),
    Renderer("dfxml", "reports.dfxml", "dfxml.xml in fiwalk's element order"),
    Renderer("case-uco", "reports.case_uco", "case-uco.jsonld: CASE 1.5.0 / UCO 1.5.0 JSON-LD"),
    Renderer("geo", "reports.geo", "places.geojson and places.kml of GPS-tagged files"),
    Renderer("html", "reports.html", "report/index.html: the offline human report"),
)}
ORDER = tuple(RENDERERS)
ALIASES = {"case": "case-uco", "uco": "case-uco", "kml": "geo", "geojson": "geo", "json": "jsonl"}


@dataclass
class Outcome:
    case: Case
    written: dict[str, list[Path]] = field(default_factory=dict)


def _sha256(path: Path) -> str:
    return _sha256_file_size(path)[0]


def resolve(names: Sequence[str] | str | None) -> list[str]:
    """Renderer names in run order; ``None``/"all" means every format."""
    if names is None:
        return list(ORDER)
    if isinstance(names, str):
        names = [n for n in names.replace(" ", "").split(",") if n]
    wanted: set[str] = set()
    for n in names:
        n = ALIASES.get(n.lower(), n.lower())
        if n == "all":
            wanted.update(ORDER)
        elif n not in RENDERERS:
            raise ValueError(f"unknown report format {n!r} (choose from: {', '.join(ORDER)}, all)")
        else:
            wanted.add(n)
    return [n for n in ORDER if n in wanted]


def renderer(name: str) -> Callable[[Case], list[Path]]:
    import importlib

    return importlib.import_module(RENDERERS[name].module).render  # type: ignore[no-any-return]


def render(path: Path, formats: Sequence[str] | str | None = None, *, generated: str | None = None,
           progress: Callable[[str], None] | None = None) -> Outcome:
    """Render ``formats`` for the case at ``path``; returns what was written."""
    names = resolve(formats)
    case = open_case(path, generated)
    outcome = Outcome(case)
    for name in names:
        if progress:
            progress(name)
        outcome.written[name] = renderer(name)(case)
    return outcome


def record_custody(outcome: Outcome, actor: Actor) -> dict[str, object]:
    """Append one ``report`` entry to the case's custody log: what was written,
    with SHA-256 and size (the HTML report: its entry page, plus a digest over
    all its files in the details)."""
    case = outcome.case
    run = case.first_run()
    outputs = []
    sealed = _sealed_hashes(case.root)
    tree: dict[str, object] = {}
    for name, paths in outcome.written.items():
        for p in paths:
            if name == "html":
                tree["report_tree_sha256"], tree["report_files"] = digest_tree(case.report_dir)
                # The entry page always; in a sealed bundle also each report file that replaces a
                # sealed one, so re-sealing finds the change accounted for.
                for f in sorted(case.report_dir.rglob("*")):
                    rel = f.relative_to(case.root).as_posix()
                    if f.is_file() and (f == p or rel in sealed):
                        digest = _sha256(f)
                        if f == p or digest != sealed[rel]:
                            outputs.append(Artefact(f"report:{name}", rel, digest, f.stat().st_size))
            else:
                outputs.append(Artefact(f"report:{name}", p.relative_to(case.root).as_posix(), _sha256(p),
                                        p.stat().st_size))
    db = case.db_path
    log = CustodyLog(case.root / CUSTODY_FILE, actor, run.get("case_ref"), run.get("exhibit_ref"))
    return log.append("report", inputs=[Artefact("case-database", "data/case.db", _sha256(db), db.stat().st_size)],
                      outputs=outputs, details={"formats": list(outcome.written), "generated": case.generated,
                                                "tool": case.tool, "sealed_before": case.sealed, **tree})


def _sealed_hashes(root: Path) -> dict[str, str]:
    """Payload SHA-256 values of a sealed bundle's BagIt manifest (empty if none)."""
    manifest = root / "manifest-sha256.txt"
    if not manifest.is_file():
        return {}
    out = {}
    for line in manifest.read_text(encoding="utf-8", errors="replace").splitlines():
        digest, _, path = line.partition(" ")
        if digest and path.lstrip(" *"):
            out[path.lstrip(" *")] = digest.lower()
    return out


def digest_tree(root: Path) -> tuple[str, int]:
    """SHA-256 over the sorted (relative path, file SHA-256) list of a folder, and its file count."""
    lines = []
    for p in sorted(root.rglob("*")):
        if p.is_file():
            lines.append(f"{p.relative_to(root).as_posix()}\t{hashlib.sha256(p.read_bytes()).hexdigest()}\n")
    return hashlib.sha256("".join(lines).encode()).hexdigest(), len(lines)


__all__ = ["RENDERERS", "Case", "CaseError", "Outcome", "digest_tree", "open_case", "record_custody", "render",
           "resolve"]
