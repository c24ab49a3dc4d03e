"""SHACL shapes compiled to SPARQL, to validate graphs of millions of triples in pyoxigraph.

pySHACL stays the reference validator (the curated graph, the shape fixtures); this engine reports the same
results (focus node, path, constraint component, value, severity, message) at scale. Each constraint of each
shape becomes one SELECT that returns the violating focus nodes and values in one pass over the data:
negation is written with MINUS, as a filter on the value, or as FILTER NOT EXISTS around one triple pattern of the
focus node (a look-up per focus node: cheaper than MINUS, which hashes every use of the path); counting with
GROUP BY. Never FILTER (NOT) EXISTS around more than that: pyoxigraph evaluates an EXISTS group for every row, in
a join order that (as measured) does not follow the row's bindings, so a group of patterns may start from one
that does not hold the row's node and walk all its matches for every row: quadratic (a first version of this
module, and later mscev.validate.ORIGIN_CHECK, did so). tests/test_engines.py holds every validation query to it.

Supported: the four targets (sh:targetClass with SHACL instances, subclasses included; sh:targetNode,
sh:targetSubjectsOf, sh:targetObjectsOf) and implicit class targets, on node shapes and on property shapes;
sh:deactivated; paths that are a predicate or an sh:inversePath; minCount, maxCount, class, in, hasValue,
pattern (with flags), datatype (with the lexical form checked for the XSD types SPARQL can cast to),
nodeKind, minLength, maxLength, the four range bounds, languageIn, uniqueLang, equals, disjoint, lessThan,
lessThanOrEquals, qualifiedValueShape with qualifiedMinCount or qualifiedMaxCount, and sh:or (and, on a node
shape, sh:xone) of shapes that can be tested positively (a value or class that must be present). Anything else in the sh: namespace (and
any SHACL-SPARQL constraint component) stops with an error naming the shape and the construct, so no rule
is ever silently skipped; the W3C SHACL core suite (tests/test_w3c_shacl.py) checks both the answers and
the refusals.
"""

from collections.abc import Iterator
from concurrent.futures import Executor
from dataclasses import dataclass
from itertools import repeat

import pyoxigraph as ox
from rdflib import RDF, BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import SH, XSD

from mscev.errors import MscevError
from mscev.namespaces import curie

RDF_NS = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
# The store keeps a literal of these types as a value, in canonical form ("4.0"^^xsd:decimal comes back as
# "4"): an ill-formed one keeps its text, so casting it to its own type fails, which is how sh:datatype
# finds ill-formed literals. sh:in, sh:hasValue and sh:targetNode compare terms, which such values no
# longer are, so literals of these types are refused there.
VALUE_TYPES = {XSD[name] for name in ("boolean", "integer", "decimal", "float", "double", "dateTime", "date", "time",
                                      "gYearMonth", "gYear", "gMonthDay", "gDay", "gMonth", "duration",
                                      "yearMonthDuration", "dayTimeDuration")}
# ... and keeps values of these types under another type (xsd:int as xsd:integer, the question of
# w3c/data-shapes#142), so sh:datatype cannot tell them apart: refused.
RETYPED = {XSD[name] for name in ("byte", "short", "int", "long", "unsignedByte", "unsignedShort", "unsignedInt",
                                  "unsignedLong", "nonNegativeInteger", "positiveInteger", "negativeInteger",
                                  "nonPositiveInteger", "dateTimeStamp")}
# Datatypes whose every literal is well-formed (any string; any language-tagged string).
ANY_TEXT = {XSD.string, URIRef(RDF_NS + "langString"), URIRef(RDF_NS + "HTML")}
NODE_KINDS = {SH.IRI: "!isIRI(?v)", SH.BlankNode: "!isBlank(?v)", SH.Literal: "!isLiteral(?v)",
              SH.BlankNodeOrIRI: "isLiteral(?v)", SH.IRIOrLiteral: "isBlank(?v)", SH.BlankNodeOrLiteral: "isIRI(?v)"}
BOUNDS = {SH.minInclusive: ">=", SH.maxInclusive: "<=", SH.minExclusive: ">", SH.maxExclusive: "<"}
LENGTHS = {SH.minLength: "<", SH.maxLength: ">"}
TARGETS = (SH.targetClass, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf)
# Keys of a shape in the sh: namespace that are not constraints, or are read together with another key
# (sh:property and sh:path are read by the shape that holds them). Keys outside sh: are no constraints.
NOT_CONSTRAINTS = {SH.path, SH.property, SH.message, SH.severity, SH.name, SH.description, SH.order, SH.group,
                   SH.defaultValue, SH.qualifiedMinCount, SH.qualifiedMaxCount, SH.flags, SH.deactivated, *TARGETS}
