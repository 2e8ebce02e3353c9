"""The case summary page and the printable one-page summary."""
from __future__ import annotations

import json
from typing import Any

import reports.comms as comms
from reports.html.pages import Raw, e, e_lines, kv, table
from reports.model import Case, CustodyView

VERDICT = {"match": "MATCH: the image was unchanged by the extraction", "mismatch": "MISMATCH: hashes changed",
           "not-run": "not run", "not-reverified": "not re-verified, by the examiner's choice"}
STORED = {"none": "none stored in the image", "pass": "match", "match": "match", "fail": "MISMATCH"}


def _reverified(s: dict[str, Any]) -> str:
    """The verdict, and which hashes the re-verification computed."""
    text = str(VERDICT.get(str(s.get("verified")), s.get("verified")))
    algos = [name for name, col in (("MD5", "verify_md5"), ("SHA-1", "verify_sha1"), ("SHA-256", "verify_sha256"))
             if s.get(col)]
    return f"{text} ({', '.join(algos)})" if algos else text


RECOVERY = {"": "partition table", "table-entry": "its table entry, read directly (damaged table)",
            "backup-gpt": "the backup GPT (primary damaged)",
            "signature": "file-system signature scan (no usable table)"}

def _short(h: str | None) -> str:
    return h[:16] + "…" if h and len(h) > 16 else (h or "")


def case_title(case: Case) -> str:
    run = case.first_run()
    return str(run.get("case_ref") or case.root.name)


def _sources(case: Case) -> str:
    out = []
    for s in case.sources():
        try:
            segments = ", ".join(str(x) for x in json.loads(s["segments"]))
        except (ValueError, TypeError):
            segments = str(s["segments"])
        verify_class = "ok" if s["verified"] == "match" else "bad"
        out.append(kv([
            ("Evidence file", s["name"]), ("Path at extraction", s["path"]), ("Container", s["container"]),
            ("Segments", segments), ("Size (bytes)", f"{int(s['size']):,}"),
            ("MD5 (intake)", Raw(f"<code>{e(s['md5'])}</code>")),
            ("SHA-1 (intake)", Raw(f"<code>{e(s['sha1'])}</code>")),
            ("SHA-256 (intake)", Raw(f"<code>{e(s['sha256'])}</code>")),
            ("Re-verification after extraction", Raw(f'<span class="{verify_class}">{e(_reverified(s))}</span>')),
            ("SHA-256 (re-verification)", Raw(f"<code>{e(s['verify_sha256'])}</code>")),
            ("Hashes stored in the container", STORED.get(s["stored_check"], s["stored_check"])),
            ("Partition table", s["partition_table"]),
        ]))
    return "".join(out) or "<p>No source recorded.</p>"


def _custody(view: CustodyView) -> str:
    state = ('<p class="ok">Hash chain intact: every entry links to the one before.</p>' if view.chain_ok
             else f'<p class="bad">Custody log problem: {e(view.problem)}</p>')
    rows = []
    for entry in view.entries:
        actor: dict[str, Any] = entry["actor"] if isinstance(entry.get("actor"), dict) else {}
        arts = []
        for role, items in (("in", entry.get("inputs")), ("out", entry.get("outputs"))):
            for a in items if isinstance(items, list) else []:
                if isinstance(a, dict):
                    arts.append(f"{role}: {a.get('ref')} sha256 {_short(a.get('sha256'))}")
        details = json.dumps(entry.get("details", {}), indent=1, sort_keys=True, ensure_ascii=False)
        rows.append([entry.get("seq"), entry.get("time"), actor.get("name"), entry.get("action"), entry.get("result"),
                     "\n".join(arts),
                     Raw(f"<details><summary>details</summary><pre>{e_lines(details)}</pre></details>")])
    head = f"<p>{len(view.entries)} entries; head SHA-256 <code>{e(view.head)}</code></p>"
    return state + head + table(["#", "Time (UTC)", "By", "Action", "Result", "Inputs / outputs", "Details"], rows,
                                "grid custody")


def scope_text(text: str) -> str:
    """The plain-English description of a scope, or its TOML text if it cannot be read."""
    try:
        from devicex.scope import ScopeError, describe, parse_text
    except ImportError:
        return text
    try:
        return describe(parse_text(text))
    except ScopeError:
        return text


def _runs(case: Case) -> str:
    rows, scopes = [], []
    for r in case.runs():
        if r.get("scope"):
            selection = f"scoped (scope SHA-256 {_short(r.get('scope_sha256'))})"
            scopes.append(f"<details open><summary>Scope of run {e(r['id'])}</summary>"
                          f"<pre class=\"scope\">{e_lines(scope_text(r['scope']))}</pre></details>")
        else:
            reason = r.get("full_extraction_reason")
            selection = f"full extraction: {reason}" if reason else "full extraction (no reason recorded)"
        rows.append([r["id"], r["started"], r["finished"], r["status"], f"{r['tool']} {r['tool_version']}", selection,
                     Raw(f"<code>{e(_short(r['settings_sha256']))}</code>")])
    return ("<h3>Extraction runs</h3>"
            + table(["Run", "Started (UTC)", "Finished (UTC)", "Status", "Tool", "What was taken", "Settings SHA-256"],
                    rows) + "".join(scopes))


