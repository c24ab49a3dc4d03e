"""The W3C OWL 2 test cases against the OWL 2 RL rules in SPARQL (mscev.rl_rules).

The premises and conclusions (RDF/XML) of the approved OWL 2 test cases are in tests/data/w3c/owl2-rl/,
with their kinds in tests.tsv (see SOURCE.md there). A case runs when its premise and conclusion use only
vocabulary the rules implement (RULES below, each term with the rule file that gives its meaning), that the
checks use (CHECKS, in consistency and inconsistency cases) or that needs no rule (NEUTRAL); any other case is
skipped, naming the terms the rules do not implement. A running case loads its
premise into the asserted graph, computes the closure (materialise) and checks:

- a positive entailment: the conclusion's triples (blank nodes as variables) are in premise ∪ closure;
- a negative entailment: they are not;
- an inconsistency: the checks (contradictions) find a clash;
- a consistency: they find none.

Where the rules answer differently from the test, the case is listed in KNOWN_DIFFERENCES with the reason
(a strict expected failure: if it starts to pass, the list must shrink).
"""

import csv
from pathlib import Path

import pyoxigraph as ox
import pytest

from mscev.rl_rules import ASSERTED, INFERRED, contradictions, materialise

pytestmark = pytest.mark.w3c

SUITE = Path(__file__).parent / "data" / "w3c" / "owl2-rl"
OWL, RDF, RDFS = ("http://www.w3.org/2002/07/owl#", "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
                  "http://www.w3.org/2000/01/rdf-schema#")
XSD = "http://www.w3.org/2001/XMLSchema#"

# The vocabulary whose meaning the rules implement, with the rule file that does it (src/mscev/rules/).
RULES = {
    RDFS + "subClassOf": "tbox-4, abox-40", OWL + "equivalentClass": "tbox-1",
    RDFS + "subPropertyOf": "tbox-6, abox-10", OWL + "equivalentProperty": "tbox-5",
    OWL + "inverseOf": "abox-11", OWL + "SymmetricProperty": "abox-12", OWL + "TransitiveProperty": "abox-13",
    OWL + "propertyChainAxiom": "abox-14, abox-15", OWL + "hasValue": "abox-20, abox-21",
    RDFS + "domain": "abox-22", RDFS + "range": "abox-23", OWL + "unionOf": "tbox-3, abox-30",
    OWL + "someValuesFrom": "abox-31", OWL + "intersectionOf": "tbox-2, abox-32, abox-33",
    OWL + "disjointWith": "check-disjoint-classes", OWL + "AllDisjointClasses": "check-disjoint-classes",
    OWL + "members": "check-disjoint-classes",
}
# Vocabulary the checks use but no rule derives from (prp-fp's owl:sameAs is not derived): the terms are
# within the rules for consistency and inconsistency cases only.
CHECKS = {OWL + "FunctionalProperty": "check-functional-properties", OWL + "AllDifferent": "check-functional-properties",
          OWL + "distinctMembers": "check-functional-properties"}
# Vocabulary that needs no rule: declarations, annotations, list cells, restriction scaffolding.
NEUTRAL = {RDF + "type", RDF + "first", RDF + "rest", RDF + "nil", RDF + "Property", RDF + "List",
           RDFS + "Class", RDFS + "label", RDFS + "comment", RDFS + "seeAlso", RDFS + "isDefinedBy",
           RDFS + "Resource", RDFS + "Literal", RDFS + "Datatype",
           OWL + "Ontology", OWL + "Class", OWL + "Thing", OWL + "ObjectProperty", OWL + "DatatypeProperty",
           OWL + "AnnotationProperty", OWL + "NamedIndividual", OWL + "Restriction", OWL + "onProperty",
           OWL + "versionInfo", OWL + "priorVersion", OWL + "backwardCompatibleWith", OWL + "incompatibleWith",
           OWL + "deprecated", OWL + "DeprecatedClass", OWL + "DeprecatedProperty", OWL + "OntologyProperty",
           OWL + "Axiom", OWL + "annotatedSource", OWL + "annotatedProperty", OWL + "annotatedTarget"}
BUILTIN = (OWL, RDF, RDFS)

