"""The validation record on disk: ``OUT/data/validation.json`` and ``validation.html``,
logged in ``OUT/custody.jsonl`` and sealed with the examiner's key like an extraction
bundle (``devicex verify OUT`` checks it)."""
from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from devicex.bundle import SealResult, seal
from devicex.custody import FILENAME as CUSTODY_FILE
from devicex.custody import Actor, Artefact, CustodyLog
from devicex.hashing import sha256_file
from pipelines.validate import FORMAT, Outcome
from pipelines.validate.environment import describe

RECORD_JSON = "data/validation.json"
RECORD_HTML = "data/validation.html"


def build(outcome: Outcome, examiner: dict[str, str | None]) -> dict[str, Any]:
    requirements = [t.as_dict() for t in outcome.tallies.values()]
    return {
        "format": FORMAT, "result": outcome.result, "examiner": examiner, "environment": describe(),
        "summary": [{k: r[k] for k in ("id", "title", "made_by", "compared", "agreed", "disagreed",
                                       "truth_tool_faults", "known_limitation", "images", "criterion", "status")}
                    for r in requirements],
        "requirements": requirements, "datasets": outcome.datasets,
        "coverage": [asdict(c) for c in outcome.coverage], "limitations": outcome.limitations,
    }


def write(record: dict[str, Any], html: str, out: Path, key: Ed25519PrivateKey | None, actor: Actor,
          organisation: str | None) -> SealResult | None:
    """Write the record (JSON) and its page (``html``, rendered by reports.validation), log and seal."""
    (out / "data").mkdir(parents=True, exist_ok=True)
    outputs = []
    for rel, data in ((RECORD_JSON, json.dumps(record, indent=1, sort_keys=True, ensure_ascii=False) + "\n"),
                      (RECORD_HTML, html)):
        (out / rel).write_text(data, encoding="utf-8")
        digest, size = sha256_file(str(out / rel))
        outputs.append(Artefact("validation-record", rel, digest, size))
    CustodyLog(out / CUSTODY_FILE, actor, None, None).append(
        "validation", outputs=outputs, result=record["result"],
        details={"format": FORMAT, "result": record["result"], "devicex": record["environment"]["devicex"],
                 "devicex_commit": record["environment"]["devicex_commit"],
                 "requirements": {r["id"]: r["status"] for r in record["summary"]}})
    return seal(out, key, actor, organisation=organisation) if key is not None else None


def read_reference(record: Path) -> dict[str, Any]:
    """What an extraction records about the validation record it runs under: the record
    must verify (signature, manifest, custody); its result, tool version and seal."""
    from devicex.verify import verify_bundle

    result = verify_bundle(record)
    if not result.ok:
        first = result.failures[0]
        raise ValueError(f"{record}: the validation record fails verification ([{first.code}] {first.message})")
    data = json.loads((record / RECORD_JSON).read_text(encoding="utf-8"))
    if data.get("format") != FORMAT:
        raise ValueError(f"{record}: not a devicex validation record")
    return {"path": str(record.resolve()), "result": data["result"], "date": data["environment"]["date"],
            "devicex": data["environment"]["devicex"], "devicex_commit": data["environment"]["devicex_commit"],
            "record_sha256": sha256_file(str(record / RECORD_JSON))[0],
            "key_fingerprint_sha256": result.key_fingerprint}
