"""Attacks on the bundle's trust model: a bundle re-signed by someone else,
custody entries appended to pre-approve a change, files planted under
data/files, and bundles built to make verify pass what it cannot see (an
unreadable folder, zip folder entries carrying data, a zip bomb, a huge sparse
file in place of a listed one). Each is refused or reported."""
from __future__ import annotations

import json
import os
import resource
import stat
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

import devicex.bundle
from cli import main
from devicex.bagit import BundleError
from devicex.bundle import seal, write_zip
from devicex.custody import Actor, read_chain
from devicex.handover import NotVerified, handover
from devicex.keys import fingerprint, init_keys, load_private_key
from devicex.verify import verify_bundle
from tests.sealing_support import (  # noqa: F401
    EXAMINER,
    REPO,
    bundle,
    other_key,
    out_dir,
    session_key,
    signing_key,
    work_root,
)


def _first_export(b: Path) -> Path:
    return sorted(p for p in (b / "data" / "files").rglob("*") if p.is_file() and p.stat().st_size)[0]


# --------------------------------------------------------------------------- 1: signer pinning

def test_handover_refuses_a_bundle_resealed_by_someone_else(bundle: Path, signing_key, work_root: Path) -> None:  # noqa: F811
    original = fingerprint(signing_key.public_key())
    report = bundle / "data" / "report" / "planted.html"
    report.parent.mkdir()
    report.write_text("<p>planted</p>")
    forger = other_key()  # even claiming to have pinned the examiner's key
    seal(bundle, forger, Actor("x", "Forger"), accept_changes="cover-up", previous_fingerprint=original)
    before = (bundle / "custody.jsonl").read_bytes()
    with pytest.raises(NotVerified, match="key-fingerprint-mismatch"):
        handover(bundle, signing_key, EXAMINER, "CPS", "charging decision")
    with pytest.raises(NotVerified, match="key-fingerprint-mismatch"):  # pinning the original key explicitly
        handover(bundle, signing_key, EXAMINER, "CPS", "charging decision", previous_fingerprint=original)
    assert (bundle / "custody.jsonl").read_bytes() == before
    key_file = session_key(work_root)[1]  # the examiner's own key: the bundle is no longer theirs
    res = CliRunner().invoke(main, ["handover", str(bundle), "--to", "CPS", "--reason", "r", "--key", str(key_file)])
    assert res.exit_code == 5 and "key-fingerprint-mismatch" in res.output, res.output
    assert (bundle / "custody.jsonl").read_bytes() == before
    assert "key-fingerprint-mismatch" in verify_bundle(bundle, original).codes()


def test_handover_by_another_examiner_pins_the_previous_key(bundle: Path, signing_key) -> None:  # noqa: F811
    original = fingerprint(signing_key.public_key())
    colleague = load_private_key(init_keys(bundle.parent / "colleague.pem").private_path)
    with pytest.raises(BundleError, match="last sealed with key|key-fingerprint-mismatch"):
        handover(bundle, colleague, Actor("C-2", "Colleague"), "CPS", "review")
    with pytest.raises(NotVerified, match="key-fingerprint-mismatch"):
        handover(bundle, colleague, Actor("C-2", "Colleague"), "CPS", "review", previous_fingerprint="ab" * 32)
    result = handover(bundle, colleague, Actor("C-2", "Colleague"), "CPS", "review", previous_fingerprint=original)
    entry = read_chain(bundle / "custody.jsonl").entries[-1].entry
    assert entry["details"]["verification"]["key_fingerprint_pinned"] == original
    assert entry["details"]["seal"]["previous_key_fingerprint_sha256"] == original
    checked = verify_bundle(bundle, result.fingerprint)
    assert checked.ok, checked.failures
    assert [w for w in checked.warnings if original in w and result.fingerprint in w and "pinned" in w]


