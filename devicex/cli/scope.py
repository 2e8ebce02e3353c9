"""``devicex scope check SCOPE``: validate a scope file and say, in plain
words, what an extraction with it will and will not take."""
from __future__ import annotations

from pathlib import Path

import click

from devicex.cli.base import EXIT_OK, EXIT_USAGE, fail, main
from devicex.scope import Scope, ScopeError, load


def load_scope(path: Path) -> Scope:
    """Load a scope for a command, or stop with a one-line error (exit 2)."""
    try:
        return load(path)
    except ScopeError as exc:
        raise fail(f"invalid scope: {exc}", EXIT_USAGE) from None


@main.group()
def scope() -> None:
    """Extraction scopes (proportionate, authorised selection)."""


@scope.command("check")
@click.argument("scope_file", metavar="SCOPE", type=click.Path(path_type=Path, dir_okay=False))
def check(scope_file: Path) -> None:
    """Validate SCOPE (a TOML scope file) and print what it will and will not
    take. Nothing is read from any evidence. Exit 0 if valid, 2 if not."""
    sc = load_scope(scope_file)
    click.echo(sc.describe())
    click.echo("")
    click.echo("Scope is valid.")
    raise click.exceptions.Exit(EXIT_OK)
