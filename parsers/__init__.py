"""Artefact parsers, one module each, found automatically.

Drop a module into this package that follows the contract in
:mod:`devicex.parsing` and it is used: there is no registry to edit.
"""
from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Mapping
from functools import lru_cache
from types import MappingProxyType

from devicex.parsing import ParserSpec, path_patterns
from devicex.records import Record


@lru_cache(maxsize=1)
def registry() -> tuple[ParserSpec, ...]:
    """Every parser module in this package, sorted by name."""
    specs: list[ParserSpec] = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        if not all(hasattr(module, a) for a in ("NAME", "VERSION", "MIME_TYPES", "parse")):
            continue
        specs.append(ParserSpec(module.NAME, module.VERSION, frozenset(module.MIME_TYPES),
                                frozenset(getattr(module, "EXTENSIONS", ())), module.parse,
                                tuple(getattr(module, "PATHS", ())), _kinds(module),
                                tuple(getattr(module, "SIBLINGS", ()))))
    names = [s.name for s in specs]
    if len(names) != len(set(names)):
        raise RuntimeError(f"duplicate parser names: {names}")
    return tuple(specs)


def by_name() -> Mapping[str, ParserSpec]:
    """Every parser by its name (a result that crossed processes or a spool names its parser), made again
    only when :func:`registry` gives another set."""
    global _by_name
    specs = registry()
    if _by_name is None or _by_name[0] is not specs:
        _by_name = (specs, MappingProxyType({spec.name: spec for spec in specs}))
    return _by_name[1]


_by_name: tuple[tuple[ParserSpec, ...], Mapping[str, ParserSpec]] | None = None  # by_name's last answer


def _kinds(module: object) -> frozenset[str]:
    """The record types a parser module yields: those of the Record classes it defines or imports."""
    return frozenset(v.record_type for v in vars(module).values()
                     if isinstance(v, type) and issubclass(v, Record) and v is not Record)


def for_type(mime: str, extension: str, path: str = "") -> list[ParserSpec]:
    """The parsers that want a stream of this type, extension or path."""
    if path and _wanted_path(path):  # a path some parser wants whatever its type
        return [s for s in registry() if s.wants(mime, extension, path)]
    return list(_by_type(mime, extension))


@lru_cache(maxsize=4096)
def _by_type(mime: str, extension: str) -> tuple[ParserSpec, ...]:
    """The parsers that want a stream of this type or extension (asked once per stream: remembered)."""
    return tuple(s for s in registry() if s.wants(mime, extension))


def _wanted_path(path: str) -> bool:
    """Whether any parser's ``PATHS`` matches ``path`` (asked for every stream; nearly all match none)."""
    tails, pattern = _path_index()
    if tails is not None and not path.endswith(tails):
        return False  # no pattern can match: none ends as this path does
    return pattern.match(path) is not None


@lru_cache(maxsize=1)
def _path_index() -> tuple[tuple[str, ...] | None, re.Pattern[str]]:
    """Every parser's ``PATHS`` as one regular expression, and what follows the last ``*`` of each (a path
    it matches ends with that), so most paths are ruled out without the expression's backtracking; no such
    test when one of those ends holds another wildcard."""
    paths = tuple(p for s in registry() for p in s.paths)
    tails = tuple(dict.fromkeys(p.rpartition("*")[2] for p in paths))
    if any(c in tail for tail in tails for c in "?["):
        return None, path_patterns(paths)
    return tails, path_patterns(paths) if paths else re.compile("(?!)")
