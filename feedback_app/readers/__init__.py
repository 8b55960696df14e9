"""The readers' side: the feedback form and its private reply page, comments,
the rules a comment is judged by, reply-page tickets, rate limits, and the
pages behind links in mail to readers (confirm, unsubscribe).

May import: ``core``, ``site``, ``store``, ``mail``, ``services``; never
``desk``.
"""
