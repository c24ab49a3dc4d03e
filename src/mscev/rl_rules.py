"""OWL 2 RL as SPARQL rules over pyoxigraph: the reasoning engine of the fast build, for millions of triples.

The rules are SPARQL updates in src/mscev/rules/, one OWL 2 RL rule (or a pair) per file, over the build
store's named graphs: asserted triples in .../graph/asserted, inferred ones written to .../graph/inferred.

- ``tbox-*.rq`` (class and property hierarchies, equivalences, intersections, unions, existential
  restrictions) run in file order until they add nothing; the class hierarchy is closed in one step with a
  property path.
- ``abox-*.rq`` then run semi-naively: each rule reads one of its facts from the graph ``delta:`` (in the
  first round the asserted graph itself, afterwards only what the previous round derived) and the rest from
  asserted ∪ inferred, and writes what it derives to the graph ``new:``, which joins the inferred graph and
  becomes the next round's delta; rounds go on until one derives nothing. So after the first round a round
  costs what it derives, not the size of the graph. (Every UNION branch repeats its ontology pattern: a
  branch is evaluated on its own, so it must bind its variables itself.)
- ``cleanup.rq`` keeps the informative inferences only (as reason.py's _informative does for the other
  engines); ``check-*.rq`` look for the contradictions the ontology can express (disjoint classes,
  functional properties, datatype facets), and the messages say which individual breaks which axiom, in
  the words of reason.explain_inconsistency.
"""

import re
from pathlib import Path

import pyoxigraph as ox
from rdflib import URIRef

from mscev.errors import MscevError
from mscev.load import to_rdflib
from mscev.namespaces import curie

RULES_DIR = Path(__file__).parent / "rules"
ASSERTED = ox.NamedNode("https://w3id.org/mscev/data/graph/asserted")
INFERRED = ox.NamedNode("https://w3id.org/mscev/data/graph/inferred")
# In the abox rules, delta: (the facts derived in the previous round) and new: (this round's) are placeholders
# that each round points at its own graphs.
ROUND_PREFIX = re.compile(r"^PREFIX (delta|new): <[^>]*>$", re.MULTILINE)
ROUND_GRAPH = "https://w3id.org/mscev/data/graph/rules-round-"
MAX_ROUNDS = 100
# chains and intersections longer than the rule files handle (abox-15, abox-33)
TOO_LONG = """SELECT ?axiom WHERE {
  ?axiom <http://www.w3.org/2002/07/owl#propertyChainAxiom>|<http://www.w3.org/2002/07/owl#intersectionOf> ?list .
  ?list <http://www.w3.org/1999/02/22-rdf-syntax-ns#rest>/<http://www.w3.org/1999/02/22-rdf-syntax-ns#rest>/<http://www.w3.org/1999/02/22-rdf-syntax-ns#rest> ?more .
  FILTER(?more != <http://www.w3.org/1999/02/22-rdf-syntax-ns#nil>)
} LIMIT 1"""
FACET_SIGNS = {"minInclusive": ">=", "maxInclusive": "<=", "minExclusive": ">", "maxExclusive": "<"}


def rules(kind: str) -> list[tuple[str, str]]:
    """(name, SPARQL text) of the rule files of one kind (tbox, abox, check), in file-name order."""
    return [(path.stem, path.read_text(encoding="utf-8")) for path in sorted(RULES_DIR.glob(f"{kind}-*.rq"))]


def graph_size(store: ox.Store, graph: ox.NamedNode) -> int:
    return int(next(store.query(f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph.value}> {{ ?s ?p ?o }} }}"))[0].value)


