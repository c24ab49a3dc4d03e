"""The stored queries and `mscev query`: headers, expected answers, the same answers on rdflib, safe parameters.

Expected answers live in tests/expected/queries/<name>.srj (SPARQL 1.1 Query Results JSON), one per stored query
run with its defaults, plus one per parameter case of tests/fixtures/query-params.json. They are made from the
real graph, which curators keep refining: after a curation change, regenerate them with

    .venv/bin/pytest tests/test_query.py --update-expected

and review the diff (git diff tests/expected/queries/) before committing it.
"""

import csv
import io
import json
import re
import subprocess
import sys
from collections import Counter
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pyoxigraph as ox
import pytest

from mscev.cli import main
from mscev.errors import MscevError
from mscev.namespaces import curie, expand
from mscev.query import Parameter, bind_parameters, open_store, read_query, rows, run_query, stored_queries, to_term

from conftest import FIXTURES, GROUP_CONCAT_COLUMN

QUERIES = stored_queries()
EXPECTED = Path(__file__).parent / "expected" / "queries"
CASES = json.loads((FIXTURES / "query-params.json").read_text(encoding="utf-8"))
RUNS = {**{name: (name, {}) for name in QUERIES}, **{case: (c["query"], c["params"]) for case, c in CASES.items()}}
FINDINGS_COLUMNS = ["finding", "refs", "section", "source", "species", "ev_type", "modification", "formulation",
                    "route", "condition", "model", "outcome", "effects", "cargo", "targets", "quote", "not_from_body_text"]
HOSTILE = ['"', "'", '\\', '"}', "} UNION { ?s ?p ?o }", '") } UNION { ?finding ?p ?o } #', "x\n}\nSELECT * WHERE {",
           "'; DROP ALL; '", "{{ }}", "\u0000", "\"\"\"", "macrophage\" || true || \""]
ORDER_BY = re.compile(r"^ORDER BY (.*)$", re.M)
NUMERIC = {"http://www.w3.org/2001/XMLSchema#" + t for t in ("integer", "decimal")}
XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"


# ---------------------------------------------------------------- comparing results as parsed terms

def term_key(kind, value, language=None, datatype=None):
    """A comparable key for one RDF term; numbers by value (so 50 and 50.0 are equal), blank nodes all alike."""
    if kind == "literal" and datatype in NUMERIC:
        return ("number", Decimal(value))
    if kind == "literal":
        return ("literal", value, language, None if language else datatype or XSD_STRING)
    return (kind, value if kind == "iri" else None)


def ox_key(term):
    if term is None:
        return None
    if isinstance(term, ox.NamedNode):
        return term_key("iri", term.value)
    if isinstance(term, ox.BlankNode):
        return term_key("blank", term.value)
    return term_key("literal", term.value, term.language, None if term.language else term.datatype.value)


def rdflib_key(term):
    from rdflib import BNode, URIRef

    if term is None:
        return None
    if isinstance(term, URIRef):
        return term_key("iri", str(term))
    if isinstance(term, BNode):
        return term_key("blank", str(term))
    return term_key("literal", str(term), term.language, str(term.datatype) if term.datatype else None)


def normalised(query, variables, rows):
    """Rows as tuples of keys; a GROUP_CONCAT column as the sorted list of its parts (SPARQL leaves their order open)."""
    separators = {name: separator for separator, name in GROUP_CONCAT_COLUMN.findall(query.text)}
    result = []
    for row in rows:
        cells = []
        for name, key in zip(variables, row):
            if name in separators and key is not None:
                key = ("list", tuple(sorted(key[1].split(separators[name]))))
            cells.append(key)
        result.append(tuple(cells))
    return result


def ordered_columns(query, variables):
    """The projected variables that the query's ORDER BY sorts on: their sequence must match, ties may not."""
    match = ORDER_BY.search(query.text)
    return [variables.index(name) for name in re.findall(r"\?(\w+)", match.group(1)) if name in variables] if match else []


def assert_same(query, variables, actual, expected, what):
    assert Counter(actual) == Counter(expected), f"{query.name}: rows differ from {what}:\n" + "\n".join(
        [f"  only here: {row}" for row in (Counter(actual) - Counter(expected))]
        + [f"  only in {what}: {row}" for row in (Counter(expected) - Counter(actual))])
    columns = ordered_columns(query, variables)
    if columns:
        order = lambda rows: [tuple(row[i] for i in columns) for row in rows]  # noqa: E731
        assert order(actual) == order(expected), f"{query.name}: ORDER BY gives another order than {what}"


