"""Term pages in the style of OLS and Monarch (issue 16, point 3), on real terms of the curated build: header
(label, CURIE, IRI, kind, synonyms and definition with their sources, link to the term's home), the hierarchy
as a small tree with inferred links explained, condition areas, the OWL axioms in Manchester syntax, curation
notes kept apart from the facts, effects as sentences, MSC sources with the conditions they were tested in; no
blank-node id on any entity page; and the Manchester renderer, construct by construct."""

import html
import re

import pyoxigraph as ox
import pytest
from fastapi.testclient import TestClient

from mscev.query import INFERRED_GRAPH
from mscev.render import labeler
from mscev.serve import Settings, create_app
from mscev.web.explain import HERMIT, Explainer
from mscev.web.manchester import Manchester, text

MSCEV = "https://w3id.org/mscev/"
OBO = "http://purl.obolibrary.org/obo/"
BONE_MARROW_MSC = MSCEV + "BoneMarrowMSC"
KIDNEY_INJURY = MSCEV + "KidneyInjury"
OSTEOARTHRITIS = OBO + "MONDO_0005178"
MIR_146A = "https://identifiers.org/mirbase.mature:MIMAT0000449"
FINDING = MSCEV + "data/finding/ref26-cartilage-regeneration"
PREP_WITH_CHAIN = MSCEV + "data/prep/ref48-bm-msc-exo"
HTML_ACCEPT = {"Accept": "text/html"}
BLANK_NODE_ID = re.compile(r"_:[A-Za-z0-9]")


@pytest.fixture(scope="module")
def client(built):
    with TestClient(create_app(Settings(build_dir=built.out, workers=1))) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def pages(client):
    return client.app.state.site.pages


def page_of(client, iri: str) -> str:
    path = "/" + iri[len(MSCEV):] if iri.startswith(MSCEV) else "/resource"
    response = client.get(path, params=None if iri.startswith(MSCEV) else {"iri": iri}, headers=HTML_ACCEPT)
    assert response.status_code == 200, (iri, response.status_code)
    return response.text


def section(page: str, css_class: str) -> str:
    """The HTML of the first element whose class list starts with ``css_class``, up to its section's end."""
    start = page.index(f'class="{css_class}')
    end = min(i for i in (page.find("</section>", start), page.find("</details>\n", start)) if i != -1)
    return page[start:end]


