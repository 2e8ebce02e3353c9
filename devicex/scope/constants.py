"""Constants of the scope format: version, time kinds, categories, message
stores and how much of a file the head-reading rules need."""
from __future__ import annotations

from datetime import UTC

__all__ = ["CATEGORIES", "DEFAULT_TIMES", "EXIF_HEAD_BYTES", "MESSAGE_STORES", "SCOPE_VERSION",
           "TIME_KINDS", "UTC"]

SCOPE_VERSION = 1

TIME_KINDS = {
    "modified": "modified time",
    "accessed": "accessed time",
    "changed": "metadata-change time",
    "created": "created (birth) time",
    "exif_taken": "EXIF time taken",
    "exif_taken_or_modified": "EXIF time taken (modified time when there is none)",
}
DEFAULT_TIMES = ("modified",)

# scope category -> devicex.filetype category (None: decided by file name)
CATEGORIES: dict[str, str | None] = {
    "images": "image", "videos": "video", "audio": "audio", "documents": "document", "text": "text",
    "archives": "archive", "databases": "database", "executables": "executable", "other": "other",
    "messages": None,
}
# Known message stores (SMS/MMS, chat apps), matched on the file name, case-insensitive;
# their SQLite companions (-wal, -journal, -shm) count too.
MESSAGE_STORES = ("mmssms.db", "bugle_db", "msgstore.db", "msgstore*.db.crypt*", "sms.db", "chat.db",
                  "ChatStorage.sqlite", "cache4.db", "threads_db2", "signal.db", "signal*.db")

EXIF_HEAD_BYTES = 128 * 1024  # enough for a JPEG's APP1 (EXIF) segment
