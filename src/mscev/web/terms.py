"""What a term page shows beyond the facts, in the style of OLS and Monarch: the term's kind, synonyms with their
sources, definition with its source, link to the term's home, parents and children as a small tree (asserted
and inferred, each inferred link explained), the areas a condition rolls up to, the OWL axioms in Manchester
syntax, curation notes (apart from the facts), and for MSC sources the conditions their vesicles were tested in.

Curation notes: the project writes definitions as skos:definition (IAO_0000115 for reused OBO text) and uses
rdfs:comment for notes to curators and readers of the Turtle (why a term was chosen, what is ambiguous, where a
parent was verified: triples/README.md, "Ambiguity is recorded"; ontology/README.md), so every rdfs:comment is
a curation note, shown collapsed and never as a fact. mscev:verifiedFrom says where a reused term was checked.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field, replace
from urllib.parse import urlencode

import pyoxigraph as ox

from mscev.namespaces import NAMESPACES, curie
from mscev.query import ASSERTED_GRAPH, INFERRED_GRAPH
from mscev.web.explain import EQUIVALENT, SUBCLASS, Explainer, Explanation
from mscev.web.manchester import OWL, RDF, RDFS, Manchester, Token

MSCEV = NAMESPACES["MSCEV"]
RDF_TYPE = ox.NamedNode(RDF + "type")
COMMENT = ox.NamedNode(RDFS + "comment")
VERIFIED_FROM = ox.NamedNode(MSCEV + "verifiedFrom")
EXACT_SYNONYM = ox.NamedNode("http://www.geneontology.org/formats/oboInOwl#hasExactSynonym")
SYNONYM_KINDS = {EXACT_SYNONYM: "exact"} | {
    ox.NamedNode(f"http://www.geneontology.org/formats/oboInOwl#has{kind.title()}Synonym"): kind
    for kind in ("related", "broad", "narrow")}
ANNOTATED_SOURCE, ANNOTATED_PROPERTY, ANNOTATED_TARGET = (ox.NamedNode(OWL + name) for name in
                                                          ("annotatedSource", "annotatedProperty", "annotatedTarget"))
SOURCE = ox.NamedNode("http://purl.org/dc/terms/source")
REVIEW = ox.NamedNode(NAMESPACES["DATA"] + "review")
DB_XREF = ox.NamedNode("http://www.geneontology.org/formats/oboInOwl#hasDbXref")
DEFINITIONS = (ox.NamedNode("http://www.w3.org/2004/02/skos/core#definition"),
               ox.NamedNode("http://purl.obolibrary.org/obo/IAO_0000115"))
DISJOINT_WITH, MEMBERS = ox.NamedNode(OWL + "disjointWith"), ox.NamedNode(OWL + "members")
CONDITION_AREA, PROJECT_CONDITION = ox.NamedNode(MSCEV + "ConditionArea"), ox.NamedNode(MSCEV + "ProjectCondition")
CELL_POPULATION, PRODUCED_BY = ox.NamedNode(MSCEV + "CellPopulation"), ox.NamedNode(MSCEV + "producedBy")
VESICLE, CONDITION = ox.NamedNode(MSCEV + "vesicle"), ox.NamedNode(MSCEV + "condition")
EFFECT, FINDING = ox.NamedNode(MSCEV + "Effect"), ox.NamedNode(MSCEV + "Finding")
DIRECTION, AFFECTS, ASPECT = (ox.NamedNode(MSCEV + name) for name in ("direction", "affects", "aspect"))
# the other parts of an effect, in the order a sentence names them, with the words that introduce them
EFFECT_PARTS = [("inCellType", "in"), ("inTissue", "in"), ("viaTarget", "via"), ("viaPathway", "via"),
                ("mediatedBy", "mediated by")]
OWL_KINDS = {OWL + "Class": "class", OWL + "ObjectProperty": "object property",
             OWL + "DatatypeProperty": "data property", OWL + "AnnotationProperty": "annotation property",
             OWL + "NamedIndividual": "individual", OWL + "Ontology": "ontology"}
MAX_LISTED = 100  # children, findings shown before "… and N more"
MAX_ANCESTORS = 300


@dataclass
class Related:
    """A class linked to the term: ``inferred`` when only the reasoner says so, with how it follows."""

    term: object  # pages.Term
    inferred: bool = False
    why: Explanation | None = None
    above: list = field(default_factory=list)  # its own parents (for the tree), as Related


@dataclass
class Axiom:
    relation: str  # "Equivalent to", "SubClass of", "Disjoint with"
    tokens: list[Token]
    inferred: bool = False
    why: Explanation | None = None


@dataclass
class TermInfo:
    kinds: list[str]
    synonyms: list[tuple[str, str, str | None]]  # (synonym, kind, source)
    definition: tuple[str, str] | None  # (text, source)
    home: str | None  # the term's own page, for reused terms
    home_name: str | None
    verified_from: list[str]
    parents: list[Related]
    children: list[Related]
    more_children: int
    equivalents: list[Related]
    areas: list[Related]
    axioms: list[Axiom]
    notes: list[str]
    tested_in: list[tuple[object, int, str]]  # (condition Term, findings, link to them) for an MSC source
    is_class: bool


class TermPages:
    """Term-page parts from one store; ``pages`` is the mscev.web.pages.Pages that makes Terms."""

    def __init__(self, pages):
        self.pages, self.store = pages, pages.store
        self.manchester = Manchester(self.store, pages.label)
        self.explainer = Explainer(self.store, self.manchester)

    def _objects(self, node, predicate, graph=None) -> list:
        return [q.object for q in self.store.quads_for_pattern(node, predicate, None, graph)]

    def _subjects(self, predicate, node, graph=None) -> list:
        return [q.subject for q in self.store.quads_for_pattern(None, predicate, node, graph)]

    def _has(self, subject, predicate, obj, graph=None) -> bool:
        return any(True for _ in self.store.quads_for_pattern(subject, predicate, obj, graph))

    def info(self, node: ox.NamedNode) -> TermInfo:
        types = [t for t in self._objects(node, RDF_TYPE, ASSERTED_GRAPH) if isinstance(t, ox.NamedNode)]
        is_class = any(t.value == OWL + "Class" for t in types) or self._has(node, SUBCLASS, None) \
            or self._has(None, SUBCLASS, node)
        parents, equivalents = self._parents(node) if is_class else ([], [])
        children, more = self._children(node) if is_class else ([], 0)
        external = self.pages.term(node).external
        return TermInfo(
            kinds=self._kinds(node, types, is_class),
            synonyms=self._synonyms(node),
            definition=self._definition(node),
            home=node.value if external else None,
            home_name=curie(node.value).partition(":")[0] if external else None,
            verified_from=sorted(o.value for o in self._objects(node, VERIFIED_FROM)),
            parents=parents, children=children, more_children=more, equivalents=equivalents,
            areas=self._areas(node) if is_class else [],
            axioms=self._axioms(node) if is_class else [],
            notes=self.notes(node),
            tested_in=self._tested_in(node, types),
            is_class=is_class)

    def _kinds(self, node, types, is_class) -> list[str]:
        kinds = [OWL_KINDS[t.value] for t in types if t.value in OWL_KINDS]
        if is_class and "class" not in kinds:
            kinds.insert(0, "class")
        if is_class:  # an individual's own types are links in the page's Types line, inferred ones explained
            kinds += [self.pages.term(t).text for t in types if t.value not in OWL_KINDS]
        prefix = curie(node.value).partition(":")[0]
        if self.pages.term(node).external:
            kinds.append(f"reused from {prefix}")
        elif node.value.startswith(MSCEV):
            kinds.append("defined by mscev")
        return list(dict.fromkeys(kinds))

    def _synonyms(self, node) -> list[tuple[str, str, str | None]]:
        sources = {}
        for axiom in self._subjects(ANNOTATED_SOURCE, node):
            target = next(iter(self._objects(axiom, ANNOTATED_TARGET)), None)
            prop = next(iter(self._objects(axiom, ANNOTATED_PROPERTY)), None)
            if target is None or prop not in SYNONYM_KINDS:
                continue
            source = next(iter(self._objects(axiom, SOURCE)), None)
            verified = next(iter(self._objects(axiom, VERIFIED_FROM)), None)
            sources[(prop, target.value)] = (
                "the review" if source == REVIEW else self.pages.term(source).text if source is not None
                else f"verified in {verified.value}" if verified is not None else None)
        return sorted(((o.value, kind, sources.get((prop, o.value))) for prop, kind in SYNONYM_KINDS.items()
                       for o in set(self._objects(node, prop))), key=lambda s: (s[1] != "exact", s[0].casefold()))

    def _definition(self, node) -> tuple[str, str] | None:
        for prop in DEFINITIONS:
            for value in self._objects(node, prop):
                source = None
                for axiom in self._subjects(ANNOTATED_SOURCE, node):
                    if self._has(axiom, ANNOTATED_PROPERTY, prop) and self._has(axiom, ANNOTATED_TARGET, value):
                        found = self._objects(axiom, SOURCE) + self._objects(axiom, DB_XREF)
                        source = ", ".join(self.pages.term(s).text for s in found) or None
                # every definition in the graph is written in the project's own files (no OBO definition is imported)
                return value.value, source or "written by mscev (ontology/mscev.ttl or the curated data)"
        return None

    def notes(self, node) -> list[str]:
        return sorted({o.value for o in self._objects(node, COMMENT) if isinstance(o, ox.Literal)})

    # --- hierarchy ------------------------------------------------------------------------------------------

    def _direct_parents(self, node) -> list[tuple[ox.NamedNode, bool]]:
        """Named superclasses stated (False) or inferred (True), without equivalent classes (they go both ways)."""
        asserted = {o for o in self._objects(node, SUBCLASS, ASSERTED_GRAPH) if isinstance(o, ox.NamedNode)}
        inferred = {o for o in self._objects(node, SUBCLASS, INFERRED_GRAPH) if isinstance(o, ox.NamedNode)}
        inferred -= asserted
        inferred = {o for o in inferred if not self._has(o, SUBCLASS, node)}
        if not self._has(node, RDF_TYPE, CONDITION_AREA):  # areas have their own list (``_areas``)
            inferred = {o for o in inferred if not self._has(o, RDF_TYPE, CONDITION_AREA)}
        return [(p, False) for p in asserted] + [(p, True) for p in inferred]

    def _related(self, node, parent, inferred: bool) -> Related:
        return Related(self.pages.term(parent, inferred),
                       inferred, self.explainer.superclass(node, parent) if inferred else None)

    def _parents(self, node) -> tuple[list[Related], list[Related]]:
        parents = []
        for parent, inferred in self._direct_parents(node):
            related = self._related(node, parent, inferred)
            related.above = [Related(self.pages.term(p, i), i) for p, i in self._direct_parents(parent)]
            parents.append(related)
        equivalents = [Related(self.pages.term(o, True), True, self.explainer.superclass(node, o))
                       for o in self._objects(node, EQUIVALENT, INFERRED_GRAPH)
                       if isinstance(o, ox.NamedNode) and not self._has(node, EQUIVALENT, o, ASSERTED_GRAPH)]
        order = lambda r: (r.inferred, r.term.text.casefold())  # noqa: E731
        return sorted(parents, key=order), sorted(equivalents, key=order)

    def _children(self, node) -> tuple[list[Related], int]:
        asserted = {s for s in self._subjects(SUBCLASS, node, ASSERTED_GRAPH) if isinstance(s, ox.NamedNode)}
        inferred = {s for s in self._subjects(SUBCLASS, node, INFERRED_GRAPH) if isinstance(s, ox.NamedNode)
                    and not self._has(node, SUBCLASS, s)} - asserted
        children = [Related(self.pages.term(c), False) for c in asserted] + \
                   [Related(self.pages.term(c, True), True) for c in inferred]
        children.sort(key=lambda r: (r.inferred, r.term.text.casefold()))
        shown = children[:MAX_LISTED]
        for child in shown:  # explanations only for what is shown
            if child.inferred:
                child.why = self.explainer.superclass(ox.NamedNode(child.term.iri), node)
        return shown, max(0, len(children) - MAX_LISTED)

    def _areas(self, node) -> list[Related]:
        """The condition areas above ``node`` (asserted and inferred links, bounded), each with how it follows."""
        seen, queue = {node}, deque([node])
        while queue and len(seen) < MAX_ANCESTORS:
            for parent in self._objects(queue.popleft(), SUBCLASS):
                if isinstance(parent, ox.NamedNode) and parent not in seen:
                    seen.add(parent)
                    queue.append(parent)
        areas = [a for a in seen if a != node and self._has(a, RDF_TYPE, CONDITION_AREA)]
        told = self.explainer.told_ancestors(node)
        shown = []
        for area in areas:
            why = self.explainer.superclass(node, area)
            shown.append(Related(self.pages.term(area, area not in told), area not in told, why))
        return sorted(shown, key=lambda r: r.term.text.casefold())

    def _axioms(self, node) -> list[Axiom]:
        """The logical axioms of a class, in Manchester syntax: definitions, anonymous superclasses, disjointness."""
        render = self.manchester.render
        axioms = [Axiom("Equivalent to", render(o)) for o in self._objects(node, EQUIVALENT, ASSERTED_GRAPH)]
        axioms += [Axiom("SubClass of", render(o)) for o in self._objects(node, SUBCLASS, ASSERTED_GRAPH)
                   if not isinstance(o, ox.NamedNode)]
        axioms += [Axiom("Disjoint with", render(o)) for o in self._objects(node, DISJOINT_WITH, ASSERTED_GRAPH)]
        for disjoint in self._subjects(ox.NamedNode(RDF + "first"), node):
            for group in self._list_owners(disjoint):
                others = [m for m in self.manchester.members(next(iter(self._objects(group, MEMBERS)))) if m != node]
                axioms.append(Axiom("Disjoint with", self.manchester.joined([render(m) for m in others], None)))
        return axioms

    def _list_owners(self, cell) -> list:
        """The owl:AllDisjointClasses nodes whose member list holds ``cell``."""
        rest = ox.NamedNode(RDF + "rest")
        seen = 0
        while seen < 1000:
            previous = self._subjects(rest, cell)
            if not previous:
                break
            cell, seen = previous[0], seen + 1
        return [g for g in self._subjects(MEMBERS, cell)
                if self._has(g, RDF_TYPE, ox.NamedNode(OWL + "AllDisjointClasses"))]

    # --- MSC sources ----------------------------------------------------------------------------------------

    def _tested_in(self, node, types) -> list[tuple[object, int, str]]:
        """For an MSC source class or a cell population: the conditions its vesicles' findings were tested in, each
        with the number of findings and a link to them in the findings table (the same filters: the source, or
        for a cell population the findings about it; the condition as reported; vesicle findings only)."""
        if CELL_POPULATION in types:
            populations, by = [node], "about"
        else:
            by = "source"
            populations = [s for s in self._subjects(RDF_TYPE, node) if self._has(s, RDF_TYPE, CELL_POPULATION)]
        counts: dict = {}
        for population in populations:
            for prep in self._subjects(PRODUCED_BY, population):
                for finding in {f for f in self._subjects(VESICLE, prep) if self._has(f, RDF_TYPE, FINDING)}:
                    for condition in set(self._objects(finding, CONDITION)):
                        counts.setdefault(condition, set()).add(finding)
        tested = [(self.pages.term(c), len(findings), "/findings?" + urlencode(
            {by: node.value, "condition": c.value, "exact": "true", "vesicles_only": "true"}))
            for c, findings in counts.items()]
        return sorted(tested, key=lambda t: (-t[1], t[0].text.casefold()))

    # --- nested nodes ---------------------------------------------------------------------------------------

    def effect_sentence(self, node) -> tuple | None:
        """An effect as a sentence of Terms and words: "increases type II collagen in chondrocyte", each value
        marked as the finding page marks it when it is not from the review's body text; None when ``node`` is no
        effect."""
        if not self._has(node, RDF_TYPE, EFFECT):
            return None
        origins = self.pages.value_origins(node)

        def shown(predicate, value):
            term, origin = self.pages.term(value), origins.get((predicate, value))
            return replace(term, origin=origin[0], origin_href=origin[1]) if origin else term

        parts = [shown(DIRECTION, direction) for direction in self._objects(node, DIRECTION)]
        aspect = next(iter(self._objects(node, ASPECT)), None)
        if aspect is not None:
            parts += [f"the {self.pages.term(aspect).text} of"]
        parts += [shown(AFFECTS, affected) for affected in self._objects(node, AFFECTS)]
        for name, words in EFFECT_PARTS:
            predicate = ox.NamedNode(MSCEV + name)
            for index, value in enumerate(sorted(self._objects(node, predicate), key=lambda v: v.value)):
                parts += ["and" if index else words, shown(predicate, value)]
        return tuple(parts)

    def list_tokens(self, node) -> list[Token] | None:
        """An RDF list (a property chain) as its members joined by "o"; None when ``node`` is no list."""
        if not self._has(node, ox.NamedNode(RDF + "first"), None):
            return None
        return self.manchester.joined([self.manchester.render(m) for m in self.manchester.members(node)], "o")
