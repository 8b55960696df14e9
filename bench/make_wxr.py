"""Generate a WordPress export (WXR 1.2) the size of a real blog, and a copy
of its ``wp-content/uploads``, for ``import_wordpress.py``.

    .venv/bin/python bench/make_wxr.py OUT_FOLDER [--posts 300]
        [--comments 3000] [--seed 23]

Writes ``OUT_FOLDER/export.xml`` and ``OUT_FOLDER/uploads/``. The same
arguments give the same bytes. What the export holds, in the form
WordPress 6 writes it (Tools → Export → All content):

* 5 authors (one without an address), 12 categories (some nested), 40 tags;
* ``--posts`` posts over twelve years with date-based permalinks
  (``/%year%/%monthnum%/%postname%/``): about 92 % published, the rest
  drafts, pending review, private, password-protected and trashed; half
  written in the classic editor (text with blank lines between paragraphs,
  as ``wpautop`` reads it, ``<!--more-->``, ``[caption]``, ``[gallery]``,
  ``[embed]``, a bare video link on its own line, a plugin's shortcode
  nobody knows any more, ``<pre><code>`` with entities), half in the block
  editor (Gutenberg's ``<!-- wp:… -->`` comments around paragraphs,
  headings, lists, images, quotes, code); titles and text in eight
  languages, non-Latin slugs percent-encoded as WordPress stores them;
* 6 pages (one with comments), image attachments (a few of whose files
  are missing from the uploads copy), menu items, a custom post type;
* ``--comments`` comments spread unevenly (a Pareto law: many posts have
  none, a few have hundreds), in threads up to 10 levels deep (one thread
  of exactly 10), ids rising with time across the site; about 86 %
  approved, 6 % pending, 4 % spam, 2 % trash, 2 % pingbacks and
  trackbacks; some by the post's author, signed in; some without an
  address or a name.

``Made.facts()`` returns what an import of it should give (published
posts, approved comments on them, …), which the benchmark checks.

Longer than 400 lines because the text of eight languages and every
element of WXR are spelled out here, one per line as ruff formats them.
"""

# Text in eight languages is what this module writes: its apostrophes and
# Greek letters are meant.
# ruff: noqa: RUF001, RUF003

from __future__ import annotations

import argparse
import random
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

SITE = "https://old.example.org"
TZ = ZoneInfo("Europe/Stockholm")
MAX_DEPTH = 10
#: A 1×1 PNG: every image of the uploads copy (the import copies bytes).
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0f01f0005fe02fea7d6"
    "a4c30000000049454e44ae426082"
)

