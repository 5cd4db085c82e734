"""Masking of secret values in output lines: each value, its lines, its base64 and its URL
encodings are replaced by *****."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Iterable
from urllib.parse import quote, quote_plus

MASK = "*****"
# Shorter forms are masked only as whole tokens: "ab" inside "table" would wreck every line.
MIN_FREE_CHARS = 4
NOT_ALNUM_BEFORE = r"(?<![0-9A-Za-z])"
NOT_ALNUM_AFTER = r"(?![0-9A-Za-z])"
BASE64_ALPHABETS = (b"+/", b"-_")
# A one-character value (`DEBUG=1`) hides nothing a guess would not find, and masking it
# would hide every such digit or letter standing alone in every line.
MIN_SECRET_CHARS = 2


def masker(secrets: Iterable[str]) -> Callable[[str], str]:
    """A function replacing, in a line, every form of every secret value by *****."""
    forms = {
        form
        for value in secrets
        if len(value.strip()) >= MIN_SECRET_CHARS
        for form in masked_forms(value)
    }
    free = sorted((f for f in forms if len(f) >= MIN_FREE_CHARS), key=len, reverse=True)
    tokens = sorted((f for f in forms if len(f) < MIN_FREE_CHARS), key=len, reverse=True)
    alternatives = [alternation(free)] if free else []
    if tokens:
        alternatives.append(NOT_ALNUM_BEFORE + alternation(tokens) + NOT_ALNUM_AFTER)
    if not alternatives:
        return lambda line: line
    pattern = re.compile("|".join(alternatives))
    return lambda line: pattern.sub(MASK, line)


def alternation(forms: list[str]) -> str:
    """Longest first: a form may contain another."""
    return "(?:" + "|".join(re.escape(form) for form in forms) + ")"


def masked_forms(value: str) -> set[str]:
    """The value, its non-blank lines (stripped, those of MIN_FREE_CHARS or more), its
    base64 fragments and its URL encodings."""
    lines = {line.strip() for line in value.splitlines()}
    forms = {value, *(line for line in lines if len(line) >= MIN_FREE_CHARS)}
    forms |= {quote(value, safe=""), quote_plus(value)}
    forms |= {f for f in base64_fragments(value.encode()) if len(f) >= MIN_FREE_CHARS}
    return forms


def base64_fragments(data: bytes) -> set[str]:
    """What base64 of any text containing `data` surely contains, at each of the 3 alignments
    (as the GitHub Actions runner masks): encode `data` after 0-2 filler bytes, keep only the
    characters made of `data`'s bits alone (not the filler's, not the unknown next byte's)."""
    fragments = set()
    for offset in range(3):
        encoded = base64.b64encode(bytes(offset) + data)
        start = -(-8 * offset // 6)
        end = 8 * (offset + len(data)) // 6
        for alphabet in BASE64_ALPHABETS:
            fragments.add(encoded[start:end].translate(bytes.maketrans(b"+/", alphabet)).decode())
    return fragments - {""}
