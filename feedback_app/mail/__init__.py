"""Mail, bottom to top: the outbox (queue and build a message) and its
transport (SMTP, Maildir); links (signed URLs put in mail, no views); the
messages (what each mail says, to whom); subscriptions and digests; the
sender (claim, send, back off), which runs periodic jobs passed to it.

May import: ``core``, ``site``, ``store``.
"""
