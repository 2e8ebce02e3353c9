"""Plug-in validation checks, one module per parser (found automatically).

A module here defines ``PARSER`` (the parser's ``NAME``), ``REQUIREMENT``
(a :class:`pipelines.validate.record.Requirement`) and ``check(ctx, tally)``,
comparing the parser's records in ``ctx`` extractions with truth made by an
independent tool (for SQLite stores, the sqlite3 shell). See docs/validation.md.
"""