CLASSES = (URIRef("http://www.w3.org/2000/01/rdf-schema#Class"), URIRef("http://www.w3.org/2002/07/owl#Class"))
# pySHACL names the offending value (sh:value) for these components only.
WITH_VALUE = {"Class", "Datatype", "NodeKind", "In", "Pattern", "MinLength", "MaxLength", "MinInclusive",
              "MaxInclusive", "MinExclusive", "MaxExclusive", "Or", "Xone", "LanguageIn", "Equals", "Disjoint", "LessThan",
              "LessThanOrEquals"}
# sh:lessThan and sh:lessThanOrEquals: a value must compare so with every value of the other property.
ORDERS = {SH.lessThan: "<", SH.lessThanOrEquals: "<="}


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
    """Every constraint of every shape with a target, as a query on ``graph`` of ``data``."""
    if (None, RDF.type, SH.ConstraintComponent) in shapes:
        component = next(shapes.subjects(RDF.type, SH.ConstraintComponent))
        raise MscevError(f"{curie(str(component))}: the fast SHACL engine does not support SHACL-SPARQL "
                         "constraint components; validate with the reference engine (pyshacl)")
    compiler = _Compiler(shapes, data, graph)
    targeted = {shape for key in TARGETS for shape in shapes.subjects(key, None)}
    targeted |= {shape for kind in (SH.NodeShape, SH.PropertyShape) for shape in shapes.subjects(RDF.type, kind)
                 if any((shape, RDF.type, cls) in shapes for cls in CLASSES)}  # implicit class targets
    return [check for shape in sorted(targeted, key=str) for check in compiler.shape(shape)]


def run_checks(checks: list[Check], data: ox.Store, graph: ox.NamedNode,
               pool: Executor | None = None) -> Iterator[tuple[Check, object, object]]:
    """(check, focus, value or None) for every violation, in the order of the checks; with ``pool``, the checks
    run on its threads at once (pyoxigraph lets go of Python's lock while it evaluates a query)."""
    found = pool.map(_violations, checks, repeat(data), repeat(graph)) if pool else \
        (_violations(check, data, graph) for check in checks)
    for violations in found:
        yield from violations


