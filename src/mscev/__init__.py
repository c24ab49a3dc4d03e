"""mscev: a knowledge graph of extracellular vesicles from mesenchymal stem cells of different sources.

The public API mirrors the pipeline stages (see README.md, "Python API").
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("mscev")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"

from mscev.errors import MscevError
from mscev.load import load_graph
from mscev.validate import validate
from mscev.build import build
from mscev.query import open_store, run_query, stored_queries

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
