"""Pelican settings for local work (``invoke build``, ``make serve``)."""

from pathlib import Path

HERE = Path(__file__).resolve().parent

AUTHOR = "Maya Lindqvist"
SITENAME = "Talking Shop"
SITESUBTITLE = "Notes on selling by phone, mail and patience"
SITEURL = ""  # root-relative links; publishconf.py sets the real address

PATH = "content"
PAGE_PATHS = ["pages"]
ARTICLE_EXCLUDES = ["pages", "comments"]
OUTPUT_PATH = "output"
THEME = str(HERE / "theme")
TIMEZONE = "Europe/Stockholm"
DEFAULT_LANG = "en"
DEFAULT_DATE_FORMAT = "%-d %B %Y"
DEFAULT_PAGINATION = 10

# Clean URLs: /2026/inside-sales-without-the-script/
ARTICLE_URL = "{date:%Y}/{slug}/"
ARTICLE_SAVE_AS = "{date:%Y}/{slug}/index.html"
PAGE_URL = "{slug}/"
PAGE_SAVE_AS = "{slug}/index.html"
# A translation, or an article in another language than DEFAULT_LANG, under
# its language: /fr/2026/inside-sales-without-the-script/.
ARTICLE_LANG_URL = "{lang}/{date:%Y}/{slug}/"
ARTICLE_LANG_SAVE_AS = "{lang}/{date:%Y}/{slug}/index.html"
PAGE_LANG_URL = "{lang}/{slug}/"
PAGE_LANG_SAVE_AS = "{lang}/{slug}/index.html"
CATEGORY_URL = "category/{slug}/"
CATEGORY_SAVE_AS = "category/{slug}/index.html"
TAG_URL = "tag/{slug}/"
TAG_SAVE_AS = "tag/{slug}/index.html"
AUTHOR_URL = "author/{slug}/"
AUTHOR_SAVE_AS = "author/{slug}/index.html"
ARCHIVES_URL = "archives/"
ARCHIVES_SAVE_AS = "archives/index.html"
CATEGORIES_URL = "categories/"
CATEGORIES_SAVE_AS = "categories/index.html"
TAGS_URL = "tags/"
TAGS_SAVE_AS = "tags/index.html"
AUTHORS_URL = "authors/"
AUTHORS_SAVE_AS = "authors/index.html"
# "404" renders theme/templates/404.html to output/404.html: the page nginx
# (and the development server) show for a missing address; "413", the page
# nginx shows for a post past its client_max_body_size, in DEFAULT_LANG.
DIRECT_TEMPLATES = [
    "index",
    "tags",
    "categories",
    "authors",
    "archives",
    "404",
    "413",
]
DISPLAY_PAGES_ON_MENU = True
DISPLAY_CATEGORIES_ON_MENU = False

# Pelican's Jinja does not escape by default: a title like "<script>" would
# come out raw. The theme marks only the authors' own HTML as safe.
JINJA_ENVIRONMENT = {
    "autoescape": True,
    "trim_blocks": True,
    "lstrip_blocks": True,
    "extensions": [],
}

# No feeds while writing; publishconf.py turns them on.
FEED_ALL_ATOM = None
CATEGORY_FEED_ATOM = None
TRANSLATION_FEED_ATOM = None
AUTHOR_FEED_ATOM = None
AUTHOR_FEED_RSS = None

# Rebuild only what changed (the content cache keeps parsed articles).
CACHE_CONTENT = True
LOAD_CONTENT_CACHE = True
CACHE_PATH = str(HERE / "cache")

# Highlighted code: Pygments' styles for light and dark pages (the plugin
# writes theme/css/pygments.css from them).
CODE_STYLE = "default"
CODE_STYLE_DARK = "github-dark"

# What the pages may load from other hosts (the content security policy of
# theme/security-headers.conf, which every full build writes from these; the
# development server sends it too). Embedded videos from these hosts:
CSP_FRAME_HOSTS = [
    "https://www.youtube-nocookie.com",
    "https://www.youtube.com",
    "https://player.vimeo.com",
]
# Scripts of widgets (none; inline scripts are always refused):
CSP_SCRIPT_HOSTS: list[str] = []
# Images, audio and video: from any https address.
CSP_IMAGE_HOSTS = ["https:"]
# style="..." attributes (reStructuredText's image directive writes them).
CSP_STYLE_ATTRIBUTES = True

# Long comment threads in pages, as WordPress does: this many top-level
# comments a page (replies stay under their parent; 0 puts every comment on
# the article), the newest page on the article ("newest" or "oldest"), the
# oldest comment first on each page ("oldest-first" or "newest-first"). The
# other pages are static files beside the article (comment-page-2/).
COMMENTS_PER_PAGE = 50
COMMENTS_DEFAULT_PAGE = "newest"
COMMENTS_ORDER = "oldest-first"
# Each article's comment feed carries its newest comments (0: all of them).
COMMENTS_FEED_SIZE = 20

PLUGINS = ["feedback_app.site.plugin"]
# The app is served on this site's origin under /app (nginx proxies it);
# the plugin points the forms there (FEEDBACK_URL).
FEEDBACK_SITE_INDEX = str(HERE / "instance" / "site.json")
# Nothing in the app's instance folder (database, secret key) may ever be
# copied into the site, whatever links it: such a link fails the build.
FEEDBACK_PRIVATE_PATHS = [str(HERE / "instance")]