def oxigraph_rows(results):
    variables = [v.value for v in results.variables]
    return variables, [tuple(ox_key(solution[name]) for name in variables) for solution in results]


# ---------------------------------------------------------------- fixtures

@pytest.fixture(scope="session")
def store(built):
    return open_store(built.out)


@pytest.fixture(scope="session")
def rdflib_graph(built):
    """build/graph.ttl, build/inferred.ttl and the derived graphs (direct.ttl, summaries.ttl) in one rdflib
    graph: the default graph a portable query sees."""
    from rdflib import Graph

    from mscev.derive import DERIVED_GRAPHS

    graph = Graph()
    for name in ["graph.ttl", "inferred.ttl", *(derived.file_name for derived in DERIVED_GRAPHS)]:
        graph.parse(built.out / name)
    return graph


@pytest.fixture(scope="session")
def update_expected(request) -> bool:
    return request.config.getoption("--update-expected")


# ---------------------------------------------------------------- headers and the catalogue

@pytest.mark.parametrize("name", sorted(QUERIES))
def test_header_declares_question_tags_and_parameters(name):
    query = QUERIES[name]
    assert query.summary, f"{query.path}: add a '#+ summary:' line phrased as the question it answers"
    assert query.summary.endswith(("?", ".")), f"{query.path}: the summary should read as a question"
    assert query.tags, f"{query.path}: add a '#+ tags:' line"
    projection = query.text[query.text.index("SELECT"):query.text.index("WHERE")]
    for param in query.parameters:
        assert param.description, f"{query.path}: describe parameter {param.name}"
        # pyoxigraph binds only projected variables; showing the bound value also tells users what it resolved to
        assert f"?{param.name}" in projection, f"{query.path}: SELECT must project ?{param.name}"


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_query_is_plain_sparql_with_its_own_prefixes(name):
    from rdflib.plugins.sparql import prepareQuery

    prepareQuery(QUERIES[name].text)  # no engine extension, no prefix taken from the project's prefix map


