"""Export stage: the built graph in the standard RDF forms, byte-identical for identical input.

Determinism. The curated triples have no blank nodes, but the ontology's OWL restrictions and lists do. Before
anything is written, every blank node gets a canonical label by RDF Dataset Canonicalization (RDFC-1.0, see
canonical_quads), so the same graph always gets the same labels (the build's files use the same function). Each form is then written in a fixed order: N-Triples
and N-Quads sorted by line; Turtle by rdflib's sorted pretty-printer; TriG by the same printer with the graphs
in IRI order (rdflib's own TriG writer takes them in hash order); JSON-LD with nodes and values sorted before
PyLD compacts them; RDF/XML by pyoxigraph from sorted triples (rdflib's plain RDF/XML writer iterates in hash
order, and its pretty one drops triples on OWL lists).

JSON-LD is compacted by PyLD, the JSON-LD processor of the specification's authors, because rdflib's compactor
splits IRIs only at '/', '#' or ':' and so writes obo:MONDO_0005178 where the context defines MONDO:0005178.

Nanopublications (TriG, N-Quads): one per finding (mscev:Finding, including mscev:Comparison). Its assertion
graph holds the finding's statements and those of its effect nodes; its provenance graph holds the finding's
own provenance statements (cited study, statedIn, review section, quote) and the value origins of the
finding and its effects (values taken from outside the review's body text: mscev:valueOrigin and the origin
nodes), plus ``<assertion> prov:wasDerivedFrom`` the cited studies and the review; its publication-info graph
holds creator, licence and date. Everything that is not part of a finding (ontology, imports, references, sources, preparations, ...) is in the named graph
BACKGROUND_GRAPH; the default graph is empty. The union of all graphs is the exported graph plus the
bookkeeping triples, and those are exactly the triples whose subject is a nanopublication or one of its graphs.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
from datetime import date, datetime, timezone
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from mscev.errors import MscevError
from mscev.namespaces import EXTERNAL_ONTOLOGY_IRI, ONTOLOGY_IRI, bind_prefixes, prefix_map
from mscev.paths import DEFAULT_BUILD_DIR, EXTERNAL_FILE, ONTOLOGY_DIR, ONTOLOGY_FILE

if TYPE_CHECKING:
    from rdflib import Dataset, Graph

FORMATS = {
    "ttl": "Turtle",
    "nt": "N-Triples (sorted)",
    "jsonld": "JSON-LD (compacted with ontology/context.jsonld)",
    "rdfxml": "RDF/XML of the ontology and its imports (for Protégé)",
    "trig": "TriG, one nanopublication per finding",
    "nq": "N-Quads, one nanopublication per finding (sorted)",
}
STREAMED_FORMATS = ("nt", "jsonld")
CONTEXT_FILE = ONTOLOGY_DIR / "context.jsonld"
DATASET_FILE = ONTOLOGY_DIR / "dataset.ttl"
BACKGROUND_GRAPH = "https://w3id.org/mscev/data/graph/background"
NANOPUB = prefix_map()["nanopub"]
MSCEV = prefix_map()["mscev"]
PROVENANCE_PREDICATES = tuple(MSCEV + name for name in ("citedStudy", "statedIn", "reviewSection", "evidenceQuote"))


def export(fmt: str, build_dir: Path = DEFAULT_BUILD_DIR, inferred: bool = False) -> bytes:
    """The built graph (asserted, or with ``inferred`` also the reasoner's triples) in ``fmt`` (see FORMATS)."""
    from mscev.query import open_store

    if fmt not in FORMATS:
        raise MscevError(f"--format {fmt!r}: choose one of {', '.join(FORMATS)}")
    open_store(build_dir, checksums=True)
    if fmt == "rdfxml":
        return to_rdfxml(ontology_graph())
    graph = built_graph(build_dir, inferred=inferred)
    if fmt in ("trig", "nq"):
        quads = nanopublications(graph, issued_date())
        return to_trig(quads) if fmt == "trig" else to_nquads(quads)
    return {"ttl": to_turtle, "nt": to_ntriples, "jsonld": to_jsonld}[fmt](graph)


def streams(fmt: str, build_dir: Path = DEFAULT_BUILD_DIR) -> bool:
    """Whether ``fmt`` is written streaming: N-Triples and JSON-LD of a build made by the fast engine, whose
    graph (millions of triples) rdflib, its canonicaliser and PyLD would take hours and tens of GB to write."""
    if fmt not in STREAMED_FORMATS:
        return False
    try:
        return json.loads((Path(build_dir) / "summary.json").read_text(encoding="utf-8")).get("engine") == "fast"
    except (OSError, ValueError):
        return False


def write_streamed(fmt: str, handle: BinaryIO, build_dir: Path = DEFAULT_BUILD_DIR, inferred: bool = False) -> None:
    """N-Triples: build/graph.nt as the build wrote it (sorted), then, with ``inferred``, the inferred triples
    sorted. JSON-LD: the same triples through pyoxigraph's streaming writer, with the project's prefixes as
    its @context (a flat document, not compacted with ontology/context.jsonld as the reference export is).
    Both are made from the build's own files in a fixed order, so the same build gives the same bytes."""
    import pyoxigraph as ox

    from mscev.query import INFERRED_GRAPH, open_store

    store = open_store(build_dir, checksums=True)
    asserted = Path(build_dir) / "graph.nt"
    if not asserted.is_file():
        raise MscevError(f"no {asserted}: run `mscev build` again")
    extra = b""
    if inferred:
        triples = (ox.Triple(q.subject, q.predicate, q.object)
                   for q in store.quads_for_pattern(None, None, None, INFERRED_GRAPH))
        extra = _sorted_lines(ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES))
    with open(asserted, "rb") as source:
        if fmt == "nt":
            shutil.copyfileobj(source, handle, 1 << 20)
            handle.write(extra)
            return
        stream_jsonld(itertools.chain(ox.parse(source, ox.RdfFormat.N_TRIPLES), ox.parse(extra, ox.RdfFormat.N_TRIPLES)),
                      handle)


