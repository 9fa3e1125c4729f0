"""Is a clue about a subject already on file? Keys of a subject for matching (dedup and merge).

Two clues are about the same subject when they carry the same unified social credit code (统一社会信用代码),
or the same normalised name and address in the same district. Normalising folds full-width forms (NFKC),
case, whitespace and punctuation, so "某某 理财（合肥）有限公司" and "某某理财(合肥)有限公司" match.
"""

from __future__ import annotations

import unicodedata

from contracts.vocabulary import MatchBasis
from services.triage.domain.state import ClueFacts


def normalise(text: str) -> str:
    """Name or address reduced to its letters and digits (any script), case-folded, full-width folded."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in folded if unicodedata.category(ch)[0] in ("L", "N"))


def subject_keys(clue: ClueFacts, district: str) -> list[tuple[str, MatchBasis]]:
    """The keys a clue's subject is filed under, strongest first (credit code, then name and address)."""
    keys: list[tuple[str, MatchBasis]] = []
    if clue.credit_code:
        keys.append((f"credit:{clue.credit_code.upper()}", MatchBasis.CREDIT_CODE))
    name = normalise(clue.subject_name or "")
    address = normalise(clue.address or "")
    # A name alone is too weak (many shops share one); an address is required for this key.
    if name and address:
        keys.append((f"name:{district}:{name}|{address}", MatchBasis.NAME_ADDRESS))
    return keys
