"""The review's own names work everywhere: synonyms, one resolver for --param, the web forms and the search box,
suggestions of the expected kind for a near miss, and one language-tag policy (plain strings)."""

import re

import pyoxigraph as ox
import pytest
from fastapi.testclient import TestClient

from mscev.cli import main
from mscev.errors import MscevError
from mscev.imports import FROM_REVIEW, read_synonyms, read_terms
from mscev.names import NameIndex, fold, resolve_name
from mscev.namespaces import curie, expand
from mscev.paths import SYNONYMS_FILE, source_files
from mscev.query import open_store, read_query, run_query, stored_queries
from mscev.serve import Settings, create_app

# The examples: the name as a reader types it, the query and parameter it goes to, the term it names.
EXAMPLES = [
    ("IL-10", "effects-on", "affects", "HGNC:5962"),
    ("TNF-α", "effects-on", "affects", "HGNC:11892"),
    ("TNF-alpha", "effects-on", "affects", "HGNC:11892"),
    ("tnf alpha", "effects-on", "affects", "HGNC:11892"),
    ("nSMase2", "effects-on", "affects", "HGNC:14240"),
    ("GVHD", "sources-by-condition", "condition", "MONDO:0013730"),
    ("MI", "sources-by-condition", "condition", "MONDO:0005068"),
    ("liver fibrosis", "sources-by-condition", "condition", "HP:0001395"),
    ("diabetic nephropathy", "sources-by-condition", "condition", "MONDO:0005016"),
    ("intrauterine adhesions", "sources-by-condition", "condition", "MONDO:0015299"),
    ("WJ-MSCs", "conditions-by-source", "source", "mscev:WhartonsJellyMSC"),
    ("Wharton’s Jelly MSCs", "conditions-by-source", "source", "mscev:WhartonsJellyMSC"),
    ("hBM-MSCs", "conditions-by-source", "source", "cell:human-bm-msc"),
]
# Names of terms that are not of any parameter's kind here, resolved without a kind.
ANY_KIND = [("MnSOD", "HGNC:11180"), ("Alix", "HGNC:8766"), ("IκBα", "HGNC:7797"), ("IL-1beta", "HGNC:5992"),
            ("coronavirus", "MONDO:0100096")]


@pytest.fixture(scope="module")
def store(built):
    return open_store(built.out)


@pytest.fixture(scope="module")
def client(built):
    with TestClient(create_app(Settings(build_dir=built.out, workers=1, timeout=60))) as test_client:
        yield test_client


def test_fold_ignores_case_punctuation_greek_spelling_and_plural():
    assert fold("TNF-α") == fold("TNF-alpha") == fold("tnf alpha") == fold("TNFα")
    assert fold("IL-1β") == fold("il 1 beta") and fold("NF-κB") == fold("NF-kappaB")
    assert fold("WJ-MSCs") == fold("WJMSCs") == fold("wj msc")
    assert fold("ROS") != fold("RO")  # a short name keeps its final s
    assert fold("IL-10") != fold("IL-1")


