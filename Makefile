# Two commands on a fresh clone: `make serve` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PORT ?= 8000
BIN := $(VENV)/bin

.PHONY: serve test test-data lint format clean messages translations

serve: $(VENV)/.installed
	PORT=$(PORT) $(BIN)/invoke serve

# The suite runs on every CPU (pytest-xdist); PYTEST_WORKERS=0 runs it in
# this one process.
PYTEST_WORKERS ?= auto

test: lint test-data
	$(BIN)/pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

# Pelican's sample content (translations, drafts, rST, pictures), which
# tests/site/test_real_content.py builds with the project's theme: it is in
# Pelican's source distribution only, downloaded once from PyPI.
PELICAN_VERSION := $(shell sed -n 's/.*"pelican==\([0-9.]*\)".*/\1/p' pyproject.toml)
PELICAN_SDIST := .cache/test-data/pelican-$(PELICAN_VERSION).tar.gz

test-data: $(PELICAN_SDIST)

$(PELICAN_SDIST): | $(BIN)/python
	$(BIN)/python -m pip download --quiet --no-deps --no-binary :all: \
		--dest .cache/test-data pelican==$(PELICAN_VERSION)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/bandit --quiet --recursive feedback_app tasks.py

format: $(VENV)/.installed-test
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The app's modules compiled once (an editable install leaves them to the
# first run, which a read-only checkout or PYTHONDONTWRITEBYTECODE never
# saves): every `flask` command starts tens of milliseconds sooner.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	$(BIN)/python -m compileall -q feedback_app
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	$(BIN)/python -m compileall -q feedback_app
	touch $@ $(VENV)/.installed

# The translations (feedback_app/site/i18n.py): `make messages` extracts the
# words of the theme and the app and adds the new ones to every language's
# catalogue; `make translations` compiles them (the app reads a .po as it is
# when no newer .mo is there) and says how complete each is.
CATALOGUES := feedback_app/translations

messages: $(VENV)/.installed
	$(BIN)/pybabel extract -F babel.cfg -c Translators: \
		--project talkback-blog --msgid-bugs-address "" \
		-o $(CATALOGUES)/messages.pot .
	$(BIN)/pybabel update --no-fuzzy-matching --ignore-obsolete \
		-i $(CATALOGUES)/messages.pot -d $(CATALOGUES)

translations: $(VENV)/.installed
	$(BIN)/pybabel compile --statistics -d $(CATALOGUES)

clean:
	rm -rf output output.builds cache .pytest_cache .cache
