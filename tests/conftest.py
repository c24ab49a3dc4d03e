"""Shared fixtures: project paths, the review text, and one build of the real graph per test session."""

from pathlib import Path

import pytest

from mscev.paths import PROJECT_ROOT

REVIEW_TEXT = PROJECT_ROOT / "source" / "cai-2020-cell-biosci.txt"  # the review, CC BY 4.0 (source/README.md)
FIXTURES = Path(__file__).parent / "fixtures"


def pytest_addoption(parser):
    parser.addoption("--update-expected", action="store_true",
                     help="rewrite tests/expected/queries/ from the current graph instead of comparing with it")


@pytest.fixture(scope="session")
def review_text() -> str:
    """The review every quote must be found in, verbatim."""
    return REVIEW_TEXT.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def loaded_graph():
    from mscev.load import load_graph

    return load_graph()


@pytest.fixture(scope="session")
def built(tmp_path_factory):
    """The real graph built once (with HermiT when Java is present) into a temporary folder."""
    from mscev.build import build

    out = tmp_path_factory.mktemp("session-build") / "build"
    result = build(out)
    assert result.ok, result.report.as_text()
    return result


@pytest.fixture(scope="session")
def synthetic(tmp_path_factory):
    """A synthetic corpus of 300 findings, 5% of them deliberately broken (mscev synth), for engine tests."""
    from mscev.synth import synthesize

    return synthesize(300, tmp_path_factory.mktemp("synthetic") / "corpus", seed=7, broken=0.05)


@pytest.fixture(scope="session")
def synthetic_reference_report(synthetic):
    """The reference validator's (pySHACL's) report on the synthetic corpus."""
    from mscev.load import load_graph
    from mscev.paths import source_files
    from mscev.validate import validate

    return validate(load_graph(files=source_files(synthetic.out)))
