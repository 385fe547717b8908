# Two commands do all the set-up on a fresh machine with only Python:
#   make demo   installs everything and serves MIV with demo data on http://127.0.0.1:8000
#   make test   installs the test dependencies and runs the whole test suite
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml requirements.lock | cksum | cut -d' ' -f1)

# DEBUG is off unless explicitly on (miv/settings.py). What make runs is development (the
# demo, runserver, tests, translations), so it turns DEBUG on; a value already set wins.
export DJANGO_DEBUG ?= true

.PHONY: install messages messages-update demo serve test lint format ci clean

$(STAMP): pyproject.toml requirements.lock
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c requirements.lock -e ".[test]"
	@rm -f $(VENV)/.installed-* && touch $(STAMP)

install: $(STAMP)

# Translation files are compiled in the build: with gettext's msgfmt when present,
# otherwise with Babel (pure Python), so nothing beyond Python is needed.
messages: install
	@if command -v msgfmt >/dev/null 2>&1; then \
		$(PY) manage.py compilemessages --ignore=.venv -v 0; \
	else \
		$(VENV)/bin/pybabel -q compile -d miv/locale -D django; \
	fi

# After changing texts: extract them afresh (no source locations, sorted by text, so
# branches that add texts merge cleanly), then translate the new entries in the .po file.
messages-update: install
	$(PY) manage.py makemessages -l en --no-location --ignore=.venv --ignore=var --ignore=tests -v 0
	msgattrib --sort-output --no-location --no-obsolete -o miv/locale/en/LC_MESSAGES/django.po miv/locale/en/LC_MESSAGES/django.po

demo: messages
	$(PY) manage.py migrate --noinput -v 0
	$(PY) manage.py seed_demo
	$(PY) manage.py runserver 127.0.0.1:8000

serve: messages
	$(PY) manage.py migrate --noinput -v 0
	$(PY) manage.py runserver 127.0.0.1:8000

test: messages
	$(VENV)/bin/pytest $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

ci:
	CI=true bash .ci/run

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
