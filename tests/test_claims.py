"""One finding per claim (issue 13, section 4): checks over the curated graph.

A claim is the sentence it is quoted from together with what it asserts: comparator, comparison result,
conditions, co-treatment and effects (not the study model: one claim "in vivo and in vitro" is one finding). Two findings that share all of that are one claim stated
twice, either as per-reference copies of a sentence citing several studies (one finding with several
mscev:citedStudy is the rule) or as copies of one preparation.
"""

import re
from collections import defaultdict

from rdflib import RDF, Namespace, URIRef

MSCEV = Namespace("https://w3id.org/mscev/")
CITATION = re.compile(r"\[\d")
EFFECT_FIELDS = ("direction", "affects", "aspect", "inCellType", "inTissue")
# The study model is not part of the claim: "in vivo and in vitro" is one claim with two models, one finding.
CLAIM_FIELDS = ("comparator", "comparisonResult", "condition", "coTreatment")
SUBJECT_FIELDS = ("producedBy", "preconditioning", "engineeredWith", "formulation")


def values(graph, node, name):
    return tuple(sorted(str(o) for o in graph.objects(node, MSCEV[name])))


def effect_signature(graph, finding):
    return tuple(sorted(tuple(values(graph, e, f) for f in EFFECT_FIELDS)
                        for e in graph.objects(finding, MSCEV.hasEffect)))


def subject_signature(graph, finding):
    """What the subject is, ignoring which study's node stands for it: source, subtype and treatments."""
    subject = graph.value(finding, MSCEV.vesicle) or graph.value(finding, MSCEV.cellSubject)
    return (values(graph, subject, "producedBy"), tuple(sorted(str(t) for t in graph.objects(subject, RDF.type))),
            *(values(graph, subject, f) for f in SUBJECT_FIELDS[1:]))


def findings(graph):
    return set(graph.subjects(RDF.type, MSCEV.Finding)) | set(graph.subjects(RDF.type, MSCEV.Comparison))


def duplicate_claims(graph):
    """Groups of findings that assert the same claim from the same sentence."""
    by_claim = defaultdict(set)
    for finding in findings(graph):
        claim = (tuple(values(graph, finding, f) for f in CLAIM_FIELDS), effect_signature(graph, finding))
        for quote in graph.objects(finding, MSCEV.evidenceQuote):
            by_claim[(str(quote), claim)].add(finding)
    duplicates = []
    for (quote, _), group in by_claim.items():
        group = sorted(group)
        for i, first in enumerate(group):
            for second in group[i + 1:]:
                other_study = values(graph, first, "citedStudy") != values(graph, second, "citedStudy")
                same_subject = subject_signature(graph, first) == subject_signature(graph, second)
                if other_study or same_subject:
                    duplicates.append((str(first), str(second), quote))
    return duplicates


def uncited_sentences_copied_across_studies(graph):
    """Uncited sentences (review claims) used as evidence by findings of different cited studies."""
    by_quote = defaultdict(set)
    for finding in findings(graph):
        for quote in graph.objects(finding, MSCEV.evidenceQuote):
            if not CITATION.search(str(quote)):
                by_quote[str(quote)].add(finding)
    return {quote: sorted(map(str, group)) for quote, group in by_quote.items()
            if len({values(graph, f, "citedStudy") for f in group}) > 1}


def test_no_two_findings_assert_the_same_claim(loaded_graph):
    duplicates = duplicate_claims(loaded_graph.graph)
    assert duplicates == [], "\n".join(f"{a} = {b}: {q[:80]!r}" for a, b, q in duplicates)


def test_an_uncited_summary_sentence_is_not_copied_into_findings_of_several_studies(loaded_graph):
    copies = uncited_sentences_copied_across_studies(loaded_graph.graph)
    assert copies == {}, "model these sentences as one mscev:ReviewClaim:\n" + "\n".join(
        f"{q[:80]!r}: {fs}" for q, fs in copies.items())


def test_the_duplicate_check_catches_per_reference_copies_and_same_preparation_copies(loaded_graph):
    """The check itself: a per-study copy of a finding, and a copy under another IRI, are both reported."""
    from rdflib import Graph

    graph = Graph()
    original = URIRef("https://w3id.org/mscev/data/finding/ref66-wjmsc-ev-perinatal-brain-injury-neuroprotection")
    for p, o in loaded_graph.graph.predicate_objects(original):
        graph.add((original, p, o))
        if p == MSCEV.hasEffect:
            for triple in loaded_graph.graph.triples((o, None, None)):
                graph.add(triple)
    subject = loaded_graph.graph.value(original, MSCEV.vesicle)
    for triple in loaded_graph.graph.triples((subject, None, None)):
        graph.add(triple)
    assert duplicate_claims(graph) == []
    copy = URIRef(str(original) + "-copy")
    for p, o in graph.predicate_objects(original):
        graph.add((copy, p, o))
    assert [(a, b) for a, b, _ in duplicate_claims(graph)] == [(str(original), str(copy))]
    graph.remove((copy, MSCEV.citedStudy, None))
    graph.add((copy, MSCEV.citedStudy, URIRef("https://w3id.org/mscev/data/ref/99")))
    graph.remove((copy, MSCEV.vesicle, None))
    graph.add((copy, MSCEV.vesicle, URIRef("https://w3id.org/mscev/data/prep/another-study")))
    assert [(a, b) for a, b, _ in duplicate_claims(graph)] == [(str(original), str(copy))]


