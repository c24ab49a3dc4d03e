"""Reason stage: OWL 2 DL reasoning with HermiT (through owlready2) over the ontology, imports and data.

owlready2 does not read Turtle, so the merged graph goes through rdflib to N-Triples in a temporary folder.
The facts HermiT adds (class memberships, subclass links, property values from inverses and chains) are
returned as a separate graph, so that asserted and inferred triples never mix unmarked.
"""

import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from rdflib import OWL, RDF, RDFS, BNode, Graph, Literal, URIRef

from mscev.errors import MscevError
from mscev.namespaces import bind_prefixes

INFERENCES_ONTOLOGY = "http://inferrences/"  # sic: owlready2's name for the ontology it writes inferences to
TRIVIAL_OBJECTS = {OWL.Thing, OWL.NamedIndividual, OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty}


@dataclass
class ReasoningResult:
    consistent: bool
    inferred: Graph
    unsatisfiable: list[str] = field(default_factory=list)
    seconds: float = 0.0
    explanation: str = ""

    @property
    def inferred_types(self) -> int:
        return sum(1 for _ in self.inferred.triples((None, RDF.type, None)))


def java_available() -> bool:
    """HermiT runs on Java; it is optional for `build` and required for `reason`."""
    return shutil.which("java") is not None


def reason(graph: Graph) -> ReasoningResult:
    """Run HermiT over ``graph``; report consistency, unsatisfiable classes and the inferred triples."""
    if not java_available():
        raise MscevError("Java is required for reasoning (HermiT runs on Java) but `java` is not on PATH: "
                         "install a Java runtime (e.g. `apt-get install default-jre-headless`).")
    import owlready2  # heavy: imported only by the stage that needs it

    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="mscev-reason-") as tmp:
        source = Path(tmp) / "graph.nt"
        without_imports = Graph()
        without_imports += (t for t in graph if t[1] != OWL.imports)  # imports are already merged in
        without_imports.serialize(source, format="nt", encoding="utf-8")
        world = owlready2.World(filename=str(Path(tmp) / "world.sqlite3"))
        with source.open("rb") as handle:
            world.get_ontology("https://w3id.org/mscev/reasoning-input").load(fileobj=handle, format="ntriples")
        try:
            owlready2.sync_reasoner_hermit(world, infer_property_values=True, debug=0)
        except owlready2.OwlReadyInconsistentOntologyError:
            return ReasoningResult(False, Graph(), seconds=time.perf_counter() - started)
        except owlready2.OwlReadyJavaError as error:
            raise MscevError(f"HermiT failed: {str(error).strip()[:2000]}") from None
        inferred = _inferred_graph(world, graph)
        _add_entailed_types(graph, inferred)
        unsatisfiable = sorted(str(c.iri) for c in world.inconsistent_classes() if hasattr(c, "iri"))
        world.close()
    return ReasoningResult(True, inferred, unsatisfiable, time.perf_counter() - started)


def _inferred_graph(world, asserted: Graph) -> Graph:
    """The triples owlready2 wrote to its inference ontology, minus trivia and what was already asserted."""
    inferred = bind_prefixes(Graph())
    ontology = world.get_ontology(INFERENCES_ONTOLOGY)
    for s, p, o in ontology.get_triples():
        triple = (_term(world, s), _term(world, p), _term(world, o))
        if any(isinstance(t, BNode) for t in triple) or triple[2] in TRIVIAL_OBJECTS or triple[0] == URIRef(INFERENCES_ONTOLOGY.rstrip("/")):
            continue
        if triple not in asserted:
            inferred.add(triple)
    return inferred


def _add_entailed_types(asserted: Graph, inferred: Graph) -> None:
    """HermiT reports only the most specific types; add every named superclass type they entail.

    So that a Wharton's jelly MSC population is also, visibly, an umbilical cord MSC population and a CL
    mesenchymal stem cell, for queries that do not walk rdfs:subClassOf themselves.
    """
    hierarchy = Graph()
    for source in (asserted, inferred):
        hierarchy += ((s, p, o) for s, p, o in source.triples((None, RDFS.subClassOf, None))
                      if isinstance(s, URIRef) and isinstance(o, URIRef))
    supers: dict[URIRef, set[URIRef]] = {}
    for source in (asserted, inferred):
        for individual, _, cls in list(source.triples((None, RDF.type, None))):
            if not isinstance(individual, URIRef) or not isinstance(cls, URIRef) or cls in TRIVIAL_OBJECTS:
                continue
            if cls not in supers:
                supers[cls] = set(hierarchy.transitive_objects(cls, RDFS.subClassOf)) - {cls}
            for parent in supers[cls]:
                if (individual, RDF.type, parent) not in asserted and parent not in TRIVIAL_OBJECTS:
                    inferred.add((individual, RDF.type, parent))


def _term(world, value):
    """owlready2 store id → rdflib term (positive ids are IRIs, negative ones blank nodes)."""
    if isinstance(value, int):
        if value < 0:
            return BNode(f"b{-value}")
        return URIRef(world._unabbreviate(value))
    return Literal(value)
