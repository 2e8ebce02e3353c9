"""``devicex queue status/cancel`` and ``devicex worker``; ``queue submit`` is in
:mod:`cli.queue_submit` (it takes extract's options, so it loads the extraction code; status and
cancel do not). Thin: the work is in :mod:`pipelines.queue`, imported when a command runs."""
from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import click

from cli.base import EXIT_USAGE, DevicexGroup, console, fail


def config_from(config_file: Path | None, **overrides: Any) -> Any:
    from pipelines.queue.config import ConfigError, load_config

    try:
        return load_config(config_file, overrides)
    except ConfigError as exc:
        raise fail(str(exc), EXIT_USAGE) from None


def run_client(call: Any, *args: Any) -> Any:
    """Broker, validation and key errors as one line each."""
    from devicex.errors import DevicexError
    from pipelines.queue.client import BrokerError, SubmitError

    try:
        return call(*args)
    except BrokerError as exc:
        raise fail(str(exc), 1) from None
    except SubmitError as exc:
        raise fail(str(exc), exc.code) from None
    except DevicexError as exc:
        raise fail(str(exc), EXIT_USAGE) from None


def queue_options(func: Any) -> Any:
    """--config and --broker: which queue."""
    func = click.option("--broker", help="Broker URL, e.g. redis://10.0.0.5:6379/0 (overrides the configuration "
                                         "and $DEVICEX_QUEUE_BROKER).")(func)
    return click.option("--config", "config_file", type=click.Path(path_type=Path, dir_okay=False),
                        help="Queue configuration (TOML).  [default: $DEVICEX_QUEUE_CONFIG or "
                             "/etc/devicex/queue.toml]")(func)


@click.group(cls=DevicexGroup, lazy_commands={"submit": "cli.queue_submit:submit_command"})
def queue() -> None:
    """A unit's queue of extractions, run by `devicex worker` on any machine."""


def _progress(p: dict[str, Any]) -> str:
    """``extract: 1200/3000 files, 20.1/64.0 MB, ETA 12 s`` (totals once they are known)."""
    files = f"{p.get('files', 0)}" + (f"/{p['total_files']}" if p.get("total_files") else "")
    mb = f"{p.get('bytes', 0) / 1e6:.1f}" + (f"/{p['total_bytes'] / 1e6:.1f}" if p.get("total_bytes") else "")
    eta = f", ETA {p['eta_seconds']:.0f} s" if p.get("eta_seconds") is not None else ""
    return f"{p.get('stage', '?')}: {files} files, {mb} MB{eta}"


def _line(s: Any) -> str:
    res = s.result or {}
    if s.state == "running":
        detail = _progress(s.progress) if s.progress else "starting"
    elif "summary" in res:
        detail = f"{res['summary']['files']} files, {res['summary']['bytes_read'] / 1e6:.1f} MB read, " \
                 f"exit {res['exit_code']}" + (", sealed" if res.get("sealed") else "")
    else:
        detail = res.get("error") or res.get("reason") or ""
    return "  ".join(x for x in (s.job_id, s.state, s.priority, s.machine or "-", s.worker or "-", detail, s.out)
                     if x)


@queue.command("status")
@click.argument("job", required=False)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per job.")
@queue_options
def status_command(job: str | None, as_json: bool, config_file: Path | None, broker: str | None) -> None:
    """Show JOB (or the latest jobs): state, machine and worker, progress (files, bytes, ETA), result."""
    from pipelines.queue.client import status

    for s in run_client(status, config_from(config_file, broker=broker), job):
        click.echo(json.dumps(asdict(s), sort_keys=True) if as_json else _line(s))


@queue.command("cancel")
@click.argument("job")
@queue_options
def cancel_command(job: str, config_file: Path | None, broker: str | None) -> None:
    """Cancel JOB: a queued job never starts; a running one stops between two files and is
    recorded as cancelled in its case database and custody log."""
    from pipelines.queue.client import cancel

    click.echo(f"{job}: {run_client(cancel, config_from(config_file, broker=broker), job)}")


@click.command("worker")
@queue_options
@click.option("--concurrency", type=click.IntRange(1, 64), help="Jobs this machine runs at once.")
@click.option("--name", help="Worker name (default devicex@HOSTNAME).")
@click.option("--loglevel", default="INFO", show_default=True)
def worker_command(config_file: Path | None, broker: str | None, concurrency: int | None, name: str | None,
                   loglevel: str) -> None:
    """Run a worker: takes queued jobs, most urgent first, and extracts them (SOURCE and OUT must be
    on storage this machine sees at the same paths)."""
    from pipelines.queue.worker import run_worker

    config = config_from(config_file, broker=broker, concurrency=concurrency, name=name)
    console.print(f"devicex worker {config.worker_name}: {config.concurrency} job(s) at once", markup=False)
    run_worker(config, loglevel)
