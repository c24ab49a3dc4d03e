"""Drafts for curators: a new finding in the house style, every required field present and every value still to
choose a TODO that `mscev validate` reports, so that a draft is filled in by fixing what validation names."""

import re
from pathlib import Path
from string import Template

from mscev.errors import MscevError
from mscev.paths import TRIPLES_DIR

TEMPLATES = Path(__file__).parent / "templates"
SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


def _reference_entry(number: int) -> str:
    """The printed entry of reference ``number`` (from triples/references.ttl), or a refusal naming the range."""
    from rdflib import Graph, Literal, Namespace
    from rdflib.namespace import DCTERMS, XSD

    mscev = Namespace("https://w3id.org/mscev/")
    graph = Graph().parse(TRIPLES_DIR / "references.ttl")
    numbers = sorted(int(n) for n in graph.objects(None, mscev.referenceNumber))
    ref = next(graph.subjects(mscev.referenceNumber, Literal(number, datatype=XSD.integer)), None)
    if ref is None:
        raise MscevError(f"reference {number}: the review's references are numbered {numbers[0]} to {numbers[-1]}")
    return str(graph.value(ref, DCTERMS.bibliographicCitation))


def _sections() -> list[str]:
    text = (TRIPLES_DIR / "review.ttl").read_text(encoding="utf-8")
    return re.findall(r"^section:([\w-]+) a mscev:ReviewSection", text, re.M)


def new_finding(number: int, slug: str, section: str, cells: bool = False) -> str:
    """Turtle for a new finding of reference ``number`` named ``finding:ref<number>-<slug>``, with its effect and
    its subject (a vesicle preparation, or with ``cells`` a cell preparation)."""
    if not SLUG.fullmatch(slug):
        raise MscevError(f"slug {slug!r}: lower-case words joined by hyphens, e.g. cartilage-regeneration")
    if section not in _sections():
        raise MscevError(f"--section {section!r}: choose one of {', '.join(_sections())}")
    name = f"ref{number}-{slug}"
    subject_name = f"{name}-cells" if cells else f"{name}-ev"
    values = {"number": number, "name": name, "section": section, "subject_name": subject_name,
              "citation": _reference_entry(number).replace("\n", " "),
              "subject_property": "mscev:cellSubject" if cells else "mscev:vesicle",
              "subject": f"cellprep:{subject_name}" if cells else f"prep:{subject_name}"}
    subject = Template((TEMPLATES / ("cell-subject.ttl" if cells else "vesicle-subject.ttl")).read_text(encoding="utf-8"))
    values["subject_block"] = subject.substitute(values)
    return Template((TEMPLATES / "finding.ttl").read_text(encoding="utf-8")).substitute(values)
