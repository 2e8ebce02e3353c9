"""Evidence sources: the only place in devicex that imports pytsk3, pyewf, the
libyal virtual-disk bindings and the archive libraries.

``open_source`` gives a read-only source (see :mod:`devicex.sources.base`):
disk images (raw, split raw, E01, Android sparse, VHD/VHDX, VMDK, QCOW2, block
devices) read by TSK (``image``, ``containers``, ``volumes``, ``walk``),
folders (``folder``), tar and zip archives (``tar``, ``zip``). Each source's
``layout()`` gives volumes and file-system views; a view walks entries and
reopens an entry's stream by the entry alone.
"""
from devicex.sources.base import Source, View, WalkIssue
from devicex.sources.detect import open_source

__all__ = ["Source", "View", "WalkIssue", "open_source"]
