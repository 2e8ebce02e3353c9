"""Reports rendered from a finished case folder or bundle (never the image).

A renderer is a module of this package that declares ``FORMAT`` (its name),
``DESCRIPTION`` and optionally ``ALIASES``, and has ``render(case) -> paths``;
it is found by looking, not listed anywhere. Each takes a read-only
:class:`reports.model.Case` and returns the paths it wrote. Machine formats go
to ``data/export/``, the HTML report to ``data/report/``; a renderer that
declares ``LINKS_EXPORTS = True`` (the HTML report) runs after the others, so
it can link what they wrote.
"""
from __future__ import annotations

import hashlib
import importlib
import pkgutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import ModuleType

from devicex.bagit import MANIFEST, parse_manifest
from devicex.custody import FILENAME as CUSTODY_FILE
from devicex.custody import Actor, Artefact, CustodyLog
from devicex.hashing import sha256_file as _sha256_file_size
from devicex.outdir import find_link
from reports.cameratime import ZoneError
from reports.model import Case, CaseError, open_case


@dataclass(frozen=True)
class Renderer:
    name: str
    description: str
    aliases: tuple[str, ...]
    links_exports: bool
    render: Callable[[Case], list[Path]]


@cache
def renderers() -> dict[str, Renderer]:
    """Every renderer of the package by name, in run order: machine formats by name, then those
    that link the exports."""
    found: list[Renderer] = []
    for info in pkgutil.iter_modules(__path__, f"{__name__}."):
        module: ModuleType = importlib.import_module(info.name)
        name = getattr(module, "FORMAT", None)
        if isinstance(name, str) and callable(getattr(module, "render", None)):
            found.append(Renderer(name, str(getattr(module, "DESCRIPTION", "")),
                                  tuple(getattr(module, "ALIASES", ())), bool(getattr(module, "LINKS_EXPORTS", False)),
                                  module.render))
    found.sort(key=lambda r: (r.links_exports, r.name))
    names = [r.name for r in found]
    if len(set(names)) != len(names):
        raise RuntimeError(f"two report renderers declare the same FORMAT: {names}")
    return {r.name: r for r in found}


@dataclass
class Outcome:
    case: Case
    written: dict[str, list[Path]] = field(default_factory=dict)


def _sha256(path: Path) -> str:
    return _sha256_file_size(path)[0]


def resolve(names: Sequence[str] | str | None) -> list[str]:
    """Renderer names in run order; ``None``/"all" means every format."""
    known = renderers()
    if names is None:
        return list(known)
    if isinstance(names, str):
        names = [n for n in names.replace(" ", "").split(",") if n]
    aliases = {alias: r.name for r in known.values() for alias in r.aliases}
    wanted: set[str] = set()
    for n in names:
        n = aliases.get(n.lower(), n.lower())
        if n == "all":
            wanted.update(known)
        elif n not in known:
            raise ValueError(f"unknown report format {n!r} (choose from: {', '.join(known)}, all)")
        else:
            wanted.add(n)
    return [n for n in known if n in wanted]


def render(path: Path, formats: Sequence[str] | str | None = None, *, generated: str | None = None,
           progress: Callable[[str], None] | None = None, timezone: str | None = None) -> Outcome:
    """Render ``formats`` for the case at ``path``; returns what was written.
    ``timezone``: the device's IANA time zone, for camera clock times."""
    names = resolve(formats)
    case = open_case(path, generated, timezone)
    link = find_link(case.root)
    if link is not None:
        case.close()
        raise CaseError(f"{link}: a symbolic link inside the case folder; reports are never written through one: "
                        "remove it")
    outcome = Outcome(case)
    for name in names:
        if progress:
            progress(name)
        outcome.written[name] = renderers()[name].render(case)
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
                                                "tool": case.tool, "sealed_before": case.sealed, **tree,
                                                "device_timezone": ({"name": case.zone.name, "source": case.zone.source}
                                                                    if case.zone else None)})


def _sealed_hashes(root: Path) -> dict[str, str]:
    """Payload SHA-256 values of a sealed bundle's BagIt manifest (empty if none)."""
    manifest = root / MANIFEST
    return parse_manifest(manifest.read_bytes())[0] if manifest.is_file() else {}


def digest_tree(root: Path) -> tuple[str, int]:
    """SHA-256 over the sorted (relative path, file SHA-256) list of a folder, and its file count."""
    lines = []
    for p in sorted(root.rglob("*")):
        if p.is_file():
            lines.append(f"{p.relative_to(root).as_posix()}\t{hashlib.sha256(p.read_bytes()).hexdigest()}\n")
    return hashlib.sha256("".join(lines).encode()).hexdigest(), len(lines)


__all__ = ["Case", "CaseError", "Outcome", "ZoneError", "digest_tree", "open_case", "record_custody",
           "render", "renderers", "resolve"]
