"""What an imported post may carry onto the site: its words and ordinary
markup, nothing that runs, submits, leaves for another page by itself or
makes Pelican publish a file.

A WordPress database holds what its authors, its plugins and (through
them) strangers wrote; the site's static pages share their origin with the
desk. So, whatever WordPress allowed:

* ``make_safe`` works on the parsed post before it is converted: it drops
  scripts' kin (``object``, ``embed``, ``form`` and its fields, ``base``,
  ``meta``, ``link``, frames but for an ``https`` ``iframe``), every
  ``on…`` attribute, any URL whose scheme is not http, https or mailto
  (``javascript:``, ``data:``, ``vbscript:``, spaces and entities
  included: the parser has decoded them), and every link written in
  Pelican's syntax (``{static}…``, ``{filename}…``, ``|filename|…``): the
  import writes its own ``{static}`` links to the images it copies, after
  this.
* ``clean_html`` cleans a post kept as HTML once more, with nh3 (the
  parser browsers use) and the desk's allow-list widened by media
  players, frames over https and table cells' spans.

Each removal is named in the report.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import nh3
from bs4 import BeautifulSoup

from ..site import post_markup

#: Elements removed with what they hold.
_DROPPED = (
    "object",
    "embed",
    "applet",
    "form",
    "input",
    "button",
    "select",
    "textarea",
    "base",
    "meta",
    "link",
    "frame",
    "frameset",
    "template",
    "svg",
    "math",
)
_URL_ATTRIBUTES = (
    "href",
    "src",
    "srcset",
    "poster",
    "action",
    "formaction",
    "data",
    "cite",
    "background",
    "longdesc",
    "xlink:href",
)
_SCHEMES = ("", "http", "https", "mailto")


def _scheme(url: str) -> str | None:
    try:
        return urlsplit(url.strip()).scheme.lower()
    except ValueError:
        return None


def _safe_url(url: str) -> bool:
    url = "".join(url.split())  # browsers ignore what splits "java script:"
    if url.startswith(("{", "|", "%7b", "%7B")):
        return False  # Pelican's intrasite syntax: {static}, |filename|
    return _scheme(url) in _SCHEMES


def make_safe(soup: BeautifulSoup, notes: dict[str, None]) -> None:
    """Remove from ``soup`` what a post may not carry; name it in ``notes``."""
    for element in soup.find_all(_DROPPED):
        notes.setdefault(f"a <{element.name}> element was removed", None)
        element.decompose()
    for frame in soup.find_all("iframe"):
        if _scheme(str(frame.get("src") or "")) != "https":
            notes.setdefault("a frame not over https was removed", None)
            frame.decompose()
    for element in soup.find_all(True):
        for name in list(element.attrs):
            value = element.attrs[name]
            lowered = name.lower()
            styled = lowered == "style" and "url(" in str(value)
            if lowered.startswith("on") or styled:
                notes.setdefault(f"a {lowered}= attribute was removed", None)
                del element.attrs[name]
            elif lowered in _URL_ATTRIBUTES:
                urls = value if isinstance(value, list) else [str(value)]
                if lowered == "srcset":
                    urls = [part.split()[0] for part in str(value).split(",") if part]
                if not all(_safe_url(u) for u in urls):
                    notes.setdefault(
                        f"a link this site does not publish was removed: "
                        f"{' '.join(urls)[:80]}",
                        None,
                    )
                    del element.attrs[name]


_TAGS = set(post_markup.TAGS) | {
    "audio",
    "video",
    "source",
    "track",
    "iframe",
    "caption",
    "col",
    "colgroup",
    "cite",
    "time",
}
_ATTRIBUTES = {
    **{tag: set(values) for tag, values in post_markup.ATTRIBUTES.items()},
    "img": {"src", "alt", "width", "height"},
    "td": {"style", "align", "colspan", "rowspan"},
    "th": {"style", "align", "colspan", "rowspan", "scope"},
    "audio": {"src", "controls", "preload"},
    "video": {"src", "controls", "preload", "poster", "width", "height"},
    "source": {"src", "type"},
    "track": {"src", "kind", "srclang", "label"},
    "iframe": {"src", "width", "height", "title", "allowfullscreen"},
    "time": {"datetime"},
}


def _attribute_filter(tag: str, attribute: str, value: str) -> str | None:
    if attribute in ("src", "poster"):
        # The images the import copied are {static} links; all else https.
        scheme = _scheme(value)
        ok = scheme == "https" or value.startswith("{static}/")
        return value if ok else None
    if attribute in ("colspan", "rowspan"):
        return value if value.strip().isdigit() else None
    return post_markup._attribute_filter(tag, attribute, value)


def clean_html(text: str) -> str:
    """Return a post kept as HTML with only what an imported post may carry."""
    return nh3.clean(
        text,
        tags=_TAGS,
        clean_content_tags={"script", "style"},
        attributes=_ATTRIBUTES,
        attribute_filter=_attribute_filter,
        url_schemes=set(post_markup.URL_SCHEMES),
        strip_comments=True,
        link_rel=None,
        filter_style_properties=set(post_markup.STYLE_PROPERTIES),
    )
