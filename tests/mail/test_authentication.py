"""What counts as the site's own mail server vouching for a sender."""

from __future__ import annotations

from email import message_from_string, policy

import pytest

from feedback_app.mail.authentication import authenticated

OURS = "mx.example.org"


def vouched(header: str, sender: str = "v@victim.example") -> bool:
    message = message_from_string(
        f"Authentication-Results: {header}\nFrom: {sender}\n\nText.",
        policy=policy.default,
    )
    return authenticated(message, sender, OURS)


@pytest.mark.parametrize(
    "header",
    [
        f"{OURS}; dmarc=pass header.from=victim.example",
        f"{OURS} 1; dkim=pass header.d=victim.example header.s=s1",
        f"{OURS}; dkim=pass header.i=@victim.example",
        f"{OURS}; dkim=pass (2048-bit key; (nested) comment) header.d=victim.example",
        "MX.EXAMPLE.ORG; dmarc=pass header.from=victim.example",
    ],
)
def test_a_pass_of_ours_for_the_senders_domain_vouches(header: str) -> None:
    assert vouched(header)


@pytest.mark.parametrize(
    "header",
    [
        # What a verifier quotes of the sender (its envelope address) inside
        # a quoted string or a comment is never read as a result.
        f'{OURS}; spf=pass (domain of "(x);dkim=pass header.d=victim.example"'
        "@evil.example designates 192.0.2.1) smtp.mailfrom=evil.example; "
        "dmarc=fail header.from=victim.example",
        f"{OURS}; spf=pass (a (nested);dkim=pass header.d=victim.example x) "
        "smtp.mailfrom=evil.example",
        # A DMARC pass that names no domain, or another one.
        f"{OURS}; dmarc=pass",
        f"{OURS}; dmarc=pass header.from=evil.example",
        # Another server's word, or ours saying something else.
        "evil.example; dmarc=pass header.from=victim.example",
        f"{OURS}; dkim=fail header.d=victim.example",
        f"{OURS}; dkim=pass header.d=ictim.example",
        f"{OURS}; spf=pass smtp.mailfrom=victim.example",
    ],
)
def test_nothing_else_vouches(header: str) -> None:
    assert not vouched(header)
