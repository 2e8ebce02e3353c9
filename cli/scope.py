"""``devicex scope check SCOPE``: validate a scope file and say, in plain
words, what an extraction with it will and will not take."""
from __future__ import annotations

import json
import tomllib
from pathlib import Path

import click

from cli.base import EXIT_OK, EXIT_USAGE, fail
from devicex.scope import Scope, ScopeError, describe, load, parse_text


def load_scope(path: Path) -> Scope:
    """Load a scope for a command, or stop with a one-line error (exit 2)."""
    try:
        return load(path)
    except ScopeError as exc:
        raise fail(f"invalid scope: {exc}", EXIT_USAGE) from None


@click.group()
def scope() -> None:
    """Extraction scopes (proportionate, authorised selection)."""


@scope.command("check")
@click.argument("scope_file", metavar="SCOPE", type=click.Path(path_type=Path, dir_okay=False))
def check(scope_file: Path) -> None:
    """Validate SCOPE (a TOML scope file) and print what it will and will not
    take. Nothing is read from any evidence. Exit 0 if valid, 2 if not."""
    sc = load_scope(scope_file)
    click.echo(describe(sc))
    click.echo("")
    click.echo("Scope is valid.")
    raise click.exceptions.Exit(EXIT_OK)


_SECTIONS = ("authorisation", "select", "exclude", "output")


def _toml_value(raw: str) -> str:
    """A TOML value as given (``["DCIM/**"]``, ``true``, ``2023-08-12``), or the text as a string."""
    try:
        tomllib.loads(f"v = {raw}")
        return raw
    except tomllib.TOMLDecodeError:
        return json.dumps(raw, ensure_ascii=False)  # a JSON string is a valid TOML basic string


def scope_from_options(settings: tuple[str, ...]) -> Scope:
    """A scope given as ``--scope-set KEY=VALUE`` options (KEY like ``authorisation.reference``,
    ``select.paths``, ``exclude.paths``, ``title``): written out as the equivalent TOML (one
    selection), then validated exactly like a scope file; the TOML is what gets recorded."""
    top: list[str] = []
    tables: dict[str, list[str]] = {name: [] for name in _SECTIONS}
    for item in settings:
        key, sep, value = item.partition("=")
        section, dot, field = key.strip().partition(".")
        if not sep or not key.strip():
            raise fail(f"invalid scope option {item!r}: expected KEY=VALUE", EXIT_USAGE)
        if dot and section in tables and field:
            tables[section].append(f"{field} = {_toml_value(value.strip())}")
        elif not dot:
            top.append(f"{section} = {_toml_value(value.strip())}")
        else:
            raise fail(f"invalid scope option {item!r}: the key must be one of {', '.join(_SECTIONS)} "
                       f"followed by a field, or a top-level field", EXIT_USAGE)
    if not any(ln.startswith("scope_version") for ln in top):
        top.insert(0, "scope_version = 1")
    lines = ["# scope given as command-line options (devicex extract --scope-set)", *top]
    for name, body in tables.items():
        if body:
            lines += ["", f"[[{name}]]" if name == "select" else f"[{name}]", *body]
    text = "\n".join(lines) + "\n"
    try:
        return parse_text(text, "command-line scope", "command-line-scope.toml")
    except ScopeError as exc:
        raise fail(f"invalid scope: {exc}", EXIT_USAGE) from None