def stream_jsonld(triples: Iterable, handle: BinaryIO) -> None:
    """Triples as flat JSON-LD by pyoxigraph's streaming writer, the project's prefixes as its @context."""
    import pyoxigraph as ox

    ox.serialize(triples, handle, ox.RdfFormat.JSON_LD, prefixes=prefix_map())


# ---------------------------------------------------------------------------------------------------- reading


def built_graph(build_dir: Path = DEFAULT_BUILD_DIR, inferred: bool = False, asserted: bool = True) -> Graph:
    """The graph written by `mscev build`, canonical: its asserted triples (build/graph.nt, lexical forms exactly
    as curated; the store would give canonical ones, 100 for 100.0) and/or the store's inferred named graph."""
    import pyoxigraph as ox
    from rdflib import Graph

    from mscev.query import INFERRED_GRAPH, open_store

    store = open_store(build_dir)
    graph = Graph()
    if asserted:
        path = Path(build_dir) / "graph.nt"
        if not path.is_file():
            raise MscevError(f"no {path}: run `mscev build` again")
        graph.parse(path, format="nt")
    if inferred:
        triples = (ox.Triple(q.subject, q.predicate, q.object)
                   for q in store.quads_for_pattern(None, None, None, INFERRED_GRAPH))
        graph.parse(data=ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES).decode("utf-8"), format="nt")
    return canonical(graph)


def derived_ntriples(build_dir: Path = DEFAULT_BUILD_DIR) -> bytes:
    """The build's derived graphs (direct statements and summaries, mscev.derive) as sorted N-Triples."""
    import pyoxigraph as ox

    from mscev.derive import DERIVED_GRAPHS
    from mscev.query import open_store

    store = open_store(build_dir)
    triples = (ox.Triple(q.subject, q.predicate, q.object) for derived in DERIVED_GRAPHS
               for q in store.quads_for_pattern(None, None, None, derived.graph))
    return _sorted_lines(ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES))


def ontology_graph() -> Graph:
    """The ontology merged with its import module (owl:imports dropped), canonical: one file Protégé opens offline."""
    from rdflib import OWL, Graph, URIRef

    from mscev.load import parse_turtle

    graph = Graph()
    for path in (ONTOLOGY_FILE, EXTERNAL_FILE):
        graph += parse_turtle(path)
    graph.remove((URIRef(ONTOLOGY_IRI), OWL.imports, URIRef(EXTERNAL_ONTOLOGY_IRI)))
    graph.remove((URIRef(EXTERNAL_ONTOLOGY_IRI), None, None))
    return canonical(graph)