AUTHORS = (  # login, display name, address
    ("maya", "Maya Lindqvist", "maya@old.example.org"),
    ("joerg", "Jörg Bäcker", "joerg@old.example.org"),
    ("aiko", "相川 愛子", "aiko@old.example.org"),
    ("oksana", "Оксана Коваль", "oksana@old.example.org"),
    ("guest", "Guest Writer", ""),
)
CATEGORIES = (  # slug, name, parent slug
    ("ventes", "Ventes", ""),
    ("telephone", "Téléphone", "ventes"),
    ("courriel", "Courriel & relances", "ventes"),
    ("kundenservice", "Kundenservice", ""),
    ("schreiben", "Schreiben", "kundenservice"),
    ("verktyg", "Verktyg", ""),
    ("%e5%96%b6%e6%a5%ad", "営業", ""),
    ("%d0%bf%d1%80%d0%be%d0%b4%d0%b0%d0%b6%d0%b8", "Продажи", ""),
    ("hiring", "Hiring", ""),
    ("notes", "Notes", ""),
    ("pricing", "Pricing", "notes"),
    ("uncategorized", "Uncategorized", ""),
)
LANGS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # language: (title words, sentences)
    "fr": (
        ("Appels", "relances", "écoute", "été", "clients", "prix", "notes"),
        (
            "Une relance n’est pas un rappel à l’ordre.",
            "J’ai appelé trois fois avant d’entendre la vraie question.",
            "Le client savait déjà ce qu’il voulait ; il fallait l’écouter.",
            "Préparez une question de plus que nécessaire.",
            "Le silence au téléphone fait peur, mais il aide.",
            "Écrivez la note juste après l’appel, pas le lendemain.",
        ),
    ),
    "en": (
        ("Calls", "follow-up", "quiet weeks", "pricing", "notes", "listening"),
        (
            "A follow-up is a second chance to listen, not a reminder.",
            "The best call I made last year lasted four minutes.",
            "Write the note while the voice is still in your ear.",
            "Nobody reads the third paragraph of a sales e-mail.",
            "Ask what changed since the last time you spoke.",
            "Price objections are usually timing objections.",
        ),
    ),
    "de": (
        ("Anrufe", "Größe", "Übergabe", "Kundendienst", "Straße", "Notizen"),
        (
            "Eine gute Übergabe spart dem Kunden drei Anrufe.",
            "Wer zuhört, verkauft öfter als wer redet.",
            "Die Notiz gehört in das Gespräch, nicht danach.",
            "Größere Angebote brauchen kürzere E-Mails.",
            "Fragen Sie nach dem Grund, nicht nach dem Budget.",
        ),
    ),
    "sv": (
        ("Samtal", "återkoppling", "höst", "säljare", "anteckningar"),
        (
            "Ett kort samtal på fredag är värt mer än tre mejl.",
            "Skriv ner vad kunden sa, inte vad du tyckte.",
            "Tystnad i telefonen är inte farligt.",
            "Återkoppla samma vecka, annars glömmer båda.",
        ),
    ),
    "es": (
        ("Llamadas", "señales", "niños", "precio", "año"),
        (
            "La segunda llamada es la que cierra el trato.",
            "Escuchar cuesta menos que convencer.",
            "El cliente ya sabía la respuesta; sólo quería contarla.",
            "Un correo corto recibe una respuesta corta, y rápida.",
        ),
    ),
    "ja": (
        ("電話", "営業", "メモ", "お客様", "季節"),
        (
            "電話の前に質問をひとつ多く用意します。",
            "お客様の沈黙は考えている時間です。",
            "メモは会話のすぐ後に書きましょう。",
            "短いメールほど早く返事が来ます。",
        ),
    ),
    "ru": (
        ("Звонки", "заметки", "клиенты", "цены", "осень"),
        (
            "Повторный звонок — это второй шанс выслушать.",
            "Запишите заметку сразу после разговора.",
            "Клиент уже знал, чего хочет; нужно было слушать.",
            "Короткое письмо получает быстрый ответ.",
        ),
    ),
    "el": (
        ("Τηλέφωνα", "σημειώσεις", "πελάτες", "τιμές"),
        (
            "Το δεύτερο τηλεφώνημα είναι μια δεύτερη ευκαιρία.",
            "Γράψτε τη σημείωση αμέσως μετά την κλήση.",
            "Η σιωπή στο τηλέφωνο δεν είναι κακό σημάδι.",
        ),
    ),
}
LANG_WEIGHTS = (("fr", 30), ("en", 25), ("de", 15), ("sv", 10), ("es", 8))
LANG_WEIGHTS += (("ja", 5), ("ru", 5), ("el", 2))
FIRST = ("Ana", "Bo", "Chloé", "Dmitri", "Eun-ji", "Fatima", "Gunnar", "Hélène")
FIRST += ("Ingrid", "José", "Kenji", "Léa", "Mikko", "Nadia", "Øystein", "Priya")
FIRST += ("Quentin", "Rūta", "Søren", "Tomás", "Юлия", "Zoë", "陳", "Αλέξης")
LAST = ("Souza", "Nilsson", "Martin", "Ivanov", "Park", "Zahra", "Öberg", "Dubois")
LAST += ("Berg", "García", "Tanaka", "Moreau", "Virtanen", "Haddad", "Ødegård")
LAST += ("Shah", "Lefèvre", "Kazlauskė", "Jørgensen", "Ó Briain", "Смирнова", "明")
PINGERS = ("Le blog de Léa", "Sales Notes Weekly", "Verkaufsblog", "営業ノート")
UNKNOWN_SHORTCODES = (
    '[contact-form-7 id="12" title="Contact"]',
    '[tweet id="123456789"]',
    "[subscribe2]",
    '[wpforms id="7"]',
)


@dataclass
class Comment:
    id: int
    parent: int
    depth: int
    when: datetime
    name: str
    email: str
    url: str
    body: str
    state: str = "1"  # comment_approved
    kind: str = "comment"
    user_id: str = "0"


@dataclass
class Post:
    id: int
    kind: str  # post, page, attachment, nav_menu_item, …
    title: str
    slug: str
    when: datetime
    author: int
    status: str = "publish"
    password: str = ""
    content: str = ""
    excerpt: str = ""
    parent: int = 0
    link: str = ""
    attachment: str = ""  # the file's path under uploads
    categories: list[int] = field(default_factory=list)
    tags: list[int] = field(default_factory=list)
    comments: list[Comment] = field(default_factory=list)


