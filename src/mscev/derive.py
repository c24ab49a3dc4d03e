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
"""

from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox

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


def run_rule(store: ox.Store, rule: Path) -> list[ox.Triple]:
    """The triples one CONSTRUCT rule derives from everything the store holds."""
    try:
        return list(store.query(rule.read_text(encoding="utf-8"), use_default_graph_as_union=True))
    except (SyntaxError, OSError) as error:
        raise MscevError(f"{rule}: cannot run the derivation rule ({error})") from None


def derive(store: ox.Store) -> dict[str, int]:
    """Run every rule of every derived graph into its named graph of ``store``; returns triples per graph."""
    counts = {}
    for derived in DERIVED_GRAPHS:
        for rule in derived.rules:
            store.extend(ox.Quad(t.subject, t.predicate, t.object, derived.graph) for t in run_rule(store, rule))
        counts[derived.name] = sum(1 for _ in store.quads_for_pattern(None, None, None, derived.graph))
    return counts


def copy_derived(source: ox.Store, target: ox.Store, folder: Path) -> None:
    """The derived graphs of ``source`` added to ``target`` (the build's on-disk store), through N-Triples
    files in ``folder`` (bulk loading), which are then removed."""
    for derived in DERIVED_GRAPHS:
        path = folder / f".{derived.name}.nt"
        source.dump(str(path), ox.RdfFormat.N_TRIPLES, from_graph=derived.graph)
        target.bulk_load(path=str(path), format=ox.RdfFormat.N_TRIPLES, to_graph=derived.graph)
        path.unlink()


def write_derived(store: ox.Store, folder: Path, prefixes: dict[str, str]) -> None:
    """Each derived graph as NAME.ttl in ``folder``, headed by a comment that says what it is."""
    for derived in DERIVED_GRAPHS:
        with (folder / derived.file_name).open("wb") as handle:
            handle.write(f"# {derived.description}\n# In the store: the named graph <{derived.graph.value}>.\n"
                         .encode("utf-8"))
            store.dump(handle, ox.RdfFormat.TURTLE, from_graph=derived.graph, prefixes=prefixes)
