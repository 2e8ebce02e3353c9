"""Option groups shared by several commands (one definition each)."""
from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])
KEY_DEFAULT = "$DEVICEX_KEY or ~/.config/devicex/signing-key.pem"


def key_options(func: F) -> F:
    """--key and --passphrase-env: the examiner's signing key."""
    func = click.option("--passphrase-env", metavar="VAR",
                        help="Take the key's passphrase from environment variable VAR (else prompt if needed).")(func)
    return click.option("--key", "key_path", type=click.Path(path_type=Path), default=None,
                        help=f"Examiner's Ed25519 private key.  [default: {KEY_DEFAULT}]")(func)


def examiner_identity_options(func: F) -> F:
    """--examiner and --examiner-id: who acts, as recorded in the custody log."""
    func = click.option("--examiner-id", help="Examiner's identifier (e.g. warrant/collar number).")(func)
    return click.option("--examiner", default=lambda: os.environ.get("DEVICEX_EXAMINER", "unknown examiner"),
                        show_default="$DEVICEX_EXAMINER", help="Examiner's name, recorded in the custody log.")(func)


def examiner_options(func: F) -> F:
    """--examiner, --examiner-id and --organisation."""
    func = click.option("--organisation", help="Examiner's organisation/unit (bag-info Source-Organization).")(func)
    return examiner_identity_options(func)


def seal_options(func: F) -> F:
    """The options ``devicex extract`` adds: --seal, --key, --passphrase-env."""
    func = key_options(func)
    return click.option("--seal", "seal_out", is_flag=True,
                        help="Seal OUT as a signed evidence bundle after a successful extraction.")(func)


def _zone(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    from reports.cameratime import ZoneError, check_zone  # (only then: a command loads only what it needs)

    try:
        return check_zone(value)
    except ZoneError as exc:
        raise click.BadParameter(str(exc)) from None


def timezone_option(func: F) -> F:
    """--timezone: the device's time zone, for camera clock times (``extract`` and ``report``)."""
    return click.option(
        "--timezone", metavar="ZONE", callback=_zone,
        help="The device's time zone (IANA name, e.g. Europe/London): camera clock times without a recorded "
             "offset are converted with its rules for their date and placed on the timeline. Recorded in the "
             "custody log. Without it, a zone found on the device is used, if any.")(func)