@pytest.mark.parametrize("name, query, parameter, expected", EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_the_reviews_names_resolve_on_the_command_line(name, query, parameter, expected, built, capsys):
    assert main(["query", query, "-p", f"{parameter}={name}", "--format", "srtsv", "--build", str(built.out)]) == 0
    rows = capsys.readouterr().out.splitlines()[1:]
    assert rows and all(row.split("\t")[0] == f"<{expand(expected)}>" for row in rows)


@pytest.mark.parametrize("name, query, parameter, expected", EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_the_reviews_names_resolve_in_the_web_forms(name, query, parameter, expected, client, store):
    answer = client.get(f"/queries/{query}", params={parameter: name}, headers={"Accept": "application/json"})
    assert answer.status_code == 200, answer.text
    bound = {row[parameter]["value"] for row in answer.json()["results"]["bindings"]}
    assert bound == {expand(expected)}
    assert len(answer.json()["results"]["bindings"]) == len(list(run_query(query, {parameter: expected}, store=store)))


@pytest.mark.parametrize("name, expected", [*ANY_KIND, *((e[0], e[3]) for e in EXAMPLES)])
def test_the_reviews_names_resolve_without_a_kind(name, expected, store):
    assert curie(resolve_name(name, store)) == expected


@pytest.mark.parametrize("name, expected", [("coronavirus", "MONDO:0100096"), ("COVID-19", "MONDO:0100096"),
                                            ("atopic dermatitis", "MONDO:0004980"), ("IRI", "MONDO:0005203")])
def test_condition_names_resolve_among_conditions(name, expected, store):
    """COVID-19 is also an exact synonym of the virus in NCBITaxon; among conditions it names the disease."""
    assert curie(resolve_name(name, store, ("condition",))) == expected


@pytest.mark.parametrize("name, expected", [("TNF-alpha", "HGNC:11892"), ("GVHD", "MONDO:0013730"),
                                            ("diabetic nephropathy", "MONDO:0005016")])
def test_the_search_box_finds_synonyms(name, expected, client):
    found = client.get("/search", params={"q": name}, headers={"Accept": "application/json"}).json()
    assert found and found[0]["curie"] == expected


def test_a_near_miss_suggests_the_closest_terms_of_the_expected_kind(built, capsys):
    assert main(["query", "sources-by-condition", "-p", "condition=hart disorder", "--build", str(built.out)]) == 2
    message = " ".join(capsys.readouterr().err.split())
    assert "no condition in the graph is named 'hart disorder'" in message
    assert re.search(r"Closest conditions: heart disorder \(MONDO:0005267\)", message), message


def test_suggestions_are_terms_of_the_parameters_kind_only(store):
    conditions = NameIndex.of(store, ("condition",)).terms
    with pytest.raises(MscevError) as refused:
        resolve_name("coronavirus disease", store, ("condition",))
    suggested = re.findall(r"\(((?:[\w.-]+):[\w.-]+)", str(refused.value).split("Closest conditions:")[1])
    assert suggested and suggested[0] == "MONDO:0100096"
    assert {expand(c) for c in suggested} <= set(conditions)  # never the virus (NCBITaxon) nor a finding
    assert not any(c.startswith(("finding:", "NCBITaxon:")) for c in suggested)


@pytest.mark.parametrize("name, kinds, expected", [
    ("insulin secreting cell", (), "CL:0000168"),  # a label here, an exact synonym of CL:0000169 in CL
    ("menstrual blood MSC", ("source",), "mscev:MenstrualBloodMSC"),  # folds like the population's label
    ("menstrual blood MSCs", ("source",), "cell:menstrual-msc"),
    ("COVID-19", (), "MONDO:0100096"),  # the disease's label, an exact synonym of the virus in NCBITaxon
])
def test_a_label_written_as_typed_wins_over_names_that_only_fold_alike(name, kinds, expected, store):
    assert curie(resolve_name(name, store, kinds)) == expected


def test_names_shared_by_labels_alike_stay_ambiguous(store):
    with pytest.raises(MscevError, match=r"is ambiguous: .*ref:45.*ref:51"):
        resolve_name("Xu et al. 2019", store)


def test_a_name_of_another_kind_is_refused_with_what_it_names(store):
    with pytest.raises(MscevError, match=r"'macrophage' names macrophage \(CL:0000235.*which is not a condition"):
        resolve_name("macrophage", store, ("condition",))


def test_the_web_form_answers_a_near_miss_with_400_and_suggestions(client):
    page = client.get("/queries/sources-by-condition", params={"condition": "hart disorder"},
                      headers={"Accept": "text/html"})
    assert page.status_code == 400 and "heart disorder" in page.text and "MONDO:0005267" in page.text
    plain = client.get("/queries/sources-by-condition", params={"condition": "hart disorder"},
                       headers={"Accept": "application/json"})
    assert plain.status_code == 400 and "Closest conditions: heart disorder" in plain.text


def test_the_search_box_suggests_the_closest_terms_when_nothing_contains_the_text(client):
    page = client.get("/search", params={"q": "osteoartritis"}, headers={"Accept": "text/html"}).text
    assert "No term is named so" in page and "MONDO:0005178" in page


def test_every_iri_parameter_of_the_stored_queries_declares_its_kind():
    for query in stored_queries().values():
        for parameter in query.parameters:
            if parameter.type == "iri":
                assert parameter.kinds, f"{query.path}: declare the kind of term {parameter.name} expects"


@pytest.mark.parametrize("line, why", [("#+ param: x iri(nosuchkind) — a thing", "no kind of term named 'nosuchkind'"),
                                       ("#+ param: x literal(condition) — a thing", "only an iri parameter takes a kind")])
def test_a_wrong_kind_in_a_query_header_names_the_file_and_line(line, why, tmp_path):
    path = tmp_path / "q.rq"
    path.write_text(f"#+ summary: a question\n{line}\nSELECT ?x WHERE {{ ?x ?p ?o }}\n", encoding="utf-8")
    with pytest.raises(MscevError, match=rf"{re.escape(str(path))}:2: .*{why}"):
        read_query(path)


# ---------------------------------------------------------------- the synonym list

def test_names_from_the_review_are_printed_in_it(review_text):
    flat = " ".join(review_text.split())
    from_review = [s for s in read_synonyms() if s.source == FROM_REVIEW]
    assert len(from_review) >= 100
    missing = [(s.term, s.name) for s in from_review if s.name not in flat]
    assert not missing, f"not printed in the review as written: {missing}"


def test_synonyms_from_ontologies_say_which_file_they_were_seen_in():
    for synonym in read_synonyms():
        if synonym.source != FROM_REVIEW:
            assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{7,40}:\S+( \(.*\))?", synonym.source), synonym


def test_every_synonym_names_a_term_of_the_graph(store):
    labelled = {row["t"].value for row in store.query(
        "SELECT DISTINCT ?t WHERE { ?t <http://www.w3.org/2000/01/rdf-schema#label> ?l }", use_default_graph_as_union=True)}
    unknown = {s.term for s in read_synonyms() if expand(s.term) not in labelled}
    assert not unknown, f"synonyms of terms the graph does not have: {sorted(unknown)}"


def test_synonyms_carry_their_source_in_the_graph(store):
    review = store.query("""SELECT (COUNT(*) AS ?n) WHERE { [] <http://www.w3.org/2002/07/owl#annotatedProperty>
        <http://www.geneontology.org/formats/oboInOwl#hasExactSynonym> ;
        <http://purl.org/dc/terms/source> <https://w3id.org/mscev/data/review> }""", use_default_graph_as_union=True)
    assert int(next(iter(review))["n"].value) == sum(s.source == FROM_REVIEW for s in read_synonyms())


@pytest.mark.parametrize("row, why", [
    ("HGNC:5962\tIL-10\t\t", "needs a synonym and its source"),
    ("nosuch:1\tx\treview\t", "unknown prefix"),
    ("HGNC:5962\tIL10\treview\t", "is the label of"),
    ("HGNC:5962\tIL-10\treview\t\nHGNC:5962\til-10\treview\t", "listed twice"),
    ("HGNC:5962\tIL-10\treview", "expected 4 tab-separated columns"),
])
def test_bad_synonym_rows_are_refused_with_file_and_line(row, why, tmp_path):
    path = tmp_path / "synonyms.tsv"
    path.write_text("term\tsynonym\tsource\tnote\n" + row + "\n", encoding="utf-8")
    labels = {term.curie: term.label for term in read_terms()}
    with pytest.raises(MscevError, match=rf"{re.escape(str(path))}:\d+: .*{why}"):
        read_synonyms(path, labels)


def test_the_synonym_list_reads_cleanly():
    labels = {term.curie: term.label for term in read_terms()}
    assert len(read_synonyms(SYNONYMS_FILE, labels)) >= 300


# ---------------------------------------------------------------- one language-tag policy: plain strings

def test_no_source_file_has_a_language_tagged_literal():
    for path in source_files():
        tagged = [t for t in ox.parse(path=str(path), format=ox.RdfFormat.TURTLE)
                  if isinstance(t.object, ox.Literal) and t.object.language]
        assert not tagged, f"{path}: {tagged[0]} (labels and text are plain strings: ontology/README.md)"


def test_a_label_written_as_a_plain_string_matches(store):
    assert store.query('ASK { ?outcome <http://www.w3.org/2000/01/rdf-schema#label> "harmful" }',
                       use_default_graph_as_union=True)
    assert not store.query('ASK { ?s ?p ?o FILTER(LANG(?o) != "") }', use_default_graph_as_union=True)


def test_the_synthetic_corpus_writes_plain_labels(synthetic):
    for path in synthetic.files:
        for triple in ox.parse(path=str(path), format=ox.RdfFormat.TURTLE):
            if triple.predicate.value == "http://www.w3.org/2000/01/rdf-schema#label":
                assert not triple.object.language, f"{path}: {triple}"
