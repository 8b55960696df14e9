"""Bringing a blog from elsewhere: WordPress's export (posts, pages, authors,
comments, the old addresses), and the comment threads of Disqus and Isso.

The parsers read a source into the neutral records of ``records.py``; the
importer writes them (``content/`` files, database rows, the redirect map)
only once the whole source has parsed.

May import core, site, store, mail and services; nothing imports it but
the CLI.
"""