def test_catalogue_lists_every_query(capsys):
    assert main(["query", "--list", "--format", "json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [q["name"] for q in listed] == list(QUERIES)
    assert all(q["summary"] for q in listed)
    assert main(["query", "--list"]) == 0
    printed = capsys.readouterr().out
    assert all(name in printed for name in QUERIES)


def test_queries_readme_documents_every_query():
    readme = (Path(QUERIES[next(iter(QUERIES))].path).parent / "README.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `([\w-]+)` \|", readme, re.M))
    assert documented == set(QUERIES), (f"queries/README.md: missing {sorted(set(QUERIES) - documented)}, "
                                        f"stale {sorted(documented - set(QUERIES))}")


def test_bad_parameter_line_is_refused_with_its_location(tmp_path):
    path = tmp_path / "broken.rq"
    path.write_text("#+ summary: Broken?\n#+ param: x colour — not a type\nSELECT ?x WHERE {}\n", encoding="utf-8")
    with pytest.raises(MscevError, match=r"broken.rq:2: .*iri, literal, integer, decimal, boolean"):
        read_query(path)


@pytest.mark.parametrize("text, refused", [
    ("SELECT * WHERE { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }", "SERVICE"),
    ("INSERT DATA { <urn:x:a> <urn:x:b> <urn:x:c> }", "updates"),
])
def test_ad_hoc_query_files_cannot_reach_the_network_or_update(tmp_path, text, refused):
    """`mscev query FILE.rq` ran SERVICE over HTTP (pyoxigraph does); found by the W3C SERVICE tests."""
    path = tmp_path / "federated.rq"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(MscevError, match=refused):
        run_query(read_query(path), store=ox.Store())


def test_an_empty_store_is_queried_not_the_default_build(tmp_path):
    """run_query(store=ox.Store()) ran on build/ instead: an empty store is falsy (W3C test agg-avg-03)."""
    path = tmp_path / "count.rq"
    path.write_text("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }", encoding="utf-8")
    assert rows(run_query(read_query(path), store=ox.Store(), build_dir=tmp_path / "no-build")) == [{"n": "0"}]


# ---------------------------------------------------------------- expected answers

@pytest.mark.parametrize("run", sorted(RUNS))
def test_answer_matches_expected(run, store, update_expected):
    name, params = RUNS[run]
    query = QUERIES[name]
    path = EXPECTED / f"{run}.srj"
    if update_expected:
        data = json.loads(run_query(query, params, store=store).serialize(format=ox.QueryResultsFormat.JSON))
        EXPECTED.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    variables, actual = oxigraph_rows(run_query(query, params, store=store))
    expected_variables, expected = oxigraph_rows(ox.parse_query_results(path=str(path), format=ox.QueryResultsFormat.JSON))
    assert variables == expected_variables
    assert_same(query, variables, normalised(query, variables, actual), normalised(query, variables, expected),
                f"{path.name} (if the graph changed on purpose, run pytest --update-expected)")


@pytest.mark.parametrize("run", sorted(RUNS))
def test_no_column_is_empty_in_every_row(run, store):
    """A column that no row fills is a query reading a property the graph does not use (ev-subtypes' markers was);
    a column that may legitimately stay empty is declared in the query's '#+ may-be-empty:' header."""
    name, params = RUNS[run]
    query = QUERIES[name]
    results = run_query(query, params, store=store)
    if not isinstance(results, ox.QuerySolutions):
        return  # ASK
    variables, rows = oxigraph_rows(results)
    empty = [v for i, v in enumerate(variables) if rows and all(row[i] is None for row in rows)]
    assert not set(empty) - set(query.may_be_empty), (
        f"{query.path}: column(s) {sorted(set(empty) - set(query.may_be_empty))} empty in all {len(rows)} rows of {run}; "
        "fix the query, or declare them with '#+ may-be-empty: NAME — why'")


def test_may_be_empty_header_names_projected_columns():
    for query in QUERIES.values():
        projection = query.text[query.text.index("SELECT"):query.text.index("WHERE")]
        for column in query.may_be_empty:
            assert f"?{column}" in projection, f"{query.path}: '#+ may-be-empty: {column}' names no projected column"


def test_every_query_and_case_has_an_expected_answer_and_no_orphans():
    """After the answers above (so that --update-expected has written them); stale files must be deleted by hand."""
    assert all(case["query"] in QUERIES for case in CASES.values()), "tests/fixtures/query-params.json names an unknown query"
    assert not set(CASES) & set(QUERIES)
    files = {path.stem for path in EXPECTED.glob("*.srj")}
    assert files == set(RUNS), (f"missing expected answers: {sorted(set(RUNS) - files)} (run pytest --update-expected); "
                                f"orphans: {sorted(files - set(RUNS))}")


@pytest.mark.slow
@pytest.mark.parametrize("run", sorted(RUNS))
def test_rdflib_gives_the_same_answer(run, store, rdflib_graph):
    """Portability: the same query and bound terms on rdflib (one default graph, no prefix map) give the same rows."""
    from rdflib import Literal, URIRef

    name, params = RUNS[run]
    query = QUERIES[name]
    bindings = bind_parameters(query, params, store)
    as_rdflib = {var.value: URIRef(term.value) if isinstance(term, ox.NamedNode)
                 else Literal(term.value, datatype=URIRef(term.datatype.value)) for var, term in bindings.items()}
    theirs = rdflib_graph.query(query.text, initBindings=as_rdflib)
    their_variables = [str(v) for v in theirs.vars]
    their_rows = [tuple(rdflib_key(row[v]) for v in their_variables) for row in theirs]
    variables, ours = oxigraph_rows(run_query(query, params, store=store))
    assert their_variables == variables
    assert_same(query, variables, normalised(query, variables, ours), normalised(query, variables, their_rows), "rdflib")


# ---------------------------------------------------------------- answers checked against the review

def rows_of(name, store, **params):
    results = run_query(name, params, store=store)
    variables = [v.value for v in results.variables]
    return [{v: s[v] for v in variables} for s in results]


def test_umbilical_cord_includes_whartons_jelly(store):
    """"umbilical cord" (the tissue, by its label) finds the Wharton's jelly findings, as the source class does."""
    by_tissue = rows_of("conditions-by-source", store, source="umbilical cord")
    by_class = rows_of("conditions-by-source", store, source="mscev:UmbilicalCordMSC")
    jelly = rows_of("conditions-by-source", store, source="mscev:WhartonsJellyMSC")
    strip = lambda rows: Counter(tuple(sorted((k, str(v)) for k, v in r.items() if k != "source")) for r in rows)  # noqa: E731
    assert strip(by_tissue) == strip(by_class)
    assert jelly and strip(jelly) <= strip(by_class)
    assert {r["finding"].value for r in jelly} >= {"https://w3id.org/mscev/data/finding/ref63-renal-iri-nrf2-are-antioxidation"}


def test_osteoarthritis_sources_match_the_review(store):
    """Osteoarthritis: hBM-MSC EVs (ref 26), AD-MSC EVs (refs 84-86) and ES-MSC exosomes (ref 107)."""
    rows = rows_of("sources-by-condition", store, condition="osteoarthritis")
    assert {curie(r["source"].value) for r in rows} == {"mscev:BoneMarrowMSC", "mscev:AdiposeMSC",
                                                       "mscev:EmbryonicStemCellDerivedMSC"}


def test_findings_export_has_the_agreed_columns_and_one_row_per_finding(store):
    results = run_query("findings", store=store)
    assert [v.value for v in results.variables] == FINDINGS_COLUMNS
    rows = list(results)
    summary = rows_of("graph-summary", store)[0]
    assert len(rows) == int(summary["findings"].value)
    assert all(isinstance(row[name], ox.Literal) for row in rows for name in ("finding", "refs", "quote"))


def test_cell_level_findings_are_listed_but_never_as_vesicle_findings(store):
    """A finding about the MSCs themselves (mscev:cellSubject) keeps its row in the findings export, says it has
    no vesicles, and is absent from the questions about vesicles of a source."""
    cell_level = {"ref40-ev-release-dependence", "ref47-gata4-vs-plain-bmsc", "ref106-es-vs-fetal-msc-ev-neuroprotection"}
    finding = "https://w3id.org/mscev/data/finding/"
    rows = {r["finding"].value: r for r in rows_of("findings", store)}
    gata4 = "GATA-4-expressing BM-MSCs improve functional recovery after myocardial ischaemia more than BM-MSCs alone"
    assert rows[gata4]["ev_type"].value.startswith("none: the MSCs themselves")
    assert finding + "ref47-gata4-vs-plain-bmsc" in {r["finding"].value for r in rows_of("search", store, text="GATA-4")}
    comparisons = {r["comparison"].value: r for r in rows_of("comparisons", store)}
    for name in cell_level:
        assert comparisons[finding + name]["subject"].value.startswith("https://w3id.org/mscev/data/cellprep/")
    vesicle_rows = (rows_of("conditions-by-source", store, source="mscev:BoneMarrowMSC")
                    + rows_of("conditions-by-source", store, source="mscev:EmbryonicStemCellDerivedMSC"))
    assert not {r["finding"].value for r in vesicle_rows} & {finding + name for name in cell_level}


def test_clinical_trials_rebuild_table_1(store):
    """The Clinical trials section: four UC-MSC trials and two BM-MSC trials (one inhaled for coronavirus)."""
    rows = rows_of("clinical-trials", store)
    by_source = Counter(curie(r["source"].value) for r in rows)
    assert by_source == {"mscev:UmbilicalCordMSC": 4, "mscev:BoneMarrowMSC": 2}
    assert {r["trialId"].value for r in rows if r["trialId"]} >= {"NCT03437759", "NCT04276987"}


# ---------------------------------------------------------------- parameters

def test_hostile_literals_are_bound_as_terms(store, rdflib_graph):
    """Quotes, braces and UNION in a literal neither break nor change the query: the rows are exactly the findings
    whose label or quote contains the text."""
    from rdflib import URIRef

    mscev = "https://w3id.org/mscev/"
    label, quote = URIRef("http://www.w3.org/2000/01/rdf-schema#label"), URIRef(mscev + "evidenceQuote")
    texts = {}
    for finding in set(rdflib_graph.subjects(URIRef(mscev + "outcome"), None)):
        texts[str(finding)] = [str(o) for p in (label, quote) for o in rdflib_graph.objects(finding, p)]
    for value in [*HOSTILE, "Wharton"]:
        rows = rows_of("search", store, text=value)
        assert {r["text"].value for r in rows} <= {value}
        expected = {f for f, strings in texts.items() if any(value.lower() in s.lower() for s in strings)}
        assert {r["finding"].value for r in rows} == expected, repr(value)


@pytest.mark.parametrize("value", [*HOSTILE, "<http://example.org/a> } UNION { ?s ?p ?o", "finding:x> . ?s ?p <y",
                                   "http://example.org/a b", "nosuchprefix:thing"])
def test_hostile_iri_values_are_refused(value, store):
    with pytest.raises(MscevError, match="--param condition="):
        run_query("sources-by-condition", {"condition": value}, store=store)


def test_stray_punctuation_in_a_name_binds_the_term_it_names(store):
    """Names are compared without punctuation (mscev.names), so 'osteoarthritis" }' names osteoarthritis: the value
    is bound as that term's IRI, never pasted into the query."""
    rows = rows_of("sources-by-condition", store, condition='osteoarthritis" }')
    assert rows and {r["condition"].value for r in rows} == {"http://purl.obolibrary.org/obo/MONDO_0005178"}


@pytest.mark.parametrize("kind, raw, expected", [
    ("integer", "26", '"26"^^<http://www.w3.org/2001/XMLSchema#integer>'),
    ("integer", "+007", '"7"^^<http://www.w3.org/2001/XMLSchema#integer>'),
    ("decimal", "150", '"150"^^<http://www.w3.org/2001/XMLSchema#decimal>'),
    ("decimal", ".5", '".5"^^<http://www.w3.org/2001/XMLSchema#decimal>'),
    ("boolean", "TRUE", '"true"^^<http://www.w3.org/2001/XMLSchema#boolean>'),
    ("boolean", "0", '"false"^^<http://www.w3.org/2001/XMLSchema#boolean>'),
    ("literal", 'a "quoted" } value', '"a \\"quoted\\" } value"'),
    ("iri", "MONDO:0005178", "<http://purl.obolibrary.org/obo/MONDO_0005178>"),
    ("iri", "<http://purl.obolibrary.org/obo/MONDO_0005178>", "<http://purl.obolibrary.org/obo/MONDO_0005178>"),
    ("iri", "Osteoarthritis", "<http://purl.obolibrary.org/obo/MONDO_0005178>"),
])
def test_values_become_terms_of_the_declared_type(kind, raw, expected, store):
    assert str(to_term(Parameter("p", kind, None, ""), raw, store)) == expected


@pytest.mark.parametrize("kind, raw, why", [
    ("integer", "26 } UNION {", "not an integer"), ("integer", "2.5", "not an integer"),
    ("decimal", "1e3", "not a decimal"), ("decimal", "NaN", "not a decimal"), ("decimal", "150; DROP", "not a decimal"),
    ("boolean", "yes", "not a boolean"), ("iri", "no such label anywhere", "no term in the graph is named"),
])
def test_invalid_values_are_refused_clearly(kind, raw, why, store):
    with pytest.raises(MscevError, match=why):
        to_term(Parameter("p", kind, None, ""), raw, store)


def test_ambiguous_label_lists_the_curies(store):
    shared = next(iter(store.query(
        "SELECT ?label WHERE { ?a <http://www.w3.org/2000/01/rdf-schema#label> ?label . "
        "?b <http://www.w3.org/2000/01/rdf-schema#label> ?label . FILTER(isIRI(?a) && isIRI(?b) && ?a != ?b) } LIMIT 1",
        use_default_graph_as_union=True)))["label"].value
    with pytest.raises(MscevError, match="is ambiguous: it names several terms"):
        to_term(Parameter("p", "iri", None, ""), shared, store)


def test_unknown_and_missing_parameters(store):
    with pytest.raises(MscevError, match="has no parameter colour"):
        run_query("evidence", {"colour": "red"}, store=store)
    needy = replace(QUERIES["evidence"], parameters=(Parameter("finding", "iri", None, "a finding"),))
    with pytest.raises(MscevError, match="needs --param finding="):
        bind_parameters(needy, {}, store)


def test_curies_agree_with_the_curies_library(rdflib_graph):
    """mscev.namespaces does CURIEs itself on the query path (importing curies takes 0.3 s); it must agree."""
    from rdflib import URIRef

    from mscev.namespaces import converter

    iris = {str(t) for triple in rdflib_graph for t in triple if isinstance(t, URIRef)}
    for iri in iris:
        assert curie(iri) == (converter().compress(iri) or iri)
        assert expand(curie(iri)) in (iri, None)


# ---------------------------------------------------------------- the command

def test_command_formats_and_output_file(built, tmp_path, capsys):
    build = ["--build", str(built.out)]
    assert main(["query", "sources-by-condition", "-p", "condition=osteoarthritis", "-f", "json", *build]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["head"]["vars"][0] == "condition" and data["results"]["bindings"]
    trials = len(rows_of("clinical-trials", open_store(built.out)))
    for fmt, parsed_as in [("srtsv", ox.QueryResultsFormat.TSV), ("srx", ox.QueryResultsFormat.XML),
                           ("srj", ox.QueryResultsFormat.JSON)]:
        out = tmp_path / f"answer.{fmt}"
        assert main(["query", "clinical-trials", "-f", fmt, "--out", str(out), *build]) == 0
        assert len(list(ox.parse_query_results(path=str(out), format=parsed_as))) == trials
    out = tmp_path / "answer.srcsv"  # SPARQL CSV: full IRIs, no labels (pyoxigraph does not read it back)
    assert main(["query", "clinical-trials", "-f", "srcsv", "--out", str(out), *build]) == 0
    with out.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == trials and rows[0]["trial"].startswith("https://w3id.org/mscev/data/trial/")
    out = tmp_path / "answer.csv"
    assert main(["query", "clinical-trials", "-f", "csv", "--out", str(out), *build]) == 0
    with out.open(encoding="utf-8", newline="") as handle:
        assert len(list(csv.DictReader(handle))) == trials
    table = tmp_path / "table.txt"
    assert main(["query", "sources-by-condition", "-p", "condition=osteoarthritis", "--out", str(table), *build]) == 0
    text = table.read_text(encoding="utf-8")
    assert "osteoarthritis" in text and "bone marrow MSC" in text and "http" not in text
    assert main(["query", "sources-by-condition", "-p", "condition=osteoarthritis", "--ids", "--out", str(table), *build]) == 0
    assert "MONDO:0005178" in table.read_text(encoding="utf-8")


@pytest.mark.parametrize("fmt, delimiter", [("csv", ","), ("tsv", "\t")])
def test_plain_formats_give_curies_with_a_label_column_beside_each(built, capsys, fmt, delimiter):
    assert main(["query", "sources-by-condition", "-p", "condition=osteoarthritis", "-f", fmt,
                 "--build", str(built.out)]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out), delimiter=delimiter))
    assert rows and rows[0]["condition"] == "MONDO:0005178" and rows[0]["conditionLabel"] == "osteoarthritis"
    assert {"bone marrow MSC"} <= {row["sourceLabel"] for row in rows}
    assert not any(value.startswith(("<", "?", '"')) for row in rows for value in row.values())
    # a query that already projects conditionLabel gets no second one
    assert main(["query", "conditions-by-source", "-f", fmt, "--build", str(built.out)]) == 0
    header = capsys.readouterr().out.splitlines()[0].split(delimiter)
    assert header.count("conditionLabel") == 1 and "sourceLabel" in header


