"""Package data of the demo (a package so that setuptools ships its files)."""
