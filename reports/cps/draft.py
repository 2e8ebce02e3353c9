"""``devicex cps draft``: write the CPS documents of a finished case into ``data/cps/`` and record them in the
custody log (one ``cps-draft`` entry with each file's SHA-256)."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from devicex.custody import FILENAME as CUSTODY_FILE
from devicex.custody import Actor, Artefact, CustodyLog
from reports.cps import CPS_DIR, guide, mg6, mg6e, mg11, search, sfr1
from reports.cps.blocks import Document
from reports.cps.facts import gather
from reports.cps.pdf import convert
from reports.cps.word import write
from reports.model import Case

DOCUMENTS = ("MG11-continuity-statement", "readers-guide", "MG6C-unused-material", "MG6D-sensitive-material",
             "MG6E-disclosure-officers-report", "search-and-review-record", "SFR1-draft")


@dataclass(frozen=True)
class Drafted:
    files: list[Path]
    custody_seq: int | None


def documents(case: Case, folder: Path) -> dict[str, Document]:
    """Every document by file name (MG6C and MG6D numbering is read from and extended in ``folder``)."""
    facts = gather(case)
    mg6c, numbers = mg6.build_mg6c(case, folder, facts.case_ref)
    mg6d, sensitive_numbers = mg6.build_mg6d(case, folder, facts.case_ref)
    built = {"MG11-continuity-statement": mg11.build(facts), "readers-guide": guide.build(facts),
             "MG6C-unused-material": mg6c, "MG6D-sensitive-material": mg6d,
             "MG6E-disclosure-officers-report": mg6e.build(case, facts, numbers, sensitive_numbers),
             "search-and-review-record": search.build(case, facts), "SFR1-draft": sfr1.build(case, facts)}
    return {name: built[name] for name in DOCUMENTS}


def draft(case: Case, actor: Actor | None, *, pdf: bool = True) -> Drafted:
    """Write every document as .docx (and .pdf), in a fixed order; append the custody entry unless ``actor``
    is None."""
    folder = case.data_dir / CPS_DIR
    folder.mkdir(exist_ok=True)
    words = [write(doc, folder / f"{name}.docx", case.generated) for name, doc in documents(case, folder).items()]
    files = words + (convert(words) if pdf else []) + [folder / mg6.numbering_file(s) for s in mg6.SCHEDULES]
    files.sort()
    if actor is None:
        return Drafted(files, None)
    run = case.first_run()
    log = CustodyLog(case.root / CUSTODY_FILE, actor, run.get("case_ref"), run.get("exhibit_ref"))
    outputs = [Artefact("cps-document", p.relative_to(case.root).as_posix(), _sha256(p), p.stat().st_size)
               for p in files]
    entry = log.append("cps-draft", inputs=[Artefact("case-database", "data/case.db", _sha256(case.db_path),
                                                     case.db_path.stat().st_size)],
                       outputs=outputs, details={"documents": sorted(DOCUMENTS), "generated": case.generated,
                                                 "pdf": pdf, "timezone": case.zone.name if case.zone else None,
                                                 "timezone_source": case.zone.source if case.zone else None})
    return Drafted(files, entry["seq"])


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
