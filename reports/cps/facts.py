"""The facts the CPS documents state, read from a finished case only (``case.db`` and the custody log)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from reports.model import Case


@dataclass(frozen=True)
class SourceFacts:
    name: str
    container: str
    segments: tuple[str, ...]
    size: int
    intake: dict[str, str | None]      # md5, sha1, sha256 at intake
    reverify: dict[str, str | None]    # the same after extraction
    verified: str                      # match | mismatch | not-run ...
    stored: dict[str, str | None]      # hashes stored in the container (E01), if any
    stored_check: str                  # pass | fail | none ...


@dataclass(frozen=True)
class Facts:
    case_ref: str | None
    exhibit_ref: str | None
    examiner: str | None
    tool: str
    tool_version: str
    started: str | None
    finished: str | None
    status: str | None
    scope_mode: str
    sources: tuple[SourceFacts, ...]
    counts: dict[str, Any]
    custody: tuple[dict[str, Any], ...]
    chain_ok: bool
    chain_problem: str | None
    seal: dict[str, Any] | None          # the last seal or hand-over entry's seal details
    handovers: tuple[dict[str, Any], ...]
    validation: tuple[dict[str, Any], ...] = field(default=())


def _segments(raw: str | None) -> tuple[str, ...]:
    import json

    try:
        value = json.loads(raw or "[]")
    except ValueError:
        return (str(raw),)
    return tuple(str(v) for v in value) if isinstance(value, list) else (str(value),)


def _source(row: dict[str, Any]) -> SourceFacts:
    def trio(prefix: str) -> dict[str, str | None]:
        return {alg: row.get(f"{prefix}{alg}") for alg in ("md5", "sha1", "sha256")}

    return SourceFacts(row["name"], row["container"], _segments(row["segments"]), int(row["size"]), trio(""),
                       trio("verify_"), row["verified"], trio("stored_"), row["stored_check"])


def gather(case: Case) -> Facts:
    run = case.first_run()
    runs = case.runs()
    view = case.custody()
    entries = tuple(view.entries)
    seals = [e for e in entries if e["action"] in ("seal", "handover") and isinstance(e["details"].get("seal"), dict)]
    scope_modes = {e["details"].get("mode") for e in entries if e["action"] == "scope"}
    return Facts(
        case_ref=run.get("case_ref"), exhibit_ref=run.get("exhibit_ref"), examiner=run.get("examiner"),
        tool=run.get("tool", ""), tool_version=run.get("tool_version", ""), started=run.get("started"),
        finished=runs[-1].get("finished") if runs else None, status=runs[-1].get("status") if runs else None,
        scope_mode=", ".join(sorted(m for m in scope_modes if m)) or "not recorded",
        sources=tuple(_source(s) for s in case.sources()), counts=case.counts(), custody=entries,
        chain_ok=view.chain_ok, chain_problem=view.problem,
        seal=seals[-1]["details"]["seal"] if seals else None,
        handovers=tuple(e for e in entries if e["action"] == "handover"),
        validation=tuple(e for e in entries if e["action"] == "validation"))
