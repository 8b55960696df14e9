"""Storage of what readers send: one query module per table (comments,
feedback). Views and services say what happens; these modules say how it is
stored.

May import: ``core``, ``site``.
"""
