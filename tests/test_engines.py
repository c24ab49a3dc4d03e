"""The fast engine (pyoxigraph: SHACL compiled to SPARQL, OWL 2 RL as SPARQL rules) gives the reference
engine's answers (pySHACL; reasonable and HermiT), so that it can replace them on large graphs."""


import pytest
from rdflib import RDF, RDFS, Variable
from rdflib.plugins.sparql.algebra import translateQuery, traverse
from rdflib.plugins.sparql.parser import parseQuery

from mscev.build import FAST_ENGINE_BYTES, build, choose_engine
from mscev.cli import main
from mscev.errors import MscevError
from mscev.load import load_graph, load_store, parse_turtle, to_rdflib
from mscev.paths import ONTOLOGY_FILE, SHAPES_FILE, source_files
from mscev.query import ASSERTED_GRAPH, INFERRED_GRAPH, open_store, rows, run_query
from mscev.reason import java_available, reason, reason_store
from mscev.shacl_sparql import compile_shapes
from mscev.validate import ORIGIN_CHECK, TAGGED_TEXT, UNDECLARED_TERMS, validate, validate_store

from conftest import FIXTURES
from test_reason import CONTRADICTIONS
from test_shapes import BASE, fixture_id

SHAPE_FIXTURES = sorted((FIXTURES / "shapes").glob("*/*.ttl"))
EXISTS = ("Builtin_EXISTS", "Builtin_NOTEXISTS")
REASONING = FIXTURES / "reasoning"


def fast_report(files):
    return validate_store(load_store(files, ASSERTED_GRAPH))


def fast_closure(files):
    loaded = load_store(files, ASSERTED_GRAPH)
    result = reason_store(loaded)
    triples = {tuple(to_rdflib(term) for term in (q.subject, q.predicate, q.object))
               for q in loaded.store.quads_for_pattern(None, None, None, INFERRED_GRAPH)}
    return result, triples


def abox(triples):
    """Class memberships and property values: what every engine must agree on (subclass links differ by design:
    HermiT reports direct ones only)."""
    return {t for t in triples if t[1] != RDFS.subClassOf}


# --- validation ------------------------------------------------------------------------------------------

def test_fast_validation_equals_pyshacl_on_a_synthetic_corpus(synthetic, synthetic_reference_report):
    """Same results, field by field: focus node, path, constraint, severity, message, file and shape."""
    reference = set(synthetic_reference_report.results)
    assert reference, "the corpus has broken findings"
    assert set(fast_report(source_files(synthetic.out)).results) == reference


@pytest.mark.slow
@pytest.mark.parametrize("path", SHAPE_FIXTURES, ids=fixture_id)
def test_fast_validation_equals_pyshacl_on_shape_fixtures(path):
    files = [*BASE, path]
    assert set(fast_report(files).results) == set(validate(load_graph(files=files)).results)


def test_fast_validation_equals_pyshacl_on_the_curated_graph(loaded_graph):
    assert set(fast_report(source_files()).results) == set(validate(loaded_graph).results)


def test_fast_validation_queries_use_exists_only_as_a_look_up():
    """pyoxigraph evaluates a FILTER (NOT) EXISTS group for every row, in an order that does not follow the row's
    bindings: around one triple pattern of the focus node that is a look-up, around more it may walk another
    pattern's matches for every row. The origin check's title test did (a group of three patterns): quadratic,
    1.7 s of CPU at 60,000 findings, 0.12 s with MINUS. Every query the fast validator runs keeps to look-ups
    (speed itself: benchmarks/validation_checks.py)."""
    loaded = load_store(source_files(), ASSERTED_GRAPH)
    checks = compile_shapes(parse_turtle(SHAPES_FILE), loaded.store, loaded.graph)
    queries = {f"{check.shape} {check.path} {check.constraint}": check.query for check in checks}
    queries |= {"UNDECLARED_TERMS": UNDECLARED_TERMS, "ORIGIN_CHECK": ORIGIN_CHECK, "TAGGED_TEXT": TAGGED_TEXT}
    assert len(checks) > 100
    assert any(_exists_groups(query) for query in queries.values()), "min-count checks look up with NOT EXISTS"
    assert {name for name, query in queries.items()
            if not all(_is_focus_look_up(group) for group in _exists_groups(query))} == set()


