"""mscev: a knowledge graph of extracellular vesicles from mesenchymal stem cells of different sources.

The public API mirrors the pipeline stages (see README.md, "Python API").
"""

import sys
from importlib import import_module
from types import ModuleType

from mscev.errors import MscevError

# The stages load on first use, so that `mscev query` never pays for rdflib, pyshacl or owlready2. `build` and
# `validate` are also submodule names, which the import system binds on the package when they load; the
# package's class therefore answers the API names itself, before its own attributes.
_API = {"load_graph": "mscev.load", "validate": "mscev.validate", "build": "mscev.build",
        "open_store": "mscev.query", "run_query": "mscev.query", "stored_queries": "mscev.query"}


def _version() -> str:
    """The installed package's version (pyproject.toml is the one source), read only when asked for."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("mscev")
    except PackageNotFoundError:  # running from a source tree without installation
        return "0.0.0+unknown"


class _Package(ModuleType):
    def __getattribute__(self, name: str):
        if name == "__version__":
            return _version()
        if name in _API:
            return getattr(import_module(_API[name]), name)
        return super().__getattribute__(name)


sys.modules[__name__].__class__ = _Package

__all__ = [
    "MscevError",
    "__version__",
    "build",
    "load_graph",
    "open_store",
    "run_query",
    "stored_queries",
    "validate",
]