def canonical(graph: Graph) -> Graph:
    """A copy of ``graph`` with canonical blank-node labels (canonical_quads) and the project's prefixes bound."""
    import pyoxigraph as ox
    from rdflib import BNode, Graph

    from mscev.load import to_oxigraph, to_rdflib

    result = bind_prefixes(Graph())
    blank = []
    for triple in graph:
        if isinstance(triple[0], BNode) or isinstance(triple[2], BNode):
            blank.append(ox.Quad(*map(to_oxigraph, triple)))
        else:
            result.add(triple)
    for quad in canonical_quads(blank):
        result.add((to_rdflib(quad.subject), to_rdflib(quad.predicate), to_rdflib(quad.object)))
    return result


def canonical_quads(quads: Iterable) -> list:
    """The quads with their blank nodes relabelled by RDF Dataset Canonicalization (W3C RDFC-1.0, pyoxigraph's
    implementation): _:c14n0, _:c14n1, ... by the hashes of each node's surroundings, the same for the same graph
    whatever labels it came with. Pass only the quads that hold a blank node: RDFC-1.0 labels a node from the
    quads it appears in, so the others change nothing and the graph of millions of triples need not be copied.
    The numbering follows the hash order, so adding a blank node renumbers those hashed after it."""
    import pyoxigraph as ox

    dataset = ox.Dataset(quads)
    dataset.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
    return list(dataset)


def issued_date() -> date:
    """The release date: SOURCE_DATE_EPOCH when set (reproducible-builds convention), else dcterms:issued of
    ontology/dataset.ttl, the date of the version in pyproject.toml. Never the clock, so exports stay identical."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        try:
            return datetime.fromtimestamp(int(epoch), tz=timezone.utc).date()
        except (ValueError, OverflowError):
            raise MscevError(f"SOURCE_DATE_EPOCH={epoch!r}: not a count of seconds since 1970") from None
    from rdflib import DCTERMS

    from mscev.load import parse_turtle

    issued = list(parse_turtle(DATASET_FILE).objects(None, DCTERMS.issued))
    if len(issued) != 1 or not isinstance(issued[0].toPython(), date):
        raise MscevError(f"{DATASET_FILE}: give the dataset exactly one dcterms:issued \"YYYY-MM-DD\"^^xsd:date")
    return issued[0].toPython()


# ---------------------------------------------------------------------------------------------------- writing


def to_turtle(graph: Graph) -> bytes:
    return graph.serialize(format="turtle", encoding="utf-8")


def to_ntriples(graph: Graph) -> bytes:
    return _sorted_lines(graph.serialize(format="nt", encoding="utf-8"))


def to_nquads(dataset: Dataset) -> bytes:
    return _sorted_lines(dataset.serialize(format="nquads", encoding="utf-8"))


def to_rdfxml(graph: Graph) -> bytes:
    import pyoxigraph as ox

    lines = to_ntriples(graph)
    triples = ox.parse(lines, format=ox.RdfFormat.N_TRIPLES)
    return ox.serialize(triples, format=ox.RdfFormat.RDF_XML, prefixes=_used_prefixes(lines))


def to_trig(dataset: Dataset) -> bytes:
    """rdflib's TriG (readable: prefixes, nested lists, no escaped names) with the graphs in IRI order."""
    from io import BytesIO

    from rdflib.plugins.serializers.trig import TrigSerializer

    class SortedTrigSerializer(TrigSerializer):
        def __init__(self, store):
            super().__init__(store)
            self.contexts.sort(key=lambda graph: str(graph.identifier))

    stream = BytesIO()
    SortedTrigSerializer(dataset).serialize(stream, encoding="utf-8")
    return stream.getvalue()


