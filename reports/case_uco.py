"""CASE/UCO JSON-LD (CASE 1.5.0 / UCO 1.5.0, the ontology ``case_validate``
from case-utils checks by default).

The graph holds the Investigation (case reference), the examiner (Person),
devicex (Tool), the evidence image and every extracted entry as
``observable:File`` with a ``FileFacet`` and, when content was read, a
``ContentDataFacet`` with its ``types:Hash`` nodes, one
``InvestigativeAction`` per custody-log entry (performer, instrument, object,
result, times, each informed by the previous one) and a ``ProvenanceRecord``
per exhibit grouping what the extraction produced.

Node IRIs end in UUIDv5 values derived from the source's SHA-256 and the run,
so the same case always gives the same graph.
"""
from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import reports.case_uco_comms as case_uco_comms
from reports.common import atomic_text
from reports.model import Case

FORMAT = "case-uco"  # the name `devicex report -f` knows this renderer by
DESCRIPTION = "case-uco.jsonld: CASE 1.5.0 / UCO 1.5.0 JSON-LD"
ALIASES = ("case", "uco")

CONTEXT = {
    "kb": "urn:devicex:",
    "case-investigation": "https://ontology.caseontology.org/case/investigation/",
    "uco-action": "https://ontology.unifiedcyberontology.org/uco/action/",
    "uco-core": "https://ontology.unifiedcyberontology.org/uco/core/",
    "uco-identity": "https://ontology.unifiedcyberontology.org/uco/identity/",
    "uco-observable": "https://ontology.unifiedcyberontology.org/uco/observable/",
    "uco-tool": "https://ontology.unifiedcyberontology.org/uco/tool/",
    "uco-types": "https://ontology.unifiedcyberontology.org/uco/types/",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
}
HASHES = (("md5", "MD5"), ("sha1", "SHA1"), ("sha256", "SHA256"))
STATUS = {"ok": "Success", "completed": "Complete/Finish", "failed": "Fail"}


def _t(kind: str, value: Any) -> dict[str, Any]:
    return {"@type": f"xsd:{kind}", "@value": value}


def _ref(iri: str) -> dict[str, str]:
    return {"@id": iri}


class _Ids:
    def __init__(self, case: Case) -> None:
        src = case.sources()
        seed = "|".join([src[0]["sha256"] or src[0]["name"] if src else "no-source",
                         str(case.first_run().get("started", ""))])
        self.ns = uuid.uuid5(uuid.NAMESPACE_URL, "urn:devicex:" + seed)

    def __call__(self, kind: str, key: object) -> str:
        return f"kb:{kind}-{uuid.uuid5(self.ns, f'{kind}:{key}')}"


def _hash_nodes(ids: _Ids, owner: str, row: dict[str, Any]) -> list[dict[str, Any]]:
    nodes = []
    for col, method in HASHES:
        if row.get(col):
            nodes.append({"@id": ids("Hash", f"{owner}:{col}"), "@type": "uco-types:Hash",
                          "uco-types:hashMethod": method, "uco-types:hashValue": _t("hexBinary", row[col])})
    return nodes


def _file_node(ids: _Ids, f: dict[str, Any]) -> list[dict[str, Any]]:
    iri = ids("File", f["id"])
    facet: dict[str, Any] = {
        "@id": ids("FileFacet", f["id"]), "@type": "uco-observable:FileFacet",
        "uco-observable:fileName": f["name"] + (f":{f['stream']}" if f["stream"] else ""),
        "uco-observable:filePath": f["path"] + (f":{f['stream']}" if f["stream"] else ""),
        "uco-observable:isDirectory": _t("boolean", f["kind"] in ("dir", "virtual-dir")),
        "uco-observable:sizeInBytes": _t("integer", int(f["size"] or 0)),
        "uco-observable:allocationStatus": f["alloc"],
    }
    if f["extension"]:
        facet["uco-observable:extension"] = f["extension"]
    for col, prop in (("crtime", "observableCreatedTime"), ("mtime", "modifiedTime"), ("atime", "accessedTime"),
                      ("ctime", "metadataChangeTime")):
        if f[col]:
            facet[f"uco-observable:{prop}"] = _t("dateTime", f[col])
    facets = [facet]
    extra: list[dict[str, Any]] = []
    if f["sha256"]:
        hashes = _hash_nodes(ids, iri, f)
        content: dict[str, Any] = {
            "@id": ids("ContentDataFacet", f["id"]), "@type": "uco-observable:ContentDataFacet",
            "uco-observable:sizeInBytes": _t("integer", int(f["bytes_read"] or 0)),
            "uco-observable:hash": [_ref(h["@id"]) for h in hashes],
        }
        if f["mime"]:
            content["uco-observable:mimeType"] = f["mime"]
        facets.append(content)
        extra.extend(hashes)
    node = {"@id": iri, "@type": "uco-observable:File", "uco-core:hasFacet": [_ref(x["@id"]) for x in facets]}
    return [node, *facets, *extra]


