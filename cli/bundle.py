"""``devicex keys init``, ``seal``, ``verify`` and ``handover``; plus the
``--seal`` options that ``devicex extract`` borrows from here."""
from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from cli.base import EXIT_INTEGRITY, EXIT_OK, EXIT_USAGE, EXIT_VERIFY_FAILED, console, fail
from cli.options import KEY_DEFAULT, examiner_options, key_options
from devicex.bagit import BundleError
from devicex.bundle import SealResult, write_zip
from devicex.bundle import seal as do_seal
from devicex.custody import Actor, CustodyError
from devicex.handover import NotVerified
from devicex.handover import handover as do_handover
from devicex.keys import (
    KeyFileError,
    default_key_path,
    fingerprint,
    format_fingerprint,
    init_keys,
    insecure_permissions,
    is_encrypted,
    load_private_key,
    load_public_pem,
    normalize_fingerprint,
)
from devicex.safetext import visible
from devicex.verify import VerifyResult, verify_bundle

F = TypeVar("F", bound=Callable[..., Any])

def _passphrase(var: str | None, key_path: Path) -> bytes | None:
    if not is_encrypted(key_path):
        return None
    if var:
        value = os.environ.get(var)
        if not value:
            raise fail(f"--passphrase-env {var}: that environment variable is not set or empty", EXIT_USAGE)
        return value.encode()
    answer: str = click.prompt(f"Passphrase for {key_path}", hide_input=True, err=True)
    return answer.encode()


def load_key(key_path: Path | None, passphrase_env: str | None) -> Ed25519PrivateKey:
    """Loads (and unlocks) the signing key, or exits with one line."""
    path = key_path or default_key_path()
    try:
        key = load_private_key(path, _passphrase(passphrase_env, path))
    except KeyFileError as exc:
        raise fail(str(exc), EXIT_USAGE) from None
    if insecure_permissions(path):
        console.print(f"warning: {path} can be read by other users (chmod 600 it)", markup=False)
    return key


def prepare_seal(seal_out: bool, key_path: Path | None, passphrase_env: str | None) -> Ed25519PrivateKey | None:
    """For ``extract --seal``: unlock the key *before* the long extraction."""
    return load_key(key_path, passphrase_env) if seal_out else None


def _print_seal(result: SealResult, zip_info: tuple[Path, str] | None) -> None:
    click.echo(f"sealed: {result.bundle}")
    click.echo(f"  payload: {result.payload_files} files, {result.payload_bytes} bytes")
    click.echo(f"  custody log: {result.custody_entries} entries, head {result.custody_head}")
    click.echo(f"  tag manifest SHA-256: {result.tagmanifest_sha256}")
    click.echo(f"  signing key SHA-256 fingerprint: {result.fingerprint}")
    click.echo(f"                                   ({format_fingerprint(result.fingerprint)})")
    for kind, paths in sorted(result.changes.items()):
        if paths:
            click.echo(f"  {kind} since the previous seal: {len(paths)} file(s)")
    if zip_info:
        click.echo(f"  zip: {zip_info[0]}  SHA-256 {zip_info[1]}")


def _previous_fp(value: str | None) -> str | None:
    try:
        return normalize_fingerprint(value) if value else None
    except ValueError as exc:
        raise fail(f"--previous-key-fingerprint: {exc}", EXIT_USAGE) from None


def previous_key_option(func: F) -> F:
    return click.option("--previous-key-fingerprint", "previous_fp", metavar="SHA256",
                        help="Fingerprint of the key that sealed BUNDLE last, as its examiner stated it; needed "
                             "when that was not your key.")(func)


def finish_seal(key: Ed25519PrivateKey, out: Path, examiner: str, examiner_id: str | None,
                organisation: str | None, make_zip: bool = False, accept_changes: str | None = None,
                previous_fp: str | None = None) -> None:
    actor = Actor(examiner_id or examiner, examiner)
    try:
        result = do_seal(out, key, actor, organisation=organisation, accept_changes=accept_changes,
                         previous_fingerprint=previous_fp)
        zip_info = write_zip(out) if make_zip else None
    except (BundleError, CustodyError) as exc:
        raise fail(str(exc), EXIT_INTEGRITY) from None
    _print_seal(result, zip_info)


@click.group()
def keys() -> None:
    """Examiner signing keys (Ed25519)."""


@keys.command("init")
@click.option("--key", "key_path", type=click.Path(path_type=Path), default=None,
              help=f"Where to write the private key; the public key goes next to it as NAME.pub.pem.  "
                   f"[default: {KEY_DEFAULT}]")
@click.option("--passphrase-env", metavar="VAR", help="Protect the key with the passphrase in environment "
              "variable VAR (otherwise you are prompted; an empty answer leaves it unprotected).")
