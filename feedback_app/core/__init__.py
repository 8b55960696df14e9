"""The core every other part uses: settings, the database and its models,
text rules, signing, rendering, ids, counters, addresses, HTTP helpers and the
app's shared extensions.

May import: nothing of the app's own outside ``core``.
"""