def graph(case: Case) -> dict[str, Any]:
    ids = _Ids(case)
    run = case.first_run()
    nodes: list[dict[str, Any]] = []
    tool = ids("Tool", "devicex")
    program, _, version = case.tool.partition(" ")
    nodes.append({"@id": tool, "@type": "uco-tool:Tool", "uco-core:name": program,
                  "uco-tool:version": run.get("tool_version") or version, "uco-tool:toolType": "extraction"})
    people: dict[str, str] = {}

    def person(name: str | None) -> str:
        name = name or "unknown examiner"
        if name not in people:
            people[name] = ids("Person", name)
            nodes.append({"@id": people[name], "@type": "uco-identity:Person", "uco-core:name": name})
        return people[name]

    person(run.get("examiner"))
    sources = []
    for src in case.sources():
        source_nodes = _source_nodes(ids, src)
        sources.append(source_nodes[0]["@id"])
        nodes.extend(source_nodes)
    file_iris: list[str] = []
    for f in case.files():
        sub = _file_node(ids, f)
        file_iris.append(sub[0]["@id"])
        nodes.extend(sub)
    found, found_iris = case_uco_comms.nodes(case, ids)
    nodes.extend(found)
    record = ids("ProvenanceRecord", run.get("id", 0))
    prov: dict[str, Any] = {"@id": record, "@type": "case-investigation:ProvenanceRecord",
                            "uco-core:description": "Entries extracted by devicex from the evidence image",
                            "uco-core:object": [_ref(i) for i in [*sources, *file_iris, *found_iris]]}
    if run.get("exhibit_ref"):
        prov["case-investigation:exhibitNumber"] = run["exhibit_ref"]
    nodes.append(prov)
    actions: list[str] = []
    for entry in case.custody().entries:
        action = _action(ids, entry, len(actions) + 1, run, person, [tool, record, *sources])
        if actions:
            action["case-investigation:wasInformedBy"] = _ref(actions[-1])
        nodes.append(action)
        actions.append(action["@id"])
    investigation = {"@id": ids("Investigation", run.get("case_ref") or ""),
                     "@type": "case-investigation:Investigation",
                     "uco-core:name": run.get("case_ref") or "devicex case",
                     "case-investigation:investigationForm": "case",
                     "uco-core:object": [_ref(i) for i in [*actions, record, tool, *sorted(people.values())]]}
    if run.get("started"):
        investigation["uco-core:startTime"] = _t("dateTime", run["started"])
    nodes.insert(0, investigation)
    return {"@context": CONTEXT, "@graph": nodes}


def _source_nodes(ids: _Ids, src: dict[str, Any]) -> list[dict[str, Any]]:
    """The evidence container as a File with its file and content facets and hashes (the File first)."""
    iri = ids("Source", src["id"])
    hashes = _hash_nodes(ids, iri, src)
    facet: dict[str, Any] = {
        "@id": ids("SourceFileFacet", src["id"]), "@type": "uco-observable:FileFacet",
        "uco-observable:fileName": src["name"], "uco-observable:sizeInBytes": _t("integer", int(src["size"]))}
    content: dict[str, Any] = {
        "@id": ids("SourceContentDataFacet", src["id"]), "@type": "uco-observable:ContentDataFacet",
        "uco-observable:sizeInBytes": _t("integer", int(src["size"])),
        "uco-observable:hash": [_ref(h["@id"]) for h in hashes]}
    file = {"@id": iri, "@type": "uco-observable:File", "uco-core:name": src["name"],
            "uco-core:hasFacet": [_ref(facet["@id"]), _ref(content["@id"])]}
    return [file, facet, content, *hashes]


def _action(ids: _Ids, entry: dict[str, Any], number: int, run: dict[str, Any], person: Callable[[str | None], str],
            refs: list[str]) -> dict[str, Any]:
    """One custody entry as an InvestigativeAction; ``refs``: the tool, the provenance record, the sources."""
    tool, record, *sources = refs
    action: dict[str, Any] = {
        "@id": ids("InvestigativeAction", entry.get("seq", number)), "@type": "case-investigation:InvestigativeAction",
        "uco-core:name": str(entry.get("action", "")),
        "uco-core:description": json.dumps(entry.get("details", {}), sort_keys=True, ensure_ascii=False),
        "uco-action:instrument": [_ref(tool)],
        "uco-action:object": [_ref(s) for s in sources],
    }
    actor: dict[str, Any] = entry["actor"] if isinstance(entry.get("actor"), dict) else {}
    action["uco-action:performer"] = _ref(person(actor.get("name") or run.get("examiner")))
    if isinstance(entry.get("time"), str):
        action["uco-action:startTime"] = _t("dateTime", entry["time"])
        action["uco-action:endTime"] = _t("dateTime", entry["time"])
    status = STATUS.get(str(entry.get("result")))
    action["uco-action:actionStatus"] = status or "Error"
    if entry.get("action") == "extraction":
        action["uco-action:result"] = [_ref(record)]
        if run.get("started"):
            action["uco-action:startTime"] = _t("dateTime", run["started"])
    return action


def render(case: Case) -> list[Path]:
    path = case.export_dir / "case-uco.jsonld"
    with atomic_text(path) as fh:
        json.dump(graph(case), fh, ensure_ascii=False, indent=1, sort_keys=True)
        fh.write("\n")
    return [path]
