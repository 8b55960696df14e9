"""Addresses and header values as mail needs them: checked, in ASCII, on one line.

Used by the readers' forms (a contact address is checked as it is typed) and
by the outbox (every header is checked again when queued and when sent).
``email_validator`` (and IDNA's tables behind it) is imported by the first
address checked, not by every process that imports this module.
"""

from __future__ import annotations

import re


class HeaderError(ValueError):
    """Raised for a header value holding a line break or an invalid address."""


#: Every character ``str.splitlines`` ends a line at.
LINE_BREAKS = re.compile("[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]")


def header_text(value: str) -> str:
    """Return ``value`` with every kind of line break made a space."""
    return LINE_BREAKS.sub(" ", value)


def header_line(value: str, what: str) -> str:
    """Return ``value`` fit for a header: CR or LF is refused (a bug or an
    injection), the rarer line breaks become spaces."""
    if "\r" in value or "\n" in value:
        raise HeaderError(f"{what} must be one line.")
    return header_text(value)


def checked_address(address: str) -> str:
    """Return ``address`` in its ASCII form, or raise HeaderError.

    Only addresses every mail server takes: an ASCII local part (no
    SMTPUTF8), and an international domain in its xn-- form.
    """
    from email_validator import EmailNotValidError

    header_line(address, "An address")
    try:
        return ascii_address(address)
    except EmailNotValidError as exc:
        raise HeaderError(f"Not a usable address: {address!r} ({exc})") from None


def ascii_address(address: str, *, check_deliverability: bool = False) -> str:
    """Validate ``address`` for mail; return its ASCII form.

    :raise EmailNotValidError: with a reason a person can read.
    """
    from email_validator import validate_email

    info = validate_email(
        address, check_deliverability=check_deliverability, allow_smtputf8=False
    )
    return info.ascii_email or info.normalized