def _violations(check: Check, data: ox.Store, graph: ox.NamedNode) -> list[tuple[Check, object, object]]:
    violations = []
    for row in data.query(check.query, default_graph=graph):
        focus = row["focus"]
        if check.target is None or _instance(data, graph, focus, check.target):
            violations.append((check, focus, row["value"] if check.reports_value else None))
    return violations


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

    def shape(self, shape) -> list[Check]:
        """The checks of a shape with targets: a node shape and its property shapes, or a property shape."""
        if self.deactivated(shape):
            return []
        target, targets = self.target(shape)
        if self.shapes.value(shape, SH.path) is not None:
            return self.constraints(shape, shape, target, targets, self.path(shape, shape))
        checks = []
        for prop in sorted(self.shapes.objects(shape, SH.property), key=str):
            if not self.deactivated(prop):
                checks += self.constraints(prop, shape, target, targets, self.path(prop, shape))
        checks += self.constraints(shape, shape, target, targets, None)
        return checks

    def deactivated(self, shape) -> bool:
        return any(value.toPython() is True for value in self.shapes.objects(shape, SH.deactivated))

    def target(self, shape) -> tuple[str, frozenset | None]:
        """A pattern binding ?focus to the shape's focus nodes, and when they are only the instances of classes,
        those classes (then a check on values that are there can scan the path alone, see Check.target)."""
        classes = sorted(self.shapes.objects(shape, SH.targetClass), key=str)
        if (shape, RDF.type, SH.NodeShape) in self.shapes or (shape, RDF.type, SH.PropertyShape) in self.shapes:
            classes += [shape] if any((shape, RDF.type, cls) in self.shapes for cls in CLASSES) else []
        nodes = sorted(self.shapes.objects(shape, SH.targetNode), key=str)
        subjects_of = sorted(self.shapes.objects(shape, SH.targetSubjectsOf), key=str)
        objects_of = sorted(self.shapes.objects(shape, SH.targetObjectsOf), key=str)
        parts = [f"{{ {self.instance_of('?focus', classes)} }}"] if classes else []
        parts += [f"{{ VALUES ?focus {{ {' '.join(_constant(node) for node in nodes)} }} }}"] if nodes else []
        parts += [f"{{ ?focus {_iri(p)} {self.var('any')} }}" for p in subjects_of]
        parts += [f"{{ {self.var('any')} {_iri(p)} ?focus }}" for p in objects_of]
        if not (nodes or subjects_of or objects_of):
            return parts[0].removeprefix("{ ").removesuffix(" }"), frozenset(self.subclasses(classes))
        return f"{{ SELECT DISTINCT ?focus WHERE {{ {' UNION '.join(parts)} }} }}", None

    def path(self, prop, shape: URIRef) -> tuple[URIRef, bool]:
        """(predicate, inverse?) of a property shape's sh:path."""
        path = self.shapes.value(prop, SH.path)
        if isinstance(path, URIRef):
            return path, False
        inverse = self.shapes.value(path, SH.inversePath)
        if isinstance(inverse, URIRef) and set(self.shapes.predicates(path)) == {SH.inversePath}:
            return inverse, True
        raise MscevError(f"{curie(str(shape))}: the fast SHACL engine supports a predicate or sh:inversePath as sh:path")

    def constraints(self, node, shape: URIRef, target: str, targets: frozenset,
                    path: tuple[URIRef, bool] | None) -> list[Check]:
        """The checks for the constraints stated directly on ``node`` (a property shape or the node shape)."""
        severity = self.shapes.value(node, SH.severity, default=SH.Violation)
        message = self.shapes.value(node, SH.message)
        sparql_path = None if path is None else ("^" if path[1] else "") + _iri(path[0])
        if path is not None and (node, SH.property, None) in self.shapes:
            raise MscevError(f"{curie(str(shape))}: the fast SHACL engine does not support sh:property "
                             "on a property shape (nested property shapes)")
        # With class targets only, a check on values that are there scans the path alone; otherwise it joins
        # the target pattern first.
        scan = "" if targets is not None else target
        checks = []
        for key, param in sorted(self.shapes.predicate_objects(node)):
            if not _is_constraint(key):
                continue
            component, query, scan_first = self.constraint(key, param, node, curie(str(shape)), target, scan,
                                                           sparql_path)
            checks.append(Check(shape, path[0] if path else None, bool(path and path[1]),
                                SH[component + "ConstraintComponent"], severity, message, query,
                                targets if scan_first else None))
        return checks

    def constraint(self, key, param, node, shape: str, target: str, scan: str, path: str | None) -> tuple[str, str, bool]:
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
            return "MaxCount", self.max_count(scan, path, int(param)), True
        if name == "hasValue" and path:
            return "HasValue", (f"SELECT DISTINCT ?focus WHERE {{ {target} "
                                f"FILTER NOT EXISTS {{ ?focus {path} {_constant(param)} }} }}"), False
        if name == "hasValue":
            return "HasValue", f"SELECT DISTINCT ?focus WHERE {{ {target} FILTER(!sameTerm(?focus, {_constant(param)})) }}", False
        if name == "qualifiedValueShape" and path:
            return self.qualified(node, param, shape, target, scan, path)
        values = f"{scan} ?focus {path} ?value ." if path else f"{target} BIND(?focus AS ?value)"
        if name in ("equals", "disjoint", "uniqueLang") or key in ORDERS:
            return self.pair(name, key, param, shape, target, scan, path)
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
        if name in ("class", "in", "pattern", "datatype", "nodeKind", "languageIn") or key in BOUNDS or key in LENGTHS:
            test = self.value_test_of(key, param, node, shape, "?value")
            negated = f"MINUS {{ {test} }}" if key == SH["class"] else f"FILTER(!({test}))"
            return (name[0].upper() + name[1:], f"SELECT DISTINCT ?focus ?value WHERE {{ {values} {negated} }}",
                    path is not None)
        raise MscevError(f"{shape}: the fast SHACL engine does not support {curie(str(key))} here; "
                         "validate with the reference engine (pyshacl) or extend mscev.shacl_sparql")

    def pair(self, name: str, key, param, shape: str, target: str, scan: str, path: str | None) -> tuple[str, str, bool]:
        """sh:equals, sh:disjoint, sh:lessThan(OrEquals): the values against another property's values;
        sh:uniqueLang: the values against each other. One result per offending value (per pair for the
        orders, per duplicated language for sh:uniqueLang)."""
        component = name[0].upper() + name[1:]
        if name == "uniqueLang":
            if path is None:
                raise MscevError(f"{shape}: sh:uniqueLang belongs on a property shape")
            if not (isinstance(param, Literal) and param.datatype == XSD.boolean and str(param) == "true"):
                return component, "SELECT ?focus WHERE { FILTER(false) }", False  # only true activates it
            return component, (f"SELECT DISTINCT ?focus ?language WHERE {{ {scan} ?focus {path} ?a . ?focus {path} ?b . "
                               "FILTER(!sameTerm(?a, ?b) && lang(?a) != \"\" && LCASE(lang(?a)) = LCASE(lang(?b))) "
                               "BIND(LCASE(lang(?a)) AS ?language) }"), True
        other = _iri(param)
        values = f"?focus {path} ?value ." if path else "BIND(?focus AS ?value)"
        if key in ORDERS:
            if path is None:
                raise MscevError(f"{shape}: {curie(str(key))} belongs on a property shape")
            return component, (f"SELECT ?focus ?value WHERE {{ {scan} {values} ?focus {other} ?other . "
                               f"FILTER(!COALESCE(?value {ORDERS[key]} ?other, false)) }}"), path is not None
        if name == "disjoint":
            return component, f"SELECT DISTINCT ?focus ?value WHERE {{ {target} {values} ?focus {other} ?value }}", False
        if path is None:  # the focus node is the one value
            return component, (f"SELECT DISTINCT ?focus ?value WHERE {{ {{ {target} ?focus {other} ?value "
                               f"FILTER(!sameTerm(?value, ?focus)) }} UNION {{ {target} FILTER NOT EXISTS "
                               f"{{ ?focus {other} ?focus }} BIND(?focus AS ?value) }} }}"), False
        return component, (f"SELECT DISTINCT ?focus ?value WHERE {{ {target} {{ {values} MINUS {{ ?focus {other} ?value }} }} "
                           f"UNION {{ ?focus {other} ?value MINUS {{ {values} }} }} }}"), False

    def min_count(self, target: str, path: str, count: int) -> str:
        if count == 1:  # a look-up per focus node; MINUS would hash every use of the path
            return f"SELECT DISTINCT ?focus WHERE {{ {target} FILTER NOT EXISTS {{ ?focus {path} ?any }} }}"
        return (f"SELECT ?focus WHERE {{ {target} OPTIONAL {{ ?focus {path} ?v }} }} "
                f"GROUP BY ?focus HAVING (COUNT(DISTINCT ?v) < {count})")

    def max_count(self, scan: str, path: str, count: int) -> str:
        """One row per value, counted per focus node (a graph holds each triple once, so the rows are distinct)."""
        return f"SELECT ?focus WHERE {{ {scan} ?focus {path} ?v }} GROUP BY ?focus HAVING (COUNT(*) > {count})"

    def qualified(self, node, shape_node, shape: str, target: str, scan: str, path: str) -> tuple[str, str, bool]:
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
            return "QualifiedMaxCount", (f"SELECT ?focus WHERE {{ {scan} ?focus {path} ?value . {test} }} "
                                         f"GROUP BY ?focus HAVING (COUNT(DISTINCT ?value) > {int(high)})"), True
        raise MscevError(f"{shape}: the fast SHACL engine supports one of sh:qualifiedMinCount and sh:qualifiedMaxCount "
                         "with a qualified value shape, not both or neither")

    # --- positive tests: a pattern that matches when ?value (or ?focus) conforms ----------------------------

    def value_test(self, member, shape: str, var: str) -> str:
        """A pattern matching when ``var`` conforms to the value shape ``member`` (no path)."""
        tests = []
        for key in (SH.property, SH.path, SH.deactivated):
            if (member, key, None) in self.shapes:
                raise MscevError(f"{shape}: the fast SHACL engine does not support {curie(str(key))} "
                                 "in an sh:or member or qualified value shape")
        for key, param in sorted(self.shapes.predicate_objects(member)):
            if not _is_constraint(key):
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
            return " || ".join(f"sameTerm({var}, {_constant(m)})" for m in Collection(self.shapes, param)) or "false"
        if key == SH.pattern:
            flags = self.shapes.value(node, SH.flags)
            extra = f", {_string(str(flags))}" if flags is not None else ""
            return f"!isBlank({var}) && REGEX(STR({var}), {_string(str(param))}{extra})"
        if key == SH.datatype:
            return self.datatype_test(param, shape, var)
        if key == SH.nodeKind:
            return f"!({NODE_KINDS[param].replace('?v', var)})"
        if key in BOUNDS:
            return f"COALESCE({var} {BOUNDS[key]} {_term(param)}, false)"
        if key in LENGTHS:
            return f"!isBlank({var}) && !(STRLEN(STR({var})) {LENGTHS[key]} {int(param)})"
        if key == SH.languageIn:
            ranges = " || ".join(f"langMatches(lang({var}), {_string(str(r))})" for r in Collection(self.shapes, param))
            return f"COALESCE(isLiteral({var}) && ({ranges or 'false'}), false)"
        raise MscevError(f"{shape}: the fast SHACL engine does not support {curie(str(key))} in a value test")

    def datatype_test(self, datatype, shape: str, var: str) -> str:
        """Holds when ``var`` is a literal of ``datatype`` that is well-formed (its text casts to its type)."""
        typed = f"isLiteral({var}) && datatype({var}) = {_iri(datatype)}"
        if datatype in VALUE_TYPES:
            return f"COALESCE({typed} && sameTerm({_iri(datatype)}({var}), {_iri(datatype)}({var})), false)"
        if datatype in ANY_TEXT or not str(datatype).startswith((str(XSD), RDF_NS)):
            return typed
        why = ("the store keeps its values under another XSD type" if datatype in RETYPED
               else "it cannot check the lexical forms of that type")
        raise MscevError(f"{shape}: the fast SHACL engine does not support sh:datatype {curie(str(datatype))} ({why})")

    def focus_test(self, member, shape: str, target: str) -> str:
        """A pattern matching the focus nodes that conform to ``member`` (an sh:or member of a node shape)."""
        path = self.shapes.value(member, SH.path)
        if path is None:
            return f"{target} {self.value_test(member, shape, '?focus')}"
        predicate, inverse = self.path(member, shape)
        prop = ("^" if inverse else "") + _iri(predicate)
        keys = {k for k in self.shapes.predicates(member) if _is_constraint(k) or k == SH.property}
        low = self.shapes.value(member, SH.minCount)
        if keys == {SH.minCount} and int(low) == 1:
            return f"?focus {prop} {self.var('any')} ."
        if keys == {SH.hasValue}:
            return f"?focus {prop} {_constant(self.shapes.value(member, SH.hasValue))} ."
        raise MscevError(f"{shape}: an sh:or member with a path must be only 'sh:minCount 1' or 'sh:hasValue' "
                         "for the fast SHACL engine")


