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
from collections.abc import Iterable
from dataclasses import dataclass
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
    from rdflib import RDF, RDFS, SKOS, Namespace, URIRef

    from mscev.export import findings, instances

    rows = mapping()
    by_kind = {kind: {r.mscev: r.biolink for r in rows if r.kind == kind} for kind in {r.kind for r in rows}}
    mscev = Namespace(MSCEV)
    edges: list[dict[str, str]] = []

    def statement_edges(statement, subjects, predicate, objects, **properties) -> None:
        made = [{"subject": curie(str(s)), "predicate": predicate, "object": curie(str(o)), **properties}
                for s in sorted(subjects) for o in sorted(objects) if isinstance(o, URIRef)]
        for index, edge in enumerate(made, start=1):
            edge["id"] = curie(str(statement)) + (f"#{index}" if len(made) > 1 else "")
        edges.extend(made)

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
            statement_edges(finding, subjects, outcome, graph.objects(finding, mscev.condition), **context)
        for effect in graph.objects(finding, mscev.hasEffect):
            direction = by_kind["direction"].get(curie(str(graph.value(effect, mscev.direction))), "")
            anatomy = [*graph.objects(effect, mscev.inCellType), *graph.objects(effect, mscev.inTissue)]
            statement_edges(effect, subjects, by_kind["statement"]["mscev:Effect"], graph.objects(effect, mscev.affects),
                            qualified_predicate="biolink:causes" if direction not in ("", "negated") else "",
                            object_direction_qualifier="" if direction == "negated" else direction,
                            negated="True" if direction == "negated" else "",
                            anatomical_context_qualifier=joined(anatomy), **context)
    for trial in sorted(graph.subjects(RDF.type, mscev.ClinicalTrial)):
        statement_edges(trial, set(graph.objects(trial, mscev.vesicle)), by_kind["statement"]["mscev:ClinicalTrial"],
                        graph.objects(trial, mscev.condition),
                        publications=joined(graph.objects(trial, mscev.citedStudy)),
                        description=_text(graph.value(trial, RDFS.label)))
    statements = set(instances(graph, MSCEV + "Statement"))  # their triples are mapped above, or not at all
    for prop, predicate in by_kind["edge"].items():
        for s, o in graph.subject_objects(URIRef(expand(prop))):
            if isinstance(s, URIRef) and isinstance(o, URIRef) and s not in statements:
                key = f"{s} {prop} {o}"
                edges.append({"id": f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, key)}", "subject": curie(str(s)),
                              "predicate": predicate, "object": curie(str(o))})
    for edge in edges:
        edge.update(knowledge_level="knowledge_assertion", agent_type="manual_agent",
                    primary_knowledge_source=KNOWLEDGE_SOURCE)
    edges.sort(key=lambda e: (e["subject"], e["predicate"], e["object"], e["id"]))

    categories = [(r.mscev, r.biolink) for r in rows if r.kind == "category"]
    nodes = []
    for node_id in sorted({e[end] for e in edges for end in ("subject", "object")}):
        node = URIRef(expand(node_id) or node_id)
        types = {curie(str(t)) for t in graph.objects(node, RDF.type)}
        category = next((biolink for key, biolink in categories
                         if key in types or (key.endswith(":") and node_id.startswith(key))), "biolink:NamedThing")
        nodes.append({"id": node_id, "category": category, "name": _label(graph, node),
                      "description": _text(graph.value(node, SKOS.definition)),
                      "in_taxon": joined(graph.objects(node, mscev.inTaxon)), "provided_by": KNOWLEDGE_SOURCE})
    return _tsv(NODE_COLUMNS, nodes), _tsv(EDGE_COLUMNS, edges)


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
    lines = ["\t".join(columns)] + ["\t".join(row.get(column, "") for column in columns) for row in rows]
    return "\n".join(lines) + "\n"
