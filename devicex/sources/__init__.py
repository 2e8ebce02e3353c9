"""Evidence sources: the only place in devicex that imports pytsk3 or pyewf.

``open_source`` gives a read-only :class:`~devicex.sources.image.Source`;
``volumes`` enumerates partitions and file systems; ``walk`` yields entries;
``content`` reads an entry's stream in chunks.
"""
from devicex.sources.image import Source, open_source

__all__ = ["Source", "open_source"]
