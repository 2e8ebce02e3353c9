"""The content of one stream of a file read through pytsk3: its bytes and where they lie on the media."""
from __future__ import annotations

from typing import Any

import pytsk3

_ATTR_DEFAULT = int(pytsk3.TSK_FS_ATTR_TYPE_DEFAULT)
_ATTR_NONRES = int(pytsk3.TSK_FS_ATTR_NONRES)
RUN_NOT_ON_MEDIA = int(pytsk3.TSK_FS_ATTR_RUN_FLAG_SPARSE) | int(pytsk3.TSK_FS_ATTR_RUN_FLAG_FILLER)


class TskContent:
    """Reads one stream of a pytsk3 file object."""

    __slots__ = ("_file", "_attr_type", "_attr_id", "_attr")

    def __init__(self, file: pytsk3.File | None, attr_type: int | None, attr_id: int | None,
                 attr: pytsk3.Attribute | None = None) -> None:
        self._file = file
        self._attr_type = attr_type
        self._attr_id = attr_id
        self._attr = attr  # the stream's attribute, when the walk has it at hand (else found when needed)

    @property
    def file(self) -> pytsk3.File | None:
        return self._file

    @property
    def attr_type(self) -> int | None:
        return self._attr_type

    @property
    def attr_id(self) -> int | None:
        return self._attr_id

    def attribute(self) -> pytsk3.Attribute | None:
        """The stream's attribute (the file's default one for the default stream); None if it has none.
        Raises OSError if the file's attributes cannot be listed."""
        if self._attr is None and self._file is not None:
            for attr in self._file:
                atype = int(attr.info.type)
                if (atype == _ATTR_DEFAULT if self._attr_type is None
                        else (atype, int(attr.info.id)) == (self._attr_type, self._attr_id)):
                    self._attr = attr
                    break
        return self._attr

    def read(self, offset: int, size: int) -> bytes:
        if self._file is None or size <= 0:
            return b""
        if self._attr_type is None:
            return self._file.read_random(offset, size)
        return self._file.read_random(offset, size, self._attr_type, self._attr_id)

    def byte_runs(self, fs_offset: int, size: int) -> list[dict[str, int]]:
        """Where the stream's bytes lie (as fiwalk's byte_runs: file, fs and image
        offsets and length in bytes); empty for resident or sparse-only data."""
        attr = self.attribute() if self._file is not None else None
        if attr is None or not int(attr.info.flags) & _ATTR_NONRES:
            return []
        block = int(self._file.info.fs_info.block_size)  # type: ignore[union-attr]
        return [listed for run in attr if (listed := dfxml_run(run, block, fs_offset, size)) is not None]


def dfxml_run(run: Any, block: int, fs_offset: int, size: int) -> dict[str, int] | None:
    """One TSK run of a stream of ``size`` bytes as a DFXML byte run (file, fs and image offsets and length in
    bytes), or None when DFXML lists none for it (sparse or filler, or it begins past the stream's end)."""
    file_off = int(run.offset) * block
    if int(run.flags) & RUN_NOT_ON_MEDIA or file_off >= size:
        return None
    fs_off = int(run.addr) * block
    return {"file_offset": file_off, "fs_offset": fs_off, "img_offset": fs_offset + fs_off,
            "len": min(int(run.len) * block, size - file_off)}