def wp_slug(title: str) -> str:
    """Return a slug as WordPress's ``sanitize_title`` makes it: accents
    removed from Latin letters, other letters percent-encoded, lower case."""
    plain = "".join(
        c
        for c in unicodedata.normalize("NFKD", title.lower())
        if not unicodedata.combining(c)
    )
    words = "".join(c if c.isalnum() else " " for c in plain).split()
    return quote("-".join(words), safe="-").lower()


class Writer:
    """Makes up one export from one random generator."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)  # noqa: S311 (text, not secrets)
        self.next_id = 10
        self.images: list[tuple[int, str]] = []  # (attachment id, file)
        self.missing: set[str] = set()  # image files left out of uploads
        self.tags = self._tags()
        self.slugs: set[str] = set()

    def _tags(self) -> list[tuple[str, str]]:
        names = []
        for lang, _ in LANG_WEIGHTS:
            names += list(LANGS[lang][0])
        names += ["R&D", "CRM", "e-mail", "2020", "Q&A", "how-to"]
        seen: dict[str, str] = {}
        for name in names:
            seen.setdefault(wp_slug(name.replace("&", " ")), name)
        return sorted(seen.items())[:40]

    def new_id(self) -> int:
        self.next_id += self.rng.choice((1, 1, 1, 2, 3))
        return self.next_id

    def lang(self) -> str:
        langs, weights = zip(*LANG_WEIGHTS, strict=True)
        return self.rng.choices(langs, weights)[0]

    def sentences(self, lang: str, n: int) -> str:
        pool = LANGS[lang][1]
        picked = self.rng.sample(pool, min(n, len(pool)))
        return " ".join(
            picked + [self.rng.choice(pool) for _ in range(n - len(picked))]
        )

    def person(self) -> tuple[str, str, str]:
        first, last = self.rng.choice(FIRST), self.rng.choice(LAST)
        n = self.rng.randrange(400)
        roll = self.rng.random()
        email = "" if roll < 0.03 else f"reader{n}@example.net"
        name = "" if roll > 0.99 else f"{first} {last}"
        url = f"https://reader{n}.example.com/" if self.rng.random() < 0.25 else ""
        return name, email, url

    # Bodies -----------------------------------------------------------

    def image(self, when: datetime, parent: int, lang: str) -> tuple[int, str, str]:
        """A new attachment: (id, file under uploads, alt text)."""
        aid = self.new_id()
        name = f"{when:%Y/%m}/photo-{aid}.png"
        if self.rng.random() < 0.05:
            self.missing.add(name)
        self.images.append((aid, name))
        return aid, name, self.rng.choice(LANGS[lang][0])

    def classic(self, when: datetime, pid: int, lang: str) -> str:
        """A classic-editor body: what ``wpautop`` turns into paragraphs."""
        rng = self.rng
        parts = [self.sentences(lang, rng.randint(2, 4))]
        if rng.random() < 0.5:
            parts.append("<!--more-->")
        for _ in range(rng.randint(3, 9)):
            roll = rng.random()
            if roll < 0.45:
                text = self.sentences(lang, rng.randint(2, 5))
                if rng.random() < 0.3:
                    text += "\nUne ligne de plus, coupée à la main."
                if rng.random() < 0.3:
                    text = text.replace(" ", " <strong>", 1) + "</strong>"
                if rng.random() < 0.2:
                    text += ' <a href="https://example.com/ref">Lire — la suite</a>'
                parts.append(text)
            elif roll < 0.58:
                aid, name, alt = self.image(when, pid, lang)
                stem = name[:-4]
                parts.append(
                    f'[caption id="attachment_{aid}" align="aligncenter" '
                    f'width="600"]<img class="size-large wp-image-{aid}" '
                    f'src="{SITE}/wp-content/uploads/{stem}-600x400.png" '
                    f'alt="{alt}" width="600" height="400" /> '
                    f"{self.sentences(lang, 1)}[/caption]"
                )
            elif roll < 0.66:
                items = "\n".join(
                    f"\t<li>{self.sentences(lang, 1)}</li>"
                    for _ in range(rng.randint(2, 5))
                )
                parts.append(f"<ul>\n{items}\n</ul>")
            elif roll < 0.72:
                parts.append(f"<h2>{rng.choice(LANGS[lang][0])}</h2>")
            elif roll < 0.77:
                parts.append(f"<blockquote>{self.sentences(lang, 2)}</blockquote>")
            elif roll < 0.82:
                parts.append(
                    "<pre><code>if answered:\n    note(&quot;call back &lt;"
                    "tomorrow&gt;&quot;)  # 5 * 3 = 15</code></pre>"
                )
            elif roll < 0.86:
                ids = ",".join(str(self.image(when, pid, lang)[0]) for _ in range(3))
                parts.append(f'[gallery ids="{ids}" columns="3"]')
            elif roll < 0.9:
                parts.append(f"[embed]https://www.youtube.com/watch?v=vid{pid}[/embed]")
            elif roll < 0.93:
                parts.append(f"https://vimeo.com/{pid}{rng.randrange(100)}")
            elif roll < 0.96:
                parts.append(rng.choice(UNKNOWN_SHORTCODES))
            else:
                parts.append(
                    "<table>\n<tr><th>Jour</th><th>Appels</th></tr>\n"
                    "<tr><td>lundi</td><td>12</td></tr>\n</table>"
                )
        if rng.random() < 0.3:
            parts.append("Pourquoi&nbsp;? Parce que&#8230; ça marche.")
        return "\n\n".join(parts) + "\n"

    def blocks(self, when: datetime, pid: int, lang: str) -> str:
        """A block-editor body: Gutenberg's comments around rendered HTML."""
        rng = self.rng
        out = []

        def para(text: str) -> None:
            out.append(f"<!-- wp:paragraph -->\n<p>{text}</p>\n<!-- /wp:paragraph -->")

        para(self.sentences(lang, rng.randint(2, 4)))
        if rng.random() < 0.4:
            out.append("<!-- wp:more -->\n<!--more-->\n<!-- /wp:more -->")
        for _ in range(rng.randint(3, 9)):
            roll = rng.random()
            if roll < 0.5:
                para(self.sentences(lang, rng.randint(2, 5)))
            elif roll < 0.62:
                heading = rng.choice(LANGS[lang][0])
                out.append(
                    f'<!-- wp:heading -->\n<h2 class="wp-block-heading">'
                    f"{heading}</h2>\n<!-- /wp:heading -->"
                )
            elif roll < 0.75:
                aid, name, alt = self.image(when, pid, lang)
                out.append(
                    f'<!-- wp:image {{"id":{aid},"sizeSlug":"large"}} -->\n'
                    f'<figure class="wp-block-image size-large"><img src="{SITE}'
                    f'/wp-content/uploads/{name}" alt="{alt}" class="wp-image-'
                    f'{aid}"/><figcaption class="wp-element-caption">'
                    f"{self.sentences(lang, 1)}</figcaption></figure>\n"
                    "<!-- /wp:image -->"
                )
            elif roll < 0.85:
                items = "".join(
                    f"<li>{self.sentences(lang, 1)}</li>"
                    for _ in range(rng.randint(2, 4))
                )
                out.append(
                    f'<!-- wp:list -->\n<ul class="wp-block-list">{items}</ul>\n'
                    "<!-- /wp:list -->"
                )
            elif roll < 0.93:
                out.append(
                    '<!-- wp:quote -->\n<blockquote class="wp-block-quote">'
                    f"<p>{self.sentences(lang, 2)}</p></blockquote>\n"
                    "<!-- /wp:quote -->"
                )
            else:
                out.append(
                    '<!-- wp:code -->\n<pre class="wp-block-code"><code>'
                    "for call in calls:\n    if call.missed &amp;&amp; call.vip:"
                    "\n        ring(call)</code></pre>\n<!-- /wp:code -->"
                )
        return "\n\n".join(out) + "\n"

    def comment_body(self, lang: str) -> str:
        rng = self.rng
        paragraphs = [
            self.sentences(lang, rng.randint(1, 3)) for _ in range(rng.randint(1, 3))
        ]
        if rng.random() < 0.15:
            paragraphs[0] = f"<em>{paragraphs[0]}</em>"
        if rng.random() < 0.1:
            paragraphs.append('Voir <a href="https://example.com/">ceci</a> &amp; ça.')
        if rng.random() < 0.05:
            paragraphs.append("<code>x &lt; y</code> — toujours.")
        return "\n\n".join(paragraphs)

    # The site -----------------------------------------------------------

    def posts(self, count: int) -> list[Post]:
        rng = self.rng
        start = datetime(2013, 1, 7, 8, 0, tzinfo=UTC)
        span = (datetime(2024, 12, 20, tzinfo=UTC) - start).total_seconds()
        made: list[Post] = []
        for n in range(count):
            pid = self.new_id()
            when = start + timedelta(seconds=span * n / count + rng.randrange(3600))
            lang = self.lang()
            words = LANGS[lang][0]
            title = " ".join(rng.sample(words, min(len(words), rng.randint(2, 3))))
            title = title.capitalize() + rng.choice(("", "", " & co", " : notes", "?"))
            if rng.random() < 0.05:
                title += f" ({n})"  # two posts may share a title otherwise
            roll = rng.random()
            status, password = "publish", ""
            if roll < 0.03:
                status = "draft"
            elif roll < 0.04:
                status = "pending"
            elif roll < 0.055:
                status = "private"
            elif roll < 0.07:
                password = "motdepasse"  # noqa: S105 (WordPress post password)
            elif roll < 0.08:
                status = "trash"
            slug = wp_slug(title.replace("&", " ")) or f"post-{pid}"
            base, again = slug, 1
            while slug in self.slugs:  # WordPress's wp_unique_post_slug
                again += 1
                slug = f"{base}-{again}"
            self.slugs.add(slug)
            if status in ("draft", "pending") and rng.random() < 0.5:
                slug = ""  # WordPress names a draft only when it is saved so
            body = (self.classic if rng.random() < 0.5 else self.blocks)(
                when, pid, lang
            )
            post = Post(
                id=pid,
                kind="post",
                title=title,
                slug=slug,
                when=when,
                author=rng.choices(range(len(AUTHORS)), (40, 25, 15, 15, 5))[0],
                status=status,
                password=password,
                content=body,
                excerpt=self.sentences(lang, 1) if rng.random() < 0.1 else "",
                categories=rng.sample(range(len(CATEGORIES)), rng.choice((1, 1, 2))),
                tags=rng.sample(range(len(self.tags)), rng.randint(0, 4)),
            )
            made.append(post)
        return made

    def pages(self) -> list[Post]:
        titles = ("À propos", "Contact", "Impressum", "Newsletter", "Plan du site")
        titles += ("プライバシー",)
        made = []
        for title in titles:
            pid = self.new_id()
            lang = "ja" if title.startswith("プ") else "fr"
            made.append(
                Post(
                    id=pid,
                    kind="page",
                    title=title,
                    slug=wp_slug(title),
                    when=datetime(2013, 1, 5, 12, 0, tzinfo=UTC),
                    author=0,
                    content=self.classic(datetime(2013, 1, 5, tzinfo=UTC), pid, lang),
                )
            )
        return made

    def comment(self, post: Post, when: datetime, lang: str) -> Comment:
        rng = self.rng
        c = Comment(0, 0, 1, when, *self.person(), body=self.comment_body(lang))
        roll = rng.random()
        if roll < 0.015:
            c.kind = "pingback"
        elif roll < 0.02:
            c.kind = "trackback"
        elif roll < 0.08:
            c.state = "0"
        elif roll < 0.12:
            c.state = "spam"
            c.body += '\n\nBuy cheap <a href="https://spam.example.com/">now</a>!'
        elif roll < 0.14:
            c.state = "trash"
        if c.kind != "comment":
            blog = rng.choice(PINGERS)
            c.name, c.email = blog, ""
            c.url = f"https://{wp_slug(blog) or 'blog'}.example.com/{post.id}/"
            c.body = f"[&#8230;] {self.sentences(lang, 1)} [&#8230;]"
        return c

    def threads(self, posts: list[Post], total: int) -> None:
        """Give ``posts`` ``total`` comments, unevenly, in threads."""
        rng = self.rng
        open_ = [p for p in posts if p.kind == "post" and p.status == "publish"]
        page = next(p for p in posts if p.kind == "page")
        # A quarter of the posts get none; a few get hundreds.
        weights = [
            0.0 if rng.random() < 0.25 else min(rng.paretovariate(1.2), 80.0)
            for _ in open_
        ]
        counts = dict.fromkeys(range(len(open_)), 0)
        for i in rng.choices(range(len(open_)), weights, k=max(total - 3, 0)):
            counts[i] += 1
        deepest = max(counts, key=lambda i: counts[i])
        every: list[Comment] = []
        for i, post in [(i, open_[i]) for i in counts] + [(-1, page)]:
            n = counts.get(i, 3)
            lang = self.lang()
            when = post.when + timedelta(hours=rng.uniform(1, 48))
            thread: list[Comment] = []
            for k in range(n):
                when += timedelta(hours=rng.expovariate(1 / (6 + 2 * k)))
                c = self.comment(post, when, lang)
                if i == deepest and k < MAX_DEPTH:
                    c.state, c.kind = "1", "comment"  # the 10-level chain
                    if k:
                        c.parent, c.depth = id(thread[-1]), k + 1
                elif c.kind == "comment" and c.state in ("1", "0"):
                    replyable = [
                        t
                        for t in thread[-6:]
                        if t.state == "1" and t.kind == "comment" and t.depth < 10
                    ]
                    if replyable and rng.random() < 0.45:
                        parent = rng.choice(replyable)
                        c.parent, c.depth = id(parent), parent.depth + 1
                        if rng.random() < 0.08 and c.state == "1":
                            _, name, email = AUTHORS[post.author]
                            c.name, c.email, c.url = name, email, ""
                            c.user_id = str(post.author + 1)
                thread.append(c)
            post.comments = thread
            every += thread
        # Ids rise with time across the whole site, as WordPress gives them.
        by_key: dict[int, int] = {}
        next_id = 100
        for c in sorted(every, key=lambda c: c.when):
            next_id += rng.choice((1, 1, 1, 1, 2, 5))
            by_key[id(c)] = next_id
        for c in every:
            c.parent = by_key.get(c.parent, 0)
            c.id = by_key[id(c)]

    def extras(self, posts: list[Post]) -> list[Post]:
        """Attachments, menu items and a plugin's post type."""
        by_id = {p.id: p for p in posts}
        out = []
        for aid, name in self.images:
            out.append(
                Post(
                    id=aid,
                    kind="attachment",
                    title=name.rsplit("/", 1)[1][:-4],
                    slug=name.rsplit("/", 1)[1][:-4],
                    when=datetime.strptime(name[:7], "%Y/%m").replace(tzinfo=UTC),
                    author=0,
                    status="inherit",
                    attachment=name,
                    parent=next((p.id for p in posts if p.id < aid), 0),
                )
            )
        for n, kind in enumerate(("nav_menu_item",) * 3 + ("feedback", "wp_block")):
            out.append(
                Post(
                    id=self.new_id(),
                    kind=kind,
                    title=f"{kind} {n}",
                    slug=f"{kind.replace('_', '-')}-{n}",
                    when=datetime(2024, 12, 24, tzinfo=UTC),
                    author=0,
                    content="Merci&nbsp;!" if kind == "feedback" else "",
                )
            )
        del by_id
        return out


