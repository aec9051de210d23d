"""news-monitor: watches German business news for topics and reports what is new or changed.

The version has one source, ``pyproject.toml``; it is read here from the installed metadata.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("news-monitor")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = ["__version__"]