# Why the rules answer some cases differently (each case below names one of these).
WHY = {
    "CLEANUP": "derived, then dropped by cleanup.rq, which keeps class memberships, subclass links between named classes and property values only (schema triples such as rdfs:subPropertyOf are not kept)",
    "AXIOMATIC": "an axiomatic triple of the RDF-Based Semantics (declarations of built-in terms, owl:Thing and owl:Nothing as classes); the rules derive no axiomatic triples",
    "SCHEMA": "a schema entailment the rules do not derive",
    "EXISTENTIAL": "the conclusion asserts an anonymous class or individual (a blank node); the rules derive memberships of named classes only",
    "DIRECT": "a Direct Semantics case (the -Direct variant): not entailed under the RDF-Based Semantics the rules follow",
    "DECLARATION": "the conclusion declares a term the premise does not declare; the rules derive no declarations",
    "CASES": "needs reasoning by cases over owl:unionOf (a description-logic case); OWL 2 RL has no such rule",
    "XML": "two rdf:XMLLiteral values of a functional property differ only after XML canonicalisation, which "
           "neither pyoxigraph nor the rules do; the check counts only literals SPARQL can compare as a clash",
}
# Cases the rules answer differently: the case, the reason (a key of WHY) and what exactly is missing.
KNOWN_DIFFERENCES = {
    "PositiveEntailment-WebOnt_I5_5_005": ("EXISTENTIAL", "a one-class union"),
    "PositiveEntailment-WebOnt_I5_8_011": ("AXIOMATIC", "xsd:integer a rdfs:Datatype"),
    "PositiveEntailment-WebOnt_SymmetricProperty_003": ("DECLARATION", "path a owl:ObjectProperty"),
    "PositiveEntailment-bnode2somevaluesfrom": ("EXISTENTIAL", "a someValuesFrom restriction"),
    "PositiveEntailment-somevaluesfrom2bnode": ("EXISTENTIAL", "an anonymous value"),
    "PositiveEntailment-chain2trans1": ("SCHEMA", "a chain p o p -> p makes p transitive (no OWL 2 RL rule)"),
    "Inconsistency-WebOnt_description_logic_504": ("CASES", None),
    "PositiveEntailment-WebOnt_equivalentClass_003": ("SCHEMA", "owl:equivalentClass from mutual subclasses (scm-eqc2)"),
    "PositiveEntailment-WebOnt_equivalentClass_008_Direct": ("DIRECT", None),
    "PositiveEntailment-WebOnt_equivalentProperty_002": ("CLEANUP", None),
    "PositiveEntailment-WebOnt_equivalentProperty_003": ("SCHEMA", "owl:equivalentProperty from mutual subproperties (scm-eqp2)"),
    "PositiveEntailment-rdfbased_sem_class_nothing_term": ("AXIOMATIC", "owl:Nothing rdfs:subClassOf every class"),
    "PositiveEntailment-rdfbased_sem_class_nothing_type": ("AXIOMATIC", "owl:Nothing a owl:Class"),
    "PositiveEntailment-rdfbased_sem_class_thing_term": ("AXIOMATIC", "every class rdfs:subClassOf owl:Thing"),
    "PositiveEntailment-rdfbased_sem_class_thing_type": ("AXIOMATIC", "owl:Thing a owl:Class"),
    "PositiveEntailment-WebOnt_miscellaneous_302_Direct": ("DIRECT", None),
    "PositiveEntailment-rdfbased_sem_eqdis_eqclass_rflxv": ("SCHEMA", "owl:equivalentClass is reflexive"),
    "PositiveEntailment-rdfbased_sem_eqdis_eqclass_subclass_2": ("SCHEMA", "owl:equivalentClass from mutual subclasses (scm-eqc2)"),
    "PositiveEntailment-WebOnt_someValuesFrom_003": ("AXIOMATIC", "an individual a owl:Thing"),
    "PositiveEntailment-rdfbased_sem_eqdis_eqclass_sym": ("SCHEMA", "owl:equivalentClass is symmetric"),
    "PositiveEntailment-rdfbased_sem_eqdis_eqclass_trans": ("SCHEMA", "owl:equivalentClass is transitive"),
    "PositiveEntailment-rdfbased_sem_eqdis_eqprop_rflxv": ("SCHEMA", "owl:equivalentProperty is reflexive"),
    "PositiveEntailment-rdfbased_sem_eqdis_eqprop_subprop_1": ("CLEANUP", None),
    "PositiveEntailment-rdfbased_sem_eqdis_eqprop_subprop_2": ("SCHEMA", "owl:equivalentProperty from mutual subproperties (scm-eqp2)"),
    "PositiveEntailment-rdfbased_sem_eqdis_eqprop_subst": ("CLEANUP", None),
    "PositiveEntailment-rdfbased_sem_eqdis_eqprop_sym": ("SCHEMA", "owl:equivalentProperty is symmetric"),
    "PositiveEntailment-rdfbased_sem_eqdis_eqprop_trans": ("SCHEMA", "owl:equivalentProperty is transitive"),
    "PositiveEntailment-rdfbased_sem_prop_backwardcompatiblewith_type_annot": ("AXIOMATIC", "owl:backwardCompatibleWith a owl:AnnotationProperty"),
    "PositiveEntailment-rdfbased_sem_prop_comment_type": ("AXIOMATIC", "rdfs:comment a owl:AnnotationProperty"),
    "PositiveEntailment-rdfbased_sem_prop_deprecated_type": ("AXIOMATIC", "owl:deprecated a owl:AnnotationProperty"),
    "PositiveEntailment-rdfbased_sem_prop_incompatiblewith_type_annot": ("AXIOMATIC", "owl:incompatibleWith a owl:AnnotationProperty"),
    "PositiveEntailment-rdfbased_sem_prop_isdefinedby_type": ("AXIOMATIC", "rdfs:isDefinedBy a owl:AnnotationProperty"),
    "PositiveEntailment-rdfbased_sem_prop_label_type": ("AXIOMATIC", "rdfs:label a owl:AnnotationProperty"),
    "PositiveEntailment-rdfbased_sem_prop_priorversion_type_annot": ("AXIOMATIC", "owl:priorVersion a owl:AnnotationProperty"),
    "PositiveEntailment-rdfbased_sem_prop_seealso_type": ("AXIOMATIC", "rdfs:seeAlso a owl:AnnotationProperty"),
    "PositiveEntailment-rdfbased_sem_prop_versioninfo_type": ("AXIOMATIC", "owl:versionInfo a owl:AnnotationProperty"),
    "PositiveEntailment-rdfbased_sem_rdfs_subprop_trans": ("CLEANUP", None),
    "PositiveEntailment-rdfbased_sem_rdfsext_domain_subprop": ("SCHEMA", "a domain inherited by a subproperty (scm-dom2)"),
    "PositiveEntailment-rdfbased_sem_rdfsext_domain_superclass": ("SCHEMA", "a domain widened to a superclass (scm-dom1)"),
    "PositiveEntailment-rdfbased_sem_rdfsext_range_subprop": ("SCHEMA", "a range inherited by a subproperty (scm-rng2)"),
    "PositiveEntailment-rdfbased_sem_rdfsext_range_superclass": ("SCHEMA", "a range widened to a superclass (scm-rng1)"),
    "PositiveEntailment-rdfbased_sem_restrict_hasvalue_cmp_prop": ("SCHEMA", "subclass links between hasValue restrictions (scm-hv)"),
    "PositiveEntailment-WebOnt_AnnotationProperty_002": ("EXISTENTIAL", "an annotation whose value is an anonymous individual"),
    "PositiveEntailment-WebOnt_I4_6_005_Direct": ("DIRECT", None),
    "Inconsistency-WebOnt_miscellaneous_203": ("XML", None),
    "Inconsistency-WebOnt_miscellaneous_204": ("XML", None),
}


