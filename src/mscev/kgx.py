"""KGX export: the graph as a Biolink-model nodes/edges TSV pair, so it merges into Monarch- or KG-Hub-style graphs.

The `kgx` package itself is not used: it installs about 150 packages (linkml, neo4j, pandas …) to write two
tab-separated files. The files follow the KGX format specification (biolink/kgx, docs/specification/
kgx-format.md): nodes with id, category, name …; edges with id, subject, predicate, object and the Biolink
edge properties; multiple values joined by '|'; no quoting (tabs and line breaks in text become spaces).

What maps to what is data, ontology/biolink-mapping.tsv, rendered for people as biolink-mapping.md in the
release (templates/biolink-mapping.md); the tests check every Biolink term in it against the biolink-model
package. What Biolink has no slot for (comparisons, mediating cargo, routes, doses, quotes) stays in the RDF.
"""

from __future__ import annotations

import csv
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from string import Template
from typing import TYPE_CHECKING

from mscev.namespaces import curie, expand, prefix_map
from mscev.paths import ONTOLOGY_DIR

if TYPE_CHECKING:
    from rdflib import Graph

MAPPING_FILE = ONTOLOGY_DIR / "biolink-mapping.tsv"
TEMPLATE = "biolink-mapping.md"
KNOWLEDGE_SOURCE = "infores:mscev"
NODE_COLUMNS = ("id", "category", "name", "description", "in_taxon", "provided_by")
EDGE_COLUMNS = ("id", "subject", "predicate", "object", "qualified_predicate", "object_direction_qualifier",
                "negated", "anatomical_context_qualifier", "species_context_qualifier", "publications",
                "description", "knowledge_level", "agent_type", "primary_knowledge_source")
MSCEV = prefix_map()["mscev"]
# the properties of findings, effects and trials that kgx_edges reads (local names in mscev:)
STATEMENT_PROPERTIES = ("vesicle", "cellSubject", "citedStudy", "modelOrganism", "outcome", "condition", "hasEffect",
                        "direction", "inCellType", "inTissue", "affects")


@dataclass(frozen=True)
class MappingRow:
    kind: str
    mscev: str
    biolink: str
    note: str


def mapping() -> list[MappingRow]:
    """The rows of ontology/biolink-mapping.tsv, in file order (the first matching category row wins)."""
    with MAPPING_FILE.open(encoding="utf-8", newline="") as handle:
        return [MappingRow(r["kind"], r["mscev"], r["biolink"] or "", r["note"] or "")
                for r in csv.DictReader(handle, delimiter="\t")]


def kgx_tables(graph: Graph) -> tuple[str, str]:
    """(nodes.tsv, edges.tsv) for ``graph``, rows sorted, so the same graph always gives the same files."""
    edges = sorted(kgx_edges(graph), key=lambda e: (e["subject"], e["predicate"], e["object"], e["id"]))
    nodes = kgx_nodes(graph, {e[end] for e in edges for end in ("subject", "object")})
    return _tsv(NODE_COLUMNS, nodes), _tsv(EDGE_COLUMNS, edges)


def write_kgx_edges(graph, keyed: Path) -> None:
    """The edges, each as a line led by its sort key, for finish_kgx_tables: for graphs of millions of findings,
    whose edges are not held in memory (``graph`` may be a mscev.release_streamed.TriplesIndex)."""
    with keyed.open("w", encoding="utf-8") as out:
        for edge in kgx_edges(graph):
            key = "\t".join(edge[column] for column in ("subject", "predicate", "object", "id"))
            out.write(f"{key}\t{_tsv_row(EDGE_COLUMNS, edge)}\n")


