"""The proof of a record-level scope: a phone image (mke2fs -d) whose real-schema databases hold
conversations with several people, each message marked; after a scoped `devicex extract`, `devicex
report` and `devicex seal`, every byte under OUT is searched: no out-of-scope marker anywhere (case.db,
its journal, exports, reports, custody log, bundle), every in-scope marker present. SMS, MMS (with
attachments), Google Messages, iMessage, WhatsApp Android and iOS, Android and iOS call logs, and group chats in
each group_chats mode."""
from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from devicex.keys import init_keys
from tests.pipelines import scope_proof

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def phone(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, scope_proof.Markers, Path]:
    folder = tmp_path_factory.mktemp("proof")
    image, markers = scope_proof.build(folder)
    key = init_keys(folder / "keys" / "examiner.pem").private_path
    return image, markers, key


def _cli(*args: object, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(REPO), "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "devicex", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=300)


def _everything(out: Path) -> bytes:
    """Every byte of every file under OUT (and the sealed zip beside it)."""
    blobs = [p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file() and not p.is_symlink()]
    zipped = out.with_name(out.name + ".zip")
    if zipped.exists():
        blobs.append(zipped.read_bytes())
    return b"\n".join(blobs)


@pytest.mark.parametrize("mode", scope_proof.MODES)
def test_only_in_scope_records_reach_out(phone: tuple[Path, scope_proof.Markers, Path], tmp_path: Path,
                                         mode: str) -> None:
    image, markers, key = phone
    scope = tmp_path / "suspect-week.toml"
    scope.write_text(scope_proof.SCOPE % mode)
    out = tmp_path / "out"
    for args in (("extract", image, "-o", out, "--scope", scope, "-q"), ("report", out),
                 ("seal", out, "--key", key, "--examiner", "DC Test", "--zip"), ("verify", out)):
        proc = _cli(*args, cwd=tmp_path)
        assert proc.returncode == 0, (args[0], proc.stderr)
    present, absent = markers.expected(mode)
    assert present and absent
    data = _everything(out)
    leaked = sorted(m for m in absent if m.encode() in data)
    missing = sorted(m for m in present if m.encode() not in data)
    assert not leaked, f"out-of-scope markers under OUT: {leaked}"
    assert not missing, f"in-scope markers missing: {missing}"
    conn = sqlite3.connect(out / "data" / "case.db")
    # the databases are recorded (path and hashes), never exported; each record names its table and rowid
    dbs = conn.execute("SELECT path, sha256, export_path FROM files WHERE path LIKE '%.db' OR path LIKE "
                       "'%.sqlite' OR path LIKE '%bugle_db' OR path LIKE '%.storedata'").fetchall()
    assert len(dbs) == 8 and all(sha and export is None for _, sha, export in dbs)  # wa.db too
    assert conn.execute("SELECT count(*) FROM records WHERE source_table IS NULL OR source_rowid IS NULL "
                        "AND record_type IN ('message', 'call')").fetchone()[0] == 0
    left = dict(conn.execute("SELECT reason, count FROM exclusions WHERE record_type IS NOT NULL"))
    assert left["message: identity could not be resolved"] == 1  # the unmapped WhatsApp @lid chat
    assert left["message: no time recorded"] == 1
    assert left["message: outside date windows"] == 5 and left["call: outside date windows"] == 3
    custody = [json.loads(line) for line in (out / "custody.jsonl").read_text().splitlines()]
    entry = next(e for e in custody if e["action"] == "record-scope")
    assert entry["details"]["records_left"] == left
    read = {d["path"].rsplit("/", 1)[1] for d in entry["details"]["databases_read_not_exported"]}
    assert len(read) == 8 and "wa.db" in read  # the names beside msgstore.db: recorded, not exported
    others = sum(n for reason, n in left.items() if reason.startswith("message:"))
    calls = sum(n for reason, n in left.items() if reason.startswith("call:"))
    banner = ("Only messages and calls between the device user and +44 7700 900123, 1 to 7 March 2024 (UTC). "
              f"{others} other messages and {calls} other calls on the device were not extracted.")
    for page in ("conversations", "calls", "contacts", "web", "index"):
        html = (out / "data" / "report" / f"{page}.html").read_text()
        assert banner in html, page


def test_dry_run_counts_what_the_extraction_takes_and_leaves(phone: tuple[Path, scope_proof.Markers, Path],
                                                            tmp_path: Path) -> None:
    image, _, _ = phone
    scope = tmp_path / "suspect-week.toml"
    scope.write_text(scope_proof.SCOPE % "whole-thread")
    dry, out = tmp_path / "dry", tmp_path / "out"
    proc = _cli("extract", image, "-o", dry, "--scope", scope, "--dry-run", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    shown = proc.stdout + proc.stderr
    assert "records left: message: no time recorded" in shown
    assert "records left: message: identity could not be resolved" in shown
    assert [p.name for p in dry.iterdir()] == ["custody.jsonl"]  # nothing else written
    counts = json.loads((dry / "custody.jsonl").read_text().splitlines()[-1])["details"]["counts"]
    assert _cli("extract", image, "-o", out, "--scope", scope, "-q", cwd=tmp_path).returncode == 0
    conn = sqlite3.connect(out / "data" / "case.db")
    left = dict(conn.execute("SELECT reason, count FROM exclusions WHERE record_type IS NOT NULL"))
    taken = dict(conn.execute("SELECT record_type, count(*) FROM records GROUP BY record_type"))
    assert counts["records_left"] == left and counts["records_taken"] == taken
    assert counts["record_databases"] == 8  # read for their records, none exported: the 7 stores and wa.db
    assert taken == {"message": 27, "call": 3}  # 2 SMS, 4 MMS, 6 WhatsApp, 5 each: Google Messages, WhatsApp iOS, iMessage
    # everything the real run took, the attachments and wa.db taken after its walk included, and what it left
    files, nbytes = conn.execute("SELECT count(*), sum(size) FROM files WHERE kind NOT IN ('dir', 'virtual-dir')"
                                 ).fetchone()
    assert (counts["taken_files"], counts["taken_bytes"]) == (files, nbytes)
    assert counts["folders_kept"] == conn.execute("SELECT count(*) FROM files WHERE kind = 'dir'").fetchone()[0]
    assert counts["excluded"] == {r: {"files": n, "bytes": b} for r, n, b in conn.execute(
        "SELECT reason, count, bytes FROM exclusions WHERE record_type IS NULL")}
    # the files taken after the walk, per kind, with their sizes from the tree the image was made of
    root = image.parent / "root"
    parts = [p for (p,) in conn.execute("SELECT path FROM files WHERE path LIKE '%/app_parts/%' AND export_path "
                                        "IS NOT NULL ORDER BY path")]
    custody = [json.loads(line) for line in (out / "custody.jsonl").read_text().splitlines()]
    exported = next(e for e in custody if e["action"] == "record-scope")["details"]["attachments_exported"]
    assert len(parts) == exported > 0  # the MMS attachments of the whole-thread messages taken
    wa_db = root / "data/data/com.whatsapp/databases/wa.db"
    assert counts["taken_after_walk"] == {
        "attachments of taken messages": {"files": len(parts), "bytes": sum((root / p.lstrip("/")).stat().st_size
                                                                   for p in parts)},
        "databases read beside a message store (not exported)": {"files": 1, "bytes": wa_db.stat().st_size}}
    assert "of which taken after the walk: attachments of taken messages" in shown


@pytest.mark.parametrize("packed", ["tar", "tar.gz"])
def test_dry_run_of_the_phone_tree_as_an_archive(phone: tuple[Path, scope_proof.Markers, Path], tmp_path: Path,
                                                 packed: str) -> None:
    """A tar is read in one pass: the dry run keeps the siblings and counts the message stores once the walk has
    ended, as the extraction does, so it counts the same records, attachments and wa.db as the real run."""
    image, _, _ = phone
    root = image.parent / "root"
    archive = tmp_path / f"phone.{packed}"
    subprocess.run(["tar", "-czf" if packed == "tar.gz" else "-cf", str(archive), "-C", str(root), "."], check=True)
    scope = tmp_path / "suspect-week.toml"
    scope.write_text(scope_proof.SCOPE % "whole-thread")
    dry, out = tmp_path / "dry", tmp_path / "out"
    proc = _cli("extract", archive, "-o", dry, "--scope", scope, "--dry-run", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    counts = json.loads((dry / "custody.jsonl").read_text().splitlines()[-1])["details"]["counts"]
    assert _cli("extract", archive, "-o", out, "--scope", scope, "-q", cwd=tmp_path).returncode == 0
    conn = sqlite3.connect(out / "data" / "case.db")
    assert counts["record_databases_unreadable"] == []
    assert counts["records_taken"] == dict(conn.execute("SELECT record_type, count(*) FROM records GROUP BY 1"))
    assert counts["records_left"] == dict(conn.execute("SELECT reason, count FROM exclusions WHERE record_type IS "
                                                       "NOT NULL"))
    files, nbytes = conn.execute("SELECT count(*), sum(size) FROM files WHERE kind NOT IN ('dir', 'virtual-dir')"
                                 ).fetchone()
    assert (counts["taken_files"], counts["taken_bytes"]) == (files, nbytes)
    assert counts["excluded"] == {r: {"files": n, "bytes": b} for r, n, b in conn.execute(
        "SELECT reason, count, bytes FROM exclusions WHERE record_type IS NULL")}
    parts = [p for (p,) in conn.execute("SELECT path FROM files WHERE path LIKE '%/app_parts/%' AND export_path "
                                        "IS NOT NULL")]
    wa_db = root / "data/data/com.whatsapp/databases/wa.db"
    assert parts and counts["taken_after_walk"] == {
        "attachments of taken messages": {"files": len(parts), "bytes": sum((root / p.lstrip("/")).stat().st_size
                                                                            for p in parts)},
        "databases read beside a message store (not exported)": {"files": 1, "bytes": wa_db.stat().st_size}}


def test_widening_adds_records_and_says_so(phone: tuple[Path, scope_proof.Markers, Path], tmp_path: Path) -> None:
    """A first run takes messages with the suspect, group chats left out; a second, wider run into the same
    OUT takes whole group threads and calls too: it writes only what is new, and custody says what it added."""
    image, markers, _ = phone
    out = tmp_path / "out"
    narrow = (scope_proof.SCOPE % "exclude").replace('["messages", "calls"]', '["messages"]')
    for n, text in enumerate((narrow, scope_proof.SCOPE % "whole-thread"), 1):
        scope = tmp_path / f"scope-{n}.toml"
        scope.write_text(text)
        assert _cli("extract", image, "-o", out, "--scope", scope, "-q", cwd=tmp_path).returncode == 0
    conn = sqlite3.connect(out / "data" / "case.db")
    per_run = dict(conn.execute("SELECT f.run_id, count(*) FROM records r JOIN files f ON f.id = r.file_id "
                                "GROUP BY f.run_id"))
    assert per_run == {1: 12, 2: 18}  # 12 one-to-one messages, then 15 group messages (3 per app) and 3 calls
    bodies = [r[0] for r in conn.execute("SELECT data FROM records WHERE record_type = 'message'")]
    assert len(bodies) == len(set(bodies)) == 27  # nothing taken twice
    entries = [json.loads(line) for line in (out / "custody.jsonl").read_text().splitlines()]
    second = [e for e in entries if e["action"] == "record-scope"][1]["details"]
    assert second["widens_earlier_runs"] == [1]
    assert second["records_added"] == {"call": 3, "message": 15}
    assert second["records_already_taken"] == {"message": 12}
    assert "adds 18 records to those taken by run(s) 1" in second["widening"]
    left = {(run, kind): n for run, kind, n in conn.execute(
        "SELECT run_id, record_type, sum(count) FROM exclusions WHERE record_type IS NOT NULL GROUP BY 1, 2")}
    assert left[1, "call"]  # run 1 left WhatsApp calls too, but did not select calls: its sentence leaves them out
    assert _cli("report", out, cwd=tmp_path).returncode == 0
    html = (out / "data" / "report" / "conversations.html").read_text()
    assert "Records were taken in 2 runs into this case, each with its own scope." in html
    assert (f"Run 1: Only messages between the device user and +44 7700 900123, 1 to 7 March 2024 (UTC). "
            f"{left[1, 'message']} other messages on the device were not extracted by that run.") in html.replace("\n", " ")
    assert (f"Run 2: Only messages and calls between the device user and +44 7700 900123, 1 to 7 March 2024 "
            f"(UTC). {left[2, 'message']} other messages and {left[2, 'call']} other calls on the device were not "
            "extracted by that run.") in html.replace("\n", " ")
    present, absent = markers.expected("whole-thread")
    data = _everything(out)
    assert not [m for m in absent if m.encode() in data] and not [m for m in present if m.encode() not in data]


@pytest.mark.parametrize("packed", ["tar", "tar.gz"])
def test_the_same_phone_tree_as_an_archive(phone: tuple[Path, scope_proof.Markers, Path], tmp_path: Path,
                                           packed: str) -> None:
    """The same databases delivered as a tar (one pass; siblings and attachments kept as they stream past)."""
    image, markers, _ = phone
    archive = tmp_path / f"phone.{packed}"
    subprocess.run(["tar", "-czf" if packed == "tar.gz" else "-cf", str(archive), "-C", str(image.parent / "root"),
                    "."], check=True)
    scope = tmp_path / "suspect-week.toml"
    scope.write_text(scope_proof.SCOPE % "whole-thread")
    out = tmp_path / "out"
    proc = _cli("extract", archive, "-o", out, "--scope", scope, "-q", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    present, absent = markers.expected("whole-thread")
    data = _everything(out)
    assert not sorted(m for m in absent if m.encode() in data)
    assert not sorted(m for m in present if m.encode() not in data)


def test_dry_run_names_a_message_store_it_could_not_read(tmp_path: Path) -> None:
    """A damaged sms.db (its pages after the first overwritten) is named in the dry run, with why, not only
    counted; the dry run goes on and writes nothing but its custody entry."""
    root = tmp_path / "root"
    scope_proof._ios_sms(root, scope_proof.Markers())
    db = root / "private/var/mobile/Library/SMS/sms.db"
    data = bytearray(db.read_bytes())
    page = int.from_bytes(data[16:18], "big")
    data[page:] = b"\xa5" * (len(data) - page)
    db.write_bytes(bytes(data))
    image = tmp_path / "damaged.img"
    subprocess.run(["mke2fs", "-q", "-t", "ext4", "-b", "4096", "-d", str(root), str(image), "4M"], check=True,
                   env={"PATH": "/usr/sbin:/sbin:/usr/bin:/bin"})
    scope = tmp_path / "suspect-week.toml"
    scope.write_text(scope_proof.SCOPE % "whole-thread")
    dry = tmp_path / "dry"
    proc = _cli("extract", image, "-o", dry, "--scope", scope, "--dry-run", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    shown = " ".join((proc.stdout + proc.stderr).split())
    assert "could not be read for records: /private/var/mobile/Library/SMS/sms.db (ios_sms):" in shown, shown
    details = json.loads((dry / "custody.jsonl").read_text().splitlines()[-1])["details"]["counts"]
    [problem] = details["record_databases_unreadable"]
    assert problem.startswith("/private/var/mobile/Library/SMS/sms.db (ios_sms): ") and "malformed" in problem