def _cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _date(when: datetime | None, local: bool = False) -> str:
    if when is None:
        return "0000-00-00 00:00:00"
    return (when.astimezone(TZ) if local else when).strftime("%Y-%m-%d %H:%M:%S")


def _link(post: Post) -> str:
    if post.kind == "page":
        return f"{SITE}/{post.slug}/"
    if post.status != "publish" or not post.slug:
        return f"{SITE}/?p={post.id}"
    return f"{SITE}/{post.when:%Y/%m}/{post.slug}/"


def _item(post: Post, tags: list[tuple[str, str]]) -> str:
    draft = post.status in ("draft", "pending")
    gmt = None if draft else post.when
    guid = f"{SITE}/?{'page_id' if post.kind == 'page' else 'p'}={post.id}"
    if post.kind == "attachment":
        guid = f"{SITE}/wp-content/uploads/{post.attachment}"
    lines = [
        "\t<item>",
        f"\t\t<title>{_cdata(escape(post.title))}</title>",
        f"\t\t<link>{escape(_link(post))}</link>",
        f"\t\t<pubDate>{post.when:%a, %d %b %Y %H:%M:%S +0000}</pubDate>",
        f"\t\t<dc:creator>{_cdata(AUTHORS[post.author][0])}</dc:creator>",
        f'\t\t<guid isPermaLink="false">{escape(guid)}</guid>',
        "\t\t<description></description>",
        f"\t\t<content:encoded>{_cdata(post.content)}</content:encoded>",
        f"\t\t<excerpt:encoded>{_cdata(post.excerpt)}</excerpt:encoded>",
        f"\t\t<wp:post_id>{post.id}</wp:post_id>",
        f"\t\t<wp:post_date>{_cdata(_date(post.when, local=True))}</wp:post_date>",
        f"\t\t<wp:post_date_gmt>{_cdata(_date(gmt))}</wp:post_date_gmt>",
        f"\t\t<wp:post_modified>{_cdata(_date(post.when, local=True))}"
        "</wp:post_modified>",
        f"\t\t<wp:post_modified_gmt>{_cdata(_date(post.when))}</wp:post_modified_gmt>",
        f"\t\t<wp:comment_status>{_cdata('open')}</wp:comment_status>",
        f"\t\t<wp:ping_status>{_cdata('open')}</wp:ping_status>",
        f"\t\t<wp:post_name>{_cdata(post.slug)}</wp:post_name>",
        f"\t\t<wp:status>{_cdata(post.status)}</wp:status>",
        f"\t\t<wp:post_parent>{post.parent}</wp:post_parent>",
        "\t\t<wp:menu_order>0</wp:menu_order>",
        f"\t\t<wp:post_type>{_cdata(post.kind)}</wp:post_type>",
        f"\t\t<wp:post_password>{_cdata(post.password)}</wp:post_password>",
        "\t\t<wp:is_sticky>0</wp:is_sticky>",
    ]
    if post.attachment:
        url = f"{SITE}/wp-content/uploads/{post.attachment}"
        lines.append(f"\t\t<wp:attachment_url>{_cdata(url)}</wp:attachment_url>")
        lines.append(
            "\t\t<wp:postmeta><wp:meta_key><![CDATA[_wp_attached_file]]>"
            f"</wp:meta_key><wp:meta_value>{_cdata(post.attachment)}"
            "</wp:meta_value></wp:postmeta>"
        )
    for i in post.categories:
        slug, name, _ = CATEGORIES[i]
        lines.append(
            f'\t\t<category domain="category" nicename="{slug}">'
            f"{_cdata(escape(name))}</category>"
        )
    for i in post.tags:
        slug, name = tags[i]
        lines.append(
            f'\t\t<category domain="post_tag" nicename="{slug}">'
            f"{_cdata(escape(name))}</category>"
        )
    for c in post.comments:
        lines += [
            "\t\t<wp:comment>",
            f"\t\t\t<wp:comment_id>{c.id}</wp:comment_id>",
            f"\t\t\t<wp:comment_author>{_cdata(escape(c.name))}</wp:comment_author>",
            f"\t\t\t<wp:comment_author_email>{_cdata(c.email)}"
            "</wp:comment_author_email>",
            f"\t\t\t<wp:comment_author_url>{escape(c.url)}</wp:comment_author_url>",
            f"\t\t\t<wp:comment_author_IP>{_cdata('192.0.2.' + str(c.id % 250))}"
            "</wp:comment_author_IP>",
            f"\t\t\t<wp:comment_date>{_cdata(_date(c.when, local=True))}"
            "</wp:comment_date>",
            f"\t\t\t<wp:comment_date_gmt>{_cdata(_date(c.when))}</wp:comment_date_gmt>",
            f"\t\t\t<wp:comment_content>{_cdata(c.body)}</wp:comment_content>",
            f"\t\t\t<wp:comment_approved>{_cdata(c.state)}</wp:comment_approved>",
            f"\t\t\t<wp:comment_type>{_cdata(c.kind)}</wp:comment_type>",
            f"\t\t\t<wp:comment_parent>{c.parent}</wp:comment_parent>",
            f"\t\t\t<wp:comment_user_id>{c.user_id}</wp:comment_user_id>",
            "\t\t</wp:comment>",
        ]
    lines.append("\t</item>")
    return "\n".join(lines)


