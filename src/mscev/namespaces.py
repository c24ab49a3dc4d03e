"""The project's namespaces and its one prefix map (ontology/prefixes.json), shared by every stage."""

import json
from functools import cache

import curies
from rdflib import Graph, Namespace

from mscev.paths import PREFIXES_FILE

MSCEV = Namespace("https://w3id.org/mscev/")
DATA = Namespace("https://w3id.org/mscev/data/")
OBO = Namespace("http://purl.obolibrary.org/obo/")
REVIEW = DATA["review"]
ONTOLOGY_IRI = "https://w3id.org/mscev/ontology"
EXTERNAL_ONTOLOGY_IRI = "https://w3id.org/mscev/imports/external"


@cache
def prefix_map() -> dict[str, str]:
    """Prefix → namespace IRI, in the order of the file (most specific project prefixes first)."""
    return json.loads(PREFIXES_FILE.read_text(encoding="utf-8"))


@cache
def converter() -> curies.Converter:
    """CURIE ↔ IRI conversion for the project's prefixes."""
    return curies.Converter.from_prefix_map(prefix_map())


def bind_prefixes(graph: Graph) -> Graph:
    """Bind every project prefix on ``graph`` so serialisations use them."""
    for prefix, namespace in prefix_map().items():
        graph.bind(prefix, namespace, override=True, replace=True)
    return graph


def curie(iri: str) -> str:
    """The CURIE of ``iri`` if a prefix covers it, else the IRI itself."""
    return converter().compress(iri) or iri
