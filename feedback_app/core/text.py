"""What readers' text may contain: the project's Unicode policy.

Sanitisers (nh3, bleach) and Jinja's escaping pass every Unicode character
through, including those that make text lie about itself. So readers' text
is cleaned here, once, before it is stored:

* Line breaks (CR LF, CR, U+2028 LINE SEPARATOR, U+2029 PARAGRAPH
  SEPARATOR) become ``\\n``; leading and trailing white space goes. A
  single-line field (a name, an address) holding one is refused: a name
  reaches mail headers, where any line break is a new header.
* Bidirectional controls (U+202A-U+202E, U+2066-U+2069, U+200E, U+200F,
  U+061C) are **stripped**: they can make a name or a link read backwards
  ("Trojan Source"), and plain text never needs them.
* Invisible format characters that join nothing (U+200B zero-width space,
  U+2060 word joiner, U+FEFF byte-order mark, U+00AD soft hyphen) are
  **stripped**. U+200C and U+200D stay: Persian, Indic scripts and emoji
  sequences need them.
* Any other control character (C0 but tab and newline, DEL, C1, including
  NUL) is **refused** with a clear error: it has no business in a message
  and usually means a broken or hostile client.
"""

from __future__ import annotations

import re
import unicodedata

STRIPPED = re.compile(
    "[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c\u200b\u2060\ufeff\u00ad]"
)
# The other line breaks str.splitlines() knows (VT, FF, U+001C-U+001E, NEL)
# are control characters, refused below.
LINE_SEPARATORS = re.compile("[\r\u2028\u2029]")
REFUSED = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


class TextPolicyError(ValueError):
    """Raised for text holding characters the policy refuses."""


def clean_text(value: str | None, *, single_line: bool = False) -> str:
    """Return ``value`` cleaned by the policy above.

    :raise TextPolicyError: if it holds a refused control character, or a
        line break where ``single_line`` asks for one line.
    """
    if not value:
        return ""
    text = LINE_SEPARATORS.sub("\n", value.replace("\r\n", "\n"))
    if REFUSED.search(text):
        raise TextPolicyError("This contains control characters that are not allowed.")
    if single_line and "\n" in text.strip():
        raise TextPolicyError("This must be a single line.")
    return STRIPPED.sub("", text).strip()


# Letters that look like Latin ones in common fonts (a small part of Unicode's
# confusables list: the Cyrillic and Greek letters used to fake Latin names),
# plus digits that pass for letters in a name.
_LOOKALIKES = str.maketrans(
    # Cyrillic
    "аеорсухіјѕԁһԛԝвкмнт"
    # Greek (after casefolding, so by the capital each stands for)
    "αβεηικμνορτυχζ"
    # other
    "ıℓ01",
    "aeopcyxijsdhqwbkmhtabehikmnoptyxzilol",
)


def name_skeleton(name: str) -> str:
    """Return what a name looks like, for spotting imitations.

    Compatibility forms are folded (NFKC), case is ignored, look-alike
    letters become their Latin twins, accents and everything that is not a
    letter (spaces, dots, zero-width characters) are dropped: "Mаya
    Lindqvist" with a Cyrillic а, "maya.lindqvist" and "MAYA\u200bLINDQVIST"
    all give "mayalindqvist".
    """
    folded = unicodedata.normalize("NFKC", name).casefold().translate(_LOOKALIKES)
    decomposed = unicodedata.normalize("NFKD", folded)
    return "".join(ch for ch in decomposed if ch.isalpha() and ch.isascii())
