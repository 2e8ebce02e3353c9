"""The device's time zone found on the device itself: the iOS localtime link
and Android's persistent_properties (protobuf), in real ext4 images made here
with mke2fs -d and extracted by devicex; the report converts camera clocks
with it and says where it came from."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.reports.conftest import FIXED_TIME, _gps_jpeg, _mke2fs, extract


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def persistent_properties(props: dict[str, str]) -> bytes:
    """AOSP's PersistentProperties message: repeated PersistentPropertyRecord (name = 1, value = 2) as field 1."""
    return b"".join(_field(1, _field(1, k.encode()) + _field(2, v.encode())) for k, v in props.items())


def _image(tmp: Path, layout: dict[str, bytes | str]) -> Path:
    src = tmp / "src"
    _gps_jpeg(src / "DCIM" / "clock.jpg", 48.8566, 2.3522, "2023:07:14 10:15:00", None)
    for rel, content in layout.items():
        target = src / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            target.symlink_to(content)
        else:
            target.write_bytes(content)
    for p in sorted(src.rglob("*"), reverse=True):
        os.utime(p, (FIXED_TIME, FIXED_TIME), follow_symlinks=False)
    image = tmp / "device.img"
    _mke2fs(src, image, "4M")
    return image


@pytest.mark.parametrize(("layout", "zone", "where"), [
    ({"private/var/db/timezone/localtime": "/usr/share/zoneinfo/Europe/Paris"}, "Europe/Paris",
     "/private/var/db/timezone/localtime -> /usr/share/zoneinfo/Europe/Paris"),
    ({"data/property/persistent_properties": persistent_properties(
        {"persist.sys.locale": "en-GB", "persist.sys.timezone": "Asia/Kolkata", "persist.sys.usb.config": "mtp"})},
     "Asia/Kolkata", "persist.sys.timezone in whole/data/property/persistent_properties"),
    ({"data/property/persist.sys.timezone": b"America/Sao_Paulo"}, "America/Sao_Paulo",
     "persist.sys.timezone in whole/data/property/persist.sys.timezone"),
])
def test_zone_found_on_the_device(layout: dict[str, bytes | str], zone: str, where: str, tmp_path: Path) -> None:
    import reports
    from reports.cameratime import DeviceZone, converted

    out = extract(_image(tmp_path, layout), tmp_path / "out")
    outcome = reports.render(out, ["csv"], generated="2024-05-01T12:00:00Z")
    try:
        found = outcome.case.zone
        assert found is not None and found.name == zone and where in found.source, found
    finally:
        outcome.case.close()
    utc, _ = converted("2023:07:14 10:15:00", DeviceZone(zone, "test"))
    timeline = (out / "data" / "export" / "timeline.csv").read_text(encoding="utf-8-sig")
    line = next(ln for ln in timeline.splitlines() if utc in ln)
    assert f"converted from {zone}" in line and "clock.jpg" in line