def test_a_group_of_patterns_in_not_exists_is_not_a_look_up():
    """The test above tells the origin check's old title test (three patterns) from a look-up."""
    old = ("SELECT ?origin WHERE { ?origin <urn:source> <urn:ReferenceListEntry> . FILTER NOT EXISTS { "
           "?origin <urn:quote> ?title ; <urn:cited>/<urn:entry> ?entry FILTER(CONTAINS(STR(?entry), STR(?title))) } }")
    look_up = "SELECT ?focus WHERE { ?focus a <urn:Finding> FILTER NOT EXISTS { ?focus <urn:outcome> ?any } }"
    assert [_is_focus_look_up(group) for group in _exists_groups(old)] == [False]
    assert [_is_focus_look_up(group) for group in _exists_groups(look_up)] == [True]


def _exists_groups(query: str) -> list:
    """The group pattern (rdflib algebra) of every FILTER EXISTS and FILTER NOT EXISTS in ``query``."""
    found = []
    traverse(translateQuery(parseQuery(query)).algebra,
             lambda node: found.append(node.graph) if getattr(node, "name", None) in EXISTS else None)
    return found


def _is_focus_look_up(group) -> bool:
    """One triple pattern that has ?focus as its subject or object (rdflib joins it to an empty pattern)."""
    triples = _triple_patterns(group)
    return triples is not None and len(triples) == 1 and Variable("focus") in triples[0][::2]


def _triple_patterns(group) -> list | None:
    """The triple patterns of a group made only of joined basic graph patterns; None for anything else."""
    if group.name == "BGP":
        return list(group.triples)
    if group.name == "Join":
        parts = [_triple_patterns(group.p1), _triple_patterns(group.p2)]
        return None if None in parts else parts[0] + parts[1]
    return None


def test_unsupported_shape_is_refused_not_skipped(tmp_path):
    shapes = tmp_path / "shapes.ttl"
    shapes.write_text("@prefix sh: <http://www.w3.org/ns/shacl#> .\n@prefix ex: <http://example.org/> .\n"
                      "ex:S a sh:NodeShape ; sh:targetClass ex:C ; sh:closed true .\n")
    with pytest.raises(MscevError, match="does not support sh:closed"):
        validate_store(load_store([ONTOLOGY_FILE], ASSERTED_GRAPH), shapes)


SHAPES_PREFIXES = ("@prefix sh: <http://www.w3.org/ns/shacl#> .\n@prefix ex: <http://example.org/> .\n"
                   "@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .\n")


def test_shapes_with_other_targets_are_checked_not_ignored(tmp_path):
    """Shapes targeted by sh:targetNode, sh:targetSubjectsOf or sh:targetObjectsOf were silently ignored."""
    shapes = tmp_path / "shapes.ttl"
    shapes.write_text(SHAPES_PREFIXES + "ex:S a sh:NodeShape ; sh:targetNode ex:a ; sh:property [ sh:path ex:p ; sh:minCount 1 ] .\n"
                      "ex:T a sh:PropertyShape ; sh:targetSubjectsOf ex:q ; sh:path ex:q ; sh:datatype xsd:integer .\n")
    data = tmp_path / "data.ttl"
    data.write_text('@prefix ex: <http://example.org/> .\nex:b ex:q "x" .\n')
    report = validate_store(load_store([data], ASSERTED_GRAPH), shapes)
    assert {(r.focus, r.constraint) for r in report.results} == {("http://example.org/a", "sh:MinCountConstraintComponent"),
                                                                 ("http://example.org/b", "sh:DatatypeConstraintComponent")}


@pytest.mark.parametrize("shape, refused", [
    ("sh:property [ sh:path ex:p ; sh:property [ sh:path ex:q ; sh:minCount 1 ] ]", "sh:property on a property shape"),
    ("sh:property [ sh:path ex:p ; sh:datatype xsd:int ]", "sh:datatype xsd:int"),
    ('sh:property [ sh:path ex:p ; sh:in ( "4.0"^^xsd:decimal ) ]', "canonical form"),
    ("sh:property [ sh:path [ sh:inversePath ex:p ; sh:zeroOrMorePath ex:q ] ; sh:minCount 1 ]", "sh:path"),
])
def test_constructs_the_store_cannot_answer_are_refused(tmp_path, shape, refused):
    """Each was ignored or answered wrongly before: a nested property shape was skipped, xsd:int values are
    xsd:integer in the store, "4.0" is "4" there, and a path node with two forms was read as an inverse path."""
    shapes = tmp_path / "shapes.ttl"
    shapes.write_text(SHAPES_PREFIXES + f"ex:S a sh:NodeShape ; sh:targetClass ex:C ; {shape} .\n")
    with pytest.raises(MscevError, match=refused):
        validate_store(load_store([ONTOLOGY_FILE], ASSERTED_GRAPH), shapes)


# --- reasoning -------------------------------------------------------------------------------------------

