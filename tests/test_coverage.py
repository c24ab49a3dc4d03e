"""Every citation and every result-reporting sentence of the review body is covered by a statement or
explained in the exclusion lists of triples/README.md."""

import pytest
from rdflib import RDF, RDFS, Graph, Literal, URIRef

from mscev.coverage import (body_paragraphs, citation_numbers, coverage, read_exclusions, read_sentence_rules,
                            sentence_coverage, split_sentences)
from mscev.cli import main
from mscev.errors import MscevError
from mscev.namespaces import MSCEV

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
    assert "Sentences per review section" in printed and "section:bm-ev" in printed
    assert code == 0, printed


# ---- Sentence coverage ----

def test_splitter_keeps_abbreviations_decimals_and_citations_inside_a_sentence():
    paragraph = ("In a study of liver injury, Mardpour et al. showed that EVs (e.g. from ES-MSCs, i.e. MSCs of "
                 "embryonic origin) act on RAW264.7 cells 2.5 times more vs. controls (Fig. 1) [28, 29]. "
                 "microRNAs and  proteins  were studied [104,105,106]. Did it work? Yes!")
    assert split_sentences(paragraph) == [
        "In a study of liver injury, Mardpour et al. showed that EVs (e.g. from ES-MSCs, i.e. MSCs of embryonic "
        "origin) act on RAW264.7 cells 2.5 times more vs. controls (Fig. 1) [28, 29].",
        "microRNAs and proteins were studied [104,105,106].",
        "Did it work?",
        "Yes!",
    ]


def test_splitter_tells_nitric_oxide_from_the_abbreviation_no():
    assert split_sentences("It reduced TNF-α and NO. And IL-10 rose.") == [
        "It reduced TNF-α and NO.", "And IL-10 rose."]
    assert split_sentences("See No. 3 of the list.") == ["See No. 3 of the list."]


def test_figure_labels_captions_and_table_titles_are_not_body_text():
    body = ("\nFirst paragraph. Second sentence.\n\nFig. 1\nfigure 1\n\nThe caption of the figure\n\n"
            "Table 1 The trials\n\nLast one.\n")
    assert body_paragraphs(body) == ["First paragraph. Second sentence.", "Last one."]


def test_every_result_reporting_sentence_of_the_study_sections_is_represented(loaded_graph, review_text):
    sections = {s.section: s for s in sentence_coverage(loaded_graph.graph, review_text)}
    non_study = {name for name, s in sections.items() if not s.reports_studies}
    assert non_study == {"section:introduction", "section:conclusion"}
    study = [s for s in sections.values() if s.reports_studies and s.sentences]
    assert len(study) == 11 and sum(len(s.result_reporting) for s in study) >= 250
    uncovered = {s.section: s.uncovered for s in study if s.uncovered}
    assert uncovered == {}, f"sentences no statement quotes (add a finding, a review claim or an exclusion): {uncovered}"


def test_sentences_of_the_real_review_are_split_where_the_review_ends_them(loaded_graph, review_text):
    sections = {s.section: s for s in sentence_coverage(loaded_graph.graph, review_text)}
    assert ("In a study of liver injury, Mardpour et al. showed that ES-MSCs EVs reduces liver fibrosis and collagen "
            "density.") in sections["section:es"].sentences
    assert "Jiang et al. and Yan et al. further discovered that UC-MSC-Ex has the function of decreasing oxidative " \
           "stress and apoptosis in CCl4-Induced Liver Injury [73, 74]." in sections["section:uc-exosome"].sentences
    # the back matter after the conclusion and the figure caption of the introduction are not sentences of the body
    conclusion, introduction = sections["section:conclusion"].sentences, sections["section:introduction"].sentences
    assert not any("Availability of data" in s or "Not applicable" in s for s in conclusion)
    assert not any(s.startswith("MSCs derived from different sources and EVs secreted") for s in introduction)
    # every exclusion of triples/README.md matched a sentence of a study section (stale rows are an error)
    excluded = sum(len(s.excluded) for s in sections.values())
    assert excluded == len(read_sentence_rules().non_result_sentences)


