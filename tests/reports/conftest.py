"""Fixtures for the report tests: a small ext4 image with hostile names and
pictures (built here with mke2fs -d, independent of devicex), a generated
20,000-file image, their real extractions, and a headless Chromium."""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from pipelines.extract import ExtractOptions, run

GENERATED = "2024-05-01T12:00:00Z"
CASE_REF = "OP-<b>42</b>"
EXAMINER = "Ex <aminer> & Co"
HOSTILE_JPG = "<img src=x onerror=alert(1)>.jpg"
HOSTILE_TXT = '"><svg onload=alert(1)>.txt'
HOSTILE_SCRIPT = '"><script>alert(2)<!--.txt'
BIDI_NAME = "innocent\u202egpj.exe"  # shown as innocentexe.jpg by a browser that obeys the override
FORMULA_NAMES = ("=HYPERLINK(1).txt", "+cmd.txt", "@SUM(A1).txt", "-rf .txt", "\tTAB.txt")
EXIF_MAKE = '<script>alert("make")</script>'
EXIF_MODEL = "\"><svg onload=alert('model')>"
GPS_LAT = 43 + 28 / 60 + 2.814 / 3600
GPS_LON = 11 + 53 / 60 + 6.456 / 3600
BIG_FILES = 20_000
FIXED_TIME = 1_700_000_000  # 2023-11-14T22:13:20Z


