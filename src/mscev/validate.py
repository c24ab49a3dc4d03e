"""Validate stage: SHACL shapes (pySHACL) plus three rules SHACL targets cannot say for the whole graph: every
reused external term is declared, every value origin describes a value its finding has (ORIGIN_CHECK), and no text
carries a language tag (the project's one policy for labels, synonyms, definitions and quotes: plain strings, so
that rdfs:label "harmful" matches; see ontology/README.md).

Violations fail the build; warnings are reported. Validation runs without RDFS inference, against the
merged graph that already holds the class hierarchy, because RDFS inference would type every value of a
property as the property's range and hide wrong-class violations.

Two engines give the same report: ``validate`` (pySHACL on an rdflib graph, the reference) and
``validate_store`` (the shapes compiled to SPARQL on a pyoxigraph store, see mscev.shacl_sparql), which
the fast build uses for graphs of millions of triples.
"""

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from rdflib import RDF, RDFS, BNode, Graph, Literal, Namespace, URIRef

from mscev.load import LoadedGraph, LoadedStore, parse_turtle, to_oxigraph, to_rdflib
from mscev.namespaces import MSCEV, bind_prefixes, curie
from mscev.paths import SHAPES_FILE

SH = Namespace("http://www.w3.org/ns/shacl#")
EXTERNAL_NAMESPACES = ("http://purl.obolibrary.org/obo/", "https://identifiers.org/")
DECLARED_TERM = MSCEV.DeclaredExternalTermConstraint
ORIGIN_CONSISTENCY = MSCEV.ValueOriginConsistencyConstraint
PLAIN_TEXT = MSCEV.PlainTextConstraint
VALIDATION_THREADS = min(os.cpu_count() or 1, 4)  # pyoxigraph evaluates queries without holding Python's lock


@dataclass(frozen=True, order=True)
class ValidationResult:
    severity: str  # "Violation", "Warning" or "Info"
    file: str
    focus: str
    path: str
    message: str
    constraint: str
    shape: str


@dataclass
class ValidationReport:
    results: list[ValidationResult]
    graph: Graph

    @property
    def violations(self) -> list[ValidationResult]:
        return [r for r in self.results if r.severity == "Violation"]

    @property
    def warnings(self) -> list[ValidationResult]:
        return [r for r in self.results if r.severity == "Warning"]

    @property
    def conforms(self) -> bool:
        return not self.violations

    def about_files(self, names: set[str]) -> "tuple[ValidationReport, ValidationReport]":
        """The results about nodes that the named files state, and the rest (a draft's own problems first)."""
        own = [r for r in self.results if names & set(r.file.split(", "))]
        return (ValidationReport(own, self.graph),
                ValidationReport([r for r in self.results if r not in own], self.graph))

    def as_text(self) -> str:
        """One line per result, violations first, as a curator reads them."""
        if not self.results:
            return "Conforms: no violations, no warnings.\n"
        lines = [f"{len(self.violations)} violation(s), {len(self.warnings)} warning(s)"]
        for r in sorted(self.results, key=lambda r: (r.severity != "Violation", r.file, r.focus, r.path)):
            lines.append(f"{r.severity}\t{r.file}\t{r.focus}\t{r.path}\t{r.message}")
        return "\n".join(lines) + "\n"


def validate(loaded: LoadedGraph, shapes_file: Path = SHAPES_FILE) -> ValidationReport:
    """Validate the loaded graph against the shapes and the external-term rule."""
    import pyshacl  # heavy: imported only by the stage that needs it

    shapes = parse_turtle(shapes_file)
    _conforms, results_graph, _text = pyshacl.validate(
        loaded.graph, shacl_graph=shapes, inference="none", abort_on_first=False, allow_warnings=True
    )
    report_node = next(results_graph.subjects(RDF.type, SH.ValidationReport))
    for term in undeclared_external_terms(loaded.graph):
        _add_undeclared_result(results_graph, report_node, min(loaded.graph.subjects(None, term), default=term), term)
    for row in loaded.graph.query(ORIGIN_CHECK):
        _add_result(results_graph, report_node, row.origin, SH.Violation, ORIGIN_CONSISTENCY, row.message, None)
    for subject, predicate, text in language_tagged_text(loaded.graph):
        _add_tagged_result(results_graph, report_node, subject, predicate, text)
    return _report(results_graph, report_node, loaded.origin_of, shapes)