HEAD = """<?xml version="1.0" encoding="UTF-8" ?>
<!-- A made-up WordPress export for bench/import_wordpress.py (make_wxr.py),
     in the form WordPress 6 writes (WXR 1.2). -->
<rss version="2.0"
\txmlns:excerpt="http://wordpress.org/export/1.2/excerpt/"
\txmlns:content="http://purl.org/rss/1.0/modules/content/"
\txmlns:wfw="http://wellformedweb.org/CommentAPI/"
\txmlns:dc="http://purl.org/dc/elements/1.1/"
\txmlns:wp="http://wordpress.org/export/1.2/"
>

<channel>
\t<title>Carnet de route &#8211; ventes &amp; téléphone</title>
\t<link>{site}</link>
\t<description>Notes d&#039;une équipe de vente</description>
\t<pubDate>Tue, 24 Dec 2024 10:00:00 +0000</pubDate>
\t<language>fr-FR</language>
\t<wp:wxr_version>1.2</wp:wxr_version>
\t<wp:base_site_url>{site}</wp:base_site_url>
\t<wp:base_blog_url>{site}</wp:base_blog_url>
"""


@dataclass
class Made:
    """An export written to disk, and what it holds."""

    export: Path
    uploads: Path
    posts: list[Post]

    def facts(self) -> dict[str, int]:
        """What importing it into an empty site should give."""
        live = [
            p
            for p in self.posts
            if p.kind == "post" and p.status == "publish" and not p.password
        ]
        facts = {
            "posts": sum(1 for p in self.posts if p.kind == "post"),
            "posts published": len(live),
            "posts written": sum(
                1
                for p in self.posts
                if p.kind == "post"
                and p.status in ("publish", "draft", "pending")
                and not p.password
            ),
            "pages": sum(1 for p in self.posts if p.kind == "page"),
            "comments": sum(len(p.comments) for p in self.posts),
            "deepest thread": max(
                (c.depth for p in self.posts for c in p.comments), default=0
            ),
        }
        for state, name in (("1", "approved"), ("0", "pending"), ("spam", "spam")):
            facts[f"comments {name} on published posts"] = sum(
                1
                for p in live
                for c in p.comments
                if c.kind == "comment" and c.state == state
            )
        facts["comments trash on published posts"] = sum(
            1 for p in live for c in p.comments if c.state == "trash"
        )
        facts["pingbacks and trackbacks"] = sum(
            1 for p in live for c in p.comments if c.kind != "comment"
        )
        return facts


