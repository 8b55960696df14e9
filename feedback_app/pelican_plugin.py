"""The name earlier versions' ``pelicanconf.py`` gave the plugin
(``PLUGINS = ["feedback_app.pelican_plugin"]``); it is ``feedback_app.site.plugin``.
"""

from .site.plugin import register

__all__ = ["register"]
