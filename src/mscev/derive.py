"""Derive stage: direct statements and summaries, computed at build time from the detailed graph.

The detailed findings (n-ary nodes with provenance) stay the truth. Beside them the build keeps, in named
graphs of their own, what users ask about most, one hop away:
- direct statements (graph .../graph/direct, vocabulary ``direct:``), as Wikidata keeps its truthy ``wdt:``
  properties beside its full statements: finding → MSC source class, condition, EV subtype, species, outcome,
  cargo, targets, pathways; source class → conditions tested; preparation → pathways it may modulate;
- summaries (graph .../graph/summaries): VoID class and property partitions of the asserted graph and data-cube
  observations (findings per source, per condition, per area, per source × condition, per EV subtype).

The rules are SPARQL CONSTRUCT files in rules/direct/ and rules/summaries/ (data, not code). They run in file
order over the union of the asserted, inferred and already derived graphs, so a later rule may read an earlier
one's output (the summaries count the direct statements). Each rule's triples are added before the next runs.
SPARQL cannot number rows, so a rule that places findings in an order is a SELECT of ?finding alone, in that
order: the n-th finding it lists gets ``direct:position n`` (the findings listing pages by it).
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox

from mscev.atomic import writing
from mscev.errors import MscevError
from mscev.paths import RULES_DIR


@dataclass(frozen=True)
class DerivedGraph:
    name: str  # the rules' folder under rules/ and the file the build writes (NAME.ttl)
    graph: ox.NamedNode
    description: str

    @property
    def rules(self) -> list[Path]:
        return sorted((RULES_DIR / self.name).glob("*.rq"))

    @property
    def file_name(self) -> str:
        return f"{self.name}.ttl"


DIRECT_GRAPH = ox.NamedNode("https://w3id.org/mscev/data/graph/direct")
SUMMARIES_GRAPH = ox.NamedNode("https://w3id.org/mscev/data/graph/summaries")
DERIVED_GRAPHS = (
    DerivedGraph("direct", DIRECT_GRAPH, "Direct statements derived at build time by the rules of rules/direct/ "
                 "from the asserted and inferred graphs: short paths beside the detailed findings, each led by the "
                 "finding (or source class, or preparation) it is derived from."),
    DerivedGraph("summaries", SUMMARIES_GRAPH, "Summaries computed at build time by the rules of rules/summaries/: "
                 "VoID class and property partitions of the asserted graph and data-cube counts of findings."),
)


POSITION = ox.NamedNode("https://w3id.org/mscev/direct/position")
XSD_INTEGER = ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer")


def run_rule(store: ox.Store, rule: Path) -> "ox.QueryTriples | Iterator[ox.Triple]":
    """The triples one rule derives from everything the store holds (read lazily): a CONSTRUCT rule's own, or
    for a SELECT rule that lists findings in order, ``?finding direct:position n`` for the n-th."""
    try:
        results = store.query(rule.read_text(encoding="utf-8"), use_default_graph_as_union=True)
    except (SyntaxError, OSError) as error:
        raise MscevError(f"{rule}: cannot run the derivation rule ({error})") from None
    if not isinstance(results, ox.QuerySolutions):
        return results
    if [variable.value for variable in results.variables] != ["finding"]:
        raise MscevError(f"{rule}: a SELECT rule lists ?finding alone, in the order it numbers them")
    return (ox.Triple(row[0], POSITION, ox.Literal(str(number), datatype=XSD_INTEGER))
            for number, row in enumerate(results, start=1))


def derive(store: ox.Store, scratch: Path,
           on_graph: Callable[[DerivedGraph], None] = lambda derived: None) -> dict[str, int]:
    """Run every rule of every derived graph into its named graph of ``store``; returns triples per graph.
    ``on_graph`` is called with each graph once its rules have run (its triples are then final).

    Each rule is one query over the whole store, and its triples go from the query to the store without Python
    objects: serialized as N-Triples into a file in ``scratch``, then loaded in one transaction (the file is then
    removed; Store.load took half the CPU of Store.bulk_load into the in-memory store of 100,000 findings)."""
    counts = {}
    for derived in DERIVED_GRAPHS:
        if not derived.rules:
            raise MscevError(f"{RULES_DIR / derived.name}: no derivation rules (*.rq) for the {derived.name} graph")
        for rule in derived.rules:
            part = Path(scratch) / f".{derived.name}-{rule.stem}.nt"
            try:
                triples = run_rule(store, rule)
                if isinstance(triples, ox.QueryTriples):  # written without Python objects
                    triples.serialize(str(part), ox.RdfFormat.N_TRIPLES)
                else:
                    ox.serialize(triples, str(part), ox.RdfFormat.N_TRIPLES)
                store.load(path=str(part), format=ox.RdfFormat.N_TRIPLES, to_graph=derived.graph)
            finally:
                part.unlink(missing_ok=True)
        found = store.query(f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH {derived.graph} {{ ?s ?p ?o }} }}")
        counts[derived.name] = int(next(found)[0].value)
        on_graph(derived)
    return counts


def write_derived(derived: DerivedGraph, sorted_ntriples: Path, folder: Path, prefixes: dict[str, str]) -> None:
    """The derived graph as NAME.ttl in ``folder``, from its N-Triples sorted by line (so that the same graph gives
    the same file), headed by a comment that says what it is."""
    with writing(folder / derived.file_name) as handle:  # replaced whole, also in a build that `mscev reason` updates
        handle.write(f"# {derived.description}\n# In the store: the named graph <{derived.graph.value}>.\n"
                     .encode("utf-8"))
        ox.serialize(ox.parse(path=str(sorted_ntriples), format=ox.RdfFormat.N_TRIPLES), handle, ox.RdfFormat.TURTLE,
                     prefixes=prefixes)
