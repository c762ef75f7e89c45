"""Customer communications: the outbox dispatcher, email over SMTP, message templates.

Messages come from rows of the ``event`` table, committed with the change that caused them;
the dispatcher (``dispatcher.dispatch_once``) turns each new event into its messages, claims
them, sends each at most once per (event, channel, recipient), and records what was sent.
"""
