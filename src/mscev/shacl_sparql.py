"""SHACL shapes compiled to SPARQL, to validate graphs of millions of triples in pyoxigraph.

pySHACL stays the reference validator (the curated graph, the shape fixtures); this engine reports the same
results (focus node, path, constraint component, value, severity, message) at scale. Each constraint of each
shape becomes one SELECT that returns the violating focus nodes and values in one pass over the data:
negation is written with MINUS or as a filter on the value, counting with a self-join or GROUP BY, never as
a per-focus-node FILTER NOT EXISTS around a path (a first version did that and turned quadratic).

Supported, as the project's shapes use them: sh:targetClass (SHACL instances, subclasses included); paths
that are a predicate or an sh:inversePath; minCount, maxCount, class, in, hasValue, pattern (with flags),
datatype, nodeKind, minLength, maxLength, the four range bounds, qualifiedValueShape with qualifiedMinCount
or qualifiedMaxCount, and sh:or (and, on a node shape, sh:xone) of shapes that can be tested positively (a
value or class that must be present). Anything else stops with an error naming the shape, so no rule is ever silently skipped.
"""

from collections.abc import Iterator
from dataclasses import dataclass

import pyoxigraph as ox
from rdflib import RDF, BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import SH, XSD

from mscev.errors import MscevError
from mscev.namespaces import curie

# Lexical forms (XML Schema) a literal of these datatypes must have; others are checked by datatype only.
LEXICAL = {XSD.integer: r"^[+-]?[0-9]+$", XSD.decimal: r"^[+-]?([0-9]+(\\.[0-9]*)?|\\.[0-9]+)$",
           XSD.boolean: "^(true|false|1|0)$"}
NODE_KINDS = {SH.IRI: "!isIRI(?v)", SH.BlankNode: "!isBlank(?v)", SH.Literal: "!isLiteral(?v)",
              SH.BlankNodeOrIRI: "isLiteral(?v)", SH.IRIOrLiteral: "isBlank(?v)", SH.BlankNodeOrLiteral: "isIRI(?v)"}
BOUNDS = {SH.minInclusive: ">=", SH.maxInclusive: "<=", SH.minExclusive: ">", SH.maxExclusive: "<"}
LENGTHS = {SH.minLength: "<", SH.maxLength: ">"}
# Keys of a shape that are not constraints (or are read together with another key).
NOT_CONSTRAINTS = {RDF.type, SH.path, SH.message, SH.severity, SH.name, SH.description, SH.targetClass,
                   SH.property, SH.qualifiedMinCount, SH.qualifiedMaxCount, SH.flags, SH.order, SH.group,
                   URIRef("http://www.w3.org/2000/01/rdf-schema#comment"),
                   URIRef("http://www.w3.org/2000/01/rdf-schema#label")}
# pySHACL names the offending value (sh:value) for these components only.
WITH_VALUE = {"Class", "Datatype", "NodeKind", "In", "Pattern", "MinLength", "MaxLength", "MinInclusive",
              "MaxInclusive", "MinExclusive", "MaxExclusive", "Or", "Xone"}


@dataclass(frozen=True)
class Check:
    """One constraint of one shape, as a query returning ?focus (and ?value when it names one)."""

    shape: URIRef  # the node shape
    path: URIRef | None  # the property shape's predicate; None for a constraint on the focus node itself
    inverse: bool  # the path is sh:inversePath of ``path``
    constraint: URIRef  # the constraint component
    severity: URIRef
    message: Literal | None
    query: str
    # None when the query selects target nodes itself; otherwise the query scans the path alone (cheap, and
    # violations are rare) and a candidate counts only when it is an instance of one of these classes.
    target: frozenset[ox.NamedNode] | None

    @property
    def reports_value(self) -> bool:
        return str(self.constraint).removeprefix(str(SH)).removesuffix("ConstraintComponent") in WITH_VALUE


def compile_shapes(shapes: Graph, data: ox.Store, graph: ox.NamedNode) -> list[Check]:
    """Every constraint of every node shape with a target, as a query on ``graph`` of ``data``."""
    compiler = _Compiler(shapes, data, graph)
    return [check for shape in sorted(set(shapes.subjects(SH.targetClass, None)))
            for check in compiler.node_shape(shape)]


