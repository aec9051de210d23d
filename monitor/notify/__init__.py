"""Delivery of news-monitor: composing alert, summary, digest and test mails, and sending them.

``compose`` turns records into ready ``OutgoingMail`` bytes, the digest's included (pure,
templates in ``templates/``); ``render`` holds the template environment and the views it
shows; ``headers`` cleans untrusted header values; ``digest`` is the daily digest as a job
(which deltas it covers, source health, its archive file, queuing it); ``delivery`` renders
queued alerts, summarises folded ones and flushes; ``outbox`` is the flush loop with
retries; ``mailer`` carries mail over SMTP (TLS enforced) or into a Maildir; ``settings``
holds the mail and SMTP records. Nothing here reads the configuration: the wiring
(``monitor.app``) builds the settings records and store protocols these modules take.
Import from the modules.
"""
