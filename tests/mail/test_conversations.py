"""Each conversation's reply address: what it names and to whom it was issued."""

from __future__ import annotations

import pytest

from feedback_app.mail.conversations import (
    Token,
    bounce_address,
    issued_to,
    read_token,
    reply_address,
)

CONFIG = {"SECRET_KEY": "k" * 40, "MAIL_REPLY_ADDRESS": "blog+{token}@example.org"}


@pytest.mark.parametrize(
    ("thread_key", "kind", "expected"),
    [
        ("feedback-12", "feedback-to-author", Token("feedback", 12, "author")),
        ("feedback-12", "follow-up-to-author", Token("feedback", 12, "author")),
        ("feedback-12", "reply-to-reader", Token("feedback", 12, "reader")),
        ("feedback-12", "feedback-ack", Token("feedback", 12, "reader")),
        ("comment-34", "comment-to-author", Token("comment", 34, "author")),
    ],
)
def test_a_reply_address_names_its_conversation_and_role(
    thread_key: str, kind: str, expected: Token
) -> None:
    address = reply_address(thread_key, kind, "Ann@Example.net", CONFIG)
    assert address is not None
    local = address.partition("@")[0]
    assert len(local) <= 64 and local.startswith("blog+")
    token = read_token(address, CONFIG)
    assert token is not None
    assert (token.kind, token.id, token.role) == (
        expected.kind,
        expected.id,
        expected.role,
    )
    # Mail servers may change the case of a local part, never its letters.
    assert read_token(address.upper(), CONFIG) == token
    assert issued_to(token, "ann@example.net", CONFIG)
    assert not issued_to(token, "bob@example.net", CONFIG)


def test_messages_outside_a_conversation_have_no_reply_address() -> None:
    assert reply_address(None, "sign-in-locked", "a@example.net", CONFIG) is None
    assert reply_address("digest", "digest", "a@example.net", CONFIG) is None


def test_replies_by_mail_can_be_turned_off() -> None:
    off = {**CONFIG, "MAIL_REPLY_ADDRESS": ""}
    assert reply_address("feedback-1", "reply-to-reader", "a@example.net", off) is None
    assert bounce_address(1, "a@example.net", off) is None
    assert read_token("blog+f1r-aaaaaaaaaaaaaaaa@example.org", off) is None


def test_a_token_cannot_be_moved_to_another_conversation_or_role() -> None:
    address = reply_address("feedback-12", "reply-to-reader", "r@example.net", CONFIG)
    assert address is not None
    token = read_token(address, CONFIG)
    assert token is not None
    for forged in (
        address.replace("f12r", "f13r"),  # another feedback
        address.replace("f12r", "f12a"),  # the reader posing as the author
        address.replace("f12r", "c12a"),  # a comment of the same number
    ):
        moved = read_token(forged, CONFIG)
        assert moved is not None and not issued_to(moved, "r@example.net", CONFIG)
    other_key = {**CONFIG, "SECRET_KEY": "x" * 40}
    assert not issued_to(token, "r@example.net", other_key)


def test_a_bounce_address_names_the_message_and_its_recipient() -> None:
    address = bounce_address(567, "r@example.net", CONFIG)
    assert address is not None
    token = read_token(address, CONFIG)
    assert token == Token("bounce", 567, "", token.signature)
    assert issued_to(token, "r@example.net", CONFIG)


@pytest.mark.parametrize(
    "address",
    [
        "blog@example.org",
        "blog+@example.org",
        "other+f1a-aaaaaaaaaaaaaaaa@example.org",
        "blog+f1a-aaaaaaaaaaaaaaaa@example.net",
        "blog+f1-aaaaaaaaaaaaaaaa@example.org",  # feedback without a role
        "blog+c1r-aaaaaaaaaaaaaaaa@example.org",  # comments go to authors only
        "blog+b1a-aaaaaaaaaaaaaaaa@example.org",  # bounces have no role
        "blog+f1a-aaaa@example.org",
        "blog+f1a-aaaaaaaaaaaaaaaa1@example.org",
        "blog+f99999999999999999999a-aaaaaaaaaaaaaaaa@example.org",
        "",
    ],
)
def test_what_is_not_a_reply_address_reads_as_none(address: str) -> None:
    assert read_token(address, CONFIG) is None