def materialise(store: ox.Store) -> int:
    """Add the OWL 2 RL closure of the asserted graph to the inferred graph; returns the number of rounds."""
    too_long = list(store.query(TOO_LONG, use_default_graph_as_union=True))
    if too_long:
        raise MscevError(f"the OWL 2 RL rules handle property chains and intersections of two or three members; "
                         f"{_curie(too_long[0]['axiom'])} has more (add a rule file to {RULES_DIR})")
    _run(store, f"DROP SILENT GRAPH <{INFERRED.value}>")
    while True:  # the class and property hierarchies first, to their fixpoint
        before = graph_size(store, INFERRED)
        for name, text in rules("tbox"):
            _run(store, text, name)
        if graph_size(store, INFERRED) == before:
            break
    previous = ASSERTED
    for rounds in range(1, MAX_ROUNDS + 1):
        current = ox.NamedNode(f"{ROUND_GRAPH}{rounds}")
        for name, text in rules("abox"):
            _run(store, ROUND_PREFIX.sub(lambda m: f"PREFIX {m[1]}: <{(previous if m[1] == 'delta' else current).value}>",
                                         text), name)
        if previous != ASSERTED:
            _run(store, f"DROP GRAPH <{previous.value}>")
        if graph_size(store, current) == 0:
            _run(store, f"DROP SILENT GRAPH <{current.value}>")
            break
        _run(store, f"ADD <{current.value}> TO <{INFERRED.value}>")
        previous = current
    else:
        raise MscevError(f"the OWL 2 RL rules found no fixpoint in {MAX_ROUNDS} rounds")
    _run(store, (RULES_DIR / "cleanup.rq").read_text(encoding="utf-8"), "cleanup")
    return rounds


def contradictions(store: ox.Store) -> list[str]:
    """Why the asserted and inferred triples contradict the ontology, one sentence per clash (none: consistent)."""
    messages = set()
    for name, text in rules("check"):
        rows = list(store.query(text, use_default_graph_as_union=True))
        messages |= set(getattr(_Explain(store), name.removeprefix("check-").replace("-", "_"))(rows))
    return sorted(messages)


def _run(store: ox.Store, update: str, name: str = "housekeeping") -> None:
    try:
        store.update(update)
    except (SyntaxError, OSError) as error:
        raise MscevError(f"OWL 2 RL rule {name}: {error}") from None


class _Explain:
    """Messages for the rows of each check-*.rq query."""

    def __init__(self, store: ox.Store):
        self.store = store

    def disjoint_classes(self, rows):
        for row in rows:
            a, b, axiom = row["a"], row["b"], row["axiom"]
            if axiom is None:
                text = f"DisjointClasses({_curie(a)} {_curie(b)})"
            else:
                members = self.members(axiom)
                if members.index(a) > members.index(b):
                    continue
                text = "AllDisjointClasses(" + " ".join(_curie(m) for m in members) + ")"
            yield f"{_curie(row['individual'])} is a {_curie(a)} and a {_curie(b)}, but the ontology says {text}."

    def functional_properties(self, rows):
        for row in rows:
            a, b = sorted((to_rdflib(row["a"]), to_rdflib(row["b"])))
            prop = _curie(row["property"])
            yield (f"{_curie(row['subject'])} has {prop} {_show(a)} and {_show(b)}, "
                   f"but {prop} is functional (one value) and the two values are distinct.")

    def datatype_facets(self, rows):
        for row in rows:
            prop = _curie(row["property"])
            sign = FACET_SIGNS[row["facet"].value.rsplit("#", 1)[-1]]
            yield (f"{_curie(row['individual'])} has {prop} {row['value'].value}, but every "
                   f"{_curie(row['class'])} must have {prop} {sign} {row['bound'].value}.")

    def members(self, axiom) -> list:
        """The members of an owl:AllDisjointClasses axiom, in list order."""
        owl, rdf = "http://www.w3.org/2002/07/owl#", "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
        node = next(self.store.quads_for_pattern(axiom, ox.NamedNode(owl + "members"), None)).object
        members = []
        while node != ox.NamedNode(rdf + "nil"):
            members.append(next(self.store.quads_for_pattern(node, ox.NamedNode(rdf + "first"), None)).object)
            node = next(self.store.quads_for_pattern(node, ox.NamedNode(rdf + "rest"), None)).object
        return members


def _curie(term) -> str:
    return curie(term.value)


def _show(node) -> str:
    return curie(str(node)) if isinstance(node, URIRef) else repr(str(node))
