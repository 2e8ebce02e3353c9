"""The devicex command line (click + rich). Thin: parses options, calls pipelines.

Command modules in this package register themselves on :data:`main`.
"""
from __future__ import annotations

import importlib
import pkgutil

from devicex.cli.base import main

for _info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
    if _info.name not in ("base", "progress"):
        importlib.import_module(f"{__name__}.{_info.name}")

__all__ = ["main"]