@click.option("--no-passphrase", is_flag=True, help="Do not protect the private key with a passphrase.")
@click.option("--force", is_flag=True, help="Replace an existing key (the old one is lost).")
def keys_init(key_path: Path | None, passphrase_env: str | None, no_passphrase: bool, force: bool) -> None:
    """Create an examiner's Ed25519 key pair (private key file mode 0600) and
    print its SHA-256 fingerprint, to quote in statements."""
    path = key_path or default_key_path()
    if path.exists() and not force:
        raise fail(f"{path}: a key already exists (use --force to replace it)", EXIT_USAGE)
    passphrase: bytes | None = None
    if passphrase_env:
        value = os.environ.get(passphrase_env)
        if not value:
            raise fail(f"--passphrase-env {passphrase_env}: that environment variable is not set or empty",
                       EXIT_USAGE)
        passphrase = value.encode()
    elif not no_passphrase:
        answer = click.prompt("Passphrase for the new key (empty for none)", default="", show_default=False,
                              hide_input=True, confirmation_prompt=True, err=True)
        passphrase = answer.encode() or None
    try:
        pair = init_keys(path, passphrase, force=force)
    except (KeyFileError, OSError) as exc:
        raise fail(str(exc), EXIT_USAGE) from None
    protection = "passphrase-protected" if pair.encrypted else "NOT passphrase-protected"
    click.echo(f"private key: {pair.private_path} (mode 0600, {protection})")
    click.echo(f"public key:  {pair.public_path}")
    click.echo(f"SHA-256 fingerprint: {pair.fingerprint}")
    click.echo(f"                     ({format_fingerprint(pair.fingerprint)})")


@keys.command("fingerprint")
@click.argument("key_file", type=click.Path(path_type=Path), required=False)
def keys_fingerprint(key_file: Path | None) -> None:
    """Print the SHA-256 fingerprint of a public key file (default: yours)."""
    path = key_file or default_key_path()
    if path.name.endswith(".pem") and not path.name.endswith(".pub.pem"):
        path = path.with_name(path.name[:-4] + ".pub.pem")
    try:
        fp = fingerprint(load_public_pem(path.read_bytes()))
    except (KeyFileError, OSError) as exc:
        raise fail(f"{path}: {exc}", EXIT_USAGE) from None
    click.echo(fp)


@click.command()
@click.argument("out", type=click.Path(path_type=Path))
@key_options
@examiner_options
@click.option("--zip", "make_zip", is_flag=True, help="Also write OUT.zip: one deterministic zip of the bundle.")
@click.option("--accept-changes", metavar="REASON",
              help="Re-seal even though payload files were added, changed or removed since the last seal; REASON "
                   "and the list of changes go into the custody log. Needed for every such change.")
@previous_key_option
def seal(out: Path, key_path: Path | None, passphrase_env: str | None, examiner: str, examiner_id: str | None,
         organisation: str | None, make_zip: bool, accept_changes: str | None, previous_fp: str | None) -> None:
    """Turn the extraction folder OUT into a signed BagIt evidence bundle
    (manifests, bag-info, custody log and public key as tag files, signed
    seal statement). Appends a 'seal' custody entry. A re-seal needs the
    previous seal to verify with your key or --previous-key-fingerprint."""
    if not out.is_dir():
        raise fail(f"{out}: no such folder", EXIT_USAGE)
    finish_seal(load_key(key_path, passphrase_env), out, examiner, examiner_id, organisation, make_zip,
                accept_changes, _previous_fp(previous_fp))


@click.command()
@click.argument("bundle", type=click.Path(path_type=Path))
@click.option("--to", "to", required=True, help='Recipient, e.g. "CPS Leeds, J. Smith".')
@click.option("--reason", required=True, help="Why the bundle is handed over.")
@click.option("--from", "from_", help="Who hands it over.  [default: --examiner]")
@previous_key_option
@key_options
@examiner_options
def handover(bundle: Path, to: str, reason: str, from_: str | None, previous_fp: str | None, key_path: Path | None,
             passphrase_env: str | None, examiner: str, examiner_id: str | None, organisation: str | None) -> None:
    """Verify BUNDLE pinned to the key that sealed it (yours, or the one
    given with --previous-key-fingerprint), append a 'handover' custody entry
    (from, to, reason) and re-seal it. Refused if the bundle does not verify."""
    if not bundle.exists():
        raise fail(f"{bundle}: no such bundle", EXIT_USAGE)
    pinned = _previous_fp(previous_fp)
    key = load_key(key_path, passphrase_env)
    try:
        result = do_handover(bundle, key, Actor(examiner_id or examiner, examiner), to, reason, from_=from_,
                             organisation=organisation, previous_fingerprint=pinned)
    except NotVerified as exc:
        raise fail(f"{exc} (run 'devicex verify {bundle}')", EXIT_VERIFY_FAILED) from None
    except (BundleError, CustodyError) as exc:
        raise fail(str(exc), EXIT_INTEGRITY) from None
    click.echo(f"handed over to {visible(to)}")
    _print_seal(result, None)


