"""The project's namespaces and its one prefix map (ontology/prefixes.json), shared by every stage.

rdflib and curies take about 0.3 s each to import, so they are imported only when used: `mscev query` needs
CURIEs for every IRI it prints but neither library (see curie() and expand()).
"""

from __future__ import annotations

import json
from functools import cache, lru_cache
from typing import TYPE_CHECKING

from mscev.paths import PREFIXES_FILE

if TYPE_CHECKING:
    import curies
    from rdflib import Graph

NAMESPACES = {"MSCEV": "https://w3id.org/mscev/", "DATA": "https://w3id.org/mscev/data/",
              "OBO": "http://purl.obolibrary.org/obo/"}
ONTOLOGY_IRI = "https://w3id.org/mscev/ontology"
EXTERNAL_ONTOLOGY_IRI = "https://w3id.org/mscev/imports/external"


@cache
def prefix_map() -> dict[str, str]:
    """Prefix → namespace IRI, in the order of the file (most specific project prefixes first)."""
    return json.loads(PREFIXES_FILE.read_text(encoding="utf-8"))


def __getattr__(name: str):
    """MSCEV, DATA, OBO (rdflib Namespaces) and REVIEW, made on first use so that rdflib loads only when needed."""
    if name not in (*NAMESPACES, "REVIEW"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from rdflib import Namespace

    value = Namespace(NAMESPACES["DATA"])["review"] if name == "REVIEW" else Namespace(NAMESPACES[name])
    globals()[name] = value
    return value


@cache
def converter() -> curies.Converter:
    """CURIE ↔ IRI conversion for the project's prefixes."""
    import curies

    return curies.Converter.from_prefix_map(prefix_map())


@cache
def _namespaces_longest_first() -> list[tuple[str, str]]:
    return sorted(((namespace, prefix) for prefix, namespace in prefix_map().items()), key=lambda p: -len(p[0]))


def bind_prefixes(graph: Graph) -> Graph:
    """Bind every project prefix on ``graph`` so serialisations use them."""
    for prefix, namespace in prefix_map().items():
        graph.bind(prefix, namespace, override=True, replace=True)
    return graph


@lru_cache(maxsize=1 << 16)  # the KGX export of a large graph asks for the same conditions, studies, taxa millions of times
def curie(iri: str) -> str:
    """The CURIE of ``iri`` if a prefix covers it (the longest namespace wins, as in curies), else the IRI itself.

    >>> curie("http://purl.obolibrary.org/obo/MONDO_0005178")
    'MONDO:0005178'
    """
    for namespace, prefix in _namespaces_longest_first():
        if iri.startswith(namespace):
            return f"{prefix}:{iri[len(namespace):]}"
    return iri


def expand(text: str) -> str | None:
    """The IRI of a CURIE with a known prefix, else None (same answers as curies' expand, without its import cost).

    >>> expand("finding:ref26-cartilage-regeneration")
    'https://w3id.org/mscev/data/finding/ref26-cartilage-regeneration'
    """
    prefix, colon, local = text.partition(":")
    namespace = prefix_map().get(prefix) if colon else None
    return None if namespace is None else namespace + local
