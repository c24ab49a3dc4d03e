"""What the web pages show, computed from the store: terms for people, entity descriptions, result tables, search.

Templates receive plain data (``Term``, ``Fact``, ``Entity``) and only lay it out. Pages read the store
in the server process through pattern lookups, which are bounded by the size of one resource's description;
SPARQL written by users and the stored queries run in the worker pool (mscev.web.pool) instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from urllib.parse import quote, urlencode

import pyoxigraph as ox

from mscev.names import NameIndex, fold
from mscev.namespaces import NAMESPACES, curie
from mscev.query import ASSERTED_GRAPH, INFERRED_GRAPH, NOT_FROM_BODY_GRAPH

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
OWL = "http://www.w3.org/2002/07/owl#"
XSD = "http://www.w3.org/2001/XMLSchema#"
MSCEV, DATA = NAMESPACES["MSCEV"], NAMESPACES["DATA"]
# W3C vocabularies: shown by name, but not "reused ontology terms" to link out to
STANDARD_VOCABULARIES = (RDF, RDFS, OWL, XSD, "http://www.w3.org/2004/02/skos/core#", "http://purl.org/dc/terms/",
                         "http://www.w3.org/ns/shacl#")
RDF_TYPE, RDFS_LABEL = ox.NamedNode(RDF + "type"), ox.NamedNode(RDFS + "label")
DEFINITIONS = (ox.NamedNode("http://www.w3.org/2004/02/skos/core#definition"),
               ox.NamedNode("http://purl.obolibrary.org/obo/IAO_0000115"))
EVIDENCE_QUOTE, CITED_STUDY = ox.NamedNode(MSCEV + "evidenceQuote"), ox.NamedNode(MSCEV + "citedStudy")
CITATION = ox.NamedNode("http://purl.org/dc/terms/bibliographicCitation")
TITLE = ox.NamedNode("http://purl.org/dc/terms/title")
CONDITION, PRODUCED_BY = ox.NamedNode(MSCEV + "condition"), ox.NamedNode(MSCEV + "producedBy")
CELL_POPULATION = ox.NamedNode(MSCEV + "CellPopulation")
VALUE_ORIGIN, ORIGIN_PROPERTY, ORIGIN_VALUE = (ox.NamedNode(MSCEV + name) for name in
                                               ("valueOrigin", "originProperty", "originValue"))
ORIGIN_ROW, TABLE_LOCATION = ox.NamedNode(MSCEV + "originRow"), ox.NamedNode(MSCEV + "tableLocation")
REFERENCE_NUMBER = ox.NamedNode(MSCEV + "referenceNumber")
ONTOLOGY_TERM_TYPES = {OWL + "Class": "Classes", OWL + "ObjectProperty": "Object properties",
                       OWL + "DatatypeProperty": "Data properties", OWL + "AnnotationProperty": "Annotation properties",
                       OWL + "NamedIndividual": "Named individuals (value sets)"}
NUMERIC_TYPES = {XSD + name for name in ("integer", "decimal", "double", "float", "int", "long", "nonNegativeInteger")}
INCOMING_SHOWN = 40
BIBO = "http://purl.org/ontology/bibo/"
REFERENCE_FIELDS = {"doi": MSCEV + "doi", "title": TITLE.value, "authors": MSCEV + "authors",
                    "journal": MSCEV + "journal", "year": MSCEV + "year", "volume": BIBO + "volume",
                    "issue": BIBO + "issue", "pages": BIBO + "pages"}
SEARCH_RESULTS = 50
CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def humanize(name: str) -> str:
    """A variable or local name as words: 'boneMarrow' → 'bone marrow', 'citedReferences' → 'cited references'.

    >>> humanize("harmfulFindings")
    'harmful findings'
    """
    return CAMEL.sub(" ", name).replace("_", " ").lower()


def href(iri: str) -> str:
    """This server's page for an IRI: its own path for the project's IRIs, /resource?iri=… for the others.

    >>> href("https://w3id.org/mscev/data/finding/ref26-x")
    '/data/finding/ref26-x'
    >>> href("http://purl.obolibrary.org/obo/MONDO_0005178")
    '/resource?iri=http%3A%2F%2Fpurl.obolibrary.org%2Fobo%2FMONDO_0005178'
    """
    if iri.startswith(MSCEV):
        return "/" + iri[len(MSCEV):]
    return "/resource?" + urlencode({"iri": iri}, quote_via=quote)


def literature_links(doi: str | None, title: str | None) -> list[tuple[str, str]]:
    """Where to read a cited paper: its DOI where the reference list prints one, else a title search at
    PubMed and Europe PMC (no other identifier could be verified for the review's references)."""
    if doi:
        return [(f"doi:{doi}", "https://doi.org/" + quote(doi, safe="/"))]
    if not title:
        return []
    return [("search PubMed", "https://pubmed.ncbi.nlm.nih.gov/?" + urlencode({"term": f'"{title}"[Title]'})),
            ("search Europe PMC", "https://europepmc.org/search?" + urlencode({"query": f'TITLE:"{title}"'}))]


def is_project_iri(iri: str) -> bool:
    return iri.startswith(MSCEV)


@dataclass(frozen=True)
class Term:
    """An RDF term as people read it: ``text`` (label, CURIE or literal value), with links for IRIs."""

    text: str
    iri: str | None = None
    curie: str | None = None
    href: str | None = None
    external: bool = False  # a reused term (OBO, identifiers.org): also link out to its own page
    numeric: bool = False
    language: str | None = None
    inferred: bool = False
    details: tuple = ()  # facts of an unlabelled project node shown in place (a finding's effects)
    origin: str | None = None  # where a value not from the review's body text comes from ("title of ref 31")
    origin_href: str | None = None  # the page of its value origin record


@dataclass
class Fact:
    predicate: Term
    values: list[Term]
    more: int = 0  # values not shown (incoming links beyond INCOMING_SHOWN)
    more_href: str | None = None


@dataclass
class Entity:
    subject: Term
    types: list[Term]
    definition: str | None
    facts: list[Fact]
    quotes: list[str] = field(default_factory=list)
    cited: list[dict] = field(default_factory=list)
    incoming: list[Fact] = field(default_factory=list)
    ontology_terms: dict[str, list[Term]] = field(default_factory=dict)
    network: bool = False  # a source or a condition: the network view applies
    reference: dict | None = None  # a cited study: its reference-list entry and where to find the paper

    @property
    def is_finding(self) -> bool:
        return bool(self.quotes)


class Pages:
    """Page data from one read-only store; ``label`` is mscev.render.labeler(store)."""

    def __init__(self, store: ox.Store, label):
        self.store, self.label = store, label
        self._search_index = None

    def term(self, node, inferred: bool = False, details: tuple = ()) -> Term:
        if isinstance(node, ox.NamedNode):
            short = curie(node.value)
            name = self.label(node) or _readable_curie(short)
            external = not is_project_iri(node.value) and not node.value.startswith(STANDARD_VOCABULARIES)
            return Term(name, node.value, short, href(node.value), external, inferred=inferred, details=details)
        if isinstance(node, ox.Literal):
            return Term(node.value, numeric=node.datatype.value in NUMERIC_TYPES, language=node.language,
                        inferred=inferred)
        if node is None:
            return Term("")
        return Term(str(node), inferred=inferred)

    def exists(self, iri: str) -> bool:
        node = ox.NamedNode(iri)
        return any(True for _ in self.store.quads_for_pattern(node, None, None)) or \
            any(True for _ in self.store.quads_for_pattern(None, None, node))

    def _statements(self, node: ox.NamedNode) -> list[tuple[ox.NamedNode, object, bool]]:
        """(predicate, object, inferred) about ``node``: an inferred statement is one only the reasoner made."""
        asserted = {(q.predicate, q.object) for graph in (ASSERTED_GRAPH, NOT_FROM_BODY_GRAPH)
                    for q in self.store.quads_for_pattern(node, None, None, graph)}
        inferred = {(q.predicate, q.object) for q in self.store.quads_for_pattern(node, None, None, INFERRED_GRAPH)}
        return [(p, o, False) for p, o in asserted] + [(p, o, True) for p, o in inferred - asserted]

    def _value_origins(self, node: ox.NamedNode) -> dict[tuple, tuple[str, str]]:
        """(predicate, value) → (where it comes from, its origin's page) for the values of ``node`` that are not
        from the review's body text (ontology/README.md, "Value origins")."""
        origins = {}
        for link in self.store.quads_for_pattern(node, VALUE_ORIGIN, None):
            facts = {q.predicate: q.object for q in self.store.quads_for_pattern(link.object, None, None)}
            if ORIGIN_PROPERTY not in facts or ORIGIN_VALUE not in facts:
                continue
            if ORIGIN_ROW in facts:
                where = f"from {self._value(facts[ORIGIN_ROW], TABLE_LOCATION, 'Table 2')}"
            else:
                where = f"from the title of ref {self._value(facts.get(CITED_STUDY), REFERENCE_NUMBER, '?')} in the reference list"
            origins[(facts[ORIGIN_PROPERTY], facts[ORIGIN_VALUE])] = (where, href(link.object.value))
        return origins

    def _value(self, node, predicate: ox.NamedNode, default: str) -> str:
        """One value of ``predicate`` on ``node`` as text, or ``default``."""
        if node is None:
            return default
        return next((q.object.value for q in self.store.quads_for_pattern(node, predicate, None)), default)

    def _facts(self, statements, nest: bool, origins: dict | None = None) -> list[Fact]:
        by_predicate: dict[ox.NamedNode, list[Term]] = {}
        for predicate, value, inferred in statements:
            details = ()
            if nest and isinstance(value, ox.NamedNode) and value.value.startswith(DATA) and not self.label(value):
                details = tuple(self._facts(self._statements(value), nest=False, origins=self._value_origins(value)))
            shown = self.term(value, inferred, details)
            origin = (origins or {}).get((predicate, value))
            if origin:
                shown = replace(shown, origin=origin[0], origin_href=origin[1])
            by_predicate.setdefault(predicate, []).append(shown)
        facts = [Fact(self.term(p), sorted(values, key=lambda t: (t.inferred, t.text.casefold())))
                 for p, values in by_predicate.items()]
        # types first, then links to other things, then text (comments, notes)
        return sorted(facts, key=lambda f: (f.predicate.iri != RDF_TYPE.value, all(not v.iri for v in f.values),
                                            f.predicate.text.casefold()))

    def entity(self, iri: str) -> Entity:
        """Everything a page shows about one IRI: its facts (inferred ones marked), quotes, citations, links in."""
        node = ox.NamedNode(iri)
        statements = self._statements(node)
        quotes = sorted(o.value for p, o, _ in statements if p == EVIDENCE_QUOTE)
        cited = [self._citation(o) for p, o, _ in statements if p == CITED_STUDY]
        definition = next((o.value for p, o, _ in statements if p in DEFINITIONS), None)
        shown = [(p, o, inferred) for p, o, inferred in statements
                 if p not in (EVIDENCE_QUOTE, RDFS_LABEL, *DEFINITIONS) and not (p == CITED_STUDY and quotes)]
        facts = self._facts(shown, nest=True, origins=self._value_origins(node))
        types = next((f.values for f in facts if f.predicate.iri == RDF_TYPE.value), [])
        facts = [f for f in facts if f.predicate.iri != RDF_TYPE.value]
        subject = self.term(node)
        title = next((o.value for p, o, _ in statements if p == TITLE), None)
        if title and not self.label(node):
            subject = Term(title, subject.iri, subject.curie, subject.href, subject.external)
        return Entity(subject, types, definition, facts, quotes,
                      sorted(cited, key=lambda c: c["number"] or 0), self._incoming(node),
                      self._ontology_terms(node) if any(t.iri == OWL + "Ontology" for t in types) else {},
                      self._has_network(node),
                      self._citation(node) if any(t.iri == MSCEV + "CitedStudy" for t in types) else None)

    def _citation(self, ref: ox.NamedNode) -> dict:
        values = {q.predicate: q.object for q in self.store.quads_for_pattern(ref, None, None)}
        number = values.get(ox.NamedNode(MSCEV + "referenceNumber"))
        text = {name: values[ox.NamedNode(iri)].value for name, iri in REFERENCE_FIELDS.items()
                if ox.NamedNode(iri) in values}
        return {"term": self.term(ref), "citation": values[CITATION].value if CITATION in values else None,
                "number": int(number.value) if number else None, **text,
                "links": literature_links(text.get("doi"), text.get("title"))}

    def _incoming(self, node: ox.NamedNode) -> list[Fact]:
        by_predicate: dict[ox.NamedNode, list] = {}
        for q in self.store.quads_for_pattern(None, None, node):
            if isinstance(q.subject, ox.NamedNode):
                by_predicate.setdefault(q.predicate, {})[q.subject.value] = q.subject
        facts = []
        for predicate, subjects in by_predicate.items():
            shown = sorted((self.term(s) for s in subjects.values()), key=lambda t: t.text.casefold())
            more = max(0, len(shown) - INCOMING_SHOWN)
            query = f"SELECT DISTINCT ?subject WHERE {{ ?subject <{predicate.value}> <{node.value}> }}"
            facts.append(Fact(self.term(predicate), shown[:INCOMING_SHOWN], more,
                              "/sparql?" + urlencode({"query": query}) if more else None))
        return sorted(facts, key=lambda f: (f.predicate.iri == RDF_TYPE.value, f.predicate.text.casefold()))

    def _ontology_terms(self, ontology: ox.NamedNode) -> dict[str, list[Term]]:
        """The project's own terms, by kind, for the ontology's page."""
        groups = {}
        for type_iri, heading in ONTOLOGY_TERM_TYPES.items():
            terms = {q.subject.value: q.subject for q in
                     self.store.quads_for_pattern(None, RDF_TYPE, ox.NamedNode(type_iri), ASSERTED_GRAPH)
                     if isinstance(q.subject, ox.NamedNode) and q.subject.value.startswith(MSCEV)
                     and not q.subject.value.startswith(DATA)}
            if terms:
                groups[heading] = sorted((self.term(t) for t in terms.values()), key=lambda t: t.text.casefold())
        return groups

    def _has_network(self, node: ox.NamedNode) -> bool:
        """A condition of some finding, a cell population, or a class of cells that made vesicles."""
        if any(True for _ in self.store.quads_for_pattern(None, CONDITION, node)):
            return True
        if any(True for _ in self.store.quads_for_pattern(node, RDF_TYPE, CELL_POPULATION)):
            return True
        members = (q.subject for q in self.store.quads_for_pattern(None, RDF_TYPE, node))
        return any(any(True for _ in self.store.quads_for_pattern(None, PRODUCED_BY, member)) for member in members)

    def describe(self, iri: str) -> list[ox.Triple]:
        """The resource's description for RDF clients: its statements, asserted and inferred."""
        node = ox.NamedNode(iri)
        return sorted({ox.Triple(node, p, o) for p, o, _ in self._statements(node)}, key=str)

    def table(self, solutions) -> tuple[list[str], list[list[Term]]]:
        """SELECT results as column names and rows of terms."""
        variables = [v.value for v in solutions.variables]
        return variables, [[self.term(row[name]) for name in variables] for row in solutions]

    def _names(self) -> NameIndex:
        """Every labelled term's names (mscev.names), read once: the store does not change while the server runs."""
        if self._search_index is None:
            index = NameIndex.of(self.store)
            self._search_index = index, [(named.iri, name, fold(name)) for named in index.terms.values()
                                         for name in named.names]
        return self._search_index[0]

    def search(self, text: str) -> list[tuple[Term, list[Term]]]:
        """Terms whose label or synonym contains ``text`` as mscev.names compares names (case, punctuation and
        Greek spelling ignored), or whose CURIE or IRI is ``text``; best first, with their types."""
        wanted = " ".join(text.split()).casefold()
        folded_wanted = fold(text)
        if not wanted:
            return []
        self._names()
        scored = {}
        for iri, name, folded in self._search_index[1]:
            if wanted in (curie(iri).casefold(), iri.casefold()):
                scored[iri] = 0, 0, ""
            elif folded_wanted and folded_wanted in folded:
                rank = 1 if folded == folded_wanted else 2 if folded.startswith(folded_wanted) else 3 \
                    if re.search(r"\b" + re.escape(wanted), name.casefold()) else 4
                scored[iri] = min((rank, len(folded), name.casefold()), scored.get(iri, (9,)))
        best = sorted(scored, key=lambda iri: scored[iri])[:SEARCH_RESULTS]
        return [self._with_types(iri) for iri in best]

    def closest(self, text: str) -> list[tuple[Term, list[Term]]]:
        """The terms whose names come closest to ``text``, for a search that found nothing."""
        return [self._with_types(named.iri) for named in self._names().closest(text)]

    def _with_types(self, iri: str) -> tuple[Term, list[Term]]:
        node = ox.NamedNode(iri)
        types = {q.object.value: q.object for q in self.store.quads_for_pattern(node, RDF_TYPE, None, ASSERTED_GRAPH)
                 if isinstance(q.object, ox.NamedNode) and q.object.value != OWL + "NamedIndividual"}
        return self.term(node), [self.term(t) for t in types.values()]


def _readable_curie(short: str) -> str:
    """A name for an unlabelled IRI: the CURIE, or for standard vocabularies the local name in words."""
    prefix, _, local = short.partition(":")
    if prefix in ("rdf", "rdfs", "owl", "skos", "dcterms") and local:
        return humanize(local)
    return short
