"""The demo: fictitious but realistic data for ``make demo`` (``manage.py seed_demo``).

It sits on top of every other app and nothing imports it, so ``miv/`` (the project package)
needs no app imports for it.
"""