def words(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


# ---------------------------------------------------------------- BoneMarrowMSC: a project class, an MSC source


def test_header_of_a_project_class(client, pages):
    page = page_of(client, BONE_MARROW_MSC)
    assert "<h1>bone marrow MSC</h1>" in page
    assert "mscev:BoneMarrowMSC" in page and BONE_MARROW_MSC in page and f'data-copy="{BONE_MARROW_MSC}"' in page
    info = pages.entity(BONE_MARROW_MSC).info
    assert info.kinds[0] == "class" and "defined by mscev" in info.kinds
    # synonyms from ontology/imports/synonyms.tsv, with their source
    assert ("BM-MSCs", "exact", "the review") in info.synonyms
    assert "BM-MSCs" in page and "— the review" in page
    assert info.definition[0].startswith("A mesenchymal stem cell that derives from bone marrow")
    assert "(definition: written by mscev" in page
    assert info.home is None  # a project term: no home elsewhere


def test_owl_definition_in_manchester_syntax_with_linked_labels(client, pages):
    info = pages.entity(BONE_MARROW_MSC).info
    definitions = [text(a.tokens) for a in info.axioms if a.relation == "Equivalent to"]
    assert definitions == ["'mesenchymal stem cell' and ('derives from' some 'bone marrow')"]
    axioms = section(page_of(client, BONE_MARROW_MSC), "card axioms")
    assert '<a href="/resource?iri=http%3A%2F%2Fpurl.obolibrary.org%2Fobo%2FUBERON_0002371"' in axioms
    assert words(axioms).endswith("mesenchymal stem cell and ( derives from some bone marrow )")


def test_tree_of_a_project_class(pages):
    info = pages.entity(BONE_MARROW_MSC).info
    parents = {r.term.iri: r for r in info.parents}
    assert OBO + "CL_0002540" in parents and not parents[OBO + "CL_0002540"].inferred  # asserted
    assert {r.term.text for r in parents[OBO + "CL_0002540"].above} >= {"mesenchymal stem cell"}
    assert info.children == [] and info.areas == []


def test_source_page_lists_the_conditions_tested_and_their_findings(client, pages, store):
    info = pages.entity(BONE_MARROW_MSC).info
    counted = {term.iri: count for term, count, _ in info.tested_in}
    query = f"""SELECT ?condition (COUNT(DISTINCT ?finding) AS ?n) WHERE {{
      ?cells a <{BONE_MARROW_MSC}> , <{MSCEV}CellPopulation> . ?prep <{MSCEV}producedBy> ?cells .
      ?finding a <{MSCEV}Finding> ; <{MSCEV}vesicle> ?prep ; <{MSCEV}condition> ?condition }} GROUP BY ?condition"""
    expected = {row["condition"].value: int(row["n"].value) for row in store.query(query, use_default_graph_as_union=True)}
    assert counted == expected and counted[OSTEOARTHRITIS] >= 1
    tested = section(page_of(client, BONE_MARROW_MSC), "card tested-in")
    assert "osteoarthritis" in tested and f'title="these findings">{counted[OSTEOARTHRITIS]}</a>' in tested


@pytest.mark.parametrize("source", [BONE_MARROW_MSC, MSCEV + "UmbilicalCordMSC", MSCEV + "data/cell/human-wj-msc"])
def test_conditions_tested_link_to_as_many_findings(client, pages, source):
    tested = pages.entity(source).info.tested_in
    assert tested
    for condition, count, link in tested[:3]:
        rows = client.get(link + "&format=json").json()
        assert len(rows) == count, (condition.text, link)
        assert all(condition.iri in row.get("conditions", "") or condition.text in row["conditions"] for row in rows)


# ---------------------------------------------------------------- a condition with parents, children and areas


def test_condition_with_parents_children_and_areas(client, pages):
    info = pages.entity(KIDNEY_INJURY).info
    assert "project condition class" in info.kinds
    parents = {r.term.text: r for r in info.parents}
    assert not parents["injury"].inferred or parents["injury"].why.lines
    children = {r.term.iri: r for r in info.children}
    renal = children[MSCEV + "RenalIschemiaReperfusionInjury"]
    assert renal.inferred and renal.why.how == "placed by the definition of kidney injury"
    assert [text(line) for line in renal.why.lines] == [
        "'renal ischemia reperfusion injury' EquivalentTo: 'ischemia reperfusion injury' and "
        "('disease has location' some kidney)",
        "'ischemia reperfusion injury' SubClassOf: injury",
        "'kidney injury' EquivalentTo: injury and ('disease has location' some kidney)"]
    areas = {r.term.text: r for r in info.areas}
    assert {"kidney (area)", "injury (area)", "urinary system (area)"} <= set(areas)
    assert areas["kidney (area)"].inferred
    assert "kidney (area)' EquivalentTo: 'kidney disorder' or ('disease has location' some kidney)" in \
        areas["kidney (area)"].why.text
    page = page_of(client, KIDNEY_INJURY)
    tree = section(page, "card hierarchy")
    assert "renal ischemia reperfusion injury" in tree and '<details class="why">' in tree
    assert "Condition areas" in tree and "kidney (area)" in tree
    assert "An injury that has its location in the kidney" in page  # the definition


# ---------------------------------------------------------------- a reused MONDO term


def test_reused_mondo_term(client, pages):
    entity = pages.entity(OSTEOARTHRITIS)
    info = entity.info
    assert "reused from MONDO" in info.kinds and info.home == OSTEOARTHRITIS
    assert any(r.term.text == "arthritic joint disease" and not r.inferred for r in info.parents)
    areas = {r.term.text: r for r in info.areas}
    assert "bone and joint (area)" in areas
    assert "'skeletal system disorder' SubClassOf: 'musculoskeletal system disorder'" in \
        areas["bone and joint (area)"].why.text
    assert info.verified_from and info.verified_from[0].startswith("monarch-initiative/mondo@")
    page = page_of(client, OSTEOARTHRITIS)
    assert f'<a href="{OSTEOARTHRITIS}" rel="external noopener">reused term: open it at MONDO' in page
    # the term list's note is a curation note, collapsed, and not a fact
    note = next(iter(entity.notes))[1]
    assert note.startswith("osteoarthritis; parents from")
    notes = section(page, "card curation-notes")
    assert html.escape(note, quote=False) in html.unescape(notes) or note in html.unescape(notes)
    facts = section(page, "card\"><h2 style=\"margin-top:0\">Facts") if "Facts</h2>" in page else ""
    assert note not in html.unescape(facts)


# ---------------------------------------------------------------- a miRNA


def test_mirna_page(client, pages):
    entity = pages.entity(MIR_146A)
    info = entity.info
    assert entity.subject.text == "hsa-miR-146a-5p" and not info.is_class
    assert info.kinds == ["individual", "reused from mirbase.mature"] and info.home == MIR_146A
    assert [(t.text, t.inferred) for t in entity.types] == [("microRNA", False), ("cargo molecule", True)]
    assert text(entity.types[1].why.lines[-1]) == "microRNA SubClassOf: 'cargo molecule'"
    assert ("miR-146a", "exact", "the review") in info.synonyms
    page = page_of(client, MIR_146A)
    assert "miR-146a" in words(section(page, "synonyms")) and "— the review" in page
    assert "5p arm assumed" in words(section(page, "card curation-notes"))  # the term list's note, collapsed
    assert 'href="/data/finding/' in section(page, "card term-findings")  # the findings that name it
    assert 'href="/data/cargoev/' in page[page.index("Everything that refers to"):]  # and the cargo records


# ---------------------------------------------------------------- a finding: effects as sentences, notes apart


def test_finding_effects_are_sentences_and_notes_are_collapsed(client, pages):
    entity = pages.entity(FINDING)
    effects = next(f for f in entity.facts if f.predicate.iri == MSCEV + "hasEffect").values
    assert sorted(e.text for e in effects) == ["increases COL2A1 in chondrocyte",
                                               "increases tissue regeneration in cartilage tissue"]
    page = page_of(client, FINDING)
    assert "effect:ref26" not in words(section(page, "card\"><h2 style=\"margin-top:0\">Facts"))
    assert '<details class="card curation-notes"><summary>Curation notes (2)</summary>' in page
    # the inferred type says why it holds
    statement = next(t for t in entity.types if t.iri == MSCEV + "Statement")
    assert statement.inferred and statement.why.how == "its told type lies under the class"
    assert [text(line) for line in statement.why.lines][-1] == "finding SubClassOf: statement"


def test_effect_page_is_titled_by_its_sentence(client):
    page = page_of(client, MSCEV + "data/effect/ref26-cartilage-regeneration-1")
    assert re.search(r"<h1><span class=\"sentence\"><a [^>]+>increases</a> <a [^>]+>COL2A1</a>", page)


def test_property_chain_is_shown_as_linked_properties(pages):
    chain = next(f for f in pages.entity(MSCEV + "potentiallyModulates").facts
                 if f.predicate.iri.endswith("#propertyChainAxiom")).values[0]
    assert text(list(chain.tokens)) == "'carries cargo targeting' o 'acts in pathway'"
    assert [t.iri for t in chain.tokens if t.kind == "entity"] == [MSCEV + "carriesCargoTargeting",
                                                                    MSCEV + "actsInPathway"]


def test_inferred_property_value_names_its_chain(pages):
    entity = pages.entity(PREP_WITH_CHAIN)
    values = next(f for f in entity.facts if f.predicate.iri == MSCEV + "carriesCargoTargeting").values
    why = values[0].why
    assert values[0].inferred and why.how == "a property chain"
    assert text(why.lines[0]) == "carries o targets SubPropertyOf: 'carries cargo targeting'"


def test_every_inferred_fact_gets_an_explanation(built, store):
    """Never nothing: each inferred triple of the build has an explanation, from the axioms or "by HermiT"; the
    curated build's are all found in the asserted axioms (the bounded search reaches them)."""
    explainer = Explainer(store, Manchester(store, labeler(store)))
    unexplained = []
    for quad in store.quads_for_pattern(None, None, None, INFERRED_GRAPH):
        if quad.predicate.value.endswith("#subClassOf"):
            why = explainer.superclass(quad.subject, quad.object)
        elif quad.predicate.value.endswith("#type"):
            why = explainer.type(quad.subject, quad.object)
        else:
            why = explainer.property_value(quad.subject, quad.predicate, quad.object)
        assert why.how
        if why.how == HERMIT:
            unexplained.append(str(quad))
    assert unexplained == []


# ---------------------------------------------------------------- the findings about a term


ABOUT_TERMS = [BONE_MARROW_MSC, KIDNEY_INJURY, OSTEOARTHRITIS, MIR_146A, MSCEV + "HeartArea", MSCEV + "data/ref/26",
               OBO + "GO_0070062", MSCEV + "Beneficial", "https://identifiers.org/hgnc:11892", MSCEV + "data/cell/human-bm-msc"]


@pytest.mark.parametrize("iri", ABOUT_TERMS)
def test_term_page_lists_the_findings_the_about_filter_keeps(client, iri):
    """The term page's rows are those of /findings?about=IRI, first page shown, sorted by reference."""
    rows = client.get("/findings", params={"about": iri, "format": "json"}).json()
    expected = {row["finding"] for row in rows}
    assert expected, iri
    table = section(page_of(client, iri), "card term-findings")
    assert f"<strong>{len(expected)}</strong> finding" in table
    shown = set(re.findall(r'<td class="finding"><a href="([^"]+)"', table))
    assert len(shown) == min(25, len(expected))
    assert {"/" + f.removeprefix(MSCEV) for f in expected} >= shown


def test_condition_page_includes_findings_below_it(client):
    table = section(page_of(client, KIDNEY_INJURY), "card term-findings")
    assert "Findings about kidney injury or a class below it" in table
    assert "renal ischemia reperfusion injury" in table  # a finding whose condition is a subclass


def test_finding_pages_have_no_findings_table(client):
    assert 'class="card term-findings"' not in page_of(client, FINDING)


# ---------------------------------------------------------------- no blank-node id on any page


def test_no_blank_node_id_on_any_entity_page(client, store):
    named = {q.subject.value for q in store.quads_for_pattern(None, None, None) if isinstance(q.subject, ox.NamedNode)}
    named |= {q.object.value for q in store.quads_for_pattern(None, None, None) if isinstance(q.object, ox.NamedNode)}
    assert len(named) > 1000
    with_ids = [iri for iri in sorted(named) if BLANK_NODE_ID.search(page_of(client, iri))]
    assert with_ids == []


# ---------------------------------------------------------------- the Manchester renderer, per construct

PREFIXES = """@prefix : <http://example.org/> . @prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> . @prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
:A rdfs:label "cell A" . :B rdfs:label "B" . :p rdfs:label "part of" . :d rdfs:label "diameter" .
"""
CONSTRUCTS = {
    "named": (":A", "'cell A'"),
    "intersectionOf": ("[ owl:intersectionOf ( :A :B ) ]", "'cell A' and B"),
    "unionOf": ("[ owl:unionOf ( :A :B :C ) ]", "'cell A' or B or <ex:C>"),
    "complementOf": ("[ owl:complementOf :B ]", "not B"),
    "complementOf of a compound": ("[ owl:complementOf [ owl:unionOf ( :A :B ) ] ]", "not ('cell A' or B)"),
    "someValuesFrom": ("[ a owl:Restriction ; owl:onProperty :p ; owl:someValuesFrom :A ]", "'part of' some 'cell A'"),
    "allValuesFrom": ("[ a owl:Restriction ; owl:onProperty :p ; owl:allValuesFrom :B ]", "'part of' only B"),
    "hasValue individual": ("[ a owl:Restriction ; owl:onProperty :p ; owl:hasValue :x ]", "'part of' value <ex:x>"),
    "hasValue literal": ('[ a owl:Restriction ; owl:onProperty :d ; owl:hasValue "5"^^xsd:integer ]',
                         "diameter value 5"),
    "hasSelf": ("[ a owl:Restriction ; owl:onProperty :p ; owl:hasSelf true ]", "'part of' Self"),
    "minCardinality": ('[ a owl:Restriction ; owl:onProperty :p ; owl:minCardinality "1"^^xsd:nonNegativeInteger ]',
                       "'part of' min 1"),
    "maxCardinality": ('[ a owl:Restriction ; owl:onProperty :p ; owl:maxCardinality "2"^^xsd:nonNegativeInteger ]',
                       "'part of' max 2"),
    "cardinality": ('[ a owl:Restriction ; owl:onProperty :p ; owl:cardinality "3"^^xsd:nonNegativeInteger ]',
                    "'part of' exactly 3"),
    "qualified cardinality": ('[ a owl:Restriction ; owl:onProperty :p ; owl:minQualifiedCardinality '
                              '"1"^^xsd:nonNegativeInteger ; owl:onClass [ owl:unionOf ( :A :B ) ] ]',
                              "'part of' min 1 ('cell A' or B)"),
    "oneOf": ("[ owl:oneOf ( :x :y ) ]", "{<ex:x>, <ex:y>}"),
    "inverse property": ("[ a owl:Restriction ; owl:onProperty [ owl:inverseOf :p ] ; owl:someValuesFrom :A ]",
                         "inverse 'part of' some 'cell A'"),
    "datatype restriction": ("[ a owl:Restriction ; owl:onProperty :d ; owl:allValuesFrom [ owl:onDatatype xsd:decimal ;"
                             ' owl:withRestrictions ( [ xsd:minInclusive 50.0 ] [ xsd:maxExclusive 200.0 ] ) ] ]',
                             "diameter only xsd:decimal[>= 50.0, < 200.0]"),
    "nesting": ("[ owl:intersectionOf ( :A [ a owl:Restriction ; owl:onProperty :p ; owl:someValuesFrom "
                "[ owl:unionOf ( :B [ a owl:Restriction ; owl:onProperty :p ; owl:someValuesFrom :B ] ) ] ] ) ]",
                "'cell A' and ('part of' some (B or ('part of' some B)))"),
    "not an expression": ('[ rdfs:label "loose" ]', '[rdfs:label "loose"]'),
}


@pytest.mark.parametrize("construct", list(CONSTRUCTS))
def test_manchester_construct(construct):
    expression, expected = CONSTRUCTS[construct]
    store = ox.Store()
    store.load((PREFIXES + f":Subject owl:equivalentClass {expression} .").encode(), ox.RdfFormat.TURTLE)
    node = next(store.quads_for_pattern(ox.NamedNode("http://example.org/Subject"), None, None)).object
    label = labeler(store)
    rendered = Manchester(store, label).render(node)
    assert text(rendered).replace("http://example.org/", "ex:") == expected
    assert not any(token.text.startswith("_:") for token in rendered)
    assert all(token.iri for token in rendered if token.kind == "entity")  # every name links to its page


def test_manchester_cuts_cycles():
    store = ox.Store()
    store.load(b"_:a <http://www.w3.org/2002/07/owl#complementOf> _:a .", ox.RdfFormat.TURTLE)
    node = next(store.quads_for_pattern(None, None, None)).subject
    assert text(Manchester(store, labeler(store)).render(node)) == "not (…)"


@pytest.fixture(scope="module")
def store(built):
    from mscev.query import open_store

    return open_store(built.out)
