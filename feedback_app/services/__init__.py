"""One function per action, used by every door (the desk, the command line,
links in mail, the readers' forms): each changes the state, queues the mail
it causes and says which pages to publish.

May import: ``core``, ``site``, ``store``, ``mail``.
"""