def test_table_drops_a_label_column_it_already_shows(built, capsys):
    assert main(["query", "conditions-by-source", "--build", str(built.out)]) == 0
    assert "conditionLabel" not in capsys.readouterr().out


def test_list_is_one_line_per_query_and_long_adds_parameters(capsys):
    assert main(["query", "--list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(QUERIES) and all(line.split()[0] in QUERIES for line in lines)
    assert main(["query", "--list", "--long"]) == 0
    assert "parameters" in capsys.readouterr().out


def test_format_help_names_every_format(capsys):
    assert main(["query", "graph-summary", "-f", "xlsx"]) == 2
    message = capsys.readouterr().err
    assert all(name in message for name in ("table", "csv", "tsv", "srj", "srx", "srcsv", "srtsv"))


def test_command_runs_an_ad_hoc_file_with_a_boolean(built, tmp_path, capsys):
    path = tmp_path / "flag.rq"
    path.write_text("#+ summary: Is the flag set?\n#+ param: flag boolean = false — a flag\nSELECT ?flag WHERE {}\n",
                    encoding="utf-8")
    assert main(["query", str(path), "-p", "flag=TRUE", "-f", "csv", "--build", str(built.out)]) == 0
    assert capsys.readouterr().out.split() == ["flag", "true"]


@pytest.mark.parametrize("args, message", [
    (["sources-by-condition", "-p", "condition=no such condition"], "no condition in the graph is named"),
    (["reference", "-p", "number=twenty-six"], "not an integer"),
    (["reference", "-p", "number"], "write it as key=value"),
    (["evidence", "-p", "colour=red"], "has no parameter colour"),
    (["graph-summary", "-f", "xml"], "srj (JSON; also json), srx (XML), srcsv, srtsv"),
    (["reference", "-p", "number=999"], "the graph has no mscev:referenceNumber 999; its values run from 1 to 115 (115 in all)"),
    (["no-such-query.rq"], "no such query file"),
])
def test_command_usage_errors_exit_2(args, message, built, capsys):
    assert main(["query", *args, "--build", str(built.out)]) == 2
    assert message in capsys.readouterr().err.replace("\n", " ")


def test_command_without_a_build_says_to_build(tmp_path, capsys):
    assert main(["query", "findings", "--build", str(tmp_path / "nothing")]) == 2
    assert "run `mscev build` first" in capsys.readouterr().err.replace("\n", " ")


def test_query_path_imports_no_heavy_library(built):
    """`mscev query` must start fast: no rdflib, pyshacl, owlready2 or curies on its path."""
    code = ("import sys; from mscev.cli import main; "
            f"main(['query', 'sources-by-condition', '-p', 'condition=osteoarthritis', '--build', {str(built.out)!r}]); "
            "main(['query', '--list']); "
            "print([m for m in ('rdflib', 'pyshacl', 'owlready2', 'curies') if m in sys.modules], file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip().splitlines()[-1] == "[]"


def test_machine_formats_do_not_import_rich(built):
    """rich is for tables; `mscev query -f csv|tsv|json` answers without importing it (about 60 ms)."""
    code = ("import sys; from mscev.cli import main; "
            f"codes = [main(['query', 'graph-summary', '-f', fmt, '--build', {str(built.out)!r}]) for fmt in ('csv', 'tsv', 'json')]; "
            "print(codes, 'rich' in sys.modules, file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip().splitlines()[-1] == "[0, 0, 0] False", done.stderr
    assert done.stdout.startswith("findings,"), done.stdout[:200]


# ---------------------------------------------------------------- staleness by content

def test_staleness_is_judged_by_content_not_by_time(tmp_path, capsys):
    import os
    import shutil

    from mscev.build import build
    from mscev.paths import TRIPLES_DIR
    from mscev.query import stale_sources

    data = tmp_path / "triples"
    shutil.copytree(TRIPLES_DIR, data, ignore=shutil.ignore_patterns("*.md"))
    out = tmp_path / "build"
    assert build(out, use_reasoner=False, data_dir=data).ok
    later = os.stat(out / "summary.json").st_mtime + 5
    os.utime(data / "es.ttl", (later, later))  # rewritten with the same bytes (a checkout, update-imports)
    assert stale_sources(out) == []
    assert main(["query", "graph-summary", "--build", str(out), "-f", "tsv"]) == 0
    assert "changed since the last build" not in capsys.readouterr().err
    with open(data / "es.ttl", "a", encoding="utf-8") as handle:
        handle.write("\n# a curator's edit\n")
    os.utime(data / "es.ttl", (later, later))
    (data / "new.ttl").write_text("", encoding="utf-8")
    (data / "trials.ttl").unlink()
    assert sorted(p.name for p in stale_sources(out)) == ["es.ttl", "new.ttl", "trials.ttl"]
    assert main(["query", "graph-summary", "--build", str(out), "-f", "tsv"]) == 0
    assert "3 source file(s) changed since the last build" in capsys.readouterr().err


def test_queries_say_which_inferences_they_saw(built, tmp_path, capsys):
    from mscev.build import build

    assert main(["query", "inferred-mechanisms", "--build", str(built.out)]) == 0
    captured = capsys.readouterr()
    assert "inferences: HermiT" in captured.out.replace("\n", " ") and "note:" not in captured.err
    assert main(["query", "inferred-mechanisms", "--build", str(built.out), "--asserted-only", "-f", "csv"]) == 0
    assert "answers from the reasoner's inferences" in capsys.readouterr().err.replace("\n", " ")
    unreasoned = tmp_path / "unreasoned"
    assert build(unreasoned, use_reasoner=False).ok
    assert main(["query", "inferred-mechanisms", "--build", str(unreasoned)]) == 0
    captured = capsys.readouterr()
    assert "the build was made without reasoning" in captured.err.replace("\n", " ")
    assert "inferences: not run" in captured.out.replace("\n", " ")
    assert main(["query", "graph-summary", "--build", str(unreasoned), "-f", "csv"]) == 0
    assert "note:" not in capsys.readouterr().err  # a query that needs no inference says nothing


# ---------------------------------------------------------------- paging (issue 15)

def test_limit_and_offset_page_the_ordered_rows(built, tmp_path):
    whole = tmp_path / "whole.csv"
    page = tmp_path / "page.csv"
    assert main(["query", "findings", "--build", str(built.out), "-f", "csv", "--out", str(whole)]) == 0
    assert main(["query", "findings", "--build", str(built.out), "-f", "csv", "--out", str(page),
                 "--limit", "5", "--offset", "10"]) == 0
    rows, paged = (_csv_rows(answer) for answer in (whole, page))
    assert len(rows) > 16 and paged == [rows[0], *rows[11:16]]  # the header, then rows 11 to 15


def _csv_rows(path: Path) -> list[tuple]:
    """A CSV answer's rows, each cell as the sorted list of its "; "-joined parts (whose order SPARQL leaves open)."""
    return [tuple(tuple(sorted(cell.split("; "))) for cell in row)
            for row in csv.reader(io.StringIO(path.read_text(encoding="utf-8")))]


def test_a_page_of_a_numbered_listing_looks_up_its_row_numbers():
    """findings numbers its rows (#+ page-by: position): a page binds the numbers of its rows instead of asking for
    LIMIT/OFFSET, which made the store evaluate every row first (no row within 60 s at 100,000 findings)."""
    from mscev.query import PAGE_ROWS, find_query, with_page

    findings = find_query("findings")
    assert findings.page_by == "position"
    paged = with_page(findings.text, 3, 10, findings.page_by)
    assert "VALUES (?position)" in paged and "LIMIT" not in paged[-40:]
    assert [int(n) for n in re.findall(r'"(\d+)"\^\^', paged)] == [11, 12, 13]
    assert with_page(findings.text, PAGE_ROWS + 1, 10, findings.page_by).endswith(f"LIMIT {PAGE_ROWS + 1}\nOFFSET 10")
    assert with_page(findings.text, None, 10, findings.page_by).endswith("OFFSET 10")


def test_a_numbered_listing_streams_page_by_page_with_the_rows_of_one_query(built, monkeypatch):
    """Read whole, or in a page longer than PAGE_ROWS, findings is looked up PAGE_ROWS numbers at a time (the
    whole query held every row before its first: 69.5 s and 2.2 GB at 100,000 findings, where the pages gave the
    first row in 0.1 s and stayed under 150 MB); the rows, their order and their variables are the query's own."""
    import mscev.query
    from mscev.query import find_query, query_graphs

    store = open_store(built.out)
    findings = find_query("findings")
    whole = store.query(findings.text, **query_graphs())
    variables, expected = [v.value for v in whole.variables], list(whole)
    monkeypatch.setattr(mscev.query, "PAGE_ROWS", 7)
    key = lambda row: tuple(tuple(sorted(row[name].value.split("; "))) if row[name] else None for name in variables)  # noqa: E731
    for limit, offset in ((None, 0), (30, 5), (None, len(expected) - 3), (10, len(expected) + 4)):
        paged = run_query(findings, store=store, limit=limit, offset=offset)
        assert [v.value for v in paged.variables] == variables
        end = len(expected) if limit is None else offset + limit
        assert [key(row) for row in paged] == [key(row) for row in expected[offset:end]], (limit, offset)


def test_a_page_by_line_names_a_variable(tmp_path):
    query = tmp_path / "bad.rq"
    query.write_text("#+ summary: ?\n#+ page-by: ?row number\nSELECT * WHERE { ?s ?p ?o }\n", encoding="utf-8")
    assert read_query(query).page_by == "row"
    query.write_text("#+ summary: ?\n#+ page-by: -\nSELECT * WHERE { ?s ?p ?o }\n", encoding="utf-8")
    with pytest.raises(MscevError, match=r"bad.rq:2: a page-by line reads"):
        read_query(query)


def test_paging_is_refused_for_a_query_with_its_own_limit(built, tmp_path):
    limited = tmp_path / "limited.rq"
    limited.write_text("#+ summary: Ten labels?\n#+ tags: test\nPREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n"
                       "SELECT ?label WHERE { ?s rdfs:label ?label } LIMIT 10\n", encoding="utf-8")
    with pytest.raises(MscevError, match="its own LIMIT"):
        run_query(read_query(limited), store=open_store(built.out), limit=5)
    assert len(list(run_query(read_query(limited), store=open_store(built.out)))) == 10


def test_plain_output_streams_in_chunks_with_the_same_text():
    from mscev.render import plain_rows

    store = ox.Store()
    store.extend(ox.Quad(ox.NamedNode(f"https://example.org/{i}"), ox.NamedNode("https://example.org/p"),
                         ox.Literal(str(i))) for i in range(25))
    query = "SELECT ?s ?o WHERE { ?s ?p ?o } ORDER BY ?o"
    chunks = list(plain_rows(store.query(query), ",", lookahead=10))
    whole = "".join(plain_rows(store.query(query), ",", lookahead=100))
    assert len(chunks) == 3 and "".join(chunks) == whole and whole.count("\n") == 26