def finish_kgx_tables(graph, keyed: Path, nodes_path: Path, edges_path: Path) -> None:
    """The same tables as kgx_tables from the lines of write_kgx_edges, without holding the edges in memory: the
    lines sorted by the system's `sort` (mscev.lines), the keys cut off, the nodes of their ends."""
    from mscev.lines import sort_lines

    merged = edges_path.with_name(f".{edges_path.name}.sorted")
    sort_lines(keyed, merged, unique=False)
    ids: set[str] = set()
    with merged.open(encoding="utf-8") as rows, edges_path.open("w", encoding="utf-8") as out:
        out.write("\t".join(EDGE_COLUMNS) + "\n")
        for row in rows:
            subject, _, obj, _, line = row.split("\t", 4)
            ids.update((subject, obj))
            out.write(line)
    merged.unlink()
    keyed.unlink()
    nodes_path.write_text(_tsv(NODE_COLUMNS, kgx_nodes(graph, ids)), encoding="utf-8")


def edge_predicates() -> set[str]:
    """Every predicate kgx_edges reads (IRIs), so that a caller may hand it a graph of those triples only
    (mscev.release_streamed.TriplesIndex)."""
    from rdflib import RDF, RDFS

    return {str(RDF.type), str(RDFS.subClassOf), str(RDFS.label), *(MSCEV + name for name in STATEMENT_PROPERTIES),
            *(expand(prop) for prop in _by_kind(mapping())["edge"])}


def kgx_edges(graph: Graph) -> Iterator[dict[str, str]]:
    """Every edge of ``graph``, in no particular order."""
    from types import SimpleNamespace

    from rdflib import RDF, RDFS, URIRef

    from mscev.export import findings, instances

    by_kind = _by_kind(mapping())
    # the terms made once (an rdflib Namespace makes a new URIRef at each attribute look-up)
    mscev = SimpleNamespace(**{name: URIRef(MSCEV + name) for name in (*STATEMENT_PROPERTIES, "ClinicalTrial")})
    constant = {"knowledge_level": "knowledge_assertion", "agent_type": "manual_agent",
                "primary_knowledge_source": KNOWLEDGE_SOURCE}

    def statement_edges(statement, subjects, predicate, objects, **properties) -> list[dict[str, str]]:
        made = [{"subject": curie(str(s)), "predicate": predicate, "object": curie(str(o)), **properties, **constant}
                for s in sorted(subjects) for o in sorted(objects) if isinstance(o, URIRef)]
        for index, edge in enumerate(made, start=1):
            edge["id"] = curie(str(statement)) + (f"#{index}" if len(made) > 1 else "")
        return made

    def joined(values: Iterable) -> str:
        return "|".join(sorted(curie(str(v)) for v in values))

    for finding in findings(graph):
        # the subject: the vesicle preparation, or for a cell-level finding the cell preparation
        subjects = set(graph.objects(finding, mscev.vesicle)) | set(graph.objects(finding, mscev.cellSubject))
        context = {"publications": joined(graph.objects(finding, mscev.citedStudy)),
                   "species_context_qualifier": joined(graph.objects(finding, mscev.modelOrganism)),
                   "description": _text(graph.value(finding, RDFS.label))}
        outcome = by_kind["outcome"].get(curie(str(graph.value(finding, mscev.outcome))))
        if outcome:
            yield from statement_edges(finding, subjects, outcome, graph.objects(finding, mscev.condition), **context)
        for effect in graph.objects(finding, mscev.hasEffect):
            direction = by_kind["direction"].get(curie(str(graph.value(effect, mscev.direction))), "")
            anatomy = [*graph.objects(effect, mscev.inCellType), *graph.objects(effect, mscev.inTissue)]
            yield from statement_edges(effect, subjects, by_kind["statement"]["mscev:Effect"],
                                       graph.objects(effect, mscev.affects),
                                       qualified_predicate="biolink:causes" if direction not in ("", "negated") else "",
                                       object_direction_qualifier="" if direction == "negated" else direction,
                                       negated="True" if direction == "negated" else "",
                                       anatomical_context_qualifier=joined(anatomy), **context)
    for trial in sorted(graph.subjects(RDF.type, mscev.ClinicalTrial)):
        yield from statement_edges(trial, set(graph.objects(trial, mscev.vesicle)),
                                   by_kind["statement"]["mscev:ClinicalTrial"], graph.objects(trial, mscev.condition),
                                   publications=joined(graph.objects(trial, mscev.citedStudy)),
                                   description=_text(graph.value(trial, RDFS.label)))
    statements = set(instances(graph, MSCEV + "Statement"))  # their triples are mapped above, or not at all
    for prop, predicate in by_kind["edge"].items():
        for s, o in graph.subject_objects(URIRef(expand(prop))):
            if isinstance(s, URIRef) and isinstance(o, URIRef) and s not in statements:
                key = f"{s} {prop} {o}"
                yield {"id": f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, key)}", "subject": curie(str(s)),
                       "predicate": predicate, "object": curie(str(o)), **constant}


