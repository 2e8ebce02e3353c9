"""Communications selections: a ``[[select]]`` that takes records (messages,
calls, contacts, web history) from the phone's message stores, not files.

Example::

    [[select]]
    label = "messages and calls with the suspect, week of the offence"
    communications = ["messages", "calls"]        # and/or "contacts", "web"
    participants = ["07700 900123", "suspect@example.com"]
    apps = ["sms", "imessage", "whatsapp"]        # optional
    windows = [{ start = 2024-03-01, end = 2024-03-07 }]
    group_chats = "member-messages"               # or "whole-thread" or "exclude"
    phone_region = "GB"                           # optional: how national numbers above are read

Participants are normalised exactly as the records are (:func:`devicex.comms.identity`:
phone numbers to E.164, e-mail handles lower-cased). A communications selection
has no file rules: the databases it reads are not exported, only the records it
selects are kept.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import phonenumbers

from devicex.comms import DEFAULT_REGION, identity
from devicex.scope.errors import ScopeError

KINDS: dict[str, tuple[str, ...]] = {  # scope name -> record types
    "messages": ("message",), "calls": ("call",), "contacts": ("contact",), "web": ("web_visit", "download")}
KIND_WORDS = {"message": ("message", "messages"), "call": ("call", "calls"), "contact": ("contact", "contacts"),
              "web_visit": ("web visit", "web visits"), "download": ("download", "downloads")}
APPS: dict[str, str] = {  # scope name -> what it covers (devicex.comms.app_key gives a record's)
    "sms": "SMS and MMS (Android Messages, Google Messages, iOS Messages over SMS/MMS)",
    "rcs": "RCS chat (Google Messages)",
    "imessage": "iMessage",
    "whatsapp": "WhatsApp (messages and calls)",
    "phone": "the phone's call log (Android, iOS)",
    "facetime": "FaceTime calls",
    "address-book": "the phone's address book (Android, iOS)",
    "chrome": "Chrome", "samsung-internet": "Samsung Internet", "android-webview": "Android WebView",
    "firefox": "Firefox", "safari": "Safari",
}
APP_WORDS = {"sms": "SMS/MMS", "rcs": "RCS", "imessage": "iMessage", "whatsapp": "WhatsApp",
             "phone": "the phone's call log", "facetime": "FaceTime", "address-book": "the address book",
             "chrome": "Chrome", "samsung-internet": "Samsung Internet", "android-webview": "Android WebView",
             "firefox": "Firefox", "safari": "Safari"}
_MESSAGING = {"Android Messages (SMS/MMS)", "Google Messages", "iOS Messages"}
GROUP_CHATS = {
    "member-messages": "only the messages a named person sent in it",
    "whole-thread": "the whole group conversation",
    "exclude": "nothing (group chats are left out)",
}
KEYS = {"communications", "participants", "apps", "group_chats", "phone_region"}


@dataclass(frozen=True)
class Communications:
    """What a communications selection takes (windows are the selection's)."""

    kinds: frozenset[str]                 # record types
    participants: tuple[str, ...] = ()    # as written in the scope
    identities: frozenset[str] = frozenset()  # normalised like the records
    apps: frozenset[str] = frozenset()    # scope app names; empty: every app
    group_chats: str | None = None
    region: str = DEFAULT_REGION

    def as_dict(self) -> dict[str, Any]:
        return {"record_types": sorted(self.kinds), "participants": list(self.participants),
                "identities": sorted(self.identities), "apps": sorted(self.apps),
                "group_chats": self.group_chats, "phone_region": self.region}


def parse(doc: dict[str, Any], parent: str, source: str, str_list: Any) -> Communications:
    """Validate the communications keys of one ``[[select]]`` (``str_list`` reads a list of texts)."""
    kinds: set[str] = set()
    for i, name in enumerate(str_list(doc, "communications", parent), 1):
        if name.lower() not in KINDS:
            raise ScopeError(source, f"{parent}.communications[{i}]",
                             f"unknown kind {name!r} (known: {', '.join(KINDS)})")
        kinds.update(KINDS[name.lower()])
    region = _region(doc, parent, source)
    participants: tuple[str, ...] = ()
    idents: set[str] = set()
    if "participants" in doc:
        participants = tuple(str_list(doc, "participants", parent))
        for i, who in enumerate(participants, 1):
            idents.add(_identity(who, region, source, f"{parent}.participants[{i}]"))
        if kinds <= {"web_visit", "download"}:
            raise ScopeError(source, f"{parent}.participants", "web history has no participants: remove "
                             "participants or put web history in a selection of its own")
    if "contact" in kinds and not participants:
        raise ScopeError(source, f"{parent}.participants", "missing: contact cards are taken only for the people "
                                                           "named in participants (add participants)")
    apps = set()
    if "apps" in doc:
        for i, app in enumerate(str_list(doc, "apps", parent), 1):
            if app.lower() not in APPS:
                raise ScopeError(source, f"{parent}.apps[{i}]", f"unknown app {app!r} (known: {', '.join(APPS)})")
            apps.add(app.lower())
    return Communications(frozenset(kinds), participants, frozenset(idents), frozenset(apps),
                          _group_chats(doc, parent, source, bool(participants) and "message" in kinds), region)


def _region(doc: dict[str, Any], parent: str, source: str) -> str:
    value = doc.get("phone_region", DEFAULT_REGION)
    if not isinstance(value, str) or value.strip().upper() not in phonenumbers.SUPPORTED_REGIONS:
        raise ScopeError(source, f"{parent}.phone_region",
                         f"unknown region {value!r} (a two-letter country code such as \"GB\")")
    return value.strip().upper()


def _identity(who: str, region: str, source: str, key: str) -> str:
    ident = identity(who, region)
    if ident is None:
        raise ScopeError(source, key, "must not be empty")
    if "@" in ident:
        return ident
    if ident.startswith("+") and ident[1:].isdigit():
        return ident
    raise ScopeError(source, key, f"{who!r} is neither a possible phone number (read in {region}) "
                                  "nor an e-mail address or app identity (name@domain)")


def _group_chats(doc: dict[str, Any], parent: str, source: str, needed: bool) -> str | None:
    key = f"{parent}.group_chats"
    if "group_chats" not in doc:
        if needed:
            raise ScopeError(source, key, "missing: say how group chats a participant is in are taken "
                                          "(\"member-messages\", \"whole-thread\" or \"exclude\")")
        return None
    value = doc["group_chats"]
    if not isinstance(value, str) or value not in GROUP_CHATS:
        raise ScopeError(source, key, f"must be one of {', '.join(repr(g) for g in GROUP_CHATS)}, not {value!r}")
    if not needed:
        raise ScopeError(source, key, "only meaningful for messages with participants (remove it)")
    return value


def app_of(record_type: str, app: str | None, service: str | None = None, call_type: str | None = None) -> str:
    """The scope's app name (a key of :data:`APPS`) for a record, from the app and service
    the parser recorded; the app's own name, lower-cased, when it is none of them."""
    name = (app or "").strip()
    low = name.lower()
    if "whatsapp" in low:
        return "whatsapp"
    if name in _MESSAGING:
        svc = (service or "").lower()
        return "imessage" if svc == "imessage" else "rcs" if svc == "rcs" else "sms"
    if record_type == "call":
        return "facetime" if "facetime" in (call_type or "").lower() else "phone" if (
            low in ("ios phone", "android call log")) else low
    if "firefox" in low:
        return "firefox"
    if record_type == "contact" and low in ("android contacts", "ios contacts"):
        return "address-book"
    return low.replace(" ", "-")


def show_identity(ident: str) -> str:
    """A normalised identity as people write it: ``+44 7700 900123``; e-mails as they are."""
    if not ident.startswith("+"):
        return ident
    try:
        number = phonenumbers.parse(ident, None)
    except phonenumbers.NumberParseException:
        return ident
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def kinds_words(kinds: frozenset[str] | set[str], plural: bool = True) -> list[str]:
    order = list(KIND_WORDS)
    return [KIND_WORDS[k][1 if plural else 0] for k in sorted(kinds, key=order.index)]