def make_export(
    folder: Path, posts: int = 300, comments: int = 3000, seed: int = 23
) -> Made:
    """Write ``folder/export.xml`` and ``folder/uploads/``; return them."""
    writer = Writer(seed)
    made = writer.posts(posts)
    pages = writer.pages()
    writer.threads(made + pages, comments)
    items = pages + made + writer.extras(made + pages)
    folder.mkdir(parents=True, exist_ok=True)
    head = HEAD.format(site=SITE)
    authors = "".join(
        f"\t<wp:author><wp:author_id>{n}</wp:author_id><wp:author_login>"
        f"{_cdata(login)}</wp:author_login><wp:author_email>{_cdata(email)}"
        f"</wp:author_email><wp:author_display_name>{_cdata(escape(name))}"
        "</wp:author_display_name></wp:author>\n"
        for n, (login, name, email) in enumerate(AUTHORS, start=1)
    )
    terms = "".join(
        f"\t<wp:category><wp:term_id>{n}</wp:term_id><wp:category_nicename>"
        f"{_cdata(slug)}</wp:category_nicename><wp:category_parent>"
        f"{_cdata(parent)}</wp:category_parent><wp:cat_name>"
        f"{_cdata(escape(name))}</wp:cat_name></wp:category>\n"
        for n, (slug, name, parent) in enumerate(CATEGORIES, start=2)
    )
    terms += "".join(
        f"\t<wp:tag><wp:term_id>{n}</wp:term_id><wp:tag_slug>{_cdata(slug)}"
        f"</wp:tag_slug><wp:tag_name>{_cdata(escape(name))}</wp:tag_name></wp:tag>\n"
        for n, (slug, name) in enumerate(writer.tags, start=100)
    )
    body = "\n".join(_item(p, writer.tags) for p in items)
    export = folder / "export.xml"
    export.write_text(
        f"{head}\n{authors}\n{terms}\n\t<generator>https://wordpress.org/?v=6.7"
        f"</generator>\n\n{body}\n</channel>\n</rss>\n",
        encoding="utf-8",
    )
    uploads = folder / "uploads"
    for _, name in writer.images:
        if name not in writer.missing:
            (uploads / name).parent.mkdir(parents=True, exist_ok=True)
            (uploads / name).write_bytes(PNG)
    return Made(export, uploads, made + pages)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--posts", type=int, default=300)
    parser.add_argument("--comments", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=23)
    args = parser.parse_args()
    made = make_export(args.folder, args.posts, args.comments, args.seed)
    size = made.export.stat().st_size
    print(f"{made.export}: {size:,} bytes; uploads in {made.uploads}")
    for what, n in made.facts().items():
        print(f"  {n:>6}  {what}")


if __name__ == "__main__":
    main()
