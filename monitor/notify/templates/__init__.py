"""Jinja2 templates of the notify package (a package so the wheel ships the *.j2 files)."""
