"""The extract stage: article HTML becomes a ``Page`` of main text and metadata.

``pages`` owns trafilatura on our bytes and the worker pool it runs in, ``walls`` the
recognition of consent walls and paywalls, ``pagemeta`` canonical URL, language, date and
byline from the page head. A problem becomes a marked fallback page, never an exception.
"""
