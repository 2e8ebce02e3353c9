"""A record's case.db text (``serialise``) is the json module's canonical text of its data and the ISO
text of its primary time, whichever encoder writes it: strings of every BMP character and beyond,
hostile text, floats, integers past 64 bits, lone surrogates, nested objects, zoned times."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from devicex.comms import Message
from devicex.records import Provenance, Record, canonical_json_objects, serialise

PROV = Provenance("phone.img", "p1", "12", "/data/mmssms.db", None, "sms", 1)
TEXTS = ["".join(chr(c) for c in range(start, min(start + 2048, 0xD800))) for start in range(0, 0xD800, 2048)] + [
    "".join(chr(c) for c in range(0xE000, 0x10000)), "😀 \U0010ffff", "<script>alert(1)</script>\u202e",
    "=HYPERLINK(\"x\")", "x" * 100_000, "lone \ud800 surrogate", "a\"b\\c\n\r\t\b\f\x00\x7f\u2028"]


def _expected(record: Record) -> tuple[str, str | None]:
    text = json.dumps(record.data(), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    first = record.primary_time()
    return text, None if first is None else first.astimezone(UTC).isoformat()[:-6] + "Z"


@pytest.mark.parametrize("text", TEXTS)
def test_text_of_every_kind_is_written_as_the_json_module_writes_it(text: str) -> None:
    record = Message(provenance=PROV, app="SMS", body=text, participants=(text, "b"), participant_ids=(text,),
                     time_utc=datetime(2023, 11, 14, 22, 13, 21, tzinfo=UTC))
    assert serialise(record) == _expected(record)


@pytest.mark.parametrize("extra", [{"time_raw": 2**70}, {"time_raw": 1.5e16}, {"time_raw": 0.1},
                                   {"time_utc": datetime(2023, 1, 1, 12, tzinfo=timezone(timedelta(hours=2)))},
                                   {"attachments": ({"name": "a.jpg", "size": 3, "mime": None},)},
                                   {"participants": ("a", 1.5)}, {}, {"participants": ()},
                                   {"time_utc": datetime(2023, 1, 1, 1, 2, 3, 500, tzinfo=UTC), "time_raw": 7},
                                   {"sent_utc": datetime(1, 1, 1, tzinfo=UTC), "read": False},
                                   {"time_utc": datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)},
                                   {"time_utc": datetime(2023, 1, 1, 12), "participants": ("a", None)},
                                   {"participants": (("a", "b"), "c")}, {"time_raw": -2**63}, {"time_raw": 2**64},
                                   {"time_raw": float("nan")}, {"time_raw": float("-inf")}, {"time_raw": -0.0},
                                   {"time_raw": 1e-7, "participants": ("é\u2028", 2.5e-300)}])
def test_other_values_are_written_as_the_json_module_writes_them(extra: dict[str, object]) -> None:
    record = Message(provenance=PROV, app="SMS", body="hi", **extra)  # type: ignore[arg-type]
    assert serialise(record) == _expected(record)


@pytest.mark.parametrize("objects", [
    [{"file_offset": 0, "fs_offset": 1_048_576, "img_offset": 2_097_152, "len": 40_960}],
    [{"len": 1, "a": 2**63 - 1}, {"z": -2**63, "b": True, "c": False}],
    [{"past 64 bits": 2**64 + 5}, {"n": 1}],
    [{"text": t} for t in TEXTS],
    [{"float": 0.1, "none": None}],
    [],
])
def test_objects_written_as_the_json_module_writes_them(objects: list[dict[str, object]]) -> None:
    assert canonical_json_objects(objects) == json.dumps(objects, sort_keys=True, ensure_ascii=False,
                                                          separators=(",", ":"))


def _record_classes() -> list[type[Record]]:
    import parsers

    parsers.registry()  # every parser's record classes are defined
    found, todo = [], list(Record.__subclasses__())
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if "__slots__" in cls.__dict__:
            found.append(cls)
    return sorted(found, key=lambda c: c.__qualname__)


@pytest.mark.parametrize("cls", _record_classes(), ids=lambda c: c.__qualname__)
def test_every_record_class_is_built_as_its_dataclass_declares(cls: type[Record]) -> None:
    import dataclasses

    fields = dataclasses.fields(cls)
    required = {f.name: f"v-{f.name}" for f in fields if f.default is dataclasses.MISSING}
    record = cls(**required)
    for f in fields:  # every field set: the required ones as given, the others to their declared defaults
        assert getattr(record, f.name) == required.get(f.name, f.default)
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.provenance = PROV  # type: ignore[misc]
    with pytest.raises(TypeError):
        cls(**required, not_a_field=1)
    with pytest.raises(TypeError):
        cls(*required.values())  # keyword-only
    if len(required) > 1:
        with pytest.raises(TypeError):
            cls(**dict(list(required.items())[1:]))
    assert record == cls(**required) and hash(record) == hash(cls(**required))


def test_provenance_takes_its_fields_by_position_or_name() -> None:
    assert Provenance("s", "v", "i", "p") == Provenance(source="s", volume="v", inode="i", path="p")
    narrowed = PROV.row("calls", 7)
    assert (narrowed.table, narrowed.rowid, narrowed.path, narrowed.stream) == ("calls", 7, PROV.path, None)
    with pytest.raises(TypeError):
        Provenance("s", "v", "i")
