"""Why an inferred fact holds, computed from the asserted axioms when a page is shown.

The build keeps what the reasoner derived in its own named graph (mscev.query.INFERRED_GRAPH) without saying how.
A page explains each inferred superclass, type and property value it shows, by the first of:

1. a chain of told superclass axioms (``A SubClassOf B``, ``A EquivalentTo B and …``) from the term to the class;
2. an equivalentClass definition that the term's own axioms (or an individual's asserted types and values) meet,
   structurally: an intersection needs every part, a union one part, ``P some F`` a told ``P some G`` with
   ``G`` under ``F`` (``P value v``: the value itself);
3. a path through the hierarchy (asserted and inferred links) whose inferred links are explained as above;
4. an rdfs:domain or rdfs:range axiom, or an owl:propertyChainAxiom and the triples that follow it;

and says "inferred by HermiT" when none is found. Every search is bounded (``MAX_DEPTH``, ``MAX_NODES``), so a
page costs at most a few thousand pattern lookups.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import pyoxigraph as ox

from mscev.query import ASSERTED_GRAPH
from mscev.web.manchester import OWL, RDF, RDFS, Manchester, Token, text

MAX_DEPTH = 8
MAX_NODES = 400
SUBCLASS, EQUIVALENT = ox.NamedNode(RDFS + "subClassOf"), ox.NamedNode(OWL + "equivalentClass")
RDF_TYPE = ox.NamedNode(RDF + "type")
DOMAIN, RANGE = ox.NamedNode(RDFS + "domain"), ox.NamedNode(RDFS + "range")
CHAIN = ox.NamedNode(OWL + "propertyChainAxiom")
HERMIT = "inferred by HermiT; no explanation found in the asserted axioms within the page's search bounds"


@dataclass(frozen=True)
class Axiom:
    """A told statement used in an explanation: ``subject relation object`` (object: a class expression, a
    value, or a property chain)."""

    subject: object
    relation: str  # Manchester frame keyword: SubClassOf, EquivalentTo, Type, Domain, Range, SubPropertyChain, or a fact
    object: object
    chain: tuple = ()  # the properties of a SubPropertyChain axiom


@dataclass
class Explanation:
    """How an inferred fact follows: ``how`` in words, and the told axioms, each as a line of tokens."""

    how: str
    lines: list[list[Token]] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "; ".join(text(line) for line in self.lines) or self.how


class Explainer:
    def __init__(self, store: ox.Store, manchester: Manchester):
        self.store, self.manchester = store, manchester

    # --- told axioms ----------------------------------------------------------------------------------------

    def _asserted(self, subject, predicate, obj=None):
        return [q.object if obj is None else q.subject
                for q in self.store.quads_for_pattern(subject, predicate, obj, ASSERTED_GRAPH)]

    def _told_parents(self, cls) -> list[tuple[ox.NamedNode, Axiom]]:
        """Named classes ``cls`` is told to lie under, with the axiom that says so."""
        parents = [(o, Axiom(cls, "SubClassOf", o)) for o in self._asserted(cls, SUBCLASS)
                   if isinstance(o, ox.NamedNode)]
        for definition in self._asserted(cls, EQUIVALENT):
            if isinstance(definition, ox.NamedNode):
                parents.append((definition, Axiom(cls, "EquivalentTo", definition)))
            else:
                parents += [(part, Axiom(cls, "EquivalentTo", definition)) for part in self._conjuncts(definition)
                            if isinstance(part, ox.NamedNode)]
        return parents

    def _conjuncts(self, expression) -> list:
        head = next(iter(self._asserted(expression, ox.NamedNode(OWL + "intersectionOf"))), None)
        return self.manchester.members(head) if head is not None else [expression]

    def _told_restrictions(self, cls) -> list[tuple[object, Axiom]]:
        """Anonymous class expressions ``cls`` is told to lie under (superclasses and parts of its definitions)."""
        found = [(o, Axiom(cls, "SubClassOf", o)) for o in self._asserted(cls, SUBCLASS)
                 if not isinstance(o, ox.NamedNode)]
        for definition in self._asserted(cls, EQUIVALENT):
            if not isinstance(definition, ox.NamedNode):
                found += [(part, Axiom(cls, "EquivalentTo", definition)) for part in self._conjuncts(definition)
                          if not isinstance(part, ox.NamedNode)]
        return found

    def told_ancestors(self, start) -> dict:
        """Every named class told above ``start`` (itself included) → the axioms of the path to it (bounded BFS)."""
        paths = {start: []}
        queue = deque([start])
        while queue and len(paths) < MAX_NODES:
            cls = queue.popleft()
            if len(paths[cls]) >= MAX_DEPTH:
                continue
            for parent, axiom in self._told_parents(cls):
                if parent not in paths:
                    paths[parent] = paths[cls] + [axiom]
                    queue.append(parent)
        return paths

    def _hierarchy_path(self, start, goal) -> list | None:
        """A shortest path of named superclass links (asserted or inferred) from ``start`` to ``goal``."""
        previous = {start: None}
        queue = deque([start])
        while queue and len(previous) < MAX_NODES:
            cls = queue.popleft()
            if cls == goal:
                path = []
                while previous[cls] is not None:
                    path.append((previous[cls], cls))
                    cls = previous[cls]
                return path[::-1]
            for quad in self.store.quads_for_pattern(cls, SUBCLASS, None):
                if isinstance(quad.object, ox.NamedNode) and quad.object not in previous:
                    previous[quad.object] = cls
                    queue.append(quad.object)
        return None

    # --- structural entailment -------------------------------------------------------------------------------

    def _class_meets(self, cls, expression, depth: int = 0) -> list[Axiom] | None:
        """Told axioms showing that ``cls`` lies under ``expression``, or None."""
        if depth > MAX_DEPTH:
            return None
        if isinstance(expression, ox.NamedNode):
            ancestors = self.told_ancestors(cls)
            if expression in ancestors:
                return ancestors[expression]
            for definition in self._asserted(expression, EQUIVALENT):
                proof = self._class_meets(cls, definition, depth + 1)
                if proof is not None:
                    return proof + [Axiom(expression, "EquivalentTo", definition)]
            return self._union_meets(cls, expression, depth)
        proof = self._meets(expression, depth, lambda part: self._class_meets(cls, part, depth + 1),
                            lambda prop, filler: self._class_has_some(cls, prop, filler, depth))
        return proof if proof is not None else self._union_meets(cls, expression, depth)

    def _union_meets(self, cls, goal, depth) -> list[Axiom] | None:
        """``cls`` defined as a union lies under ``goal`` when every part of the union does."""
        for definition in self._asserted(cls, EQUIVALENT):
            head = self._value(definition, "unionOf") if not isinstance(definition, ox.NamedNode) else None
            if head is None:
                continue
            proofs = [self._part_meets(part, goal, depth + 1) for part in self.manchester.members(head)]
            if all(p is not None for p in proofs):
                return [Axiom(cls, "EquivalentTo", definition)] + [a for p in proofs for a in p]
        return None

    def _part_meets(self, part, goal, depth) -> list[Axiom] | None:
        """A part of a definition (a named class or a ``P some F``) under ``goal``."""
        if depth > MAX_DEPTH:
            return None
        if isinstance(part, ox.NamedNode):
            return self._class_meets(part, goal, depth)
        if isinstance(goal, ox.NamedNode):
            return next((p + [Axiom(goal, "EquivalentTo", d)] for d in self._asserted(goal, EQUIVALENT)
                         if (p := self._part_meets(part, d, depth + 1)) is not None), None)
        prop, filler = self._value(part, "onProperty"), self._value(part, "someValuesFrom")

        def some_meets(goal_prop, goal_filler):
            if prop != goal_prop or filler is None:
                return None
            if filler == goal_filler:
                return []
            return self._class_meets(filler, goal_filler, depth + 1) if isinstance(filler, ox.NamedNode) else None

        return self._meets(goal, depth, lambda goal_part: self._part_meets(part, goal_part, depth + 1), some_meets)

    def _meets(self, expression, depth, part_meets, some_meets) -> list[Axiom] | None:
        """The boolean structure of ``expression``: intersection (every part), union (one part), some."""
        value = lambda predicate: next(iter(self._asserted(expression, ox.NamedNode(OWL + predicate))), None)  # noqa: E731
        if (head := value("intersectionOf")) is not None:
            proofs = [part_meets(part) for part in self.manchester.members(head)]
            return None if any(p is None for p in proofs) else [a for p in proofs for a in p]
        if (head := value("unionOf")) is not None:
            return next((p for p in map(part_meets, self.manchester.members(head)) if p is not None), None)
        prop = value("onProperty")
        if prop is not None and (filler := value("someValuesFrom")) is not None:
            return some_meets(prop, filler)
        if prop is not None and (filler := value("hasValue")) is not None:
            return some_meets(prop, filler)
        return None

    def _class_has_some(self, cls, prop, filler, depth) -> list[Axiom] | None:
        for ancestor, path in self.told_ancestors(cls).items():
            for restriction, axiom in self._told_restrictions(ancestor):
                if self._value(restriction, "onProperty") != prop:
                    continue
                told = self._value(restriction, "someValuesFrom") or self._value(restriction, "hasValue")
                if told is None:
                    continue
                if told == filler:
                    return path + [axiom]
                if isinstance(told, ox.NamedNode):
                    proof = self._class_meets(told, filler, depth + 1)
                    if proof is not None:
                        return path + [axiom] + proof
        return None

    def _value(self, node, predicate: str):
        return next(iter(self._asserted(node, ox.NamedNode(OWL + predicate))), None)

    def _individual_meets(self, individual, expression, depth: int = 0) -> list[Axiom] | None:
        if depth > MAX_DEPTH:
            return None
        if isinstance(expression, ox.NamedNode):
            for told_type in self._asserted(individual, RDF_TYPE):
                if told_type == expression:
                    return [Axiom(individual, "Type", told_type)]
                if isinstance(told_type, ox.NamedNode):
                    proof = self._class_meets(told_type, expression, depth + 1)
                    if proof is not None:
                        return [Axiom(individual, "Type", told_type)] + proof
            for definition in self._asserted(expression, EQUIVALENT):
                if not isinstance(definition, ox.NamedNode):
                    proof = self._individual_meets(individual, definition, depth + 1)
                    if proof is not None:
                        return proof + [Axiom(expression, "EquivalentTo", definition)]
            return None
        return self._meets(expression, depth, lambda part: self._individual_meets(individual, part, depth + 1),
                           lambda prop, filler: self._individual_has(individual, prop, filler, depth))

    def _individual_has(self, individual, prop, filler, depth) -> list[Axiom] | None:
        for value in self._asserted(individual, prop):
            fact = Axiom(individual, "fact", value, (prop,))
            if value == filler:
                return [fact]
            if isinstance(value, ox.NamedNode):
                proof = self._individual_meets(value, filler, depth + 1)
                if proof is not None:
                    return [fact] + proof
        return None

    # --- the three kinds of inferred fact -------------------------------------------------------------------

    def superclass(self, cls, goal, depth: int = 0) -> Explanation:
        """Why ``cls`` lies under the named class ``goal``."""
        ancestors = self.told_ancestors(cls)
        if goal in ancestors:
            return self._explained("follows from told superclass axioms", ancestors[goal])
        proof = self._class_meets(cls, goal)
        if proof is not None:
            return self._explained(f"placed by the definition of {self._name(goal)}", proof)
        if depth < 2:
            path = self._hierarchy_path(cls, goal)
            if path and len(path) > 1:
                steps = [self.superclass(a, b, depth + 1) for a, b in path]
                if all(step.lines for step in steps):
                    return Explanation("a chain of superclass links, each explained",
                                       [line for step in steps for line in step.lines])
        return Explanation(HERMIT)

    def type(self, individual, goal) -> Explanation:
        """Why ``individual`` is a member of the named class ``goal``."""
        proof = self._individual_meets(individual, goal)
        if proof is not None:
            how = "its told type lies under the class" if proof[0].relation == "Type" and \
                all(a.relation != "fact" for a in proof) else f"it meets the definition of {self._name(goal)}"
            return self._explained(how, proof)
        for told_type in self._asserted(individual, RDF_TYPE):
            if isinstance(told_type, ox.NamedNode) and self._hierarchy_path(told_type, goal):
                step = self.superclass(told_type, goal)
                if step.lines:
                    return Explanation("its told type lies under the class",
                                       [self.line(Axiom(individual, "Type", told_type)), *step.lines])
        for prop in self._asserted(None, DOMAIN, goal):
            value = next(iter(self._asserted(individual, prop)), None)
            if value is not None:
                return self._explained("the domain of a property it has",
                                       [Axiom(individual, "fact", value, (prop,)), Axiom(prop, "Domain", goal)])
        for prop in self._asserted(None, RANGE, goal):
            subject = next(iter(self._asserted(None, prop, individual)), None)
            if subject is not None:
                return self._explained("the range of a property that points to it",
                                       [Axiom(subject, "fact", individual, (prop,)), Axiom(prop, "Range", goal)])
        return Explanation(HERMIT)

    def property_value(self, subject, prop, value) -> Explanation:
        """Why ``subject prop value`` holds: a property chain and the triples along it."""
        for head in self._asserted(prop, CHAIN):
            chain = self.manchester.members(head)
            path = self._follow(subject, chain, value)
            if path is not None:
                facts = [Axiom(a, "fact", b, (step,)) for (a, b), step in zip(path, chain)]
                return self._explained("a property chain", [Axiom(prop, "SubPropertyChain", None, tuple(chain)),
                                                             *facts])
        return Explanation(HERMIT)

    def _follow(self, start, chain, goal) -> list | None:
        """A path start -p1-> … -pn-> goal (asserted or inferred links), as (from, to) pairs, or None."""
        frontier = [(start, [])]
        for step in chain:
            frontier = [(q.object, path + [(node, q.object)]) for node, path in frontier
                        for q in self.store.quads_for_pattern(node, step, None)][:MAX_NODES]
        return next((path for node, path in frontier if node == goal), None)

    # --- output ---------------------------------------------------------------------------------------------

    def _name(self, node) -> str:
        return self.manchester.entity(node).text

    def _explained(self, how: str, axioms: list) -> Explanation:
        unique = list(dict.fromkeys(axioms))
        return Explanation(how, [a if isinstance(a, list) else self.line(a) for a in unique])

    def line(self, axiom: Axiom) -> list[Token]:
        """One axiom as a line of tokens: ``subject Keyword object``."""
        space = Token(" ", "punct")
        render = self.manchester.render
        if axiom.relation == "fact":
            return [*render(axiom.subject), space, *render(axiom.chain[0]), space, *render(axiom.object)]
        if axiom.relation == "SubPropertyChain":
            chain = []
            for index, step in enumerate(axiom.chain):
                chain += ([space, Token("o", "keyword"), space] if index else []) + render(step)
            return [*chain, space, Token("SubPropertyOf:", "keyword"), space, *render(axiom.subject)]
        keyword = {"Type": "Types:"}.get(axiom.relation, axiom.relation + ":")
        return [*render(axiom.subject), space, Token(keyword, "keyword"), space, *render(axiom.object)]

