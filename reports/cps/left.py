"""What the examination scope left behind, from ``exclusions``: files left in the image (by rule, with bytes)
and records a communications selection did not take (by record kind and rule; their content is never held).
A case made before record-level scope has no ``record_type`` column: every row there is a file rule."""
from __future__ import annotations

from typing import Any

from reports.model import Case


def _has_kinds(case: Case) -> bool:
    return any(r[1] == "record_type" for r in case.conn.execute("PRAGMA table_info(exclusions)"))


def _where(run_id: int | None) -> tuple[str, tuple[Any, ...]]:
    return ("AND run_id = ?", (run_id,)) if run_id is not None else ("", ())


def files_left(case: Case, run_id: int | None = None) -> list[dict[str, Any]]:
    """reason, count, bytes of the files each rule left in the image (all runs summed unless ``run_id``)."""
    extra, params = _where(run_id)
    kinds = "AND record_type IS NULL" if _has_kinds(case) else ""
    return case.rows(f"SELECT reason, sum(count) AS count, sum(bytes) AS bytes FROM exclusions WHERE 1 = 1 {kinds} "
                     f"{extra} GROUP BY reason ORDER BY reason", params)


def records_left(case: Case, run_id: int | None = None) -> list[dict[str, Any]]:
    """record_type, reason, count of the records each communications rule did not take."""
    if not _has_kinds(case):
        return []
    extra, params = _where(run_id)
    return case.rows("SELECT record_type, reason, sum(count) AS count FROM exclusions WHERE record_type IS NOT NULL "
                     f"{extra} GROUP BY record_type, reason ORDER BY record_type, reason", params)


def sentence(case: Case) -> str:
    """Everything the scope left, in one sentence part."""
    files = "; ".join(f"{r['count']} files left in the image ({r['reason']})" for r in files_left(case)) or \
        "no file was left in the image by a scope rule"
    records = records_left(case)
    if records:
        files += "; " + "; ".join(f"{r['count']} {r['record_type']} records not taken ({r['reason']})"
                                  for r in records)
    return files
