"""The requirements a validation record covers. Parser requirements plug in: a module in
``pipelines/validate/checks/`` naming its parser (``PARSER``) with a ``REQUIREMENT`` and a
``check(ctx, tally)`` function is found automatically; a parser without one is listed as
not tested."""
from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

from pipelines.validate.record import Requirement

TSK = "The Sleuth Kit command-line tools (fls -r -p -l; fixtures: make_truth.sh, corpus: TSK 4.11.1, make-truth.sh)"

BUILT_IN = (
    Requirement("media-hashes", "Whole-media hashes",
                "MD5, SHA-1, SHA-256 of the whole media at intake, and the same again after extraction",
                "hashes of the same media by other programs", "md5sum/sha1sum/sha256sum (coreutils) on the raw "
                "media; for containers the decoder's output (unzip/gunzip, ewfexport, cat of segments) and TSK img_cat",
                "every image: all hashes equal and re-verification equal to intake"),
    Requirement("entries-listed", "Entries listed", "every allocated name in every file system found",
                "fls -r -p -l listing (allocated lines)", TSK,
                "every name fls lists is listed by devicex, as allocated"),
    Requirement("deleted-found", "Deleted entries found", "every deleted name found and marked deleted",
                "fls -r -p -l listing (lines marked *)", TSK, "every deleted name fls lists is listed, as deleted"),
    Requirement("content-hashes", "Content hashes", "MD5 and SHA-256 (SHA-1 where the truth has it) of every "
                "regular file and data stream, allocated and deleted",
                "icat <address> piped to md5sum/sha1sum/sha256sum", "TSK icat + coreutils",
                "every hash equal"),
    Requirement("times", "File-system times", "modified, accessed, changed, created times (UTC, whole seconds) "
                "of every name", "fls -l times of the same address", TSK,
                "every time equal, or the raw directory entry shows the truth tool's value is wrong "
                "(listed as a truth-tool fault with the bytes)"),
    Requirement("typing", "File typing", "libmagic MIME type of every regular file",
                "file --mime-type on the whole content icat writes", "file(1) 5.44 (libmagic) on icat output",
                "every MIME type equal"),
    Requirement("answer-sheets", "Answer-sheet MD5s", "MD5 of every file an upstream answer sheet lists "
                "(DFTT #6, #7, #8: allocated, deleted, fragmented, resident, alternate data streams)",
                "the file MD5s in the test's answer sheet (upstream-expected/<test>/index.html)",
                "the DFTT test images' author (Brian Carrier, 2004), by hand",
                "every MD5 equal; an MD5 equal to the sheet's 'incorrect MD5' of a contiguous-cluster guess is "
                "counted as the stated known limitation, not as agreed"),
    Requirement("exif", "EXIF", "make, model, serial, DateTimeOriginal (and UTC when an offset is recorded), "
                "GPS latitude/longitude/altitude of each planted photo", "exiftool -j -n on the same photo",
                "exiftool (Phil Harvey)", "every value equal (GPS within 1e-6 degrees / metres)"),
    Requirement("exports", "Exported content", "every exported file exists and holds exactly the hashed content; "
                "rows without content name no export and carry no hash",
                "SHA-256 of each exported file, computed again; the recorded hashes are checked against icat "
                "above", "Python hashlib", "every export equal; no hash or export path for unread content"),
    Requirement("scope-exclusion", "Scope exclusion", "a scoped extraction (DCIM/** images) of phone.img takes "
                "exactly the selected files, and nothing of the others (name or content) is anywhere in OUT",
                "the manifest of the source tree the image was built from (path, marker text)",
                "fixtures/build.sh (written from the source tree, not from the image)",
                "every file of the manifest taken or left as the scope says; no name or marker of a left file "
                "in OUT"),
    Requirement("custody-chain", "Custody chain", "each custody entry holds the SHA-256 of the one before and the "
                "next sequence number", "SHA-256 of each line, recomputed", "Python hashlib",
                "every link equal"),
    Requirement("bundle-verification", "Bundle verification", "an extraction sealed with a fresh Ed25519 key "
                "passes devicex verify", "the signature checked by openssl, the manifest recomputed",
                "openssl pkeyutl -verify; Python hashlib", "every check passes"),
    Requirement("tamper-detection", "Tamper detection", "each of 8 kinds of tampering with a sealed bundle "
                "(payload byte, file deleted/added, case.db, custody entry edited/removed, bag-info, signature)",
                "the tampering made", "devicex validate (the change itself is the truth)",
                "devicex verify fails every time"),
)


def check_modules() -> list[ModuleType]:
    from pipelines.validate import checks

    return [importlib.import_module(f"{checks.__name__}.{info.name}")
            for info in sorted(pkgutil.iter_modules(checks.__path__), key=lambda i: i.name)]


def parser_requirement(name: str, version: str) -> Requirement:
    return Requirement(f"parser:{name}", f"Parser {name} {version}", f"records of the {name} parser",
                       "none shipped", "-", "a truth check module in pipelines/validate/checks/")
