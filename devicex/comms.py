"""Communication record kinds shared by every app's parser: message, call,
contact, web visit and download.

Each record carries its row provenance (database path, table, rowid), its
times as aware UTC plus the raw value and the epoch it was read in (``None``
when unknown), participants as the device stored them and normalised
(:func:`identity`), and ``deleted``: ``None`` for a live row, else why the row
is shown although the app no longer has it (e.g. :data:`DELETED_WAL`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, ClassVar

import phonenumbers

from devicex.records import Record

INCOMING, OUTGOING, MISSED, REJECTED, UNKNOWN = "incoming", "outgoing", "missed", "rejected", "unknown"
DIRECTIONS = (INCOMING, OUTGOING, MISSED, REJECTED, UNKNOWN)
DELETED_WAL = "deleted or changed since last checkpoint"
DEFAULT_REGION = "GB"

Raw = int | float | str | None
_TIME_ROLES = {"time_raw": "time-raw", "time_epoch": "time-epoch"}


@dataclass(frozen=True, slots=True, kw_only=True)
class Message(Record):
    app: str
    service: str | None = None
    thread: str | None = None
    thread_name: str | None = None
    direction: str = UNKNOWN
    sender: str | None = None
    sender_id: str | None = None
    sender_name: str | None = None
    participants: tuple[str, ...] = ()
    participant_ids: tuple[str, ...] = ()
    body: str | None = None
    subject: str | None = None
    attachments: tuple[dict[str, Any], ...] = ()
    time_utc: datetime | None = None
    time_raw: Raw = None
    time_epoch: str | None = None
    sent_utc: datetime | None = None
    read: bool | None = None
    status: str | None = None
    deleted: str | None = None

    record_type: ClassVar[str] = "message"
    label: ClassVar[str] = "Message"
    timestamp_fields: ClassVar[tuple[str, ...]] = ("time_utc", "sent_utc")
    roles: ClassVar[dict[str, str]] = {
        "app": "app", "thread": "thread", "thread_name": "thread-name", "direction": "direction",
        "sender": "participant", "sender_id": "participant-id", "sender_name": "participant-name",
        "participants": "participants", "participant_ids": "participant-ids", "body": "text",
        "subject": "subject", "attachments": "attachments", "deleted": "state", **_TIME_ROLES}


@dataclass(frozen=True, slots=True, kw_only=True)
class Call(Record):
    app: str
    direction: str = UNKNOWN
    call_type: str | None = None
    number: str | None = None
    number_id: str | None = None
    name: str | None = None
    time_utc: datetime | None = None
    time_raw: Raw = None
    time_epoch: str | None = None
    duration_s: int | None = None
    video: bool | None = None
    deleted: str | None = None

    record_type: ClassVar[str] = "call"
    label: ClassVar[str] = "Call"
    timestamp_fields: ClassVar[tuple[str, ...]] = ("time_utc",)
    roles: ClassVar[dict[str, str]] = {
        "app": "app", "direction": "direction", "number": "participant", "number_id": "participant-id",
        "name": "participant-name", "duration_s": "duration", "deleted": "state", **_TIME_ROLES}


@dataclass(frozen=True, slots=True, kw_only=True)
class Contact(Record):
    app: str
    name: str | None = None
    numbers: tuple[str, ...] = ()
    number_ids: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    account: str | None = None
    organisation: str | None = None
    time_utc: datetime | None = None
    time_raw: Raw = None
    time_epoch: str | None = None
    deleted: str | None = None

    record_type: ClassVar[str] = "contact"
    label: ClassVar[str] = "Contact"
    timestamp_fields: ClassVar[tuple[str, ...]] = ("time_utc",)
    roles: ClassVar[dict[str, str]] = {
        "app": "app", "name": "participant-name", "numbers": "participants", "number_ids": "participant-ids",
        "emails": "participants", "deleted": "state", **_TIME_ROLES}


@dataclass(frozen=True, slots=True, kw_only=True)
class WebVisit(Record):
    app: str
    url: str | None = None
    title: str | None = None
    time_utc: datetime | None = None
    time_raw: Raw = None
    time_epoch: str | None = None
    visit_count: int | None = None
    transition: str | None = None
    synced: bool | None = None
    deleted: str | None = None

    record_type: ClassVar[str] = "web_visit"
    label: ClassVar[str] = "Web visit"
    timestamp_fields: ClassVar[tuple[str, ...]] = ("time_utc",)
    roles: ClassVar[dict[str, str]] = {"app": "app", "url": "url", "title": "title", "visit_count": "count",
                                       "deleted": "state", **_TIME_ROLES}


@dataclass(frozen=True, slots=True, kw_only=True)
class Download(Record):
    app: str
    url: str | None = None
    target_path: str | None = None
    mime_type: str | None = None
    received_bytes: int | None = None
    total_bytes: int | None = None
    time_utc: datetime | None = None
    time_raw: Raw = None
    time_epoch: str | None = None
    end_utc: datetime | None = None
    state: str | None = None
    deleted: str | None = None

    record_type: ClassVar[str] = "download"
    label: ClassVar[str] = "Download"
    timestamp_fields: ClassVar[tuple[str, ...]] = ("time_utc", "end_utc")
    roles: ClassVar[dict[str, str]] = {"app": "app", "url": "url", "target_path": "path", "deleted": "state",
                                       **_TIME_ROLES}


_JID = re.compile(r"^(\d+)(?:[.:]\d+)?@(?:s\.whatsapp\.net|c\.us)$")
_KEEP = re.compile(r"[^0-9A-Za-z+#*@._-]")


def identity(stored: str | None, region: str = DEFAULT_REGION) -> str | None:
    """One person's normalised identifier from what a database stored: a phone number
    in E.164 (national numbers read in ``region``), an e-mail handle lower-cased, a
    WhatsApp user JID as its number; anything else (short codes, sender names, group
    ids) trimmed as stored. ``None`` for nothing."""
    if stored is None:
        return None
    text = str(stored).strip()
    if not text:
        return None
    return _identity(text, region.upper())


@lru_cache(maxsize=1 << 16)
def _identity(text: str, region: str) -> str:
    jid = _JID.match(text)
    if jid:
        return "+" + jid.group(1)
    if "@" in text:
        return text.lower()
    if not any(c.isdigit() for c in text):
        return text
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return _KEEP.sub("", text)
    if phonenumbers.is_possible_number(number):
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return _KEEP.sub("", text)


def identities(stored: list[str] | tuple[str, ...], region: str = DEFAULT_REGION) -> tuple[str, ...]:
    """Normalised identifiers of several stored handles, in order, without repeats."""
    return _identities(tuple(stored), region)


@lru_cache(maxsize=1 << 14)
def _identities(stored: tuple[str, ...], region: str) -> tuple[str, ...]:
    out: list[str] = []
    for value in stored:
        ident = identity(value, region)
        if ident is not None and ident not in out:
            out.append(ident)
    return tuple(out)
