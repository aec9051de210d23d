"""The configuration: one TOML file validated into typed, frozen objects.

``model`` owns the sections, loading and every check; ``problems`` the wording of a
problem with its key path; ``types`` the value types (durations, sizes, URLs, clock times,
zones). Only the wiring (``monitor.app``) and the commands import this package: every
other part receives small settings records built from it.
"""
