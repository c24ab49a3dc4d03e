"""Reason stage: OWL reasoning over the ontology, its imports and the data.

Two profiles:
- ``dl`` (default): HermiT (the jar owlready2 ships) — consistency, classification, realisation and property
  values (inverses, chains). The graph goes through rdflib to N-Triples in a temporary folder, and HermiT's
  report is read here (see reason_dl for why not through owlready2).
- ``rl``: the OWL 2 RL closure from the `reasonable` engine (fast, for large graphs). `reasonable` does not
  apply property chains (rule prp-spo2), so those are applied here and the two alternate to a fixpoint.
- ``reason_store``: the OWL 2 RL closure as SPARQL rules inside a pyoxigraph store (mscev.rl_rules), for
  graphs of millions of triples, where `reasonable` runs out of memory (past about 100,000 findings).

Either way the inferred triples come back as a separate graph, so asserted and inferred facts never mix
unmarked. When HermiT finds the graph inconsistent, the axioms the data breaks are looked for directly
(disjoint classes, functional properties, datatype ranges) to name the individuals and axioms involved.
"""

import os
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox
from rdflib import OWL, RDF, RDFS, BNode, Graph, Literal, URIRef
from rdflib.collection import Collection

from mscev.errors import MscevError
from mscev.load import LoadedStore
from mscev.namespaces import bind_prefixes, curie
from mscev.processes import temporary_folder, with_parent

BUILTIN_NAMESPACES = (str(OWL), str(RDF), str(RDFS), "http://www.w3.org/2001/XMLSchema#")
PROFILES = ("dl", "rl")
MAX_RL_ROUNDS = 10
JAVA_MEMORY_VARIABLE = "MSCEV_JAVA_MEMORY"
DEFAULT_JAVA_MEMORY_MB = 2000
JAVA_OUT_OF_MEMORY = ("java.lang.OutOfMemoryError", "Could not reserve enough space", "Cannot allocate memory")


@dataclass
class ReasoningResult:
    profile: str
    consistent: bool
    inferred: Graph
    unsatisfiable: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    explanation: list[str] = field(default_factory=list)

    @property
    def total_seconds(self) -> float:
        return round(sum(self.seconds.values()), 3)

    def counts(self) -> dict[str, int]:
        """Inferred class memberships, subclass links and property values."""
        types = sum(1 for _ in self.inferred.triples((None, RDF.type, None)))
        subclasses = sum(1 for _ in self.inferred.triples((None, RDFS.subClassOf, None)))
        return {"class memberships": types, "subclass links": subclasses,
                "property values": len(self.inferred) - types - subclasses}


@dataclass
class StoreReasoningResult:
    """The OWL 2 RL closure computed in the store (the fast engine); the inferred triples are its graph ``graph``."""

    store: ox.Store | None  # None once a build has written everything from it (mscev.build)
    graph: ox.NamedNode
    consistent: bool
    explanation: list[str]
    seconds: dict[str, float]
    rounds: int
    profile: str = "rl-sparql"
    unsatisfiable: list[str] = field(default_factory=list)
    counted: dict[str, int] | None = field(default=None, repr=False)

    @property
    def total_seconds(self) -> float:
        return round(sum(self.seconds.values()), 3)

    def counts(self) -> dict[str, int]:
        """Inferred class memberships, subclass links and property values (counted once, then kept: the build
        lets go of the store when it has written it)."""
        if self.counted is None:
            self.counted = self._count()
        return self.counted

    def _count(self) -> dict[str, int]:
        row = next(self.store.query(
            "SELECT (COUNT(*) AS ?all) (SUM(IF(?p = rdf:type, 1, 0)) AS ?types) "
            "(SUM(IF(?p = rdfs:subClassOf, 1, 0)) AS ?subclasses) "
            f"WHERE {{ GRAPH <{self.graph.value}> {{ ?s ?p ?o }} }}",
            prefixes={"rdf": str(RDF), "rdfs": str(RDFS)}))
        total, types, subclasses = (int(row[name].value) if row[name] else 0 for name in ("all", "types", "subclasses"))
        return {"class memberships": types, "subclass links": subclasses,
                "property values": total - types - subclasses}


def reason_store(loaded: LoadedStore) -> StoreReasoningResult:
    """The OWL 2 RL closure of the asserted graph, computed with SPARQL rules inside the store."""
    from mscev import rl_rules

    if loaded.graph != rl_rules.ASSERTED:
        raise MscevError(f"the rule engine reads the asserted triples from {rl_rules.ASSERTED.value}")
    started = time.perf_counter()
    rounds = rl_rules.materialise(loaded.store)
    closure = time.perf_counter()
    explanation = rl_rules.contradictions(loaded.store)
    seconds = {"rl rules": round(closure - started, 3), "consistency": round(time.perf_counter() - closure, 3)}
    return StoreReasoningResult(loaded.store, rl_rules.INFERRED, not explanation, explanation, seconds, rounds)


