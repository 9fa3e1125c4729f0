"""Evidence a reporter uploads with a clue (证据材料): kept by intake under the SHA-256 of its content,
which is all the clue's event records of it (``EvidenceRef``), so the log never carries a file and a
file is stored once however many clues name it.

What is accepted is decided by the content, never by the name or the type the browser claims: photographs
(JPEG, PNG, WebP, GIF) and PDF documents, each at most the configured size.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from cluetrail.errors import InvalidInput

# Leading bytes of each accepted kind of file (WebP: a RIFF container whose form type is WEBP).
SIGNATURES = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"%PDF-", "application/pdf"),
)
FILENAME_MAX = 200


class EvidenceRefused(InvalidInput):
    """A file that cannot be kept as evidence; ``rule`` names why (``evidence-type``, ``evidence-size``,
    ``evidence-empty``, ``evidence-count``)."""


def media_type_of(content: bytes) -> str | None:
    """The media type the content itself shows, or None when it is none of the accepted kinds."""
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "image/webp"
    return next((kind for signature, kind in SIGNATURES if content.startswith(signature)), None)


@dataclass(frozen=True)
class EvidenceFile:
    """One uploaded file as it is kept: its content, the digest naming it, its type and the name it had."""

    sha256: str
    media_type: str
    size_bytes: int
    filename: str | None
    content: bytes

    def submission(self) -> dict[str, Any]:
        """The file as a clue's ``evidence`` entry (``contracts.api.EvidenceSubmission``)."""
        entry: dict[str, Any] = {
            "sha256": self.sha256,
            "media_type": self.media_type,
            "size_bytes": self.size_bytes,
        }
        if self.filename:
            entry["filename"] = self.filename
        return entry


def evidence_file(filename: str | None, content: bytes, *, max_bytes: int) -> EvidenceFile:
    """``content`` as evidence, if it is an accepted kind within ``max_bytes``; ``EvidenceRefused``
    otherwise. The name keeps only its last part (a browser may send a path) and at most 200 characters."""
    if not content:
        raise EvidenceRefused("the file is empty", rule="evidence-empty")
    if len(content) > max_bytes:
        raise EvidenceRefused(f"the file exceeds {max_bytes} bytes", rule="evidence-size")
    media_type = media_type_of(content)
    if media_type is None:
        raise EvidenceRefused("only JPEG, PNG, WebP, GIF images and PDF documents", rule="evidence-type")
    name = PurePosixPath((filename or "").replace("\\", "/")).name[:FILENAME_MAX] or None
    return EvidenceFile(hashlib.sha256(content).hexdigest(), media_type, len(content), name, content)
