"""``devicex queue submit``: the options of ``devicex extract`` (one definition), checked here
and by :func:`pipelines.queue.client.submit` before anything is queued."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from cli.base import EXIT_OK, EXIT_USAGE, fail
from cli.extract import extract, region, selection
from cli.queue import config_from, queue_options, run_client

_NOT_FOR_QUEUE = ("quiet", "dry_run", "validation")  # extract options not offered for a queued job


@click.command("submit")
@click.option("--priority", type=click.Choice(["urgent", "high", "normal"]), default="normal", show_default=True,
              help="Urgent jobs start before high ones, high before normal.")
@queue_options
def submit_command(source: Path, out: Path, priority: str, config_file: Path | None, broker: str | None,
                   **opts: Any) -> None:
    """Queue the extraction of SOURCE into OUT (a new or empty folder), with the options of
    `devicex extract`. Everything that can be checked before (scope, output folder, source, key)
    is checked first. Prints the job id."""
    from pipelines.queue.client import submit
    from pipelines.queue.jobs import JobSpec

    scope, full_reason = selection(opts["scope_file"], opts["scope_settings"], opts["full_reason"])
    if out.exists() and not out.is_dir():
        raise fail(f"{out}: exists and is not a folder", EXIT_USAGE)
    passphrase = None
    if opts["seal_out"]:
        from devicex.keys import default_key_path

        opts["key_path"] = (opts["key_path"] or default_key_path()).resolve()
        if opts["passphrase_env"] and os.environ.get(opts["passphrase_env"]):
            passphrase = os.environ[opts["passphrase_env"]].encode()
    spec = JobSpec(
        source=str(source.resolve()), out=str(out.resolve()), priority=priority, case_ref=opts["case_ref"],
        exhibit_ref=opts["exhibit_ref"], examiner=opts["examiner"], examiner_id=opts["examiner_id"],
        organisation=opts["organisation"], workers=opts["workers"], export=not opts["no_export"],
        parse=not opts["no_parse"], full_reason=full_reason,
        scope_text=scope.text if scope else None, scope_name=scope.name if scope else None,
        seal=opts["seal_out"], key_path=str(opts["key_path"]) if opts["seal_out"] else None,
        passphrase_env=opts["passphrase_env"], region=region(opts["phone_region"]))
    click.echo(run_client(submit, spec, config_from(config_file, broker=broker), passphrase))
    raise click.exceptions.Exit(EXIT_OK)


# the same options as `devicex extract` (one definition), except those meaningless for a queued job
submit_command.params[:0] = [p for p in extract.params if p.name not in _NOT_FOR_QUEUE]
