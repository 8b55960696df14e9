"""Fixtures shared by the site's test modules: the sites built once a
session for the checks of every page type in every language."""

from __future__ import annotations

from pathlib import Path

import pytest

from .language_sites import LANGS, build_language_site


@pytest.fixture(scope="session")
def language_sites(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One small site in each of ``LANGS`` (``language_sites.py``): each
    language's output folder."""
    tmp = tmp_path_factory.mktemp("language-sites")
    return {lang: build_language_site(tmp / lang, lang) for lang in LANGS}