def validate_store(loaded: LoadedStore, shapes_file: Path = SHAPES_FILE) -> ValidationReport:
    """The same validation on a pyoxigraph store, with the shapes compiled to SPARQL (for large graphs); the
    queries run on VALIDATION_THREADS threads at once."""
    from mscev.shacl_sparql import compile_shapes, run_checks

    shapes = parse_turtle(shapes_file)
    results_graph = Graph()
    report_node = BNode()
    results_graph.add((report_node, RDF.type, SH.ValidationReport))
    focus_nodes = set()
    checks = compile_shapes(shapes, loaded.store, loaded.graph)
    with ThreadPoolExecutor(VALIDATION_THREADS, thread_name_prefix="validate") as pool:
        cross_node = [pool.submit(lambda query: list(loaded.store.query(query, default_graph=loaded.graph)), query)
                      for query in (UNDECLARED_TERMS, ORIGIN_CHECK, TAGGED_TEXT)]
        for check, focus, value in run_checks(checks, loaded.store, loaded.graph, pool):
            node = _add_result(results_graph, report_node, to_rdflib(focus), check.severity, check.constraint,
                               check.message, None if value is None else to_rdflib(value))
            results_graph.add((node, SH.sourceShape, check.shape))
            if check.path is not None:
                path = check.path
                if check.inverse:
                    path = BNode()
                    results_graph.add((path, SH.inversePath, check.path))
                results_graph.add((node, SH.resultPath, path))
            focus_nodes.add(focus)
        undeclared, origin_problems, tagged = (future.result() for future in cross_node)
    for row in undeclared:
        user = row["user"] if row["user"] is not None else row["term"]
        _add_undeclared_result(results_graph, report_node, to_rdflib(user), to_rdflib(row["term"]))
        focus_nodes.add(user)
    for row in origin_problems:
        _add_result(results_graph, report_node, to_rdflib(row["origin"]), SH.Violation, ORIGIN_CONSISTENCY,
                    to_rdflib(row["message"]), None)
        focus_nodes.add(row["origin"])
    for row in tagged:
        _add_tagged_result(results_graph, report_node, *(to_rdflib(row[name]) for name in ("s", "p", "o")))
        focus_nodes.add(row["s"])
    origins = loaded.origins(focus_nodes)
    return _report(results_graph, report_node, lambda node: origins.get(to_oxigraph(node), "-"), shapes)


def _report(results_graph: Graph, report_node, origin_of: Callable, shapes: Graph) -> ValidationReport:
    results = [_read_result(results_graph, node, origin_of, shapes) for node in results_graph.objects(report_node, SH.result)]
    conforms = not any(r.severity == "Violation" for r in results)
    results_graph.set((report_node, SH.conforms, Literal(conforms)))
    return ValidationReport(sorted(results), bind_prefixes(results_graph))


def undeclared_external_terms(graph: Graph) -> set[URIRef]:
    """External IRIs (OBO, identifiers.org) used in the graph but not declared with a label."""
    used = {node for triple in graph for node in triple
            if isinstance(node, URIRef) and str(node).startswith(EXTERNAL_NAMESPACES)}
    return {iri for iri in used if (iri, RDFS.label, None) not in graph}


def _add_undeclared_result(results: Graph, report, user, term: URIRef) -> None:
    """A violation on ``user`` (the first subject that uses ``term``, or the term itself) for an undeclared term."""
    _add_result(results, report, user, SH.Violation, DECLARED_TERM, Literal(
        f"{curie(term)} is not declared: verify it in its ontology's own file and add it to ontology/imports/terms.tsv, "
        "then run `mscev update-imports`."), term)


def language_tagged_text(graph: Graph) -> list[tuple]:
    """(subject, predicate, literal) of every literal with a language tag: the policy is plain strings."""
    return sorted((s, p, o) for s, p, o in graph if isinstance(o, Literal) and o.language)


def _add_tagged_result(results: Graph, report, subject, predicate, text: Literal) -> None:
    node = _add_result(results, report, subject, SH.Violation, PLAIN_TEXT, Literal(
        f"Write {curie(str(predicate))} as a plain string, without the language tag @{text.language.lower()}: labels, "
        "synonyms, definitions and quotes are plain strings throughout (ontology/README.md, Names and synonyms)."),
        text)
    results.add((node, SH.resultPath, predicate))


def _add_result(results: Graph, report, focus, severity, constraint, message, value) -> BNode:
    node = BNode()
    results.add((report, SH.result, node))
    results.add((node, RDF.type, SH.ValidationResult))
    results.add((node, SH.focusNode, focus))
    results.add((node, SH.resultSeverity, severity))
    results.add((node, SH.sourceConstraintComponent, constraint))
    if message is not None:
        results.add((node, SH.resultMessage, message))
    if value is not None:
        results.add((node, SH.value, value))
    return node


def _read_result(results: Graph, node, origin_of: Callable, shapes: Graph) -> ValidationResult:
    def value(predicate):
        return results.value(node, predicate)

    focus = value(SH.focusNode)
    path = value(SH.resultPath)
    severity = value(SH.resultSeverity)
    message = value(SH.resultMessage)
    if message is None:
        message = f"constraint {curie(str(value(SH.sourceConstraintComponent)))} not met"
    if value(SH.value) is not None and value(SH.sourceConstraintComponent) not in (SH.MinCountConstraintComponent, DECLARED_TERM):
        message = f"{message} (value: {_show(value(SH.value))})"
    return ValidationResult(
        severity=str(severity).rsplit("#", 1)[-1] if severity else "Violation",
        file=origin_of(focus),
        focus=_show(focus),
        path=_show_path(results, path),
        message=str(message),
        constraint=curie(str(value(SH.sourceConstraintComponent))),
        shape=_owning_shape(shapes, value(SH.sourceShape)),
    )


