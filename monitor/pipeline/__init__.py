"""The pipeline: one feed through the stages, failures recorded as outcomes.

``feed`` owns one poll of one feed (fetch, parse, store entries, back off on failure);
``articles`` owns what becomes of each new entry or re-check (page, extraction, matching,
events) up to the one store transaction that records it. It calls the stages in order and
the store through the narrow protocols it declares; it never renders or sends anything.
"""