def test_rl_rules_equal_reasonable_on_the_curated_graph(loaded_graph):
    result, triples = fast_closure(source_files())
    assert result.consistent and result.explanation == []
    assert abox(triples) == abox(reason(loaded_graph.graph, "rl").inferred)


@pytest.mark.reasoner
def test_rl_rules_equal_hermit_on_the_curated_graph(built):
    _, triples = fast_closure(source_files())
    assert abox(triples) == abox(built.reasoning.inferred)


def test_rl_rules_classify_a_cell_described_by_its_tissue():
    _, triples = fast_closure([*source_files(), REASONING / "wharton-cell.ttl"])
    cell = "https://w3id.org/mscev/data/cell/fx-unlabelled-wj"
    types = {str(o) for s, p, o in triples if str(s) == cell and p == RDF.type}
    assert {"https://w3id.org/mscev/WhartonsJellyMSC", "https://w3id.org/mscev/UmbilicalCordMSC",
            "http://purl.obolibrary.org/obo/CL_0002569"} <= types


@pytest.mark.parametrize("name", sorted(CONTRADICTIONS))
def test_rl_rules_find_and_explain_the_contradictions(name):
    """The same individual and axiom as the other engines (datatype bounds print in canonical form: 200, not 200.0)."""
    result, _ = fast_closure([*source_files(), REASONING / name])
    assert not result.consistent
    text = " ".join(result.explanation)
    for needle in CONTRADICTIONS[name]:
        assert needle in text, text
    reference = reason(load_graph(extra=[REASONING / name]).graph, "rl").explanation
    assert len(result.explanation) == len(reference)


def test_rl_rules_refuse_chains_longer_than_their_files(tmp_path):
    chain = tmp_path / "chain.ttl"
    chain.write_text("@prefix owl: <http://www.w3.org/2002/07/owl#> .\n@prefix ex: <http://example.org/> .\n"
                     "ex:p owl:propertyChainAxiom ( ex:a ex:b ex:c ex:d ) .\n")
    with pytest.raises(MscevError, match="ex:p|example.org/p"):
        reason_store(load_store([chain], ASSERTED_GRAPH))


# --- the build -------------------------------------------------------------------------------------------

@pytest.mark.slow
def test_fast_build_of_the_curated_graph_matches_the_reference_build(built, tmp_path):
    fast = build(tmp_path / "build", engine="fast")
    assert fast.ok and fast.engine == "fast"
    for name in ("graph.ttl", "graph.nt", "inferred.ttl", "validation.ttl", "validation.txt", "summary.json", "store"):
        assert (fast.out / name).exists(), name
    same = ("triples", "findings", "preparations", "references", "violations", "warnings")
    assert {k: fast.counts[k] for k in same} == {k: built.counts[k] for k in same}
    assert (fast.out / "graph.nt").read_text().splitlines() == sorted(set((fast.out / "graph.nt").read_text().splitlines()))
    reference_store, fast_store = open_store(built.out), open_store(fast.out)
    assert rows(run_query("graph-summary", store=fast_store)) == rows(run_query("graph-summary", store=reference_store))
    if java_available():  # the store's inferred graph holds the same memberships and values as HermiT's
        def inferred(store):
            return abox({tuple(to_rdflib(t) for t in (q.subject, q.predicate, q.object))
                         for q in store.quads_for_pattern(None, None, None, INFERRED_GRAPH)})
        assert inferred(fast_store) == inferred(reference_store)


def test_fast_load_names_file_line_and_column(tmp_path):
    bad = tmp_path / "draft.ttl"
    bad.write_text("@prefix ex: <http://example.org/> .\n\nex:a ex:b ex:c ;\n    ex:d .\n", encoding="utf-8")
    with pytest.raises(MscevError) as caught:
        load_store([bad], ASSERTED_GRAPH)
    assert str(caught.value).startswith(f"{bad}:4:10: Turtle syntax error"), str(caught.value)


def test_auto_engine_goes_by_input_size(tmp_path):
    assert choose_engine("auto", source_files()) == "reference"
    big = tmp_path / "big.ttl"
    with big.open("wb") as handle:
        handle.truncate(FAST_ENGINE_BYTES + 1)  # a sparse file: only its size matters here
    assert choose_engine("auto", [*source_files(), big]) == "fast"
    assert choose_engine("reference", [big]) == "reference"


def test_unknown_engine_exits_2(tmp_path, capsys):
    assert main(["build", "--engine", "turbo", "--out", str(tmp_path / "build")]) == 2
    assert "--engine" in capsys.readouterr().err
