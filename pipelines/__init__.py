"""Orchestration: open, walk, hash, type, select, parse, export, seal.

Parallel execution lives here; the core (``devicex``) and the parsers stay
single-threaded and unaware of it.
"""
