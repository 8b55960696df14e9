"""The site side: the Pelican plugin, the site index it writes (``site.json``),
the files the build and the app share, who wrote each article, what an
article's page shows, desk posts as Pelican reads them, and publishing
(rewriting pages after a change).

May import: ``core``. The plugin (``site.plugin``) and everything it imports
must import without Flask: Pelican loads it on every build.
"""