def known_difference(case: str) -> str:
    why, detail = KNOWN_DIFFERENCES[case]
    return WHY[why] + (f" ({detail})" if detail else "")


def cases():
    """Every case whose vocabulary the rules implement; the others are listed by outside_the_rules()."""
    for kind, premise, conclusion, case in _rows():
        if not _missing(kind, premise, conclusion):
            yield pytest.param(kind, premise, conclusion, id=case,
                               marks=[pytest.mark.xfail(reason=known_difference(case), strict=True)]
                               if case in KNOWN_DIFFERENCES else [])


def _rows():
    with open(SUITE / "tests.tsv", encoding="utf-8", newline="") as tsv:
        for row in csv.DictReader(tsv, delimiter="\t"):
            yield (row["type"], row["premise"], row["conclusion"] or None,
                   f"{row['type']}-{row['premise'].removesuffix('.premise.rdf')}")


def _missing(kind: str, premise: str, conclusion: str | None) -> list[str]:
    return unimplemented(parse(premise) + (parse(conclusion) if conclusion else []), kind)


def outside_the_rules() -> dict[str, list[str]]:
    """The cases (not applicable, never run) that use vocabulary the rules give no meaning to, with those terms."""
    return {case: missing for kind, premise, conclusion, case in _rows()
            if (missing := _missing(kind, premise, conclusion))}