def java_memory() -> int:
    """HermiT's Java heap in MB: MSCEV_JAVA_MEMORY, else owlready2's default of 2000."""
    value = os.environ.get(JAVA_MEMORY_VARIABLE, str(DEFAULT_JAVA_MEMORY_MB))
    if not value.isdigit() or int(value) < 16:
        raise MscevError(f"{JAVA_MEMORY_VARIABLE}={value!r}: give HermiT's Java heap in MB (at least 16), e.g. 4000")
    return int(value)


def java_available() -> bool:
    """HermiT runs on Java; it is optional for `build` and required for `reason --profile dl`."""
    return shutil.which("java") is not None


def reason(graph: Graph, profile: str = "dl") -> ReasoningResult:
    """Reason over ``graph`` with the chosen profile."""
    if profile not in PROFILES:
        raise MscevError(f"--profile {profile!r}: choose dl (HermiT) or rl (OWL 2 RL closure)")
    return reason_dl(graph) if profile == "dl" else reason_rl(graph)


def reason_dl(graph: Graph) -> ReasoningResult:
    """HermiT: consistency, unsatisfiable classes and the inferred triples.

    HermiT (the jar owlready2 ships) runs on the graph as N-Triples and its report is read here. owlready2's own
    reading of that report is not used: for a punned IRI (a class also used as a value, such as a condition) it
    writes every reported parent with the relation of the last line about that IRI, so a class's inferred
    superclasses came back as rdf:type and were lost.
    """
    if not java_available():
        raise MscevError("Java is required for reasoning (HermiT runs on Java) but `java` is not on PATH: "
                         "install a Java runtime (e.g. `apt-get install default-jre-headless`).")
    seconds: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(step: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        seconds[step] = round(now - clock, 3)
        clock = now

    with temporary_folder("reason") as tmp:
        source = Path(tmp) / "graph.nt"
        without_imports = Graph()
        without_imports += (t for t in graph if t[1] != OWL.imports)  # imports are already merged in
        without_imports.serialize(source, format="nt", encoding="utf-8")
        lap("convert")
        report = _run_hermit(source)
    lap("hermit")
    if report is None:
        explanation = explain_inconsistency(graph)
        lap("explain")
        return ReasoningResult("dl", False, Graph(), seconds=seconds, explanation=explanation)
    inferred, unsatisfiable = _hermit_triples(report, graph)
    _add_entailed_types(graph, inferred)
    lap("collect")
    return ReasoningResult("dl", True, inferred, unsatisfiable, seconds)


def _run_hermit(source: Path) -> str | None:
    """HermiT's report on ``source`` (classes, direct types, property values), or None when it is inconsistent."""
    import subprocess

    import owlready2  # only for the HermiT jar it ships and the Java settings
    from owlready2 import reasoning

    command = [owlready2.JAVA_EXE, f"-Xmx{java_memory()}M", "-cp", reasoning._HERMIT_CLASSPATH,
               "org.semanticweb.HermiT.cli.CommandLine", "-c", "-O", "-D", "-I", "-Y", source.resolve().as_uri()]
    # with_parent: the kernel kills HermiT when mscev is killed, instead of leaving it running for minutes
    done = subprocess.run(command, capture_output=True, text=True, **with_parent())
    if done.returncode == 1 and "Inconsistent ontology" in (done.stdout + done.stderr):
        return None
    if done.returncode != 0:
        if any(sign in done.stdout + done.stderr for sign in JAVA_OUT_OF_MEMORY):
            raise MscevError(f"HermiT ran out of memory: its Java heap is {java_memory()} MB (-Xmx). Set "
                             f"{JAVA_MEMORY_VARIABLE} to more MB if the machine has them, or build without the "
                             "reasoner (--no-reason) or with the OWL 2 RL rules (--engine fast).")
        raise MscevError(f"HermiT failed: {(done.stderr or done.stdout).strip()[:2000]}")
    return done.stdout


def reason_rl(graph: Graph) -> ReasoningResult:
    """The OWL 2 RL closure (reasonable, plus property chains), minus what was asserted."""
    import reasonable  # imported only by the stage that needs it

    started = time.perf_counter()
    closure = Graph()
    closure += graph
    for _ in range(MAX_RL_ROUNDS):
        engine = reasonable.PyReasoner()
        engine.from_graph(closure)
        before = len(closure)
        closure += engine.reason()
        closure += property_chain_values(closure)
        if len(closure) == before:
            break
    inferred = bind_prefixes(Graph())
    inferred += (t for t in closure if _informative(t) and not _asserted(graph, t))
    seconds = {"rl closure": round(time.perf_counter() - started, 3)}
    # The RL engine derives no owl:Nothing for our axioms, so contradictions are looked for directly, in the
    # asserted graph plus the inferred types (not the owl:sameAs merges a contradiction itself produces).
    checked = Graph()
    checked += graph
    checked += closure.triples((None, RDF.type, None))
    explanation = explain_inconsistency(checked)
    seconds["consistency"] = round(time.perf_counter() - started - seconds["rl closure"], 3)
    return ReasoningResult("rl", not explanation, inferred if not explanation else Graph(), seconds=seconds,
                           explanation=explanation)


def property_chain_values(graph: Graph) -> set[tuple]:
    """Triples entailed by owl:propertyChainAxiom (OWL 2 RL rule prp-spo2), for chains of any length."""
    derived = set()
    for prop, head in graph.subject_objects(OWL.propertyChainAxiom):
        chain = list(Collection(graph, head))
        pairs = set(graph.subject_objects(chain[0]))
        for step in chain[1:]:
            pairs = {(start, end) for start, middle in pairs for end in graph.objects(middle, step)}
        derived |= {(start, prop, end) for start, end in pairs if (start, prop, end) not in graph}
    return derived


def _asserted(graph: Graph, triple) -> bool:
    """True when ``graph`` states the triple, comparing literals by lexical form (engines retype them)."""
    subject, predicate, obj = triple
    if isinstance(obj, Literal):
        return any(str(value) == str(obj) for value in graph.objects(subject, predicate))
    return triple in graph


def _informative(triple) -> bool:
    """Keep class memberships, subclass links between distinct named classes and domain property values."""
    subject, predicate, obj = triple
    if isinstance(subject, BNode) or isinstance(obj, BNode) or _builtin(subject):
        return False
    if predicate == RDF.type:
        return not _builtin(obj)
    if predicate == RDFS.subClassOf:
        return subject != obj and not _builtin(obj)
    return not _builtin(predicate)


def _builtin(node) -> bool:
    return isinstance(node, URIRef) and str(node).startswith(BUILTIN_NAMESPACES)


HERMIT_AXIOM = re.compile(r"^(SubClassOf|EquivalentClasses|Type)\( ((?:<[^>]+>\s*)+)\)$", re.MULTILINE)
HERMIT_VALUES = re.compile(r"^<([^>]+)> \(known instances:\s*(.*?)\s*\|\s*possible instances:", re.MULTILINE)
HERMIT_PAIR = re.compile(r"\(<([^>]+)>, <([^>]+)>\)")


def _hermit_triples(report: str, asserted: Graph) -> tuple[Graph, list[str]]:
    """The triples HermiT's report entails, minus trivia and what was already asserted; and the unsatisfiable classes.

    HermiT names each set of equivalent classes once (EquivalentClasses) and states the hierarchy for one member,
    so every SubClassOf and Type line is applied to all members of both sides. Equivalent classes give an
    owl:equivalentClass link and a subClassOf link each way, so that queries walking rdfs:subClassOf reach a
    class through its equivalents.
    """
    lines = [(relation, [URIRef(iri) for iri in re.findall(r"<([^>]+)>", names)])
             for relation, names in HERMIT_AXIOM.findall(report)]
    equivalents: dict[URIRef, list[URIRef]] = {}
    unsatisfiable: set[str] = set()
    for relation, iris in lines:
        if relation != "EquivalentClasses":
            continue
        if OWL.Nothing in iris:
            unsatisfiable |= {str(iri) for iri in iris if iri != OWL.Nothing}
        else:
            equivalents.update((iri, iris) for iri in iris)
    members = lambda iri: equivalents.get(iri, [iri])  # noqa: E731
    candidates = set()
    for relation, iris in lines:
        if relation == "SubClassOf":
            candidates |= {(a, RDFS.subClassOf, b) for a in members(iris[0]) for b in members(iris[1])}
        elif relation == "Type":
            candidates |= {(iris[0], RDF.type, b) for b in members(iris[1])}
        elif OWL.Nothing not in iris:
            candidates |= {(a, predicate, b) for a in iris for b in iris if a != b
                           for predicate in (OWL.equivalentClass, RDFS.subClassOf)}
    for prop, pairs in HERMIT_VALUES.findall(report):
        candidates |= {(URIRef(a), URIRef(prop), URIRef(b)) for a, b in HERMIT_PAIR.findall(pairs)}
    inferred = bind_prefixes(Graph())
    inferred += (t for t in candidates if t not in asserted and _informative(t))
    return inferred, sorted(unsatisfiable)


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
            if not isinstance(individual, URIRef) or not isinstance(cls, URIRef) or _builtin(cls):
                continue
            if cls not in supers:
                supers[cls] = set(hierarchy.transitive_objects(cls, RDFS.subClassOf)) - {cls}
            for parent in supers[cls]:
                if (individual, RDF.type, parent) not in asserted and not _builtin(parent):
                    inferred.add((individual, RDF.type, parent))


# --- explanations -------------------------------------------------------------------------------------------

def explain_inconsistency(graph: Graph) -> list[str]:
    """Name the individuals and axioms behind an inconsistency, for the axiom kinds this ontology uses."""
    types = _types_with_superclasses(graph)
    return sorted({*_disjointness_clashes(graph, types), *_functional_clashes(graph), *_datatype_clashes(graph, types)})


def _types_with_superclasses(graph: Graph) -> dict:
    supers: dict = {}
    types: dict = {}
    for individual, cls in graph.subject_objects(RDF.type):
        if isinstance(cls, URIRef) and not _builtin(cls):
            if cls not in supers:
                supers[cls] = set(graph.transitive_objects(cls, RDFS.subClassOf))
            types.setdefault(individual, set()).update(c for c in supers[cls] if isinstance(c, URIRef))
    return types


def _disjoint_pairs(graph: Graph):
    for a, b in graph.subject_objects(OWL.disjointWith):
        yield a, b, f"DisjointClasses({curie(str(a))} {curie(str(b))})"
    for axiom in graph.subjects(RDF.type, OWL.AllDisjointClasses):
        members = list(Collection(graph, graph.value(axiom, OWL.members)))
        label = "AllDisjointClasses(" + " ".join(curie(str(m)) for m in members) + ")"
        for i, a in enumerate(members):
            for b in members[i + 1:]:
                yield a, b, label


def _disjointness_clashes(graph: Graph, types: dict):
    for a, b, axiom in _disjoint_pairs(graph):
        for individual, classes in types.items():
            if a in classes and b in classes:
                yield (f"{curie(str(individual))} is a {curie(str(a))} and a {curie(str(b))}, "
                       f"but the ontology says {axiom}.")


def _functional_clashes(graph: Graph):
    different = set()
    for axiom in graph.subjects(RDF.type, OWL.AllDifferent):
        members = list(Collection(graph, graph.value(axiom, OWL.distinctMembers)))
        different |= {(a, b) for a in members for b in members if a != b}
    for prop in graph.subjects(RDF.type, OWL.FunctionalProperty):
        for subject in set(graph.subjects(prop, None)):
            values = sorted(set(graph.objects(subject, prop)))
            clashing = [(a, b) for i, a in enumerate(values) for b in values[i + 1:]
                        if (a, b) in different or (isinstance(a, Literal) and isinstance(b, Literal))]
            for a, b in clashing:
                yield (f"{curie(str(subject))} has {curie(str(prop))} {_show(a)} and {_show(b)}, "
                       f"but {curie(str(prop))} is functional (one value) and the two values are distinct.")


FACETS = {
    URIRef("http://www.w3.org/2001/XMLSchema#minInclusive"): (lambda v, b: v >= b, ">="),
    URIRef("http://www.w3.org/2001/XMLSchema#maxInclusive"): (lambda v, b: v <= b, "<="),
    URIRef("http://www.w3.org/2001/XMLSchema#minExclusive"): (lambda v, b: v > b, ">"),
    URIRef("http://www.w3.org/2001/XMLSchema#maxExclusive"): (lambda v, b: v < b, "<"),
}


def _datatype_clashes(graph: Graph, types: dict):
    """Values outside a datatype facet restriction (C ⊑ ∀p.xsd:decimal[facet bound])."""
    for cls, restriction in graph.subject_objects(RDFS.subClassOf):
        prop = graph.value(restriction, OWL.onProperty)
        datatype = graph.value(restriction, OWL.allValuesFrom)
        facets = graph.value(datatype, OWL.withRestrictions) if datatype is not None else None
        if prop is None or facets is None:
            continue
        for facet_node in Collection(graph, facets):
            for facet, bound in graph.predicate_objects(facet_node):
                if facet not in FACETS:
                    continue
                test, sign = FACETS[facet]
                for individual, classes in types.items():
                    if cls not in classes:
                        continue
                    for value in graph.objects(individual, prop):
                        if isinstance(value, Literal) and not test(value.toPython(), bound.toPython()):
                            yield (f"{curie(str(individual))} has {curie(str(prop))} {value}, but every "
                                   f"{curie(str(cls))} must have {curie(str(prop))} {sign} {bound}.")


def _show(node) -> str:
    return curie(str(node)) if isinstance(node, URIRef) else repr(str(node))