def camera_note(case: Case) -> str:
    """How camera clock times (EXIF without a recorded offset) are treated, for the reader."""
    if case.zone is None:
        return ("Camera clock times recorded without a UTC offset cannot be placed here (the device's time zone is "
                "not known); they are shown with the pictures as the camera's clock.")
    return (f"Camera clock times recorded without a UTC offset are converted from the device's time zone "
            f"{e(case.zone.name)} with its rules for each date (summer time included) and marked as converted; "
            f"the zone was {e(case.zone.source)}.")


def _activity(act: dict[str, Any]) -> str:
    series = act.get("series") or []
    if not series:
        return "<section><h2>Activity</h2><p>No dated activity recorded.</p></section>"
    totals = ", ".join(f"{e(s['label']).lower()}: {s['total']:,}" for s in series)
    zone = act.get("zone")
    zone_text = (f"Camera clock times converted from {e(zone['name'])} ({e(zone['source'])})." if zone else
                 "Device time zone not known: camera clock times without an offset are not counted.")
    return ('<section><h2>Activity</h2>'
            f'<p>Activity (files modified or created, pictures taken, dated records) from '
            f'<strong>{e(act["first"])}</strong> to <strong>{e(act["last"])}</strong> (UTC): {totals}. '
            f'{zone_text}</p>'
            '<div id="activity-small" class="activity-small"></div>'
            '<p><a href="timeline.html">Timeline: activity by day, hour and weekday, and every event</a></p>'
            '</section>')


def summary_body(case: Case, exports: list[str], act: dict[str, Any]) -> str:
    run = case.first_run()
    c = case.counts()
    parts = []
    if case.sealed:
        parts.append('<p class="warn">This report was written into a sealed bundle: the bundle must be re-sealed '
                     '(<code>devicex seal --accept-changes</code>) for its manifest to cover the report.</p>')
    parts.append('<section><h2>Case</h2>' + kv([
        ("Case reference", run.get("case_ref") or "(none given)"),
        ("Exhibit reference", run.get("exhibit_ref") or "(none given)"),
        ("Examiner", run.get("examiner")), ("Report generated (UTC)", case.generated), ("Report tool", case.tool),
    ]) + _runs(case) + "</section>")
    parts.append(_activity(act))
    parts.append(f"<section><h2>Evidence source</h2>{_sources(case)}</section>")
    parts.append(_layout(case))
    parts.append(_processed(case, c))
    if comms_section := _comms(case):
        parts.append(comms_section)
    parts.append(_counts(c))
    problems = case.rows("SELECT severity, stage, count(*) AS n FROM errors GROUP BY 1, 2 ORDER BY 1, 2")
    parts.append("<section><h2>Errors and skipped items</h2>"
                 + (table(["Severity", "Stage", "Count"], [[p["severity"], p["stage"], p["n"]] for p in problems])
                    if problems else "<p>None recorded.</p>")
                 + '<p><a href="problems.html">Full list of what could not be read, and why</a></p></section>')
    if exports:
        links = "".join(f'<li><a href="../export/{e(x)}">{e(x)}</a></li>' for x in exports)
        parts.append(f'<section><h2>Machine-readable exports</h2><ul class="exports">{links}</ul></section>')
    parts.append(f"<section><h2>Chain of custody</h2>{_custody(case.custody())}</section>")
    return "\n".join(parts)


def _layout(case: Case) -> str:
    vols = [[v["label"], v["tbl"], v["start"], v["length"], v["description"], "yes" if v["allocated"] else "no",
             RECOVERY.get(v.get("recovery") or "", v.get("recovery"))] for v in case.volumes()]
    fss = [[f["label"], f["offset"], f["fs_type"], f["block_size"], f["block_count"], "yes" if f["forced"] else "no"]
           for f in case.filesystems()]
    return ("<section><h2>Volumes and file systems</h2>"
            + table(["Volume", "Table", "Start (bytes)", "Length", "Description", "Allocated", "Found by"], vols)
            + table(["File system", "Offset", "Type", "Block size", "Blocks", "Type forced"], fss) + "</section>")


