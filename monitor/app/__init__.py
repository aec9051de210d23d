"""The wiring: the one place where a ``Config`` becomes the parts that do the work.

``wiring`` opens the store, the fetcher, the extractor, the compiled topics, delivery and the
pipeline for a command or the service.
"""