@click.command()
@click.argument("bundle", type=click.Path(path_type=Path))
@click.option("--key-fingerprint", "key_fp", metavar="SHA256",
              help="The signing key's fingerprint as given by the examiner (e.g. in the statement); without it the "
                   "signature only proves the bundle is unchanged since someone sealed it.")
@click.option("--json", "as_json", is_flag=True, help="The same result as JSON on stdout.")
def verify(bundle: Path, key_fp: str | None, as_json: bool) -> None:
    """Verify a sealed BUNDLE (folder or .zip) offline: signature, key
    fingerprint, every payload and tag file's SHA-256 (full content), nothing
    missing or added, custody chain (no edit, gap, reorder, duplicate or
    truncation; head and size as sealed), bag-info, and source hashes at intake
    equal to those re-verified. Exit 0 only on pass, 5 on failure.

    Read-only: verify never changes the bundle and writes no custody entry."""
    if not bundle.exists():
        raise fail(f"{bundle}: no such bundle", EXIT_USAGE)
    try:
        result = verify_bundle(bundle, key_fp)
    except ValueError as exc:
        raise fail(f"--key-fingerprint: {exc}", EXIT_USAGE) from None
    except BundleError as exc:
        raise fail(str(exc), EXIT_VERIFY_FAILED) from None
    if as_json:
        click.echo(json.dumps(result.as_dict(), indent=2, sort_keys=True))  # ASCII: no raw bidi or escapes
    else:
        _print_report(result)
    raise click.exceptions.Exit(EXIT_OK if result.ok else EXIT_VERIFY_FAILED)


def _print_report(r: VerifyResult) -> None:
    """Every value that comes from the bundle goes through ``visible``: a tampered field cannot print a
    line of its own (a fake RESULT) or move the cursor."""
    v, info = visible, r.info
    click.echo(f"devicex verify: {v(r.bundle)}")
    found = info.get("examiner")
    examiner: dict[str, object] = found if isinstance(found, dict) else {}
    click.echo(f"  case {v(info.get('case_ref') or '-')}, exhibit {v(info.get('exhibit_ref') or '-')}; sealed "
               f"{v(info.get('sealed_at') or '?')} by {v(examiner.get('name', '?'))} ({v(info.get('action') or '?')})")
    click.echo(f"  payload: {info.get('payload_files', 0)} files, {info.get('payload_bytes', 0)} bytes; custody log: "
               f"{info.get('custody_entries', 0)} entries")
    fp = r.key_fingerprint
    if fp is None:
        click.echo("  signing key: none readable")
    elif r.pinned_fingerprint:
        state = "matches" if fp == r.pinned_fingerprint else "DOES NOT match"
        click.echo(f"  signing key SHA-256 {fp}: {state} --key-fingerprint")
    else:
        click.echo(f"  signing key SHA-256 {fp}\n    not checked against the examiner's statement: "
                   "compare it, or pass --key-fingerprint")
    for k in info.get("signing_keys", []):
        pinned = f", pinned previous key {v(k['previous_pinned'])}" if k.get("previous_pinned") else ""
        click.echo(f"  signed at custody seq {v(k['seq'])} ({v(k['action'])}) by {v(k['actor'])}: key "
                   f"{v(k['fingerprint'])}{pinned}")
    for src in info.get("sources", []):
        click.echo(f"  source {v(src['path'])}: SHA-256 {v(src['sha256'])}, re-verified: {v(src['reverified'])}")
    for check in r.checks():
        mark = {"pass": click.style("PASS", fg="green"), "fail": click.style("FAIL", fg="red", bold=True)}.get(
            check["status"], "n/a ")
        click.echo(f"  {mark}  {check['check']:16} {check['description']}")
    if r.custody:
        click.echo("custody log:")
        for e in r.custody:
            extra = f"  {v(e.get('from', ''))} -> {v(e['to'])}: {v(e.get('reason', ''))}" if "to" in e else ""
            click.echo(f"  {v(e['seq']):>4}  {v(e['time'])}  {v(e['action']):16} {v(e['result']):8} "
                       f"{v(e['actor'])}{extra}")
    for warning in r.warnings:
        click.echo(f"warning: {v(warning)}")
    if r.ok:
        click.echo(click.style("RESULT: PASS", fg="green", bold=True) + " - the bundle is exactly as sealed")
        return
    click.echo(click.style(f"RESULT: FAIL ({len(r.failures)} reason{'s' if len(r.failures) != 1 else ''})",
                           fg="red", bold=True))
    for f in r.failures:
        click.echo(f"  [{f.code}] {v(f.path) + ': ' if f.path else ''}{v(f.message)}")
