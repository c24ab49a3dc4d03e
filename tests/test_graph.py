"""The curated graph itself: it conforms, its quotes are verbatim, its identifiers are declared and stable."""

import hashlib
import re

from rdflib import BNode, URIRef

from mscev.imports import imports_graph, read_synonyms, read_terms
from mscev.load import parse_turtle
from mscev.paths import EXTERNAL_FILE, TRIPLES_DIR
from mscev.quotes import check_quotes
from mscev.validate import undeclared_external_terms, validate

from conftest import REVIEW_TEXT


def test_curated_graph_conforms(loaded_graph):
    report = validate(loaded_graph)
    assert report.conforms, report.as_text()


def test_the_review_is_the_text_the_quotes_were_copied_from():
    recorded = re.search(r"SHA-256 of the file[^`]*`[^`]*`[^`]*`([0-9a-f]{64})`",
                         (REVIEW_TEXT.parent / "README.md").read_text(encoding="utf-8"))
    assert recorded, "source/README.md records the review's SHA-256"
    assert hashlib.sha256(REVIEW_TEXT.read_bytes()).hexdigest() == recorded.group(1)


def test_every_quote_is_verbatim_in_the_review(loaded_graph, review_text):
    checked, problems = check_quotes(loaded_graph, review_text)
    assert checked > 50
    assert problems == [], "\n".join(f"{p.file} {p.statement}: {p.quote!r}" for p in problems)


def test_every_external_iri_is_declared_with_a_label(loaded_graph):
    assert undeclared_external_terms(loaded_graph.graph) == set()


def test_no_blank_nodes_in_curated_files():
    for path in sorted(TRIPLES_DIR.rglob("*.ttl")):
        graph = parse_turtle(path)
        blanks = {s for s, _, o in graph for s in (s, o) if isinstance(s, BNode)}
        assert not blanks, f"{path} has blank nodes; give every node an IRI (triples/README.md)"


def test_import_module_is_generated_from_the_term_list():
    from rdflib.compare import isomorphic

    terms = read_terms()
    expected = imports_graph(terms, read_synonyms(labels={term.curie: term.label for term in terms}))
    actual = parse_turtle(EXTERNAL_FILE)
    assert isomorphic(expected, actual), "ontology/imports/external.ttl is stale: run `mscev update-imports`"


def test_every_term_has_a_label_and_definition(loaded_graph):
    from rdflib import OWL, RDF, RDFS
    from rdflib.namespace import SKOS

    graph = loaded_graph.graph
    mscev = "https://w3id.org/mscev/"
    missing = []
    for kind in (OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty):
        for term in graph.subjects(RDF.type, kind):
            if isinstance(term, URIRef) and str(term).startswith(mscev) and "/data/" not in str(term):
                if graph.value(term, RDFS.label) is None or graph.value(term, SKOS.definition) is None:
                    missing.append(str(term))
    assert missing == []


def test_every_reference_carries_the_fields_its_entry_prints(loaded_graph, review_text):
    graph = loaded_graph.graph
    """Structured fields are split from the printed entry: each one must be found in that entry, and together
    they account for authors, title, journal, year and the volume/pages part wherever the entry has them."""
    from rdflib import Namespace, RDF
    from rdflib.namespace import DCTERMS

    mscev, bibo = Namespace("https://w3id.org/mscev/"), Namespace("http://purl.org/ontology/bibo/")
    references = list(graph.subjects(RDF.type, mscev.CitedStudy))
    assert len(references) == 115
    for ref in references:
        entry = str(graph.value(ref, DCTERMS.bibliographicCitation))
        assert entry in review_text, f"{ref}: the entry is not verbatim in the review's reference list"
        for field in (DCTERMS.title, mscev.journal, mscev.year):
            value = graph.value(ref, field)
            assert value is not None and str(value) in entry, f"{ref}: {field} missing or not from its entry"
        creators = [str(c) for c in graph.objects(ref, DCTERMS.creator)]
        assert creators and all(c in entry for c in creators), f"{ref}: dcterms:creator not from its entry"
        for field in (bibo.volume, bibo.issue, bibo.pages, bibo.pageStart):
            value = graph.value(ref, field)
            assert value is None or str(value) in entry, f"{ref}: {field} {value} is not in its entry"
        printed_doi = re.search(r"https://doi\.org/(\S+?)\.?$", entry)
        doi = graph.value(ref, mscev.doi)
        assert (str(doi) if doi else None) == (printed_doi.group(1) if printed_doi else None), (
            f"{ref}: a DOI only where the entry prints one")
        if not printed_doi:
            assert graph.value(ref, bibo.pages) is not None, f"{ref}: the entry's pages are not split out"


def test_abbreviated_last_pages_are_written_out(loaded_graph):
    graph = loaded_graph.graph
    from rdflib import Namespace, URIRef

    bibo = Namespace("http://purl.org/ontology/bibo/")
    ref = lambda n: URIRef(f"https://w3id.org/mscev/data/ref/{n}")  # noqa: E731
    assert (str(graph.value(ref(1), bibo.pageStart)), str(graph.value(ref(1), bibo.pageEnd))) == ("214", "222")
    assert str(graph.value(ref(1), bibo.volume)) == "4" and str(graph.value(ref(1), bibo.issue)) == "3"
