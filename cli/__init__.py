"""The devicex command line (click + rich): the top layer. It parses options and
calls ``pipelines``, ``reports`` and the core; nothing below imports it.

Each command lives in its own module and is imported only when it runs (see
:data:`cli.base.COMMANDS`).
"""
from cli.base import main

__all__ = ["main"]