def to_jsonld(graph: Graph) -> bytes:
    """Compacted JSON-LD with the published context (ontology/context.jsonld) embedded."""
    from pyld import jsonld

    expanded = json.loads(graph.serialize(format="json-ld"))
    compacted = jsonld.compact(_ordered(expanded), jsonld_context())
    return (json.dumps(compacted, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def jsonld_context() -> dict:
    """The published JSON-LD context document (kept in step with ontology/prefixes.json by a test)."""
    try:
        return json.loads(CONTEXT_FILE.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise MscevError(f"{CONTEXT_FILE}: cannot read the JSON-LD context ({error})") from None


def _ordered(value):
    """Expanded JSON-LD with node objects sorted by @id and every value array sorted (@list order is kept)."""
    if isinstance(value, dict):
        return {key: (item if key == "@list" else _ordered(item)) for key, item in value.items()}
    if isinstance(value, list):
        return sorted((_ordered(item) for item in value), key=lambda item: json.dumps(item, sort_keys=True))
    return value


def _sorted_lines(data: bytes) -> bytes:
    lines = sorted(set(data.decode("utf-8").splitlines()) - {""})
    return "".join(f"{line}\n" for line in lines).encode("utf-8")


def _used_prefixes(lines: bytes) -> dict[str, str]:
    """The project prefixes whose namespace starts some IRI of these N-Triples/N-Quads (files declare only those)."""
    text = lines.decode("utf-8")
    return {prefix: ns for prefix, ns in prefix_map().items() if f"<{ns}" in text}


# ---------------------------------------------------------------------------------------------------- nanopublications


def instances(graph: Graph, cls: str) -> list:
    """The instances of ``cls`` and of its subclasses in ``graph`` (asserted rdfs:subClassOf), sorted."""
    from rdflib import RDF, RDFS, URIRef

    classes = set(graph.transitive_subjects(RDFS.subClassOf, URIRef(cls)))
    return sorted({node for c in classes for node in graph.subjects(RDF.type, c)})


def findings(graph: Graph) -> list:
    """Every finding of ``graph``: instances of mscev:Finding, including mscev:Comparison."""
    return instances(graph, MSCEV + "Finding")


def nanopublication_iri(finding) -> str:
    """nanopub:<local name of the finding>; its graphs are <that>#Head, #assertion, #provenance, #pubinfo."""
    return NANOPUB + str(finding).rstrip("/").rsplit("/", 1)[-1]


def nanopublications(graph: Graph, issued: date) -> Dataset:
    """``graph`` as one nanopublication per finding plus the background graph (see the module docstring)."""
    from rdflib import DCTERMS, RDF, XSD, Dataset, Literal, Namespace, URIRef

    np_ = Namespace(prefix_map()["np"])
    prov = Namespace(prefix_map()["prov"])
    review = URIRef(prefix_map()["mscev-data"] + "review")
    ontology = URIRef(ONTOLOGY_IRI)
    dataset = Dataset()
    bind_prefixes(dataset)
    background = dataset.graph(URIRef(BACKGROUND_GRAPH))
    owner = {}
    value_origin = URIRef(MSCEV + "valueOrigin")
    for finding in findings(graph):
        owner[finding] = finding
        for effect in graph.objects(finding, URIRef(MSCEV + "hasEffect")):
            owner.setdefault(effect, finding)
        for node in (finding, *graph.objects(finding, URIRef(MSCEV + "hasEffect"))):
            for origin in graph.objects(node, value_origin):
                owner.setdefault(origin, finding)
    origins = set(graph.subjects(RDF.type, URIRef(MSCEV + "ValueOrigin")))
    graphs = {finding: {part: dataset.graph(URIRef(f"{nanopublication_iri(finding)}#{part}"))
                        for part in ("Head", "assertion", "provenance", "pubinfo")} for finding in set(owner.values())}
    provenance_predicates = {URIRef(p) for p in PROVENANCE_PREDICATES} | {value_origin}
    for s, p, o in graph:
        finding = owner.get(s)
        if finding is None:
            background.add((s, p, o))
        else:
            provenance = (s == finding and p in provenance_predicates) or p == value_origin or s in origins
            part = "provenance" if provenance else "assertion"
            graphs[finding][part].add((s, p, o))
    for finding, parts in graphs.items():
        nanopub = URIRef(nanopublication_iri(finding))
        head, assertion = parts["Head"], parts["assertion"].identifier
        head.add((nanopub, RDF.type, np_.Nanopublication))
        head.add((nanopub, np_.hasAssertion, assertion))
        head.add((nanopub, np_.hasProvenance, parts["provenance"].identifier))
        head.add((nanopub, np_.hasPublicationInfo, parts["pubinfo"].identifier))
        for source in sorted({*graph.objects(finding, URIRef(MSCEV + "citedStudy")), review}):
            parts["provenance"].add((assertion, prov.wasDerivedFrom, source))
        parts["pubinfo"].add((nanopub, DCTERMS.created, Literal(issued.isoformat(), datatype=XSD.date)))
        for predicate in (DCTERMS.creator, DCTERMS.license):
            for value in graph.objects(ontology, predicate):
                parts["pubinfo"].add((nanopub, predicate, value))
    return dataset