def test_a_sentence_no_statement_quotes_fails_coverage(loaded_graph, review_text):
    graph = Graph()
    graph += loaded_graph.graph
    claim = URIRef("https://w3id.org/mscev/data/claim/bm-ev-lower-transplant-risk-similar-efficacy")
    graph.remove((claim, None, None))
    sections = {s.section: s for s in sentence_coverage(graph, review_text)}
    assert sections["section:bm-ev"].uncovered == (
        "EVs can significantly reduce the risk of cell transplantation while retaining the similar efficacy of BM-MSCs.",)


def test_a_quote_covers_every_sentence_it_overlaps(loaded_graph, review_text):
    graph = Graph()
    for section, label in loaded_graph.graph.subject_objects(RDFS.label):
        if (section, RDF.type, MSCEV.ReviewSection) in loaded_graph.graph:
            graph.add((section, RDF.type, MSCEV.ReviewSection))
            graph.add((section, RDFS.label, label))
    # the end of one sentence and the start of the next: both are covered, the third is not
    graph.add((URIRef("https://example.org/s"), MSCEV.evidenceQuote,
               Literal("bone targeting ability [27] and can also induce osteogenic differentiation similar to its "
                       "parent cells [28, 29]. In a study of osteoarthritis")))
    bm_ev = next(s for s in sentence_coverage(graph, review_text) if s.section == "section:bm-ev")
    assert [s[:40] for s in bm_ev.covered] == ["The reason is that the bone marrow sourc", "In a study of osteoarthritis, EVs from h"]


def test_stale_or_malformed_sentence_rules_are_errors_naming_the_file(tmp_path, loaded_graph, review_text):
    readme = tmp_path / "README.md"
    readme.write_text("## Sentence coverage\n\n### Sentences that report no result\n\n"
                      "| section | sentence begins | reason |\n|---|---|---|\n"
                      "| `section:bm-ev` | No such sentence in the review | stale |\n", encoding="utf-8")
    with pytest.raises(MscevError) as stale:
        sentence_coverage(loaded_graph.graph, review_text, read_sentence_rules(readme))
    assert str(stale.value).startswith(f"{readme}: ")
    assert "match no sentence: section:bm-ev 'No such sentence" in str(stale.value)
    readme.write_text("### Sections that report no study results\n\n| section | reason |\n|---|---|\n"
                      "| `section:nope` | a typo |\n", encoding="utf-8")
    with pytest.raises(MscevError, match="names sections not in triples/review.ttl: section:nope"):
        sentence_coverage(loaded_graph.graph, review_text, read_sentence_rules(readme))
    readme.write_text("### Sentences that report no result\n\n| section | sentence begins | reason |\n"
                      "|---|---|---|\n| `section:bm-ev` | only two cells |\n", encoding="utf-8")
    with pytest.raises(MscevError, match=r"README.md: .* needs three cells"):
        read_sentence_rules(readme)


def test_coverage_command_fails_and_lists_a_sentence_no_statement_quotes(tmp_path, capsys):
    added = "EVs from BM-MSCs were tested in a study that no statement of the graph quotes."
    text = REVIEW_TEXT.read_text(encoding="utf-8").replace(
        "EVs from hBM-MSCs have also shown good efficacy in the treatment of the renal injury.",
        "EVs from hBM-MSCs have also shown good efficacy in the treatment of the renal injury. " + added, 1)
    source = tmp_path / "review.txt"
    source.write_text(text, encoding="utf-8")
    code = main(["coverage", "--source", str(source), "--uncovered"])
    printed = capsys.readouterr().out
    assert code == 1
    assert f"uncovered section:bm-ev: {added}" in printed
    assert "1 result-reporting sentence(s) of study sections quoted by no statement" in printed