def parse(file: str) -> list[ox.Triple]:
    path = SUITE / file
    return list(ox.parse(path=str(path), format=ox.RdfFormat.RDF_XML, base_iri=path.as_uri()))


def unimplemented(triples: list[ox.Triple], kind: str) -> list[str]:
    """The built-in terms (as predicates or classes) a graph uses that the rules give no meaning to."""
    known = RULES | (CHECKS if kind in ("Consistency", "Inconsistency") else {})
    used = {t.predicate.value for t in triples}
    used |= {t.object.value for t in triples if t.predicate.value == RDF + "type" and isinstance(t.object, ox.NamedNode)}
    used |= {t.object.value for t in triples if isinstance(t.object, ox.NamedNode) and t.predicate.value in (
        RDFS + "subClassOf", OWL + "equivalentClass", RDFS + "subPropertyOf", OWL + "someValuesFrom", RDFS + "domain",
        RDFS + "range", RDF + "first")}
    # built-in terms, and XSD datatypes used as classes (datatype reasoning, which the rules do not do)
    return sorted(term for term in used if term.startswith((*BUILTIN, XSD)) and term not in known and term not in NEUTRAL)


def closure(premise: list[ox.Triple]) -> ox.Store:
    store = ox.Store()
    store.extend(ox.Quad(t.subject, t.predicate, t.object, ASSERTED) for t in premise)
    materialise(store)
    return store


def entailed(store: ox.Store, conclusion: list[ox.Triple]) -> bool:
    """Simple entailment of the conclusion by premise ∪ closure: an ASK with its blank nodes as variables.
    The conclusion's ontology header (its owl:Ontology node) is no claim."""
    headers = {t.subject for t in conclusion if t.predicate.value == RDF + "type" and t.object.value == OWL + "Ontology"}

    def term(node) -> str:
        return f"?b{node.value}" if isinstance(node, ox.BlankNode) else str(node)

    patterns = " ".join(f"{term(t.subject)} {term(t.predicate)} {term(t.object)} ." for t in conclusion
                        if t.subject not in headers)
    return bool(store.query(f"ASK {{ {patterns} }}", default_graph=[ASSERTED, INFERRED]))


@pytest.mark.parametrize("kind, premise_file, conclusion_file", list(cases()))
def test_owl2_case(kind, premise_file, conclusion_file):
    premise = parse(premise_file)
    conclusion = parse(conclusion_file) if conclusion_file else []
    store = closure(premise)
    if kind == "PositiveEntailment":
        assert entailed(store, conclusion)
    elif kind == "NegativeEntailment":
        assert not entailed(store, conclusion)
    elif kind == "Inconsistency":
        assert contradictions(store), "no clash found"
    else:
        assert contradictions(store) == []


def test_cases_outside_the_rules_are_named_and_counted():
    """Not applicable (never run): a case using vocabulary the rules do not implement; each names those terms, and
    their number is the one tests/data/w3c/README.md gives."""
    outside = outside_the_rules()
    assert all(outside.values())
    readme = (SUITE.parent / "README.md").read_text(encoding="utf-8")
    assert f"The {len(outside)} that do not" in readme and f"{len(outside)} not applicable" in readme
