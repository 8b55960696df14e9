"""Pelican settings for production (``invoke preview``, ``invoke publish``).

Set ``SITEURL`` in the environment to the blog's public address.
"""

import os
import sys

sys.path.append(os.path.dirname(os.path.abspath(__file__)))

from pelicanconf import *  # noqa: F403

SITEURL = os.environ.get("SITEURL", "https://talkingshop.example.com").rstrip("/")
RELATIVE_URLS = False

FEED_DOMAIN = SITEURL
FEED_ALL_ATOM = "feeds/all.atom.xml"
CATEGORY_FEED_ATOM = "feeds/{slug}.atom.xml"

# Every full build starts in a new, empty folder that becomes output/ once it
# is whole (feedback_app/site/live_site.py): deleting the output folder would
# only ever empty the live site, through its link (a hand-run
# `pelican -s publishconf.py`).
DELETE_OUTPUT_DIRECTORY = False
LOAD_CONTENT_CACHE = False  # `invoke publish` reads every post again

# Drafts (Status: draft) are not written at all: nothing unfinished is
# reachable on the public site. Preview them with `invoke livereload` (built
# under /drafts/) or, for a post answering feedback, in the desk.
DRAFT_SAVE_AS = ""
DRAFT_LANG_SAVE_AS = ""
