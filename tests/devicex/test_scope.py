"""The scope model: parsing, strict validation (one clear error naming file,
key and problem, before anything is read), plain-English description, and the
selector's rules on synthetic entries (what is decided on metadata, what is
read, and how little)."""
from __future__ import annotations

import hashlib
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from devicex.entries import Entry
from devicex.scope import ScopeError, compile_glob, describe, load, parse_text
from pipelines.select import Content, Decision, ScopeSelector

REPO = Path(__file__).resolve().parents[2]
UTC = UTC

AUTH = """
[authorisation]
legal_basis = "PCSC 2022 s.37"
reference = "AUTH-1"
authorised_by = "DS 1 Test"
purpose = "Test line of enquiry"
user_agreement = true
dpn_reference = "DPN-1"
less_intrusive_means = "none suitable"
"""


def scope_text(select: str, extra: str = "", auth: str = AUTH) -> str:
    return f"scope_version = 1\n{auth}\n{select}\n{extra}"


def entry(path: str, *, size: int = 100, kind: str = "file", mtime: datetime | None = None,
          crtime: datetime | None = None) -> Entry:
    name = path.rsplit("/", 1)[1]
    return Entry(source="t.img", volume="whole", fs_offset=0, fs_type="ext4", inode=12, attr_type=None,
                 attr_id=None, stream=None, path=path, name=name, name_raw=name.encode(), kind=kind, size=size,
                 alloc="allocated", realloc=False, meta_seq=None,
                 mtime=mtime or datetime(2024, 3, 10, 12, 0, tzinfo=UTC), atime=None, ctime=None, crtime=crtime)


# ---------------------------------------------------------------- valid scopes

def test_examples_are_valid_and_described() -> None:
    examples = sorted((REPO / "examples" / "scopes").glob("*.toml"))
    assert len(examples) >= 3
    for path in examples:
        sc = load(path)
        assert sc.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
        text = describe(sc)
        assert sc.authorisation.reference in text and "What will be taken" in text
        assert "What will never be taken" in text and "What is read to decide" in text


def test_describe_in_plain_english() -> None:
    sc = parse_text(scope_text("""
[[select]]
paths = ["DCIM/**"]
categories = ["images"]
windows = [{ start = 2024-03-01, end = 2024-03-31 }]
times = ["exif_taken_or_modified"]
[[select]]
sha256 = ["%s"]
""" % ("ab" * 32), '[exclude]\npaths = ["Android/data/**"]'), "case.toml")
    text = describe(sc)
    for phrase in ("Legal basis: PCSC 2022 s.37", "obtained (Digital Processing Notice DPN-1)",
                   "ANY of these 2 selections", "its path matches DCIM/**", "an image",
                   "2024-03-01 00:00:00 UTC to 2024-03-31 23:59:59 UTC", "EXIF time taken",
                   "1 SHA-256 value(s)", "Android/data/**, even if a selection matches it",
                   "not their names or content", "first 8 KiB", "hash rules read and hash the whole file"):
        assert phrase in text, phrase


def test_windows_dates_and_offsets() -> None:
    sc = parse_text(scope_text("""
[[select]]
windows = [{ start = 2024-03-01, end = 2024-03-01 },
           { start = 2024-04-01T09:00:00+01:00, end = "2024-04-01T10:00:00Z" }]
"""))
    w1, w2 = sc.selections[0].windows
    assert w1.start == datetime(2024, 3, 1, tzinfo=UTC)
    assert w1.contains(datetime(2024, 3, 1, 23, 59, 59, tzinfo=UTC))  # a date as end: the whole day
    assert not w1.contains(datetime(2024, 3, 2, tzinfo=UTC))
    assert w2.start == datetime(2024, 4, 1, 8, 0, tzinfo=UTC) and w2.end == datetime(2024, 4, 1, 10, tzinfo=UTC)