def run_checks(checks: list[Check], data: ox.Store, graph: ox.NamedNode) -> Iterator[tuple[Check, object, object]]:
    """(check, focus, value or None) for every violation, in the order of the checks."""
    for check in checks:
        for row in data.query(check.query, default_graph=graph):
            focus = row["focus"]
            if check.target is None or _instance(data, graph, focus, check.target):
                yield check, focus, row["value"] if check.reports_value else None


def _instance(data: ox.Store, graph: ox.NamedNode, node, classes: frozenset) -> bool:
    if isinstance(node, ox.Literal):
        return False
    return any(quad.object in classes for quad in data.quads_for_pattern(node, RDF_TYPE, None, graph))


class _Compiler:
    def __init__(self, shapes: Graph, data: ox.Store, graph: ox.NamedNode):
        self.shapes, self.data, self.graph = shapes, data, graph
        self.fresh = 0

    def var(self, stem: str) -> str:
        self.fresh += 1
        return f"?{stem}{self.fresh}"

    def subclasses(self, classes) -> list[ox.NamedNode]:
        """The classes and all their subclasses in the data (SHACL instance semantics)."""
        wanted = " ".join(_iri(c) for c in classes)
        rows = self.data.query(f"SELECT DISTINCT ?sub WHERE {{ VALUES ?c {{ {wanted} }} ?sub <{RDF_SUBCLASS}>* ?c "
                               "FILTER(isIRI(?sub)) }", default_graph=self.graph)
        return sorted((row["sub"] for row in rows), key=str)

    def instance_of(self, var: str, classes) -> str:
        cls = self.var("class")
        return f"VALUES {cls} {{ {' '.join(map(str, self.subclasses(classes)))} }} {var} a {cls} ."

    # --- shapes --------------------------------------------------------------------------------------------

    def node_shape(self, shape: URIRef) -> list[Check]:
        classes = sorted(self.shapes.objects(shape, SH.targetClass))
        target = self.instance_of("?focus", classes)
        targets = frozenset(self.subclasses(classes))
        checks = []
        for prop in sorted(self.shapes.objects(shape, SH.property), key=str):
            checks += self.constraints(prop, shape, target, targets, self.path(prop, shape))
        checks += self.constraints(shape, shape, target, targets, None)
        return checks

    def path(self, prop, shape: URIRef) -> tuple[URIRef, bool]:
        """(predicate, inverse?) of a property shape's sh:path."""
        path = self.shapes.value(prop, SH.path)
        if isinstance(path, URIRef):
            return path, False
        inverse = self.shapes.value(path, SH.inversePath)
        if isinstance(inverse, URIRef):
            return inverse, True
        raise MscevError(f"{curie(str(shape))}: the fast SHACL engine supports a predicate or sh:inversePath as sh:path")

    def constraints(self, node, shape: URIRef, target: str, targets: frozenset,
                    path: tuple[URIRef, bool] | None) -> list[Check]:
        """The checks for the constraints stated directly on ``node`` (a property shape or the node shape)."""
        severity = self.shapes.value(node, SH.severity, default=SH.Violation)
        message = self.shapes.value(node, SH.message)
        sparql_path = None if path is None else ("^" if path[1] else "") + _iri(path[0])
        checks = []
        for key, param in sorted(self.shapes.predicate_objects(node)):
            if key in NOT_CONSTRAINTS:
                continue
            component, query, scan_first = self.constraint(key, param, node, curie(str(shape)), target, sparql_path)
            checks.append(Check(shape, path[0] if path else None, bool(path and path[1]),
                                SH[component + "ConstraintComponent"], severity, message, query,
                                targets if scan_first else None))
        return checks

    def constraint(self, key, param, node, shape: str, target: str, path: str | None) -> tuple[str, str, bool]:
        """(component name, query, scan first?) for one constraint parameter.

        A constraint on values that are there (a wrong value, too many values) scans the path alone and checks
        the few candidates' targets afterwards; one on values that are missing needs the target in the query.
        """
        name = key.removeprefix(str(SH)) if key.startswith(str(SH)) else None
        if name == "minCount" and path:
            return "MinCount", self.min_count(target, path, int(param)), False
        if name == "maxCount" and path and int(param) == 0:  # every use is a violation: ask the targets
            return "MaxCount", f"SELECT DISTINCT ?focus WHERE {{ {target} ?focus {path} ?any }}", False
        if name == "maxCount" and path:
            return "MaxCount", self.max_count(path, int(param)), True
        if name == "hasValue" and path:
            return "HasValue", f"SELECT DISTINCT ?focus WHERE {{ {target} MINUS {{ ?focus {path} {_iri(param)} }} }}", False
        if name == "qualifiedValueShape" and path:
            return self.qualified(node, param, shape, target, path)
        values = f"?focus {path} ?value ." if path else f"{target} BIND(?focus AS ?value)"
        if name == "or":
            members = list(Collection(self.shapes, param))
            if path:
                conforming = " UNION ".join(f"{{ ?focus {path} ?value . {self.value_test(m, shape, '?value')} }}"
                                            for m in members)
                return "Or", f"SELECT DISTINCT ?focus ?value WHERE {{ {values} MINUS {{ {conforming} }} }}", True
            minus = " ".join(f"MINUS {{ {self.focus_test(m, shape, target)} }}" for m in members)
            return "Or", f"SELECT DISTINCT ?focus ?value WHERE {{ {values} {minus} }}", False
        if name == "xone" and not path:
            # exactly one member holds: a violation is a target where none holds, or where any two hold
            tests = [self.focus_test(m, shape, target) for m in Collection(self.shapes, param)]
            none = f"{{ {target} {' '.join(f'MINUS {{ {test} }}' for test in tests)} }}"
            pairs = [f"{{ {target} {a} {b} }}" for i, a in enumerate(tests) for b in tests[i + 1:]]
            return "Xone", f"SELECT DISTINCT ?focus ?value WHERE {{ {' UNION '.join([none, *pairs])} BIND(?focus AS ?value) }}", False
        if name in ("class", "in", "pattern", "datatype", "nodeKind") or key in BOUNDS or key in LENGTHS:
            test = self.value_test_of(key, param, node, shape, "?value")
            negated = f"MINUS {{ {test} }}" if key == SH["class"] else f"FILTER(!({test}))"
            return (name[0].upper() + name[1:], f"SELECT DISTINCT ?focus ?value WHERE {{ {values} {negated} }}",
                    path is not None)
        raise MscevError(f"{shape}: the fast SHACL engine does not support {curie(str(key))} here; "
                         "validate with the reference engine (pyshacl) or extend mscev.shacl_sparql")

    def min_count(self, target: str, path: str, count: int) -> str:
        if count == 1:
            return f"SELECT DISTINCT ?focus WHERE {{ {target} MINUS {{ ?focus {path} ?any }} }}"
        return (f"SELECT ?focus WHERE {{ {target} OPTIONAL {{ ?focus {path} ?v }} }} "
                f"GROUP BY ?focus HAVING (COUNT(DISTINCT ?v) < {count})")

    def max_count(self, path: str, count: int) -> str:
        if count == 1:
            return (f"SELECT DISTINCT ?focus WHERE {{ ?focus {path} ?first . ?focus {path} ?second . "
                    f"FILTER(!sameTerm(?first, ?second)) }}")
        return f"SELECT ?focus WHERE {{ ?focus {path} ?v }} GROUP BY ?focus HAVING (COUNT(DISTINCT ?v) > {count})"

    def qualified(self, node, shape_node, shape: str, target: str, path: str) -> tuple[str, str, bool]:
        test = self.value_test(shape_node, shape, "?value")
        low = self.shapes.value(node, SH.qualifiedMinCount)
        high = self.shapes.value(node, SH.qualifiedMaxCount)
        if low is not None and high is None:
            if int(low) == 1:
                return "QualifiedMinCount", (f"SELECT DISTINCT ?focus WHERE {{ {target} "
                                             f"MINUS {{ ?focus {path} ?value . {test} }} }}"), False
            return "QualifiedMinCount", (f"SELECT ?focus WHERE {{ {target} OPTIONAL {{ ?focus {path} ?value . {test} }} }} "
                                         f"GROUP BY ?focus HAVING (COUNT(DISTINCT ?value) < {int(low)})"), False
        if high is not None and low is None:
            return "QualifiedMaxCount", (f"SELECT ?focus WHERE {{ ?focus {path} ?value . {test} }} "
                                         f"GROUP BY ?focus HAVING (COUNT(DISTINCT ?value) > {int(high)})"), True
        raise MscevError(f"{shape}: give either sh:qualifiedMinCount or sh:qualifiedMaxCount with a qualified shape")

    # --- positive tests: a pattern that matches when ?value (or ?focus) conforms ----------------------------

    def value_test(self, member, shape: str, var: str) -> str:
        """A pattern matching when ``var`` conforms to the value shape ``member`` (no path)."""
        tests = []
        for key, param in sorted(self.shapes.predicate_objects(member)):
            if key in NOT_CONSTRAINTS:
                continue
            test = self.value_test_of(key, param, member, shape, var)
            tests.append(test if key == SH["class"] else f"FILTER({test})")
        if not tests:
            raise MscevError(f"{shape}: an sh:or member or qualified shape without constraints")
        return " ".join(tests)

    def value_test_of(self, key, param, node, shape: str, var: str) -> str:
        """For sh:class a pattern, for the other value constraints an expression, that hold when ``var`` conforms."""
        if key == SH["class"]:
            return self.instance_of(var, [param])
        if key == SH["in"]:
            return " || ".join(f"sameTerm({var}, {_term(m)})" for m in Collection(self.shapes, param)) or "false"
        if key == SH.pattern:
            flags = self.shapes.value(node, SH.flags)
            extra = f", {_string(str(flags))}" if flags is not None else ""
            return f"!isBlank({var}) && REGEX(STR({var}), {_string(str(param))}{extra})"
        if key == SH.datatype:
            lexical = f" && REGEX(STR({var}), {_string(LEXICAL[param])})" if param in LEXICAL else ""
            return f"isLiteral({var}) && datatype({var}) = {_iri(param)}{lexical}"
        if key == SH.nodeKind:
            return f"!({NODE_KINDS[param].replace('?v', var)})"
        if key in BOUNDS:
            return f"COALESCE({var} {BOUNDS[key]} {_term(param)}, false)"
        if key in LENGTHS:
            return f"!isBlank({var}) && !(STRLEN(STR({var})) {LENGTHS[key]} {int(param)})"
        raise MscevError(f"{shape}: the fast SHACL engine does not support {curie(str(key))} in a value test")

    def focus_test(self, member, shape: str, target: str) -> str:
        """A pattern matching the focus nodes that conform to ``member`` (an sh:or member of a node shape)."""
        path = self.shapes.value(member, SH.path)
        if path is None:
            return f"{target} {self.value_test(member, shape, '?focus')}"
        predicate, inverse = self.path(member, shape)
        prop = ("^" if inverse else "") + _iri(predicate)
        keys = {k for k in self.shapes.predicates(member) if k not in NOT_CONSTRAINTS}
        low = self.shapes.value(member, SH.minCount)
        if keys == {SH.minCount} and int(low) == 1:
            return f"?focus {prop} {self.var('any')} ."
        if keys == {SH.hasValue}:
            return f"?focus {prop} {_iri(self.shapes.value(member, SH.hasValue))} ."
        raise MscevError(f"{shape}: an sh:or member with a path must be only 'sh:minCount 1' or 'sh:hasValue' "
                         "for the fast SHACL engine")


RDF_SUBCLASS = "http://www.w3.org/2000/01/rdf-schema#subClassOf"
RDF_TYPE = ox.NamedNode(str(RDF.type))


def _iri(node) -> str:
    if not isinstance(node, URIRef):
        raise MscevError(f"expected an IRI in the shapes, found {node!r}")
    return f"<{node}>"


def _term(node) -> str:
    if isinstance(node, Literal):
        return node.n3()
    if isinstance(node, BNode):
        raise MscevError("blank nodes cannot be compared by the fast SHACL engine")
    return _iri(node)


def _string(text: str) -> str:
    return Literal(text).n3()
