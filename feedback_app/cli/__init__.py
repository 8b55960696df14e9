"""The command line (``flask --app feedback_app …``): one module per command
group.

May import: everything below the app (``core`` to ``desk``).
"""
