"""Each custody action in plain English: what was done, by whom, when, with the facts recorded."""
from __future__ import annotations

from typing import Any

from reports.cps.facts import Facts, SourceFacts

NAMES = {"md5": "MD5", "sha1": "SHA-1", "sha256": "SHA-256"}


def when(time: str | None) -> str:
    """``2024-05-01T12:00:00Z`` as ``2024-05-01 12:00:00 UTC`` (no time recorded when None)."""
    if not time:
        return "no time recorded"
    return time.replace("T", " ").rstrip("Z") + " UTC"


def _outputs(entry: dict[str, Any]) -> str:
    refs = [f"{o['ref']} (SHA-256 {o['sha256']})" for o in entry.get("outputs", []) if o.get("sha256")]
    return "; ".join(refs)


def _extraction(d: dict[str, Any]) -> str:
    return (f"The extraction finished: {d.get('files', 0)} entries listed, {d.get('streams_read', 0)} read, "
            f"{d.get('exported', 0)} exported, {d.get('deleted', 0)} deleted entries found, "
            f"{d.get('recovered', 0)} recovered, {d.get('records', 0)} parser records, "
            f"{d.get('excluded', 0)} entries left in the image by the scope, {d.get('errors', 0)} errors and "
            f"{d.get('warnings', 0)} warnings recorded; source re-verification: {d.get('source_verified')}.")


def sentence(entry: dict[str, Any]) -> str:
    """One custody entry as one or two plain sentences."""
    d, a = entry.get("details", {}), entry["action"]
    simple = {
        "source-open": lambda: f"The evidence ({', '.join(d.get('segments', []))}, {d.get('container')}) was "
                               f"opened read-only.",
        "intake": lambda: f"The whole source was hashed ({d.get('bytes_hashed')} bytes): MD5 {d.get('md5')}, "
                          f"SHA-1 {d.get('sha1')}, SHA-256 {d.get('sha256')}; hashes stored in the container: "
                          f"{d.get('stored_hash_check')}.",
        "scope": lambda: f"The examination scope was recorded: {d.get('mode')}"
                         + (f" (reason for a full extraction: {d['full_extraction_reason']})"
                            if d.get("full_extraction_reason") else "") + ".",
        "extraction-start": lambda: f"The extraction started with {d.get('tool')} version {d.get('tool_version')} "
                                    f"(settings SHA-256 {d.get('settings_sha256')}).",
        "parser-run": lambda: f"The {d.get('parser')} parser (version {d.get('version')}) read {d.get('files')} "
                              f"files and produced {d.get('records')} records ({d.get('failures')} failures).",
        "source-reverify": lambda: (f"The source was hashed again after the extraction: SHA-256 {d.get('sha256')}; "
                                    f"compared with intake: {d.get('verdict')}." if d.get("sha256") else
                                    "The source was not hashed again after the extraction, by the examiner's "
                                    "choice."),
        "extraction": lambda: _extraction(d),
        "report": lambda: f"Reports were written ({', '.join(d.get('formats', []))}): {_outputs(entry)}.",
        "tags-import": lambda: f"{d.get('tags')} investigator's marks were imported ({d.get('origin')}).",
        "tags-remove": lambda: f"{d.get('tags')} investigator's marks were removed from "
                               f"{', '.join(d.get('items', []))} (reason given: {d.get('reason')}).",
        "cps-draft": lambda: f"CPS documents were drafted: {_outputs(entry)}.",
        "seal": lambda: _seal("The case was sealed as a signed bundle", d),
        "handover": lambda: _seal(f"The bundle was handed over from {d.get('from')} to {d.get('to')} "
                                  f"(reason: {d.get('reason')}) and sealed", d),
    }
    text = simple[a]() if a in simple else f"Action '{a}' was recorded (result: {entry.get('result')})."
    if entry.get("result") not in (None, "ok") and a in simple:
        text += f" Result recorded: {entry['result']}."
    return text


def _seal(lead: str, d: dict[str, Any]) -> str:
    s = d.get("seal", {})
    text = (f"{lead} with key fingerprint {s.get('key_fingerprint_sha256')}; manifest SHA-256 "
            f"{s.get('payload_manifest_sha256')}, {s.get('payload_files')} files.")
    accepted = s.get("accepted_changes")
    if isinstance(accepted, dict):
        text += (f" {len(accepted.get('files', []))} files changed since the previous seal were accepted "
                 f"(reason given: {accepted.get('reason')}).")
    return text


def custody_rows(facts: Facts) -> tuple[tuple[str, ...], ...]:
    return tuple((str(e["seq"]), when(e["time"]), str(e["actor"].get("name")), sentence(e)) for e in facts.custody)


def hash_check(src: SourceFacts) -> str:
    """The source's intake, re-verification and acquisition (stored) hash check in one plain paragraph."""
    again = ", ".join(f"{NAMES[k]} {v}" for k, v in src.reverify.items() if v)
    text = (f"At intake the source {src.name} ({src.size} bytes) had MD5 {src.intake['md5']}, "
            f"SHA-1 {src.intake['sha1']} and SHA-256 {src.intake['sha256']}. "
            + (f"After the extraction it was hashed again: {again}; " if again else
               "After the extraction it was not hashed again, by the examiner's choice; ")
            + f"the result of the comparison was '{src.verified}'.")
    if any(src.stored.values()):
        stored = ", ".join(f"{NAMES[k]} {v}" for k, v in src.stored.items() if v)
        text += (f" The acquisition hashes stored in the container were {stored}; the check of the content "
                 f"against them was '{src.stored_check}'.")
    else:
        text += " The container holds no acquisition hashes; the acquisition record must be compared by hand."
    return text
