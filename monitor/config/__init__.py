"""The configuration: one TOML file validated into typed, frozen objects.

``model`` owns the sections, loading and every check; ``types`` the value types (durations,
sizes, URLs, clock times, zones). Only the wiring (``monitor.app``) and the commands import
this package: every other part receives small settings records built from it.
"""
