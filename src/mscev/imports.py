"""The import module of reused external terms, generated from one term list (ontology/imports/terms.tsv).

Adding a term is one line in the list; ``mscev update-imports`` rewrites ``external.ttl`` from it, and a test
keeps the two in step. OBO terms become classes (with a verified parent where the list gives one); HGNC, miRBase
and Reactome records become named individuals of the matching mscev class.
"""

import csv
from dataclasses import dataclass
from pathlib import Path

from rdflib import OWL, RDF, RDFS, BNode, Graph, Literal, URIRef

from mscev.errors import MscevError
from mscev.namespaces import EXTERNAL_ONTOLOGY_IRI, MSCEV, bind_prefixes, converter
from mscev.paths import EXTERNAL_FILE, TERMS_FILE

COLUMNS = ["curie", "label", "kind", "parent", "verified_from", "note"]
INDIVIDUAL_KINDS = {"GeneProduct", "MicroRNA", "Pathway"}
PART_OF = URIRef("http://purl.obolibrary.org/obo/BFO_0000050")


@dataclass(frozen=True)
class Term:
    curie: str
    label: str
    kind: str
    parents: tuple[str, ...]
    verified_from: str
    note: str

    @property
    def iri(self) -> URIRef:
        return URIRef(converter().expand_strict(self.curie))


def read_terms(path: Path = TERMS_FILE) -> list[Term]:
    """Parse the term list, refusing rows that would make a wrong import (with file and line)."""
    terms: list[Term] = []
    seen: dict[str, int] = {}
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle, delimiter="\t")
        header = next(reader, None)
        if header != COLUMNS:
            raise MscevError(f"{path}:1: the header must be the tab-separated columns {', '.join(COLUMNS)}")
        for line_no, row in enumerate(reader, start=2):
            if not row or not "".join(row).strip():
                continue
            if len(row) != len(COLUMNS):
                raise MscevError(f"{path}:{line_no}: expected {len(COLUMNS)} tab-separated columns, found {len(row)}")
            curie, label, kind, parents, verified_from, note = (cell.strip() for cell in row)
            if converter().expand(curie) is None:
                raise MscevError(f"{path}:{line_no}: unknown prefix in '{curie}' (see ontology/prefixes.json)")
            if kind not in INDIVIDUAL_KINDS | {"class"}:
                raise MscevError(f"{path}:{line_no}: kind must be class, GeneProduct, MicroRNA or Pathway, not '{kind}'")
            if not label or not verified_from:
                raise MscevError(f"{path}:{line_no}: '{curie}' needs its official label and where it was verified")
            if curie in seen:
                raise MscevError(f"{path}:{line_no}: '{curie}' is listed twice (first on line {seen[curie]})")
            seen[curie] = line_no
            terms.append(Term(curie, label, kind, tuple(p for p in parents.split("|") if p), verified_from, note))
    return terms


def parent_axioms(term: Term) -> list[tuple[URIRef, URIRef]]:
    """(predicate, object) pairs for a parent cell: 'CL:1' is is_a; 'part_of CL:1' is a part-of restriction."""
    pairs = []
    for parent in term.parents:
        relation, _, target = parent.rpartition(" ")
        pairs.append((relation or "is_a", URIRef(converter().expand_strict(target))))
    return pairs


def imports_graph(terms: list[Term]) -> Graph:
    """The import module: each term with its official label and where it was verified."""
    graph = bind_prefixes(Graph())
    ontology = URIRef(EXTERNAL_ONTOLOGY_IRI)
    graph.add((ontology, RDF.type, OWL.Ontology))
    graph.add((ontology, RDFS.label, Literal("mscev import module: reused external terms")))
    graph.add((ontology, RDFS.comment, Literal("Generated from ontology/imports/terms.tsv by `mscev update-imports`; do not edit.")))
    for term in terms:
        iri = term.iri
        if term.kind == "class":
            graph.add((iri, RDF.type, OWL.Class))
        else:
            graph.add((iri, RDF.type, OWL.NamedIndividual))
            graph.add((iri, RDF.type, MSCEV[term.kind]))
        graph.add((iri, RDFS.label, Literal(term.label)))
        graph.add((iri, MSCEV.verifiedFrom, Literal(term.verified_from)))
        if term.note:
            graph.add((iri, RDFS.comment, Literal(term.note)))
        for relation, target in parent_axioms(term):
            if relation == "is_a":
                graph.add((iri, RDFS.subClassOf, target))
            elif relation == "part_of":
                _add_part_of(graph, iri, target)
            else:
                raise MscevError(f"{TERMS_FILE}: '{term.curie}': parent relation must be is_a or part_of, not '{relation}'")
    return graph


def _add_part_of(graph: Graph, child: URIRef, whole: URIRef) -> None:
    """child ⊑ part_of some whole, as an OWL restriction on a deterministic blank node."""
    restriction = BNode(f"partof_{child.rsplit('/', 1)[-1]}_{whole.rsplit('/', 1)[-1]}")
    graph.add((child, RDFS.subClassOf, restriction))
    graph.add((restriction, RDF.type, OWL.Restriction))
    graph.add((restriction, OWL.onProperty, PART_OF))
    graph.add((restriction, OWL.someValuesFrom, whole))


def write_imports(path: Path = EXTERNAL_FILE, terms_path: Path = TERMS_FILE) -> int:
    """Regenerate the import module from the term list; returns the number of terms."""
    terms = read_terms(terms_path)
    text = imports_graph(terms).serialize(format="turtle")
    tmp = path.with_suffix(".ttl.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return len(terms)
