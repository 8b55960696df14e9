"""What the site's own mail server says of a message's sender (RFC 8601).

``From`` is text anyone can write. A reply's token already proves that its
writer holds mail sent to that address; a site whose mail server checks
DKIM and DMARC (OpenDMARC, rspamd, Exim's ``authresults``) can ask for more
by naming that server in ``MAIL_AUTHSERV_ID``: a reply is then applied only
when an ``Authentication-Results`` header of that server says the ``From``
domain passed DMARC, or that a DKIM signature of that domain (or a parent
of it) verified. Headers of any other ``authserv-id`` are ignored: anyone
can write one. The mail server must remove headers arriving from outside
that claim its own id (RFC 8601, section 5), as those tools do.
"""

from __future__ import annotations

import re
from email.message import Message

# Each result is "method=result" and its properties, separated by ";":
# "dkim=pass header.d=example.org header.s=s1; dmarc=pass header.from=…".
_RESULT = re.compile(r"\s*([a-z0-9_-]+)\s*=\s*([a-z]+)", re.IGNORECASE)
_PROPERTY = re.compile(r"([a-z0-9_.-]+)\s*=\s*\"?([^\s\";]+)\"?", re.IGNORECASE)


def _plain(value: str) -> str:
    """``value`` without its comments (nested too) and with each quoted
    string emptied: what a verifier quotes of the sender (their envelope
    address, say) can then never look like a result of its own."""
    out: list[str] = []
    depth, quoted, escaped = 0, False, False
    for char in value:
        if escaped:
            escaped = False
        elif char == "\\" and (quoted or depth):
            escaped = True
        elif quoted:
            quoted = char != '"'
            if not quoted:
                out.append('""')
        elif char == "(":
            depth += 1
        elif char == ")" and depth:
            depth -= 1
        elif depth:
            pass
        elif char == '"':
            quoted = True
        else:
            out.append(char)
    return "".join(out)


def _aligned(domain: str, sender_domain: str) -> bool:
    """``domain`` is the sender's domain or one of its parents."""
    domain = domain.lower().strip(".")
    return bool(domain) and (
        sender_domain == domain or sender_domain.endswith("." + domain)
    )


def _vouches(results: str, sender_domain: str) -> bool:
    for part in results.split(";"):
        result = _RESULT.match(part)
        if result is None or result[2].lower() != "pass":
            continue
        found = {k.lower(): v for k, v in _PROPERTY.findall(part[result.end() :])}
        method = result[1].lower()
        # DMARC's pass counts for the domain it names, and only that one.
        if method == "dmarc" and _aligned(found.get("header.from", ""), sender_domain):
            return True
        if method == "dkim":
            signer = found.get("header.d") or found.get("header.i", "")
            if _aligned(signer.rpartition("@")[2], sender_domain):
                return True
    return False


def authenticated(message: Message, sender: str | None, authserv_id: str) -> bool:
    """Tell whether the server ``authserv_id`` vouches for ``sender``'s
    domain in an ``Authentication-Results`` header of ``message``."""
    if not sender or "@" not in sender:
        return False
    sender_domain = sender.rpartition("@")[2].lower()
    for header in message.get_all("Authentication-Results") or ():
        served_by, _, results = _plain(str(header)).partition(";")
        # The authserv-id, then an optional version number.
        words = served_by.split()
        ours = bool(words) and words[0].lower() == authserv_id.lower()
        if ours and _vouches(results, sender_domain):
            return True
    return False
