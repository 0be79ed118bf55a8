"""Spellings a reader cannot tell apart: the fold behind the map's look-alike checks.

A map edit that adds `Acme` beside `acme`, or `acme` spelt with a Cyrillic `a` (U+0430), looks
harmless in a diff and splits one company into two. Two spellings collide when they fold to the
same skeleton: NFKC, Unicode's confusables (as the confusable-homoglyphs package ships them)
mapped to their ASCII look-alike, case, and everything but letters and digits ignored.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache

from confusable_homoglyphs.utils import load

# Inside ASCII, after case folding: the pairs Unicode's confusables list (0/O, 1/l/I, rn/m).
_ASCII_FOLD = str.maketrans({"0": "o", "1": "l", "i": "l"})
# Punctuation, spaces and invisible characters (zero-width space, joiners) say nothing.
_NOT_ALNUM = re.compile(r"[\W_]+")


@cache
def _to_ascii() -> dict[str, str]:
    """Each non-ASCII character with a one-letter ASCII look-alike, mapped to it."""
    table: dict[str, str] = {}
    for character, homoglyphs in load("confusables.json").items():
        if len(character) != 1 or character.isascii():
            continue
        for glyph in homoglyphs:
            shown = glyph["c"]
            if len(shown) == 1 and shown.isascii() and shown.isalnum():
                table[character] = shown
                break
    return table


def skeleton(text: str) -> str:
    """What `text` looks like, reduced so that look-alike spellings are equal."""
    table = _to_ascii()
    normal = unicodedata.normalize("NFKC", text)
    ascii_like = "".join(table.get(c, c) for c in normal).casefold()
    return _NOT_ALNUM.sub("", ascii_like.translate(_ASCII_FOLD)).replace("rn", "m")
