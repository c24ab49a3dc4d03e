"""Every citation of the review body is covered by a statement or explained in the exclusion list."""

from mscev.coverage import citation_numbers, coverage, read_exclusions
from mscev.cli import main

from conftest import REVIEW_TEXT


def test_citation_parsing_expands_lists_and_ranges():
    text = "a [26] b [28, 29] c [104,105,106] d [110]-[112] e [5–7]"
    assert sorted(set(citation_numbers(text))) == [5, 6, 7, 26, 28, 29, 104, 105, 106, 110, 111, 112]


def test_every_body_citation_is_covered_or_excluded(loaded_graph, review_text):
    sections = coverage(loaded_graph.graph, review_text)
    assert {s.heading for s in sections} >= {"Introduction", "Discussion"}
    missing = {s.heading: s.missing for s in sections if s.missing}
    assert missing == {}, f"citations covered by no statement (add a statement or an exclusion): {missing}"


def test_every_cited_number_in_the_body_is_a_reference(review_text, loaded_graph):
    body = review_text.split("\nReferences\n")[0]
    assert max(citation_numbers(body)) == 115


def test_exclusions_have_reasons():
    assert all(reason for reason in read_exclusions().values())


def test_coverage_command(capsys):
    code = main(["coverage"])  # the review shipped in source/ by default
    printed = capsys.readouterr().out
    assert "Findings per MSC source" in printed and "bone marrow MSC" in printed
    assert code == 0, printed