# ---------------------------------------------------------------- cells are not vesicles

CELL_LEVEL = {"ref40-ev-release-dependence", "ref47-gata4-vs-plain-bmsc", "ref106-es-vs-fetal-msc-ev-neuroprotection",
              "ref98-mir122-ad-msc-transplant-liver-fibrosis"}
FINDING = "https://w3id.org/mscev/data/finding/"


def cell_level_findings(graph):
    return {str(f).removeprefix(FINDING) for f in graph.subjects(MSCEV.cellSubject, None)}


def test_experiments_on_the_parent_cells_are_cell_level_findings(loaded_graph):
    """Transplanted, gene-modified or release-blocked MSCs are the subject themselves, never a vesicle stand-in."""
    graph = loaded_graph.graph
    assert cell_level_findings(graph) >= CELL_LEVEL
    for name in cell_level_findings(graph):
        finding = URIRef(FINDING + name)
        assert graph.value(finding, MSCEV.vesicle) is None, name
        assert (graph.value(finding, MSCEV.cellSubject), RDF.type, MSCEV.CellPreparation) in graph, name


def test_no_vesicle_preparation_carries_a_cell_only_treatment(loaded_graph):
    graph = loaded_graph.graph
    wrong = [str(p) for p in graph.subjects(MSCEV.preconditioning, MSCEV.VesicleReleaseBlocked)
             if (p, RDF.type, MSCEV.VesiclePreparation) in graph]
    assert wrong == []


# ---------------------------------------------------------------- mechanisms mean what the text says

HEDGE = re.compile(r"\b(may|might|could|possibly|perhaps|suggest\w*|likely|seems?|probably|presumably)\b", re.I)
DIRECTION = re.compile(r"(increas|decreas|reduc|promot|inhibit|enhanc|suppress|induc|improv|upregulat|up-regulat|"
                       r"downregulat|down-regulat|lower|rais|elevat|block|prevent|attenuat|alleviat|ameliorat|"
                       r"protect|accelerat|stimulat|activat|restor|retain|abrogat|impair|prolong|more|less|higher|superior)", re.I)
VAGUE = re.compile(r"(?<![\w-])(regulat\w*|modulat\w*)", re.I)  # not up-/down-regulated
# Effects on what a molecule does or undergoes rather than on its amount, as the quotes word them.
ASPECTS = {
    "effect/ref50-mir146a-nfkb-cytokines-1": "Phosphorylation",  # "phosphorylation levels of NF-κB p65"
    "effect/ref50-mir146a-nfkb-cytokines-2": "Phosphorylation",  # "... and IκBα"
    "effect/ref49-hypoxia-mir210-nsmase2-1": "Activity",  # "the activity of mir-210 and nSMase2"
    "effect/ref49-hypoxia-mir210-nsmase2-2": "Activity",
    "effect/ref63-renal-iri-nrf2-are-antioxidation-2": "Activity",  # "enhancing Nrf2/ARE activation"
}
DATA = "https://w3id.org/mscev/data/"


def quotes(graph, finding):
    return [str(q) for q in graph.objects(finding, MSCEV.evidenceQuote)]


def test_a_hedged_quote_is_marked_on_its_finding(loaded_graph):
    """A finding whose quote hedges ('may', 'could', 'suggest') says mscev:hedged, true or (for a hedge on an
    unmodelled conclusion only) false; a finding marked hedged has a hedge in its quote."""
    graph = loaded_graph.graph
    unmarked, unfounded = [], []
    for finding in findings(graph):
        hedged = graph.value(finding, MSCEV.hedged)
        has_hedge = any(HEDGE.search(q) for q in quotes(graph, finding))
        if has_hedge and hedged is None:
            unmarked.append(str(finding))
        if hedged is not None and hedged.toPython() is True and not has_hedge:
            unfounded.append(str(finding))
    assert unmarked == [], "state mscev:hedged on these findings"
    assert unfounded == []
    assert sum(1 for _ in graph.subjects(MSCEV.hedged, None)) > 10


def test_phosphorylation_and_activity_are_not_amounts(loaded_graph):
    graph = loaded_graph.graph
    for effect, aspect in ASPECTS.items():
        assert graph.value(URIRef(DATA + effect), MSCEV.aspect) == MSCEV[aspect], effect
    for finding in findings(graph):
        if any(re.search(r"phosphorylation", q, re.I) for q in quotes(graph, finding)):
            aspects = {graph.value(e, MSCEV.aspect) for e in graph.objects(finding, MSCEV.hasEffect)}
            assert MSCEV.Phosphorylation in aspects, f"{finding}: a quote speaks of phosphorylation"


def test_regulated_never_becomes_a_direction_the_text_does_not_give(loaded_graph):
    """A finding whose quotes say only 'regulated'/'modulated' (no word giving a direction) has no effect that
    increases or decreases."""
    graph = loaded_graph.graph
    wrong = []
    for finding in findings(graph):
        texts = quotes(graph, finding)
        if any(VAGUE.search(q) for q in texts) and not any(DIRECTION.search(VAGUE.sub("", q)) for q in texts):
            directions = {graph.value(e, MSCEV.direction) for e in graph.objects(finding, MSCEV.hasEffect)}
            if directions & {MSCEV.Increases, MSCEV.Decreases}:
                wrong.append(str(finding))
    assert wrong == []
