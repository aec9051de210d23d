"""The extract stage: article HTML becomes a ``Page`` of main text and metadata.

``html`` owns trafilatura on our bytes (pure and synchronous), ``pool`` the worker
processes it runs in, with their time budget, ``walls`` the recognition of consent walls
and paywalls, ``pagemeta`` canonical URL, language, date and byline from the page head.
A problem becomes a marked fallback page, never an exception.
"""