def _processed(case: Case, c: dict[str, Any]) -> str:
    processed = [
        ("Entries recorded (files, folders, streams)", c["entries"]), ("Folders", c["directories"]),
        ("Contents read and hashed", c["streams_read"]), ("Bytes read", f"{c['bytes_read']:,}"),
        ("Files exported", c["exported"]), ("Deleted or orphan entries", c["deleted"]),
        ("Deleted entries with content recovered", c["recovered"]),
        ("Deleted entries whose content is a guess (fragmented FAT, reused metadata: not recovered)", c["guessed"]),
        ("Extension mismatches", c["mismatches"]),
        ("Parser records", c["records"]), ("Files with GPS position", c["gps"]),
        ("Warnings", c["warnings"]), ("Errors", c["errors"]),
    ]
    parsers = [[p["parser"], p["version"], p["files"], p["records"], p["warnings"], p["failures"]]
               for p in case.parser_runs()]
    excl = [[x["reason"], x["count"], x["bytes"]] for x in case.exclusions() if not x.get("record_type")]
    left = [[x["reason"], x["count"]] for x in case.exclusions() if x.get("record_type")]
    return ("<section><h2>What was processed</h2>" + kv(processed)
            + "<h3>Parsers</h3>"
            + table(["Parser", "Version", "Files", "Records", "Warnings", "Failures"], parsers)
            + ("<h3>Left out by scope</h3>" + table(["Rule", "Entries", "Bytes"], excl) if excl else "")
            + ("<h3>Communications records left out by scope (counted, never written)</h3>"
               + table(["Kind: rule", "Records"], left) if left else "")
            + "</section>")


def _comms(case: Case) -> str:
    per_app = comms.per_app(case)
    if not per_app:
        return ""
    scope = comms.scope_banner(case)
    top = f'<p class="warn scope-banner" role="note"><strong>{e(scope)}</strong></p>' if scope else ""
    return ("<section><h2>Communications</h2>" + top + table(
        ["Kind", "App", "Records"], [[KIND_WORDS.get(k, k), app, n] for k, app, n in per_app])
        + '<p><a href="conversations.html">Conversations</a> · <a href="calls.html">Calls</a> · '
          '<a href="contacts.html">Contacts</a> · <a href="web.html">Web history</a></p></section>')


def _counts(c: dict[str, Any]) -> str:
    cats = [[cat, n] for cat, n in c["by_category"].items()]
    alloc = [[a, n] for a, n in c["by_alloc"].items()]
    status = [[s, n] for s, n in c["by_status"].items()]
    return ('<section><h2>Counts</h2><div class="cols">'
            + table(["Category (by content)", "Files"], cats) + table(["Allocation", "Entries"], alloc)
            + table(["Read status", "Entries"], status) + "</div></section>")


KIND_WORDS = {comms.MESSAGE: "Messages", comms.CALL: "Calls", comms.CONTACT: "Contacts",
              comms.VISIT: "Web visits", comms.DOWNLOAD: "Downloads"}


def comms_line(case: Case) -> str:
    """Messages and calls per app in one line ("none" when there are none)."""
    parts = [f"{app}: {n:,} {KIND_WORDS[k].lower()}" for k, app, n in comms.per_app(case)
             if k in (comms.MESSAGE, comms.CALL)]
    return "; ".join(parts) or "none"


def print_body(case: Case) -> str:
    """One A4 page: identity, source hashes and verification, counts, custody head."""
    run = case.first_run()
    c = case.counts()
    view = case.custody()
    src = case.sources()
    s: dict[str, Any] = src[0] if src else {}
    rows = [
        ("Case / exhibit", f"{run.get('case_ref') or '-'} / {run.get('exhibit_ref') or '-'}"),
        ("Examiner", run.get("examiner")),
        ("Evidence file", f"{s.get('name', '-')} ({s.get('container', '-')}, {int(s.get('size') or 0):,} bytes)"),
        ("MD5", Raw(f"<code>{e(s.get('md5'))}</code>")), ("SHA-1", Raw(f"<code>{e(s.get('sha1'))}</code>")),
        ("SHA-256", Raw(f"<code>{e(s.get('sha256'))}</code>")),
        ("Re-verified after extraction", _reverified(s)),
        ("Hashes stored in container", STORED.get(str(s.get("stored_check")), s.get("stored_check"))),
        ("Extraction (UTC)", f"{run.get('started')} to {run.get('finished')} ({run.get('status')})"),
        ("Tool", f"{run.get('tool')} {run.get('tool_version')}"),
        ("Entries / contents read / exported", f"{c['entries']:,} / {c['streams_read']:,} / {c['exported']:,}"),
        ("Bytes read", f"{c['bytes_read']:,}"),
        ("Deleted (recovered; content a guess)", f"{c['deleted']:,} ({c['recovered']:,}; {c['guessed']:,})"),
        ("By category", ", ".join(f"{k}: {v:,}" for k, v in c["by_category"].items())),
        ("Parser records / GPS-tagged files", f"{c['records']:,} / {c['gps']:,}"),
        ("Messages and calls by app", comms_line(case)),
        ("Extension mismatches", f"{c['mismatches']:,}"),
        ("Warnings / errors", f"{c['warnings']:,} / {c['errors']:,}"),
        ("Custody log", f"{len(view.entries)} entries, chain {'intact' if view.chain_ok else 'BROKEN'}"),
        ("Custody head SHA-256", Raw(f"<code>{e(view.head)}</code>")),
        ("Report generated (UTC)", f"{case.generated} by {case.tool}"),
    ]
    return (kv(rows, "kv print-kv")
            + '<div class="sign"><div>Examiner signature</div><div>Date</div></div>'
            + '<p class="print-hint noprint">Use the browser\'s Print command (Ctrl+P); this page fits one A4 '
              "or Letter sheet.</p>")
