"""Communications in CASE/UCO: messages (``observable:Message``), calls
(``observable:Call``), contacts (``observable:Contact`` with ``ContactPhone`` /
``ContactEmail``) and web history (one ``observable:URLHistory`` per history
database, an ``URLHistoryEntry`` per visit), with the people as
``PhoneAccount`` / ``EmailAddress`` objects (one per normalised identifier) and
the apps as ``Application`` objects. Every object is listed in the extraction's
``ProvenanceRecord``.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import reports.comms as comms
from reports.model import Case

Node = dict[str, Any]


def _t(kind: str, value: Any) -> Node:
    return {"@type": f"xsd:{kind}", "@value": value}


def _ref(iri: str) -> Node:
    return {"@id": iri}


class _Graph:
    def __init__(self, ids: Callable[[str, object], str]) -> None:
        self.ids = ids
        self.nodes: list[Node] = []
        self.objects: list[str] = []
        self._people: dict[str, str] = {}
        self._apps: dict[str, str] = {}
        self._urls: dict[str, str] = {}

    def add(self, node: Node, listed: bool = True) -> str:
        self.nodes.append(node)
        if listed:
            self.objects.append(node["@id"])
        return str(node["@id"])

    def person(self, ident: str | None) -> str | None:
        if not ident:
            return None
        if ident not in self._people:
            email = "@" in ident
            facet = {"@id": self.ids("IdentifierFacet", ident),
                     "@type": "uco-observable:EmailAddressFacet" if email else "uco-observable:PhoneAccountFacet",
                     ("uco-observable:addressValue" if email else "uco-observable:phoneNumber"): ident}
            self.nodes.append(facet)
            self._people[ident] = self.add({
                "@id": self.ids("Identifier", ident),
                "@type": "uco-observable:EmailAddress" if email else "uco-observable:PhoneAccount",
                "uco-core:hasFacet": [_ref(facet["@id"])]})
        return self._people[ident]

    def app(self, name: str | None) -> str | None:
        if not name:
            return None
        if name not in self._apps:
            self._apps[name] = self.add({"@id": self.ids("Application", name), "@type": "uco-observable:Application",
                                         "uco-core:name": name})
        return self._apps[name]

    def url(self, value: str) -> str:
        if value not in self._urls:
            facet = {"@id": self.ids("URLFacet", value), "@type": "uco-observable:URLFacet",
                     "uco-observable:fullValue": value}
            self.nodes.append(facet)
            self._urls[value] = self.add({"@id": self.ids("URL", value), "@type": "uco-observable:URL",
                                          "uco-core:hasFacet": [_ref(facet["@id"])]})
        return self._urls[value]


def nodes(case: Case, ids: Callable[[str, object], str]) -> tuple[list[Node], list[str]]:
    """The communications nodes and the IRIs to list in the ProvenanceRecord."""
    g = _Graph(ids)
    for r in comms.records(case, comms.MESSAGE):
        _message(g, r)
    for r in comms.records(case, comms.CALL):
        _call(g, r)
    for r in comms.records(case, comms.CONTACT):
        _contact(g, r)
    _history(g, case)
    return g.nodes, g.objects


def _message(g: _Graph, r: dict[str, Any]) -> None:
    d = r["data"]
    facet: Node = {"@id": g.ids("MessageFacet", r["id"]), "@type": "uco-observable:MessageFacet"}
    if d.get("body") is not None:
        facet["uco-observable:messageText"] = str(d["body"])
    if d.get("time_utc"):
        facet["uco-observable:sentTime"] = _t("dateTime", d["time_utc"])
    if d.get("service"):
        facet["uco-observable:messageType"] = str(d["service"])
    if d.get("thread"):
        facet["uco-observable:sessionID"] = str(d["thread"])
    app = g.app(d.get("app"))
    if app:
        facet["uco-observable:application"] = _ref(app)
    sender = g.person(d.get("sender_id"))
    if sender:
        facet["uco-observable:from"] = _ref(sender)
    if d.get("direction") == "outgoing":
        to = [g.person(i) for i in d.get("participant_ids") or []]
        if any(to):
            facet["uco-observable:to"] = [_ref(i) for i in to if i]
    g.nodes.append(facet)
    g.add({"@id": g.ids("Message", r["id"]), "@type": "uco-observable:Message",
           "uco-core:description": _where(r), "uco-core:hasFacet": [_ref(facet["@id"])]})


def _call(g: _Graph, r: dict[str, Any]) -> None:
    d = r["data"]
    facet: Node = {"@id": g.ids("CallFacet", r["id"]), "@type": "uco-observable:CallFacet",
                   "uco-observable:callType": str(d.get("direction") or "unknown")}
    if d.get("time_utc"):
        facet["uco-observable:startTime"] = _t("dateTime", d["time_utc"])
    if isinstance(d.get("duration_s"), int):
        facet["uco-observable:duration"] = _t("integer", d["duration_s"])
    app = g.app(d.get("app"))
    if app:
        facet["uco-observable:application"] = _ref(app)
    other = g.person(d.get("number_id"))
    if other:
        facet["uco-observable:to" if d.get("direction") == "outgoing" else "uco-observable:from"] = \
            [_ref(other)] if d.get("direction") == "outgoing" else _ref(other)
    g.nodes.append(facet)
    g.add({"@id": g.ids("Call", r["id"]), "@type": "uco-observable:Call", "uco-core:description": _where(r),
           "uco-core:hasFacet": [_ref(facet["@id"])]})


def _contact(g: _Graph, r: dict[str, Any]) -> None:
    d = r["data"]
    facet: Node = {"@id": g.ids("ContactFacet", r["id"]), "@type": "uco-observable:ContactFacet"}
    if d.get("name"):
        facet["uco-observable:displayName"] = str(d["name"])
    phones = []
    for n, ident in enumerate(d.get("number_ids") or []):
        node: Node = {"@id": g.ids("ContactPhone", f"{r['id']}:{n}"), "@type": "uco-observable:ContactPhone",
                      "uco-observable:contactPhoneNumber": _ref(g.person(ident) or "")}
        g.nodes.append(node)
        phones.append(_ref(str(node["@id"])))
    if phones:
        facet["uco-observable:contactPhone"] = phones
    emails = []
    for n, ident in enumerate(d.get("emails") or []):
        node = {"@id": g.ids("ContactEmail", f"{r['id']}:{n}"), "@type": "uco-observable:ContactEmail",
                "uco-observable:emailAddress": _ref(g.person(ident) or "")}
        g.nodes.append(node)
        emails.append(_ref(str(node["@id"])))
    if emails:
        facet["uco-observable:contactEmail"] = emails
    app = g.app(d.get("app"))
    if app:
        facet["uco-observable:sourceApplication"] = _ref(app)
    g.nodes.append(facet)
    g.add({"@id": g.ids("Contact", r["id"]), "@type": "uco-observable:Contact", "uco-core:description": _where(r),
           "uco-core:hasFacet": [_ref(facet["@id"])]})


def _history(g: _Graph, case: Case) -> None:
    entries: dict[int, list[Node]] = {}
    apps: dict[int, str | None] = {}
    for r in comms.records(case, comms.VISIT):
        d = r["data"]
        if not d.get("url"):
            continue
        entry: Node = {"@id": g.ids("URLHistoryEntry", r["id"]), "@type": "uco-observable:URLHistoryEntry",
                       "uco-observable:url": _ref(g.url(str(d["url"])))}
        if d.get("time_utc"):
            entry["uco-observable:lastVisit"] = _t("dateTime", d["time_utc"])
        if d.get("title"):
            entry["uco-observable:pageTitle"] = str(d["title"])
        entries.setdefault(r["file_id"], []).append(entry)
        apps.setdefault(r["file_id"], d.get("app"))
    for file_id, items in entries.items():
        g.nodes.extend(items)
        facet: Node = {"@id": g.ids("URLHistoryFacet", file_id), "@type": "uco-observable:URLHistoryFacet",
                       "uco-observable:urlHistoryEntry": [_ref(e["@id"]) for e in items]}
        app = g.app(apps[file_id])
        if app:
            facet["uco-observable:browserInformation"] = _ref(app)
        g.nodes.append(facet)
        g.add({"@id": g.ids("URLHistory", file_id), "@type": "uco-observable:URLHistory",
               "uco-core:hasFacet": [_ref(facet["@id"])]})


def _where(r: dict[str, Any]) -> str:
    row = f", table {r['source_table']} row {r['source_rowid']}" if r["source_table"] else ""
    state = f" ({r['data']['deleted']})" if r["data"].get("deleted") else ""
    return f"{r['full_path']}{row}{state}"