RDF_SUBCLASS = "http://www.w3.org/2000/01/rdf-schema#subClassOf"
RDF_TYPE = ox.NamedNode(str(RDF.type))


def _is_constraint(key) -> bool:
    """Every key in the sh: namespace that is no known non-constraint: a constraint, supported or refused."""
    return str(key).startswith(str(SH)) and key not in NOT_CONSTRAINTS


def _iri(node) -> str:
    if not isinstance(node, URIRef):
        raise MscevError(f"the fast SHACL engine expects an IRI in the shapes here, found {node!r}")
    return f"<{node}>"


def _term(node) -> str:
    if isinstance(node, Literal):
        return node.n3()
    if isinstance(node, BNode):
        raise MscevError("blank nodes cannot be compared by the fast SHACL engine")
    return _iri(node)


def _constant(node) -> str:
    """A term compared with the data's terms (sameTerm, a pattern), as the store keeps them: a literal of a
    VALUE_TYPES type must be in canonical form (the data's "032"^^xsd:integer is "32" in the store)."""
    if isinstance(node, Literal) and node.datatype in VALUE_TYPES | RETYPED:
        store = ox.Store()
        literal = ox.Literal(str(node), datatype=ox.NamedNode(str(node.datatype)))
        store.add(ox.Quad(RDF_TYPE, RDF_TYPE, literal))
        if next(iter(store)).object != literal:
            raise MscevError(f"the fast SHACL engine cannot compare the literal {node.n3()}: the store keeps "
                             f"{curie(str(node.datatype))} literals in canonical form, and this one is not")
    return _term(node)


def _string(text: str) -> str:
    return Literal(text).n3()