@pytest.mark.parametrize("pattern,path,hit", [
    ("DCIM/**", "/DCIM/Camera/IMG_1.jpg", True),
    ("DCIM/**", "/DCIM/x.jpg", True),
    ("DCIM/**", "/Pictures/DCIM/x.jpg", False),
    ("DCIM/**", "/DCIMX/x.jpg", False),
    ("dcim/**", "/DCIM/x.jpg", True),  # case-insensitive
    ("/DCIM/*.jpg", "/DCIM/x.jpg", True),
    ("DCIM/*.jpg", "/DCIM/Camera/x.jpg", False),  # * stays within one folder
    ("DCIM/**/*.jpg", "/DCIM/x.jpg", True),  # ** may be zero folders
    ("DCIM/**/*.jpg", "/DCIM/a/b/x.jpg", True),
    ("**/*.jpg", "/x.jpg", True),
    ("**/*.jpg", "/a/b/x.png", False),
    ("**", "/anything/at/all", True),
    ("Android/data/**", "/Android/data", False),
    ("Android/data/", "/Android/data/a/b", True),
    ("IMG_[0-9]?.jpg", "/IMG_12.jpg", True),
    ("IMG_[!0-9]*", "/IMG_a", True),
    ("IMG_[!0-9]*", "/IMG_1", False),
    ("a+b(c).txt", "/a+b(c).txt", True),  # regex metacharacters are literal
])
def test_globs(pattern: str, path: str, hit: bool) -> None:
    assert compile_glob(pattern).matches(path) is hit


# ---------------------------------------------------------------- malformed scopes

SEL = '[[select]]\nextensions = ["jpg"]\n'
MALFORMED = [
    ("unknown top-level key", "colour = 'red'\n" + scope_text(SEL), "colour", "unknown key"),
    ("unknown select key", scope_text('[[select]]\nextension = ["jpg"]'), "select[1].extension", "unknown key"),
    ("unknown authorisation key", scope_text(SEL, auth=AUTH + 'officer = "x"\n'), "authorisation.officer",
     "unknown key"),
    ("unknown window key", scope_text('[[select]]\nwindows = [{ start = 2024-01-01, end = 2024-02-01, tz = "x" }]'),
     "select[1].windows[1].tz", "unknown key"),
    ("bad date text", scope_text('[[select]]\nwindows = [{ start = "2024-13-01", end = 2024-02-01 }]'),
     "select[1].windows[1].start", "bad date"),
    ("impossible TOML date", scope_text("[[select]]\nwindows = [{ start = 2024-02-30, end = 2024-03-01 }]"),
     None, "not valid TOML"),
    ("date-time without offset",
     scope_text("[[select]]\nwindows = [{ start = 2024-02-01T10:00:00, end = 2024-03-01 }]"),
     "select[1].windows[1].start", "no UTC offset"),
    ("number as date", scope_text("[[select]]\nwindows = [{ start = 20240201, end = 2024-03-01 }]"),
     "select[1].windows[1].start", "must be a date"),
    ("end before start", scope_text("[[select]]\nwindows = [{ start = 2024-03-01, end = 2024-02-01 }]"),
     "select[1].windows[1]", "before it starts"),
    ("window without end", scope_text("[[select]]\nwindows = [{ start = 2024-03-01 }]"),
     "select[1].windows[1].end", "missing"),
    ("empty selection", scope_text('[[select]]\nlabel = "everything"'), "select[1]", "empty selection"),
    ("second selection empty", scope_text(SEL + '[[select]]\ntimes = ["modified"]'), "select[2]",
     "empty selection"),
    ("no selection", scope_text(""), "select", "missing"),
    ("empty list", scope_text("[[select]]\nextensions = []"), "select[1].extensions", "empty list"),
    ("bad name regex", scope_text('[[select]]\nname_patterns = ["IMG_(\\\\d+"]'), "select[1].name_patterns[1]",
     "bad regular expression"),
    ("bad content regex", scope_text('[[select]]\ncontent_patterns = ["[a-"]'), "select[1].content_patterns[1]",
     "bad regular expression"),
    ("glob ** inside a name", scope_text('[[select]]\npaths = ["DCIM/**x"]'), "select[1].paths[1]",
     "whole path component"),
    ("glob unclosed class", scope_text('[[select]]\npaths = ["DCIM/[ab"]'), "select[1].paths[1]", "without a closing"),
    ("glob dot-dot", scope_text('[[select]]\npaths = ["DCIM/../x"]'), "select[1].paths[1]", "'..'"),
    ("glob backslash", scope_text('[[select]]\npaths = ["DCIM\\\\x"]'), "select[1].paths[1]", "not \\"),
    ("glob empty component", scope_text('[[select]]\npaths = ["DCIM//x"]'), "select[1].paths[1]", "empty"),
    ("bad exclude glob", scope_text(SEL, '[exclude]\npaths = ["a/**b"]'), "exclude.paths[1]", "whole path component"),
    ("short sha256", scope_text('[[select]]\nsha256 = ["abc123"]'), "select[1].sha256[1]", "64 hexadecimal"),
    ("non-hex md5", scope_text('[[select]]\nmd5 = ["zz' + "0" * 30 + '"]'), "select[1].md5[1]", "32 hexadecimal"),
    ("hash as number", scope_text("[[select]]\nsha256 = [12]"), "select[1].sha256[1]", "must be text"),
    ("hash list not a list", scope_text("[[select]]\nmd5 = 5"), "select[1].md5", "must be a list"),
    ("unknown category", scope_text('[[select]]\ncategories = ["photos"]'), "select[1].categories[1]",
     "unknown category"),
    ("bad MIME type", scope_text('[[select]]\nmime_types = ["jpeg"]'), "select[1].mime_types[1]", "bad MIME type"),
    ("unknown time", scope_text('[[select]]\nwindows = [{ start = 2024-01-01, end = 2024-02-01 }]\n'
                                'times = ["born"]'), "select[1].times[1]", "unknown time"),
    ("times without windows", scope_text('[[select]]\nextensions = ["jpg"]\ntimes = ["created"]'),
     "select[1].times", "only meaningful with windows"),
    ("bad exif offset", scope_text('[[select]]\nwindows = [{ start = 2024-01-01, end = 2024-02-01 }]\n'
                                   'exif_offset = "BST"'), "select[1].exif_offset", "bad UTC offset"),
    ("missing authorisation", "scope_version = 1\n" + SEL, "authorisation", "missing"),
    ("missing officer", scope_text(SEL, auth=AUTH.replace('authorised_by = "DS 1 Test"\n', "")),
     "authorisation.authorised_by", "missing"),
    ("agreement without DPN", scope_text(SEL, auth=AUTH.replace('dpn_reference = "DPN-1"\n', "")),
     "authorisation.dpn_reference", "Digital Processing Notice"),
    ("agreement not a bool", scope_text(SEL, auth=AUTH.replace("user_agreement = true", 'user_agreement = "yes"')),
     "authorisation.user_agreement", "true or false"),
    ("empty purpose", scope_text(SEL, auth=AUTH.replace('purpose = "Test line of enquiry"', 'purpose = "  "')),
     "authorisation.purpose", "must not be empty"),
    ("bad authorised_on", scope_text(SEL, auth=AUTH + 'authorised_on = "yesterday"\n'), "authorisation.authorised_on",
     "bad date"),
    ("wrong version", scope_text(SEL).replace("scope_version = 1", "scope_version = 2"), "scope_version",
     "unsupported version"),
    ("not TOML", "this is [not toml", None, "not valid TOML"),
    ("bad list_excluded_metadata", scope_text(SEL, "[output]\nlist_excluded_metadata = 1"),
     "output.list_excluded_metadata", "true or false"),
]


