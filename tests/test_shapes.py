"""Every SHACL shape has a valid fixture and invalid ones that trip that shape's own constraint.

The folder is the manifest: tests/fixtures/shapes/<Shape>/{valid,invalid-*}.ttl. Each invalid file names
the expected shape, constraint component and path in an '# expect:' line.
"""

from pathlib import Path

import pytest

from mscev.load import load_graph
from mscev.paths import EXTERNAL_FILE, ONTOLOGY_FILE, TRIPLES_DIR
from mscev.paths import SHAPES_FILE
from mscev.validate import validate

from conftest import FIXTURES

SHAPES_DIR = FIXTURES / "shapes"
BASE = [ONTOLOGY_FILE, EXTERNAL_FILE, TRIPLES_DIR / "review.ttl", TRIPLES_DIR / "sources.ttl", SHAPES_DIR / "base.ttl"]
VALID = sorted(SHAPES_DIR.glob("*/valid.ttl"))
INVALID = sorted(SHAPES_DIR.glob("*/invalid-*.ttl"))


def expectation(path: Path) -> tuple[str, str, str]:
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("# expect:"):
            shape, constraint, result_path = line.removeprefix("# expect:").split()
            return shape, constraint, result_path
    raise AssertionError(f"{path} has no '# expect:' line")


def fixture_id(path: Path) -> str:
    return f"{path.parent.name}/{path.stem}"


def test_base_fixture_is_clean():
    report = validate(load_graph(files=BASE))
    assert report.results == [], report.as_text()


@pytest.mark.parametrize("path", VALID, ids=fixture_id)
def test_valid_fixture_conforms(path):
    report = validate(load_graph(files=[*BASE, path]))
    assert report.results == [], report.as_text()


@pytest.mark.parametrize("path", INVALID, ids=fixture_id)
def test_invalid_fixture_trips_its_shape(path):
    shape, constraint, result_path = expectation(path)
    report = validate(load_graph(files=[*BASE, path]))
    assert not report.conforms, f"{path} should not conform"
    tripped = {(r.shape, r.constraint, r.path) for r in report.violations}
    assert (shape, constraint, result_path) in tripped, report.as_text()
    assert all(r.file.endswith(path.name) for r in report.violations), "violations must point at the fixture file"


def test_every_shape_has_fixtures():
    from rdflib import RDF, Graph, Namespace

    sh = Namespace("http://www.w3.org/ns/shacl#")
    shapes = Graph().parse(SHAPES_FILE)
    names = {str(s).rsplit("/", 1)[-1] for s in shapes.subjects(RDF.type, sh.NodeShape)}
    for name in names:
        assert (SHAPES_DIR / name / "valid.ttl").is_file(), f"{name} has no valid fixture"
        assert list((SHAPES_DIR / name).glob("invalid-*.ttl")), f"{name} has no invalid fixture"
