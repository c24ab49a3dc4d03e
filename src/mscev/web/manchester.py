"""OWL class expressions written in Manchester syntax, read from the store's triples (blank nodes included), so
that a term page shows `'mesenchymal stem cell' and ('derives from' some 'bone marrow')` instead of a blank-node id.

The renderer gives tokens (keywords, linked entities, literals, punctuation) for templates to lay out, and
``text`` for logs and tests. It covers the constructs OWL 2 writes in RDF: intersectionOf, unionOf, complementOf,
oneOf, someValuesFrom, allValuesFrom, hasValue, hasSelf, the (qualified) cardinalities, inverse properties and
datatype restrictions (``decimal[>= 50.0]``). A node it cannot read as an expression is described by its
statements in words, never by its id; nesting is bounded (``MAX_DEPTH``) and cycles are cut.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyoxigraph as ox

from mscev.namespaces import curie

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
OWL = "http://www.w3.org/2002/07/owl#"
XSD = "http://www.w3.org/2001/XMLSchema#"
MAX_DEPTH = 12
FACETS = {XSD + "minInclusive": ">=", XSD + "maxInclusive": "<=", XSD + "minExclusive": ">",
          XSD + "maxExclusive": "<", XSD + "length": "length", XSD + "minLength": "minLength",
          XSD + "maxLength": "maxLength", XSD + "pattern": "pattern", RDF + "langRange": "langRange"}
# (property, keyword, qualified) for the cardinality restrictions
CARDINALITIES = [(OWL + "minCardinality", "min", False), (OWL + "maxCardinality", "max", False),
                 (OWL + "cardinality", "exactly", False), (OWL + "minQualifiedCardinality", "min", True),
                 (OWL + "maxQualifiedCardinality", "max", True), (OWL + "qualifiedCardinality", "exactly", True)]
NUMBERS = {XSD + name for name in ("integer", "decimal", "double", "float", "int", "long", "nonNegativeInteger",
                                   "positiveInteger", "short", "byte")}


@dataclass(frozen=True)
class Token:
    """One piece of an expression: ``kind`` is keyword, entity (``iri`` set), literal or punct."""

    text: str
    kind: str
    iri: str | None = None


def text(tokens: list[Token]) -> str:
    """The tokens as Manchester syntax text: names with spaces in single quotes, as Protégé writes them."""
    out = []
    for token in tokens:
        if token.kind == "entity" and "://" in token.text:
            out.append(f"<{token.text}>")
        elif token.kind == "entity" and not token.text.replace("_", "").replace(":", "").replace("-", "").isalnum():
            out.append("'" + token.text.replace("'", "\\'") + "'")
        else:
            out.append(token.text)
    return "".join(out)


class Manchester:
    """Renders class expressions of ``store`` (all graphs); ``label`` gives an IRI's rdfs:label or None."""

    def __init__(self, store: ox.Store, label):
        self.store, self.label = store, label

    def _value(self, node, predicate: str):
        return next((q.object for q in self.store.quads_for_pattern(node, ox.NamedNode(predicate), None)), None)

    def members(self, head) -> list:
        """The members of an RDF list (at most 1000: a damaged list must not loop)."""
        members = []
        nil = ox.NamedNode(RDF + "nil")
        while head is not None and head != nil and len(members) < 1000:
            first = self._value(head, RDF + "first")
            if first is None:
                break
            members.append(first)
            head = self._value(head, RDF + "rest")
        return members

    def entity(self, node: ox.NamedNode) -> Token:
        return Token(self.label(node) or curie(node.value), "entity", node.value)

    def render(self, node, depth: int = 0, seen: frozenset = frozenset()) -> list[Token]:
        """``node`` (a class, datatype or property expression) as tokens."""
        if isinstance(node, ox.NamedNode):
            return [self.entity(node)]
        if isinstance(node, ox.Literal):
            return [self.literal(node)]
        if depth > MAX_DEPTH or node in seen:
            return [Token("…", "punct")]
        seen = seen | {node}
        step = lambda child: self.render(child, depth + 1, seen)  # noqa: E731
        for predicate, keyword in ((OWL + "intersectionOf", "and"), (OWL + "unionOf", "or")):
            head = self._value(node, predicate)
            if head is not None:
                return self.joined([self._operand(member, step) for member in self.members(head)], keyword)
        for predicate in (OWL + "complementOf", OWL + "datatypeComplementOf"):
            operand = self._value(node, predicate)
            if operand is not None:
                return [Token("not", "keyword"), Token(" ", "punct"), *self._operand(operand, step)]
        head = self._value(node, OWL + "oneOf")
        if head is not None:
            members = [step(member) for member in self.members(head)]
            return [Token("{", "punct"), *self.joined(members, None), Token("}", "punct")]
        inverse = self._value(node, OWL + "inverseOf")
        if inverse is not None:
            return [Token("inverse", "keyword"), Token(" ", "punct"), *self._operand(inverse, step)]
        datatype = self._value(node, OWL + "onDatatype")
        if datatype is not None:
            return [*step(datatype), Token("[", "punct"), *self._facets(node), Token("]", "punct")]
        prop = self._value(node, OWL + "onProperty")
        if prop is not None:
            return self._restriction(node, step(prop), step)
        return self._statements(node, step)

    def _operand(self, node, step) -> list[Token]:
        """An operand of and/or/not: compound expressions in brackets."""
        tokens = step(node)
        if isinstance(node, ox.NamedNode) or isinstance(node, ox.Literal) or \
                self._value(node, OWL + "oneOf") is not None or self._value(node, OWL + "onDatatype") is not None:
            return tokens
        return [Token("(", "punct"), *tokens, Token(")", "punct")]

    @staticmethod
    def joined(parts: list[list[Token]], keyword: str | None, separator: str = ", ") -> list[Token]:
        tokens = []
        for index, part in enumerate(parts):
            if index:
                tokens += [Token(" ", "punct"), Token(keyword, "keyword"), Token(" ", "punct")] if keyword \
                    else [Token(separator, "punct")]
            tokens += part
        return tokens

    def _restriction(self, node, prop: list[Token], step) -> list[Token]:
        space = Token(" ", "punct")
        for predicate, keyword in ((OWL + "someValuesFrom", "some"), (OWL + "allValuesFrom", "only"),
                                   (OWL + "hasValue", "value")):
            filler = self._value(node, predicate)
            if filler is not None:
                return [*prop, space, Token(keyword, "keyword"), space, *self._operand(filler, step)]
        if self._value(node, OWL + "hasSelf") is not None:
            return [*prop, space, Token("Self", "keyword")]
        for predicate, keyword, qualified in CARDINALITIES:
            number = self._value(node, predicate)
            if number is None:
                continue
            tokens = [*prop, space, Token(keyword, "keyword"), space, Token(number.value, "literal")]
            filler = self._value(node, OWL + "onClass") or self._value(node, OWL + "onDataRange") \
                if qualified else None
            return tokens + ([space, *self._operand(filler, step)] if filler is not None else [])
        return [*prop, space, Token("(a restriction this page cannot show)", "punct")]

    def _facets(self, node) -> list[Token]:
        parts = []
        for restriction in self.members(self._value(node, OWL + "withRestrictions")):
            for quad in self.store.quads_for_pattern(restriction, None, None):
                facet = FACETS.get(quad.predicate.value, curie(quad.predicate.value))
                parts.append([Token(facet, "keyword"), Token(" ", "punct"), self.literal(quad.object)])
        return self.joined(parts, None)

    def literal(self, node) -> Token:
        if isinstance(node, ox.Literal):
            if node.datatype.value == XSD + "decimal" and "." not in node.value:
                return Token(node.value + ".0", "literal")  # the store writes 50.0 as 50, which reads as an integer
            if node.datatype.value in NUMBERS or node.datatype.value == XSD + "boolean":
                return Token(node.value, "literal")
            return Token('"' + node.value + '"', "literal")
        return Token(str(node), "literal")

    def _statements(self, node, step) -> list[Token]:
        """A node that is no class expression: its statements, in words (``[label: value; …]``)."""
        parts = []
        for quad in self.store.quads_for_pattern(node, None, None):
            if quad.predicate.value == RDF + "type" and quad.object.value.startswith(OWL):
                continue
            parts.append([self.entity(quad.predicate), Token(" ", "punct"), *step(quad.object)])
        if not parts:
            return [Token("(an anonymous node with no statements)", "punct")]
        return [Token("[", "punct"), *self.joined(parts, None, "; "), Token("]", "punct")]
