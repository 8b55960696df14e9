"""Extensions every side shares: the CSRF protection of the app's own forms.

The app's services are reached through typed accessors where they are
defined: ``core.db.get_db()``, ``site.index.site_index()``,
``site.publishing.publisher()``.
"""

from __future__ import annotations

from flask_wtf.csrf import CSRFProtect

#: CSRF protection for every form the app serves itself (the static site's
#: forms are guarded by ``core.http.require_site_origin`` and tickets).
csrf = CSRFProtect()