def test_unpinned_change_of_signing_key_fails_verify(bundle: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    """A forger whose tool skips the previous-seal check (simulated by patching it out) re-seals with
    their key: the chain then holds a key change that nobody pinned."""
    (bundle / "seal-statement.json").unlink()  # devicex itself refuses: the log records a seal
    with pytest.raises(BundleError, match="records a seal"):
        seal(bundle, other_key(), Actor("x", "Forger"))
    monkeypatch.setattr(devicex.bundle, "previous_seal", lambda *a: None)
    seal(bundle, other_key(), Actor("x", "Forger"))
    result = verify_bundle(bundle)
    assert "custody-key-change" in result.codes(), result.failures


# --------------------------------------------------------------------------- 3: planted payload

def test_seal_refuses_files_and_empty_folders_planted_under_data_files(out_dir: Path, signing_key) -> None:  # noqa: F811
    volume = next((out_dir / "data" / "files").iterdir())
    planted = volume / "DCIM" / "planted.jpg"
    planted.parent.mkdir(exist_ok=True)
    planted.write_bytes(b"\xff\xd8\xff planted")
    with pytest.raises(BundleError, match="not exported by any extraction"):
        seal(out_dir, signing_key, EXAMINER)
    with pytest.raises(BundleError, match="not exported by any extraction"):
        seal(out_dir, signing_key, EXAMINER, accept_changes="anything")
    planted.unlink()
    (volume / "empty-planted").mkdir()
    with pytest.raises(BundleError, match="empty folder"):
        seal(out_dir, signing_key, EXAMINER)
    (volume / "empty-planted").rmdir()
    seal(out_dir, signing_key, EXAMINER)
    assert verify_bundle(out_dir).ok


def test_verify_reports_planted_files_and_folders(bundle: Path, signing_key,  # noqa: F811
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    volume = next((bundle / "data" / "files").iterdir())
    (volume / "planted-empty").mkdir()
    assert "empty-folder" in verify_bundle(bundle).codes()
    (volume / "planted-empty").rmdir()
    planted = volume / "planted.jpg"
    planted.write_bytes(b"planted evidence")
    assert {"payload-unlisted", "payload-unrecorded"} <= verify_bundle(bundle).codes()
    # a forger's tool that skips the check seals it into the manifest: still not recorded by any extraction
    monkeypatch.setattr(devicex.bundle, "check_exports", lambda *a: None)
    seal(bundle, signing_key, EXAMINER, accept_changes="forged")
    result = verify_bundle(bundle)
    assert result.codes() == {"payload-unrecorded"}, result.failures
    assert [f.path for f in result.failures] == ["data/" + planted.relative_to(bundle / "data").as_posix()]


# --------------------------------------------------------------------------- 4: fail closed

def _unprivileged(args: list[str]) -> subprocess.CompletedProcess[str]:
    """devicex as a verifier without the right to read everything: as root, with the capabilities that
    override file permissions dropped (an ordinary user already lacks them)."""
    drop = "-dac_override,-dac_read_search"
    prefix = ["setpriv", f"--bounding-set={drop}", f"--inh-caps={drop}"] if os.geteuid() == 0 else []
    return subprocess.run([*prefix, sys.executable, "-m", "devicex", *args], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(REPO)}, cwd=REPO, timeout=300)


def test_a_folder_the_verifier_cannot_read_fails(bundle: Path) -> None:  # noqa: F811
    assert _unprivileged(["verify", str(bundle)]).returncode == 0
    folder = _first_export(bundle).parent
    os.chmod(folder, 0)
    try:
        res = _unprivileged(["verify", str(bundle)])
    finally:
        os.chmod(folder, 0o755)
    assert res.returncode == 5 and "[unreadable]" in res.stdout and "RESULT: PASS" not in res.stdout, res.stdout


def _rezip(src: Path, dest: Path, replace: dict[str, int], extra: list[tuple[str, bytes]] = ()) -> None:
    """Copy ``src`` to ``dest``; members named in ``replace`` become that many zero bytes (deflated)."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dest, "w", zipfile.ZIP_STORED, allowZip64=True) as zout:
        for info in zin.infolist():
            rel = info.filename.split("/", 1)[1]
            if rel in replace:
                new = zipfile.ZipInfo(info.filename, info.date_time)
                new.compress_type = zipfile.ZIP_DEFLATED
                with zout.open(new, "w", force_zip64=True) as out:
                    block = bytes(1 << 20)
                    for _ in range(replace[rel] >> 20):
                        out.write(block)
            else:
                zout.writestr(info, zin.read(info))
        for name, data in extra:
            info = zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0))
            info.external_attr = (stat.S_IFDIR | 0o755) << 16 | 0x10
            zout.writestr(info, data)


def test_zip_folder_entry_carrying_data_fails(bundle: Path, tmp_path: Path) -> None:  # noqa: F811
    good, _ = write_zip(bundle, tmp_path / "good.zip")
    assert verify_bundle(good).ok
    bad = tmp_path / "bad.zip"
    _rezip(good, bad, {}, [(f"{bundle.name}/data/files/hidden/", b"data hidden in a folder entry")])
    with zipfile.ZipFile(bad) as zf:
        assert any(i.is_dir() and i.file_size for i in zf.infolist())
    assert "special-file" in verify_bundle(bad).codes()


def test_zip_bomb_is_checked_in_bounded_memory(bundle: Path, tmp_path: Path) -> None:  # noqa: F811
    good, _ = write_zip(bundle, tmp_path / "good.zip")
    bomb = tmp_path / "bomb.zip"
    _rezip(good, bomb, {"data/case.db": 256 << 20, "custody.jsonl": 128 << 20})
    assert bomb.stat().st_size < 2 << 20  # ~1 MB on disk, 384 MiB inflated
    probe = ("import json, sys\nfrom pathlib import Path\nfrom devicex.verify import verify_bundle\n"
             "r = verify_bundle(Path(sys.argv[1]))\n"
             "hwm = next(line for line in Path('/proc/self/status').read_text().splitlines() if line.startswith('VmHWM'))\n"
             "print(json.dumps({'codes': sorted(r.codes()), 'rss_kib': int(hwm.split()[1])}))\n")
    started = time.monotonic()
    res = subprocess.run([sys.executable, "-c", probe, str(bomb)], capture_output=True, text=True, cwd=REPO,
                         env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=300)
    elapsed = time.monotonic() - started
    out = json.loads(res.stdout)
    assert {"payload-modified", "tag-too-large"} <= set(out["codes"]), out
    assert out["rss_kib"] < 160 * 1024, out  # the members are never inflated whole
    assert elapsed < 60


def test_listed_file_replaced_by_a_huge_sparse_file_is_rejected_on_size(bundle: Path) -> None:  # noqa: F811
    victim = bundle / "data" / "case.db"
    victim.unlink()
    with open(victim, "wb") as fh:
        fh.truncate(10 << 30)  # 10 GiB, no block allocated
    started, cpu = time.monotonic(), resource.getrusage(resource.RUSAGE_SELF).ru_utime
    result = verify_bundle(bundle)
    assert time.monotonic() - started < 20 and resource.getrusage(resource.RUSAGE_SELF).ru_utime - cpu < 10
    found = [f for f in result.failures if f.path == "data/case.db" and f.code == "payload-modified"]
    assert found and "not hashed" in found[0].message, result.failures