@pytest.mark.parametrize("text,key,problem", [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED])
def test_malformed_scope_one_clear_error(tmp_path: Path, text: str, key: str | None, problem: str) -> None:
    path = tmp_path / "bad-scope.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ScopeError) as info:
        load(path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(str(path) + ": "), message
    if key is not None:
        assert info.value.key == key, message
        assert f": {key}: " in message
    assert problem in message, message


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes(scope_text('[[select]]\nname_keywords = ["caf\xe9"]').encode("latin-1"))
    with pytest.raises(ScopeError, match="not UTF-8"):
        load(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ScopeError, match="cannot read the scope file"):
        load(tmp_path / "nope.toml")


# ---------------------------------------------------------------- the selector

class CountingReader:
    def __init__(self, data: bytes) -> None:
        self.data, self.read_bytes = data, 0

    def read(self, offset: int, size: int) -> bytes:
        chunk = self.data[offset:offset + size]
        self.read_bytes += len(chunk)
        return chunk


JPEG = bytes.fromhex("ffd8ffe000104a46494600010100000100010000") + b"\x00" * 200


def selector(select: str, extra: str = "") -> ScopeSelector:
    return ScopeSelector(parse_text(scope_text(select, extra)))


def test_metadata_rules_decide_without_content() -> None:
    sel = selector('[[select]]\npaths = ["DCIM/**"]\nextensions = ["jpg"]\n'
                   'windows = [{ start = 2024-03-01, end = 2024-03-31 }]', '[exclude]\npaths = ["DCIM/.hidden/**"]')
    assert sel.decide(entry("/DCIM/a.jpg")) == Decision(True, "selection 1")
    assert sel.decide(entry("/Download/a.jpg")) == Decision(False, "outside included paths")
    assert sel.decide(entry("/DCIM/a.png")) == Decision(False, "extension not selected")
    assert sel.decide(entry("/DCIM/a.jpg", mtime=datetime(2024, 4, 1, tzinfo=UTC))) == \
        Decision(False, "outside date windows")
    assert sel.decide(entry("/DCIM/.hidden/a.jpg")) == Decision(False, "excluded path DCIM/.hidden/**")
    assert sel.decide(entry("/DCIM", kind="dir")).include  # folders: kept only if they hold a taken file
    assert sel.defer_folders and not sel.list_excluded


def test_created_time_and_any_of_times() -> None:
    sel = selector('[[select]]\nwindows = [{ start = 2024-01-01, end = 2024-01-31 }]\ntimes = ["created", "modified"]')
    assert sel.decide(entry("/a", crtime=datetime(2024, 1, 5, tzinfo=UTC))).include
    assert not sel.decide(entry("/a", crtime=None)).include  # modified (2024-03-10) is outside too
    assert sel.decide(entry("/a", mtime=datetime(2024, 1, 31, 23, 0, tzinfo=UTC))).include


def test_category_reads_only_the_head() -> None:
    sel = selector('[[select]]\ncategories = ["images"]')
    big = entry("/x.bin", size=5 << 20)
    assert sel.decide(big) is None  # needs the signature
    reader = CountingReader(b"%PDF-1.4\n" + b"A" * ((5 << 20) - 9))
    content = Content(big, reader)
    assert sel.decide_content(big, content) == Decision(False, "category not selected")
    assert reader.read_bytes <= 8192
    reader = CountingReader(JPEG + b"\x00" * ((5 << 20) - len(JPEG)))
    assert sel.decide_content(big, Content(big, reader)).include
    assert reader.read_bytes <= 8192


def test_messages_category_by_name_only() -> None:
    sel = selector('[[select]]\ncategories = ["messages"]')
    assert sel.decide(entry("/data/x/databases/mmssms.db")).include
    assert sel.decide(entry("/WhatsApp/Databases/msgstore.db.crypt14")).include
    assert sel.decide(entry("/data/x/databases/mmssms.db-wal")).include
    assert sel.decide(entry("/Documents/notes.txt")) == Decision(False, "category not selected")


def test_failing_metadata_rule_means_nothing_is_read() -> None:
    sel = selector('[[select]]\npaths = ["Documents/**"]\ncontent_keywords = ["secret"]')
    assert sel.decide(entry("/DCIM/a.jpg")) == Decision(False, "outside included paths")
    assert sel.decide(entry("/Documents/a.txt")) is None


def test_content_keywords_utf8_utf16_any_case_across_chunks() -> None:
    sel = selector('[[select]]\ncontent_keywords = ["Meet at NOON"]')
    e = entry("/a.txt", size=3 << 20)
    body = bytearray(b"x" * (3 << 20))
    at = (1 << 20) - 5  # straddles the first chunk boundary
    body[at:at + 12] = b"meet at noon"
    assert sel.decide_content(e, bytes(body)).include
    utf16 = "MEET AT NOON".encode("utf-16-le")
    assert sel.decide_content(entry("/b.txt", size=40), b"\x00" * 10 + utf16).include
    assert sel.decide_content(entry("/c.txt", size=9), b"nothing!!") == Decision(False, "content keywords not found")


def test_content_patterns() -> None:
    sel = selector('[[select]]\ncontent_patterns = ["07\\\\d{9}"]')
    assert sel.decide_content(entry("/a", size=20), b"call 07700900123 now").include
    assert not sel.decide_content(entry("/a", size=12), b"call 0770090").include


def test_hash_lists_sha256_and_md5() -> None:
    data = b"known image bytes"
    sel = selector(f'[[select]]\nsha256 = ["{hashlib.sha256(data).hexdigest().upper()}"]\n'
                   f'[[select]]\nmd5 = ["{hashlib.md5(data[:5]).hexdigest()}"]')
    assert sel.decide(entry("/a", size=len(data))) is None  # hashes need content
    assert sel.decide_content(entry("/a", size=len(data)), data) == Decision(True, "selection 1")
    assert sel.decide_content(entry("/b", size=5), data[:5]) == Decision(True, "selection 2")
    assert sel.decide_content(entry("/c", size=3), b"abc") == \
        Decision(False, "no selection matched (1: hash not in list; 2: hash not in list)")


def test_any_selection_and_combined_reason() -> None:
    sel = selector('[[select]]\npaths = ["DCIM/**"]\n[[select]]\nextensions = ["pdf"]')
    assert sel.decide(entry("/Download/x.pdf")) == Decision(True, "selection 2")
    assert sel.decide(entry("/Download/x.txt")) == \
        Decision(False, "no selection matched (1: outside included paths; 2: extension not selected)")


def test_unreadable_content_is_left() -> None:
    class Broken:
        def read(self, offset: int, size: int) -> bytes:
            raise OSError("bad sector")

    sel = selector('[[select]]\ncontent_keywords = ["x"]')
    e = entry("/a", size=100)
    assert sel.decide_content(e, Content(e, Broken())) == Decision(False, "content unreadable (needed by the scope)")
    assert sel.decide_content(e, Content(e, None)) == Decision(False, "content unreadable (needed by the scope)")


def test_exif_taken_time() -> None:
    import io

    from PIL import Image
    buf = io.BytesIO()
    img = Image.new("RGB", (8, 8))
    exif = Image.Exif()
    exif[0x8769] = {0x9003: "2022:08:22 18:45:00"}  # DateTimeOriginal, no offset recorded
    img.save(buf, "JPEG", exif=exif)
    data = buf.getvalue()
    e = entry("/DCIM/x.jpg", size=len(data), mtime=datetime(2024, 1, 10, tzinfo=UTC))
    taken = selector('[[select]]\nwindows = [{ start = 2022-08-22, end = 2022-08-22 }]\ntimes = ["exif_taken"]')
    assert taken.decide(e) is None
    assert taken.decide_content(e, data).include
    modified = selector('[[select]]\nwindows = [{ start = 2022-08-22, end = 2022-08-22 }]')
    assert modified.decide(e) == Decision(False, "outside date windows")
    # recorded without an offset: read as UTC unless exif_offset says otherwise (+05:00 -> 13:45 UTC)
    shifted = selector('[[select]]\nwindows = [{ start = 2022-08-22T18:00:00Z, end = 2022-08-22T19:00:00Z }]\n'
                       'times = ["exif_taken"]\nexif_offset = "+05:00"')
    assert not shifted.decide_content(e, data).include
    either = selector('[[select]]\nwindows = [{ start = 2024-01-10, end = 2024-01-10 }]\n'
                      'times = ["exif_taken_or_modified"]')
    assert not either.decide_content(e, data).include  # has an EXIF time (2022): modified time is not used
    txt = entry("/a.txt", size=5, mtime=datetime(2024, 1, 10, tzinfo=UTC))
    assert either.decide_content(txt, b"hello").include  # no EXIF: modified time


# ---------------------------------------------------------------- command line

def _cli(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "devicex", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=120, env={"COLUMNS": "200", "PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)})


def test_cli_scope_check(tmp_path: Path) -> None:
    good = REPO / "examples" / "scopes" / "complainant-photos.toml"
    proc = _cli("scope", "check", good, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "What will be taken" in proc.stdout and "OP-ALDER/DPA/0193" in proc.stdout
    assert "Scope is valid." in proc.stdout
    bad = tmp_path / "bad.toml"
    bad.write_text(scope_text("[[select]]\nwindows = [{ start = 2024-03-01, end = 2024-02-01 }]"))
    proc = _cli("scope", "check", bad, cwd=tmp_path)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: invalid scope: ")
    assert "bad.toml: select[1].windows[1]: ends" in lines[0]


def test_cli_bad_scope_stops_before_the_evidence_is_touched(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(scope_text("[[select]]\ncolour = 'red'"))
    out = tmp_path / "out"
    # the source does not even exist: the scope error (exit 2) must come first
    proc = _cli("extract", tmp_path / "missing.img", "-o", out, "--scope", bad, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert "select[1].colour: unknown key" in proc.stderr and "Traceback" not in proc.stderr
    assert not out.exists()
    good = REPO / "examples" / "scopes" / "known-images.toml"
    proc = _cli("extract", tmp_path / "missing.img", "-o", out, "--scope", good,
                "--full-extraction-reason", "x", cwd=tmp_path)
    assert proc.returncode == 2 and "exclude each other" in proc.stderr
