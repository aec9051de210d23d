"""Delivery of news-monitor: composing alert, summary, digest and test mails, and sending them.

``compose`` and ``digest`` turn records into ready ``OutgoingMail`` bytes (pure, templates in
``templates/``), ``headers`` cleans untrusted header values, ``alerts`` plans which deltas get
a mail of their own, ``mailer`` carries mail over SMTP (TLS enforced) or into a Maildir, and
``outbox`` flushes the store's queue through a mailer with retries. Import from the modules.
"""
