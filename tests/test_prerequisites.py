"""A test group whose program is missing is never skipped silently: the run says so at its start and in its
summary, with the command that installs it; under CI (or --strict-prerequisites) the run fails instead."""

import os
import subprocess
import sys
from pathlib import Path

PROBE = Path(__file__).parent / "fixtures" / "prerequisites" / "probe_groups.py"


def run_probe(tmp_path, *args, ci=False):
    """The probe under a PATH that holds Python but none of the prerequisite programs."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k != "CI"} | {"PATH": str(bin_dir)}
    if ci:
        env["CI"] = "true"
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", str(PROBE), *args],
                          cwd=Path(__file__).parent.parent, env=env, capture_output=True, text=True, timeout=120)


def test_missing_programs_are_named_at_the_start_and_in_the_summary(tmp_path):
    done = run_probe(tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    header, _, summary = done.stdout.partition("test session starts")[2].partition("skipped test groups")
    assert "SKIPPING browser tests of the web interface (marker 'browser'): chromium is missing" in header
    assert "SKIPPING triple store server tests (marker 'virtuoso'): virtuoso-t is missing" in header
    assert "1 browser tests of the web interface skipped: chromium is missing" in summary
    assert "1 triple store server tests skipped: virtuoso-t is missing" in summary
    assert "make test-deps" in header and "make test-deps" in summary
    assert "1 passed, 2 skipped" in done.stdout


def test_a_strict_run_fails_on_a_missing_program(tmp_path):
    for done in (run_probe(tmp_path, ci=True), run_probe(tmp_path, "--strict-prerequisites")):
        assert done.returncode != 0
        assert "missing test prerequisites: java, rapper, chromium, virtuoso-t" in done.stdout + done.stderr
        assert "make test-deps" in done.stdout + done.stderr


def test_nothing_is_reported_when_every_program_is_there(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for program in ("java", "rapper", "chromium", "virtuoso-t"):
        (bin_dir / program).write_text("#!/bin/sh\n")
        (bin_dir / program).chmod(0o755)
    done = run_probe(tmp_path, ci=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "all present" in done.stdout and "skipped test groups" not in done.stdout