def _jpeg(path: Path, size: tuple[int, int], colour: str, *, orientation: int | None = None,
          gps: bool = False, make: str = "DevicexTest", model: str = "T-1") -> None:
    im = Image.new("RGB", size, colour)
    for x in range(size[0] // 4):  # a mark in the top-left corner, to see rotation
        for y in range(size[1] // 4):
            im.putpixel((x, y), (0, 0, 255))
    ex = Image.Exif()
    ex[0x010F] = make
    ex[0x0110] = model
    if orientation:
        ex[0x0112] = orientation
    ex[0x8769] = {0x9003: "2023:07:14 10:15:00", 0x9011: "+02:00"}
    if gps:
        ex[0x8825] = {1: "N", 2: (43.0, 28.0, 2.814), 3: "E", 4: (11.0, 53.0, 6.456), 5: b"\x00", 6: 120.5}
    path.parent.mkdir(parents=True, exist_ok=True)
    im.save(path, "JPEG", exif=ex, quality=90)


def _tree(src: Path) -> None:
    _jpeg(src / "DCIM" / "gps.jpg", (80, 60), "green", gps=True)
    _jpeg(src / "DCIM" / "rotated.jpg", (120, 40), "yellow", orientation=6)
    _jpeg(src / "hostile" / HOSTILE_JPG, (40, 40), "red", make=EXIF_MAKE, model=EXIF_MODEL)
    _jpeg(src / "Documents" / "holiday.txt", (50, 50), "purple")  # picture named .txt: a mismatch
    (src / "hostile" / HOSTILE_TXT).write_text("svg onload\n")
    (src / "hostile" / HOSTILE_SCRIPT).write_text("script\n")
    (src / "hostile" / "page.html").write_text("<script>alert('page')</script>\n")
    (src / "hostile" / "bell\x07name.txt").write_text("bell\n")
    (src / "hostile" / "new\nline.txt").write_text("newline\n")
    (src / "bidi" / BIDI_NAME).parent.mkdir(exist_ok=True)
    (src / "bidi" / BIDI_NAME).write_text("an .exe named to look like a .jpg\n")
    with open(os.fsencode(src / "hostile") + b"/latin1-\xe9.txt", "wb") as fh:
        fh.write(b"latin-1 name\n")
    for name in FORMULA_NAMES:
        (src / "formula" / name).parent.mkdir(exist_ok=True)
        (src / "formula" / name).write_text("formula\n")
    (src / "Documents" / "report.txt").write_text("a report\n" * 20)
    (src / "Documents" / "deleted.txt").write_text("to be deleted\n" * 50)
    for p in sorted(src.rglob("*"), reverse=True):
        os.utime(p, (FIXED_TIME, FIXED_TIME))


def _mke2fs(src: Path, image: Path, size: str, *extra: str) -> None:
    env = dict(os.environ, E2FSPROGS_FAKE_TIME=str(FIXED_TIME))
    subprocess.run(["mke2fs", "-q", "-F", "-t", "ext4", *extra, "-E", "root_owner=0:0", "-U",
                    "2f0e8a44-6f6d-4c1e-9a53-8d7f0d2b5a10", "-d", str(src), str(image), size],
                   check=True, env=env, capture_output=True)


@pytest.fixture(scope="session")
def report_image(tmp_path_factory: pytest.TempPathFactory) -> Path:
    assert shutil.which("mke2fs"), "mke2fs (e2fsprogs) is required: bash .ci/install --test"
    base = tmp_path_factory.mktemp("report-image")
    src = base / "src"
    _tree(src)
    image = base / "hostile-ext4.img"
    _mke2fs(src, image, "8M")
    subprocess.run(["debugfs", "-w", "-R", "rm /Documents/deleted.txt", str(image)], check=True, capture_output=True)
    return image


def extract(image: Path, out: Path, **kw: object) -> Path:
    opts = ExtractOptions(image, out, case_ref=CASE_REF, exhibit_ref="EX-1 <i>", examiner=EXAMINER,
                          full_reason="report tests: whole image", **kw)  # type: ignore[arg-type]
    summary = run(opts)
    assert summary.fatal is None, summary.fatal
    return out


@pytest.fixture(scope="session")
def extracted(report_image: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished case folder (not yet reported on): copy it before writing into it."""
    return extract(report_image, tmp_path_factory.mktemp("case") / "out")


@pytest.fixture(scope="session")
def reported(extracted: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the case with every format rendered."""
    import reports

    case = tmp_path_factory.mktemp("reported") / "out"
    shutil.copytree(extracted, case)
    reports.render(case, None, generated=GENERATED).case.close()
    return case


@pytest.fixture(scope="session")
def big_case(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """20,000 tiny files in 200 folders (tree made in RAM when /dev/shm exists),
    extracted without exporting content, HTML report rendered."""
    import reports

    assert shutil.which("mke2fs"), "mke2fs (e2fsprogs) is required: bash .ci/install --test"
    base = tmp_path_factory.mktemp("big")
    ram = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
    src = Path(tempfile.mkdtemp(prefix="devicex-big-", dir=ram))
    try:
        for d in range(BIG_FILES // 100):
            folder = src / f"dir{d:03d}"
            folder.mkdir()
            for i in range(100):
                n = d * 100 + i
                fd = os.open(folder / f"f{n:05d}.txt", os.O_WRONLY | os.O_CREAT, 0o644)
                os.write(fd, f"file {n}\n".encode())
                os.close(fd)
                os.utime(folder / f"f{n:05d}.txt", (FIXED_TIME + n * 60, FIXED_TIME + n * 60))
        image = base / "big.img"
        _mke2fs(src, image, "48M", "-b", "1024", "-N", str(BIG_FILES + 1000))
    finally:
        shutil.rmtree(src)
    out = extract(image, base / "out", export=False)
    reports.render(out, ["html"], generated=GENERATED).case.close()
    return out


# Pictures for the Places map and camera times: (folder/name, latitude, longitude, camera clock, offset)
PLACES = (
    ("DCIM/blackpool-1.jpg", 53.81750, -3.05360, "2023:07:14 10:15:00", None),
    ("DCIM/blackpool-2.jpg", 53.81772, -3.05301, "2023:07:14 10:17:30", None),
    ("DCIM/blackpool-3.jpg", 53.81790, -3.05410, "2023:07:14 10:21:05", None),
    ("DCIM/blackpool-4.jpg", 53.81702, -3.05388, "2023:07:15 02:04:00", None),
    ("DCIM/bolton-1.jpg", 53.57810, -2.42950, "2023:01:14 10:15:00", None),
    ("DCIM/bolton-2.jpg", 53.57861, -2.42890, "2023:01:14 23:40:00", None),
    ("DCIM/preston.jpg", 53.75900, -2.69900, "2023:03:03 12:02:00", None),
    ("DCIM/london.jpg", 51.50740, -0.12780, "2023:08:01 18:00:00", "+01:00"),
)
DEVICE_ZONE = "Europe/London"


def _gps_jpeg(path: Path, lat: float, lon: float, clock: str, offset: str | None) -> None:
    def dms(v: float) -> tuple[float, float, float]:
        v = abs(v)
        d, m = int(v), int((v - int(v)) * 60)
        return float(d), float(m), round((v - d - m / 60) * 3600, 4)

    im = Image.new("RGB", (64, 48), (40, 120, 200))
    ex = Image.Exif()
    ex[0x010F], ex[0x0110] = "DevicexTest", "Phone-2"
    ex[0x8769] = {0x9003: clock, **({0x9011: offset} if offset else {})}
    ex[0x8825] = {1: "N" if lat >= 0 else "S", 2: dms(lat), 3: "E" if lon >= 0 else "W", 4: dms(lon)}
    path.parent.mkdir(parents=True, exist_ok=True)
    im.save(path, "JPEG", exif=ex, quality=85)


@pytest.fixture(scope="session")
def places_image(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Pictures around Lancashire and one in London, camera clocks mostly without an offset, and an
    Android build.prop naming the device's time zone (made here with Pillow and mke2fs -d)."""
    base = tmp_path_factory.mktemp("places-image")
    src = base / "src"
    for rel, lat, lon, clock, offset in PLACES:
        _gps_jpeg(src / rel, lat, lon, clock, offset)
    (src / "system").mkdir()
    (src / "system" / "build.prop").write_text(
        f"ro.build.version.release=13\npersist.sys.timezone={DEVICE_ZONE}\nro.product.model=Phone-2\n")
    for p in sorted(src.rglob("*"), reverse=True):
        os.utime(p, (FIXED_TIME, FIXED_TIME))
    image = base / "places-ext4.img"
    _mke2fs(src, image, "4M")
    return image


@pytest.fixture(scope="session")
def places_case(places_image: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The places image extracted (no --timezone: the zone is found on the device), every format rendered
    and the report recorded in the custody log."""
    import reports
    from devicex.custody import Actor

    out = extract(places_image, tmp_path_factory.mktemp("places-case") / "out")
    outcome = reports.render(out, None, generated=GENERATED)
    reports.record_custody(outcome, Actor("EX-9", EXAMINER))
    outcome.case.close()
    return out


_SHOTS: list[Path] = []


@pytest.fixture(scope="session")
def shots_dir() -> Path:
    """Where the browser tests save screenshots (kept after the run; path printed at the end)."""
    wanted = os.environ.get("DEVICEX_SCREENSHOTS")
    path = Path(wanted) if wanted else Path(tempfile.mkdtemp(prefix="devicex-report-screenshots-"))
    path.mkdir(parents=True, exist_ok=True)
    _SHOTS.append(path)
    return path


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for path in _SHOTS:
        count = len(list(path.glob("*.png")))
        terminalreporter.write_line(f"report screenshots ({count} PNG): {path}")


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    from tests.reports.browser import launch

    with launch() as b:
        yield b
