"""Stops an install with a setuptools too old to read pyproject.toml's
[project] table (before 61), which would otherwise build a package named
UNKNOWN. Everything else is in pyproject.toml."""

import sys

import setuptools

_version = tuple(int(p) for p in setuptools.__version__.split(".")[:2] if p.isdigit())
if _version < (61, 0):
    sys.exit("simplerpc-client needs setuptools 61 or later to install (this is %s). Install a newer one "
             "(Debian 12: apt-get install python3-setuptools; or pip install 'setuptools>=61'), "
             "or put clients/python on PYTHONPATH instead: the package needs no build." % setuptools.__version__)

setuptools.setup()
