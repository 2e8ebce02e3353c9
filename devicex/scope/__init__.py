"""The extraction scope: what an authorised, proportionate extraction may take.

A scope is a TOML file (read with the standard library's ``tomllib``) with an
``[authorisation]`` table (legal basis, reference, authorising officer,
purpose, the device user's agreement and Digital Processing Notice, less
intrusive means considered) and one or more ``[[select]]`` tables saying what
to take. A file is taken when it matches ANY selection; it matches a
selection when it passes ALL of that selection's rules; ``[exclude] paths``
are never taken, whatever the selections say. Example::

    scope_version = 1

    [authorisation]
    legal_basis = "PCSC 2022 s.37"
    reference = "OP-ALDER/DPA/0193"
    authorised_by = "DS 4711 Jane Okafor"
    purpose = "Photos the complainant says were taken on 12 August 2023"
    user_agreement = true
    dpn_reference = "DPN-2023-0812-01"
    less_intrusive_means = "Screenshots offered by the complainant: no metadata"

    [[select]]
    paths = ["DCIM/**"]
    categories = ["images"]
    windows = [{ start = 2023-08-12, end = 2023-08-12 }]
    times = ["exif_taken_or_modified"]

    [exclude]
    paths = ["Android/data/**"]

Validation is strict and happens before any evidence is read: unknown keys,
wrong types, bad dates, windows ending before they start, empty selections
or lists, bad regular expressions, bad globs and bad hashes are each reported
as one :class:`ScopeError` naming the file, the key and the problem.
Positions in key names (``select[2].windows[1]``) count from 1.

Rules and what they need to read (cheapest first; a file is counted under the
first rule it was seen to fail, metadata rules being checked before content):

* metadata only (nothing read): ``paths``, ``extensions``, ``name_keywords``,
  ``name_patterns``, the ``messages`` category (known message-store file
  names), ``windows`` over file-system times;
* the first 8 KiB (file signature): ``categories``, ``mime_types``;
* the first 128 KiB (EXIF): ``windows`` with ``exif_taken`` times;
* the whole stream: ``content_keywords``, ``content_patterns``, ``sha256``,
  ``md5``.

The package: :mod:`~devicex.scope.constants` (the format's constants),
:mod:`~devicex.scope.errors` (:class:`ScopeError`), :mod:`~devicex.scope.globs`
(path globs), :mod:`~devicex.scope.model` (the validated scope),
:mod:`~devicex.scope.validate` (reading and strict validation) and
:mod:`~devicex.scope.describe` (plain English). Everything public is
importable from ``devicex.scope`` itself.
"""
from __future__ import annotations

from devicex.scope.comms import Communications
from devicex.scope.constants import (
    CATEGORIES,
    DEFAULT_TIMES,
    EXIF_HEAD_BYTES,
    MESSAGE_STORES,
    SCOPE_VERSION,
    TIME_KINDS,
    UTC,
)
from devicex.scope.describe import banner, describe
from devicex.scope.errors import ScopeError
from devicex.scope.globs import Glob, compile_glob
from devicex.scope.model import Authorisation, Scope, Selection, Window
from devicex.scope.validate import load, parse_bytes, parse_text

__all__ = [
    "CATEGORIES",
    "DEFAULT_TIMES",
    "EXIF_HEAD_BYTES",
    "MESSAGE_STORES",
    "SCOPE_VERSION",
    "TIME_KINDS",
    "UTC",
    "Authorisation",
    "Communications",
    "Glob",
    "Scope",
    "ScopeError",
    "Selection",
    "Window",
    "banner",
    "compile_glob",
    "describe",
    "load",
    "parse_bytes",
    "parse_text",
]