def kgx_nodes(graph: Graph, node_ids: Iterable[str]) -> list[dict[str, str]]:
    """The node rows of these ids (the ends of the edges), sorted by id."""
    from rdflib import RDF, SKOS, URIRef

    categories = [(r.mscev, r.biolink) for r in mapping() if r.kind == "category"]
    nodes = []
    for node_id in sorted(node_ids):
        node = URIRef(expand(node_id) or node_id)
        types = {curie(str(t)) for t in graph.objects(node, RDF.type)}
        category = next((biolink for key, biolink in categories
                         if key in types or (key.endswith(":") and node_id.startswith(key))), "biolink:NamedThing")
        nodes.append({"id": node_id, "category": category, "name": _label(graph, node),
                      "description": _text(graph.value(node, SKOS.definition)),
                      "in_taxon": "|".join(sorted(curie(str(v)) for v in graph.objects(node, URIRef(MSCEV + "inTaxon")))),
                      "provided_by": KNOWLEDGE_SOURCE})
    return nodes


def _by_kind(rows: list[MappingRow]) -> dict[str, dict[str, str]]:
    return {kind: {r.mscev: r.biolink for r in rows if r.kind == kind} for kind in {r.kind for r in rows}}


def mapping_markdown() -> str:
    """biolink-mapping.md: the mapping table for people, from the same file the export uses."""
    from importlib.resources import files

    rows = mapping()

    def table(kind: str, headers: tuple[str, str]) -> str:
        lines = [f"| {headers[0]} | {headers[1]} | note |", "|---|---|---|"]
        lines += [f"| `{r.mscev}` | {f'`{r.biolink}`' if r.biolink else '—'} | {r.note} |" for r in rows if r.kind == kind]
        return "\n".join(lines)

    template = Template((files("mscev") / "templates" / TEMPLATE).read_text(encoding="utf-8"))
    return template.substitute(
        knowledge_source=KNOWLEDGE_SOURCE,
        categories=table("category", ("mscev class or prefix", "Biolink category")),
        outcomes=table("outcome", ("finding outcome", "Biolink predicate (preparation → condition)")),
        statements=table("statement", ("statement node", "Biolink predicate")),
        directions=table("direction", ("effect direction", "Biolink qualifier")),
        edges=table("edge", ("mscev property", "Biolink predicate")),
        prefixes="\n".join(f"| `{p}` | `{ns}` |" for p, ns in prefix_map().items()),
    )


def _label(graph: Graph, node) -> str:
    """The English (or plain) rdfs:label of ``node``, the first in string order when there are several."""
    from rdflib import RDFS

    labels = sorted(graph.objects(node, RDFS.label),
                    key=lambda label: (getattr(label, "language", None) not in (None, "en"), str(label)))
    return _text(labels[0]) if labels else ""


def _text(value) -> str:
    """A literal as one line of TSV text (KGX files are not quoted)."""
    return " ".join(str(value).split()) if value is not None else ""


def _tsv(columns: tuple[str, ...], rows: list[dict[str, str]]) -> str:
    lines = ["\t".join(columns)] + [_tsv_row(columns, row) for row in rows]
    return "\n".join(lines) + "\n"


def _tsv_row(columns: tuple[str, ...], row: dict[str, str]) -> str:
    return "\t".join(row.get(column, "") for column in columns)