def _show_path(results: Graph, path) -> str:
    """A result path as a CURIE, '^CURIE' for an inverse path, '-' for none."""
    if path is None:
        return "-"
    inverse = results.value(path, SH.inversePath)
    if inverse is not None:
        return "^" + _show(inverse)
    return _show(path)


def _owning_shape(shapes: Graph, shape) -> str:
    """The named node shape a (possibly anonymous property) shape belongs to."""
    while isinstance(shape, BNode):
        owner = shapes.value(None, SH.property, shape) or shapes.value(None, SH["or"], shape)
        if owner is None:
            # a member of an RDF list (sh:or): walk back to the list head
            owner = shapes.value(None, RDF.rest, shape) or shapes.value(None, RDF.first, shape)
        if owner is None:
            return "-"
        shape = owner
    return curie(str(shape)) if shape is not None else "-"


def _show(node) -> str:
    if isinstance(node, URIRef):
        return curie(str(node))
    if isinstance(node, Literal):
        text = str(node)
        return repr(text if len(text) < 60 else text[:57] + "...")
    return "_:" + str(node)


# undeclared_external_terms in SPARQL, with the first subject that uses each term
UNDECLARED_TERMS = f"""
SELECT ?term (MIN(?subject) AS ?user) WHERE {{
  {{ ?subject ?p ?term }} UNION {{ ?term ?p ?o }} UNION {{ ?s ?term ?o }}
  FILTER(isIRI(?term) && ({" || ".join(f'STRSTARTS(STR(?term), "{ns}")' for ns in EXTERNAL_NAMESPACES)}))
  MINUS {{ ?term <{RDFS.label}> ?label }}
}} GROUP BY ?term
"""


# A value origin (ontology/README.md, "Value origins") must describe a triple of the node that links to it (a
# finding, an effect, a cargo evidence, a microRNA), cite a study that node cites (an effect: its finding; a
# microRNA: a cargo evidence naming it), and show where the value is: the title, verbatim from that study's
# reference-list entry, or the Table 2 row, which cites that study. SHACL Core cannot compare values across two
# nodes, and SHACL-SPARQL is not compiled by mscev.shacl_sparql, so this one query runs on both validators.
# Each part removes the origins that pass with MINUS, whose group starts again from the value origins, never with
# FILTER NOT EXISTS: pyoxigraph evaluates a NOT EXISTS group for every row, and the title test's group started
# from every study's reference-list entry instead of the row's origin, which made this check quadratic (see
# mscev.shacl_sparql and benchmarks/RESULTS.md, "Validation linear again").
ORIGIN_CHECK = """
PREFIX mscev: <https://w3id.org/mscev/>
PREFIX dcterms: <http://purl.org/dc/terms/>
SELECT ?origin ?message WHERE {
  {
    ?owner mscev:valueOrigin ?origin .
    ?origin mscev:originProperty ?property ; mscev:originValue ?value .
    MINUS { ?owner mscev:valueOrigin ?origin .
            ?origin mscev:originProperty ?property ; mscev:originValue ?value .
            ?owner ?property ?value }
    BIND(CONCAT(STR(?owner), " has no ", STR(?property), " ", STR(?value),
                ": a value origin describes a value of the node that links to it") AS ?message)
  } UNION {
    ?owner mscev:valueOrigin ?origin .
    ?origin mscev:citedStudy ?study .
    MINUS { ?owner mscev:valueOrigin ?origin .
            ?origin mscev:citedStudy ?study .
            ?owner (^mscev:hasEffect|^mscev:cargo)?/mscev:citedStudy ?study }
    BIND(CONCAT(STR(?study), " is not cited by ", STR(?owner),
                " (or the finding or cargo evidence it belongs to): the value comes from that reference") AS ?message)
  } UNION {
    ?origin mscev:originSource mscev:ReferenceListEntry .
    MINUS { ?origin mscev:originSource mscev:ReferenceListEntry ; mscev:evidenceQuote ?title ; mscev:citedStudy ?study .
            ?study dcterms:bibliographicCitation ?entry
            FILTER(CONTAINS(STR(?entry), STR(?title))) }
    BIND(CONCAT("a value from the reference list needs mscev:evidenceQuote with the title, verbatim from the ",
                "cited study's reference-list entry") AS ?message)
  } UNION {
    ?origin mscev:originSource mscev:ReviewTable2 .
    MINUS { ?origin mscev:originSource mscev:ReviewTable2 ; mscev:originRow ?row ; mscev:citedStudy ?study .
            ?row mscev:citedStudy ?study }
    BIND(CONCAT("a value from Table 2 needs mscev:originRow, the Table 2 row (table:table2-rowN) that cites ",
                "the finding's study") AS ?message)
  }
}
"""
TAGGED_TEXT = 'SELECT ?s ?p ?o WHERE { ?s ?p ?o FILTER(isLiteral(?o) && LANG(?o) != "") }'

