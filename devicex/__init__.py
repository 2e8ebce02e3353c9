"""devicex: digital-device evidence extraction.

The core package knows no specific artefact: evidence sources, entries,
hashing, the case database, custody log, bundles, records, errors and the CLI.
"""
__version__ = "0.1.0"
TOOL_NAME = "devicex"
