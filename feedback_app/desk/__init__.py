"""The author's side: signing in, the inbox, answers, posts, comment
moderation (on the desk and from the link in mail), articles and readers'
data.

May import: ``core``, ``site``, ``store``, ``mail``, ``services``; never
``readers``.
"""
