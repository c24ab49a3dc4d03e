"""Shared fixtures: project paths, the review text, and one build of the real graph per test session; and the
programs some test groups need, checked once: a missing one skips its group loudly (at the start and in the
closing summary, with the command that installs it), or fails the run under CI or with --strict-prerequisites."""

import os
import re
import shutil
from pathlib import Path

import pytest

from mscev.paths import REVIEW_FILE as REVIEW_TEXT  # the review, CC BY 4.0 (source/README.md)
FIXTURES = Path(__file__).parent / "fixtures"
# A projected GROUP_CONCAT column of a query: its separator and name (SPARQL leaves the order of its parts open, so
# the answers are compared part by part). The aggregate may be wrapped, as in IF(COUNT(?x) > 0, GROUP_CONCAT(…), SAMPLE(?x)).
GROUP_CONCAT_COLUMN = re.compile(r'GROUP_CONCAT\(.*?separator\s*=\s*"([^"]*)"\s*\)(?:[^()]|\([^()]*\)|\))*?AS\s+\?(\w+)', re.S)


# marker → (program, what needs it); `make test-deps` (tools/install-test-deps) installs every one of them
PREREQUISITES = {
    "reasoner": ("java", "HermiT reasoning tests"),
    "rapper": ("rapper", "export tests that parse every release file with Raptor"),
    "browser": ("chromium", "browser tests of the web interface"),
    "virtuoso": ("virtuoso-t", "triple store server tests"),
}
INSTALL_COMMAND = "make test-deps"


def pytest_addoption(parser):
    parser.addoption("--update-expected", action="store_true",
                     help="rewrite tests/expected/queries/ from the current graph instead of comparing with it")
    parser.addoption("--strict-prerequisites", action="store_true",
                     help="fail the run when a program a test group needs is missing (the default under CI=true)")


def missing_prerequisites() -> dict[str, tuple[str, str]]:
    return {marker: need for marker, need in PREREQUISITES.items() if shutil.which(need[0]) is None}


def strict_prerequisites(config) -> bool:
    return config.getoption("--strict-prerequisites") or os.environ.get("CI", "").lower() in ("true", "1")


def pytest_configure(config):
    config.mscev_skipped_groups = {}
    missing = missing_prerequisites()
    if missing and strict_prerequisites(config):
        names = ", ".join(program for program, _ in missing.values())
        raise pytest.UsageError(f"missing test prerequisites: {names}. Install them with `{INSTALL_COMMAND}` "
                                "(a strict run, CI=true or --strict-prerequisites, does not skip their tests)")


def pytest_report_header(config):
    missing = missing_prerequisites()
    if not missing:
        return "test prerequisites: all present (" + ", ".join(p for p, _ in PREREQUISITES.values()) + ")"
    return [f"SKIPPING {what} (marker '{marker}'): {program} is missing" for marker, (program, what) in missing.items()] + [
        f"install what they need with: {INSTALL_COMMAND}"]


def pytest_collection_modifyitems(config, items):
    missing = missing_prerequisites()
    for item in items:
        for marker, (program, _) in missing.items():
            if item.get_closest_marker(marker):
                item.add_marker(pytest.mark.skip(reason=f"{program} is missing: install it with `{INSTALL_COMMAND}`"))
                config.mscev_skipped_groups[marker] = config.mscev_skipped_groups.get(marker, 0) + 1


def pytest_terminal_summary(terminalreporter, config):
    if config.mscev_skipped_groups:
        terminalreporter.section("skipped test groups", yellow=True)
        for marker, count in config.mscev_skipped_groups.items():
            program, what = PREREQUISITES[marker]
            terminalreporter.line(f"{count} {what} skipped: {program} is missing")
        terminalreporter.line(f"install what they need with: {INSTALL_COMMAND}")


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


@pytest.fixture(scope="module")
def server(built):
    """`mscev serve` on the session build, on a free loopback port, started with the console script as a user
    would, stopped after the module (the browser and client tests; a module may define its own)."""
    from mscev.paths import PROJECT_ROOT

    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(PROJECT_ROOT / "benchmarks"))
        from load_serve import running_server
    with running_server(built.out, quiet=True) as (_, base):
        yield base


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
