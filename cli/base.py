"""The root command group, exit codes and one-line error handling."""
from __future__ import annotations

import importlib
import os
import tempfile
import traceback
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.text import Text

from devicex import __version__
from devicex.safetext import visible

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_USAGE = 2
EXIT_NOTHING_READ = 3
EXIT_INTEGRITY = 4
EXIT_VERIFY_FAILED = 5
EXIT_OUTPUT = 6

EXIT_CODES_HELP = """\b
Exit codes:
  0  success (problems with single files or partitions are listed, not fatal)
  1  internal error (details written to a devicex-error-PID.log in the temp folder)
  2  bad command line or bad input file given (e.g. invalid scope)
  3  nothing could be read: the source is not an image, is empty, has no
     readable file system, or no entry could be read from its file systems
  4  integrity failure: source hashes changed during extraction, or hashes
     stored in an E01 do not match its content
  5  verification failed (devicex verify), or a requirement failed
     (devicex validate)
  6  the output cannot be written (disk full, read-only, no permission, or
     another run is writing to the same OUT); the run is recorded as failed
     as far as the output still takes writes
  130  interrupted (Ctrl-C): what was written stays; the case database and
     the custody log record the run as interrupted
"""

console = Console(stderr=True, highlight=False)


def fail(message: str, code: int) -> click.exceptions.Exit:
    console.print(Text.assemble(("error:", "bold red"), " ", visible(message)), soft_wrap=True)
    return click.exceptions.Exit(code)


class DevicexGroup(click.Group):
    """Turns unexpected exceptions into one line plus a log file, never a traceback.

    Commands are named here with the module that defines them (``"module:attribute"``) and
    imported only when that command runs (or when ``--help`` lists them), so ``devicex verify``
    loads the bundle code and not the image libraries.
    """

    def __init__(self, *args: Any, lazy_commands: dict[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_commands = dict(lazy_commands or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy_commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy_commands and cmd_name not in self.commands:
            module_name, _, attribute = self.lazy_commands[cmd_name].partition(":")
            command = getattr(importlib.import_module(module_name), attribute)
            if not isinstance(command, click.Command):
                raise TypeError(f"{self.lazy_commands[cmd_name]} is not a click command")
            self.add_command(command, cmd_name)
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.exceptions.Abort, SystemExit):
            raise
        except KeyboardInterrupt:
            console.print("interrupted")
            raise click.exceptions.Exit(130) from None
        except Exception as exc:  # noqa: BLE001 - last resort: one line to the user, details to a log
            # never next to the evidence (the working folder may hold it): the system temp folder
            log = Path(tempfile.gettempdir()) / f"devicex-error-{os.getpid()}.log"
            try:
                log.write_text(traceback.format_exc(), encoding="utf-8")
                where = f" (details in {log})"
            except OSError:
                where = ""
            console.print(f"error: internal error: {type(exc).__name__}: {visible(exc)}{where}", markup=False)
            raise click.exceptions.Exit(EXIT_INTERNAL) from None


COMMANDS = {
    "extract": "cli.extract:extract",
    "info": "cli.info:info",
    "ls": "cli.info:ls_command",
    "report": "cli.report:report",
    "scope": "cli.scope:scope",
    "tag": "cli.tag:tag",
    "cps": "cli.cps:cps",
    "keys": "cli.bundle:keys",
    "seal": "cli.bundle:seal",
    "handover": "cli.bundle:handover",
    "verify": "cli.bundle:verify",
    "queue": "cli.queue:queue",
    "worker": "cli.queue:worker_command",
    "validate": "cli.validate:validate",
}


@click.group(cls=DevicexGroup, lazy_commands=COMMANDS, epilog=EXIT_CODES_HELP,
             context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="devicex")
def main() -> None:
    """devicex: read-only evidence extraction from device images, with hashes,
    parsed artefacts, a case database and a tamper-evident custody log."""
