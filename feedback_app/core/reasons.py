"""Why a comment was held or marked spam: recorded in English when it
happens (the fact, as the rules saw it: ``comment.reason``) and read by a
moderator in their own language.

Each reason is a ``Reason``, a sentence of the catalogue with named
values. ``Reason.say`` writes the recorded text; ``moderator_words`` finds
which reason a recorded text is (its template matched, values and all)
and says it again in the request's language. A text no reason wrote (one
stored before, or by hand) is shown as it is.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .translations import N_, gettext


@dataclass(frozen=True)
class Reason:
    """One reason, as a template of the catalogue (``has {links} links``)."""

    template: str
    pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        parts = re.split(r"\{(\w+)\}", self.template)
        regex = "".join(
            f"(?P<{part}>.+?)" if i % 2 else re.escape(part)
            for i, part in enumerate(parts)
        )
        object.__setattr__(self, "pattern", re.compile(regex))

    def say(self, **values: Any) -> str:
        """The reason as recorded, in English."""
        return self.template.format(**values)


HIDDEN_FIELD = Reason(N_("filled in the hidden field"))
SPAM_WORD = Reason(N_("contains the spam word “{word}”"))
LIKE_AN_AUTHOR = Reason(N_("name looks like the article's author"))
HOLD_WORD = Reason(N_("contains the word “{word}”"))
LINKS = Reason(N_("has {links} links"))
NO_ADDRESS = Reason(N_("has no e-mail address"))
FIRST_FROM_ADDRESS = Reason(N_("first comment from this address"))
BAD_TICKET = Reason(N_("its form ticket was not valid"))
NO_TICKET = Reason(N_("sent without a form ticket (no JavaScript?)"))
TOO_FAST = Reason(N_("sent {seconds} s after the form was shown"))
TOO_OLD = Reason(N_("its form was shown more than {hours} hours ago"))
#: An imported comment that waited for moderation on the old site.
IMPORTED_HELD = Reason(N_("was waiting for moderation on {source}"))

REASONS = (
    HIDDEN_FIELD,
    SPAM_WORD,
    LIKE_AN_AUTHOR,
    HOLD_WORD,
    LINKS,
    NO_ADDRESS,
    FIRST_FROM_ADDRESS,
    BAD_TICKET,
    NO_TICKET,
    TOO_FAST,
    TOO_OLD,
    IMPORTED_HELD,
)


def moderator_words(recorded: str | None, words: Callable[[str], str] = gettext) -> str:
    """A recorded reason in the request's language, or through ``words``
    (a mail's gettext); as it is, if no reason of ``REASONS`` wrote it."""
    if not recorded:
        return ""
    for reason in REASONS:
        found = reason.pattern.fullmatch(recorded)
        if found:
            return words(reason.template).format(**found.groupdict())
    return recorded
