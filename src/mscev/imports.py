"""The import module of reused external terms, generated from one term list (ontology/imports/terms.tsv) and
one synonym list (ontology/imports/synonyms.tsv).

Adding a term is one line in the list; ``mscev update-imports`` rewrites ``external.ttl`` from it, and a test
keeps the two in step. OBO terms become classes (with a verified parent where the list gives one); HGNC, miRBase
and Reactome records become named individuals of the matching mscev class.

Synonyms, of external and project terms alike, become oboInOwl:hasExactSynonym, each with an OBO-style axiom
annotation saying where it comes from: dcterms:source the review (the name as the review prints it), or
mscev:verifiedFrom the ontology file where it was seen.
"""

import csv
import hashlib
from dataclasses import dataclass
from pathlib import Path

from rdflib import DCTERMS, OWL, RDF, RDFS, BNode, Graph, Literal, Namespace, URIRef

from mscev.errors import MscevError
from mscev.namespaces import EXTERNAL_ONTOLOGY_IRI, MSCEV, REVIEW, bind_prefixes, converter
from mscev.paths import EXTERNAL_FILE, SYNONYMS_FILE, TERMS_FILE

COLUMNS = ["curie", "label", "kind", "parent", "verified_from", "note"]
SYNONYM_COLUMNS = ["term", "synonym", "source", "note"]
FROM_REVIEW = "review"  # the source column's word for a name printed in the review
OBO_IN_OWL = Namespace("http://www.geneontology.org/formats/oboInOwl#")
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


@dataclass(frozen=True)
class Synonym:
    term: str  # a CURIE: an external term of terms.tsv or a project term
    name: str
    source: str  # FROM_REVIEW, or where the name was verified (repository@commit:file)
    note: str

    @property
    def iri(self) -> URIRef:
        return URIRef(converter().expand_strict(self.term))


def read_synonyms(path: Path = SYNONYMS_FILE, labels: dict[str, str] | None = None) -> list[Synonym]:
    """Parse the synonym list, refusing rows that would make a wrong or useless synonym (with file and line).

    ``labels`` (CURIE → official label, from the term list) lets it refuse a synonym that only repeats the label.
    """
    synonyms: list[Synonym] = []
    seen: dict[tuple[str, str], int] = {}
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        if next(reader, None) != SYNONYM_COLUMNS:
            raise MscevError(f"{path}:1: the header must be the tab-separated columns {', '.join(SYNONYM_COLUMNS)}")
        for line_no, row in enumerate(reader, start=2):
            if not row or not "".join(row).strip():
                continue
            if len(row) != len(SYNONYM_COLUMNS):
                raise MscevError(f"{path}:{line_no}: expected {len(SYNONYM_COLUMNS)} tab-separated columns, "
                                 f"found {len(row)}")
            term, name, source, note = (cell.strip() for cell in row)
            if converter().expand(term) is None:
                raise MscevError(f"{path}:{line_no}: unknown prefix in '{term}' (see ontology/prefixes.json)")
            if not name or not source:
                raise MscevError(f"{path}:{line_no}: '{term}' needs a synonym and its source ('{FROM_REVIEW}' or "
                                 "where it was verified)")
            key = (term, name.casefold())
            if key in seen:
                raise MscevError(f"{path}:{line_no}: '{name}' is listed twice for '{term}' (first on line {seen[key]})")
            if labels and name.casefold() == labels.get(term, "").casefold():
                raise MscevError(f"{path}:{line_no}: '{name}' is the label of '{term}', not a synonym")
            seen[key] = line_no
            synonyms.append(Synonym(term, name, source, note))
    return synonyms


def parent_axioms(term: Term) -> list[tuple[URIRef, URIRef]]:
    """(predicate, object) pairs for a parent cell: 'CL:1' is is_a; 'part_of CL:1' is a part-of restriction."""
    pairs = []
    for parent in term.parents:
        relation, _, target = parent.rpartition(" ")
        pairs.append((relation or "is_a", URIRef(converter().expand_strict(target))))
    return pairs


def imports_graph(terms: list[Term], synonyms: list[Synonym] = ()) -> Graph:
    """The import module: each term with its official label and where it was verified, and every synonym."""
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
    if synonyms:
        graph.add((OBO_IN_OWL.hasExactSynonym, RDF.type, OWL.AnnotationProperty))
        graph.add((OBO_IN_OWL.hasExactSynonym, RDFS.label, Literal("has exact synonym")))
    for synonym in synonyms:
        _add_synonym(graph, synonym)
    return graph


def _add_synonym(graph: Graph, synonym: Synonym) -> None:
    """The synonym, and an axiom annotation (as OBO ontologies write one) saying where it comes from."""
    name = Literal(synonym.name)
    graph.add((synonym.iri, OBO_IN_OWL.hasExactSynonym, name))
    axiom = BNode("synonym_" + hashlib.sha1(f"{synonym.term}\t{synonym.name}".encode()).hexdigest()[:16])
    graph.add((axiom, RDF.type, OWL.Axiom))
    graph.add((axiom, OWL.annotatedSource, synonym.iri))
    graph.add((axiom, OWL.annotatedProperty, OBO_IN_OWL.hasExactSynonym))
    graph.add((axiom, OWL.annotatedTarget, name))
    if synonym.source == FROM_REVIEW:
        graph.add((axiom, DCTERMS.source, REVIEW))
    else:
        graph.add((axiom, MSCEV.verifiedFrom, Literal(synonym.source)))
    if synonym.note:
        graph.add((axiom, RDFS.comment, Literal(synonym.note)))


def _add_part_of(graph: Graph, child: URIRef, whole: URIRef) -> None:
    """child ⊑ part_of some whole, as an OWL restriction on a deterministic blank node."""
    restriction = BNode(f"partof_{child.rsplit('/', 1)[-1]}_{whole.rsplit('/', 1)[-1]}")
    graph.add((child, RDFS.subClassOf, restriction))
    graph.add((restriction, RDF.type, OWL.Restriction))
    graph.add((restriction, OWL.onProperty, PART_OF))
    graph.add((restriction, OWL.someValuesFrom, whole))


def write_imports(path: Path = EXTERNAL_FILE, terms_path: Path = TERMS_FILE,
                  synonyms_path: Path = SYNONYMS_FILE) -> tuple[int, int, bool]:
    """Regenerate the import module from the term and synonym lists; returns the numbers of terms and synonyms, and
    whether the file changed. Identical content is not written again, so nothing looks changed since a build."""
    from mscev.atomic import write_text

    terms = read_terms(terms_path)
    synonyms = read_synonyms(synonyms_path, {term.curie: term.label for term in terms})
    text = imports_graph(terms, synonyms).serialize(format="turtle")
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return len(terms), len(synonyms), False
    write_text(path, text)
    return len(terms), len(synonyms), True
