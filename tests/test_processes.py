"""What a killed mscev leaves behind, and what it says when memory runs out (issue 14, defects 11 and 12).

kill -9 gives a process no chance to clean up, so the children it started must end with it (the kernel's
parent-death signal) and the next run must remove the temporaries it left.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mscev.reason import java_available

MSCEV = Path(sys.executable).with_name("mscev")


def children(pid: int) -> list[int]:
    try:
        return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except FileNotFoundError:
        return []


def command_name(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except FileNotFoundError:
        return "gone"


def alive(pid: int) -> bool:
    try:
        state = next(line.split()[1] for line in Path(f"/proc/{pid}/status").read_text().splitlines()
                     if line.startswith("State:"))
    except FileNotFoundError:
        return False
    return state != "Z"


def wait_for_java(process: subprocess.Popen, timeout: float = 120) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, f"mscev ended (exit {process.returncode}) before it started Java"
        for child in children(process.pid):
            if command_name(child) == "java":
                return child
        time.sleep(0.02)
    pytest.fail("mscev started no Java process")


@pytest.mark.slow
def test_the_java_reasoner_and_its_temporary_folder_do_not_outlive_a_killed_mscev(tmp_path):
    """HermiT (Java) is stopped (SIGSTOP) so it cannot simply finish; killing mscev must end it all the same.
    The next run removes the killed one's mscev-reason-* folder before it starts its own."""
    assert java_available(), "HermiT needs Java (.ci/run installs it)"
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = {**os.environ, "TMPDIR": str(scratch)}
    left = []
    for run in range(2):
        process = subprocess.Popen([MSCEV, "reason", "--build", str(tmp_path / "no-build")], env=env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            java = wait_for_java(process)
            folders = sorted(path.name for path in scratch.iterdir())
            assert folders == [f for f in folders if f.startswith(f"mscev-reason-{process.pid}-")] and folders, \
                (run, folders)  # only this run's folder: the one the killed run left has been removed
            os.kill(java, signal.SIGSTOP)
            process.kill()
            assert process.wait() == -signal.SIGKILL
            deadline = time.monotonic() + 10
            while alive(java) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert not alive(java), "Java outlived the killed mscev"
            left.append(folders)
        finally:
            if process.poll() is None:
                process.kill()
    assert all(left)


def test_a_killed_writer_s_temporary_file_is_removed_by_the_next_write(built, tmp_path):
    """`export --out` and `query --out` write a temporary file beside the target; one whose writer was killed (its
    PID in the name is gone) is removed by the next command that writes beside it."""
    target = tmp_path / "graph.nt"
    writer = ("import os, signal, sys; from mscev.atomic import writing\n"
              "with writing(sys.argv[1]) as handle:\n"
              "    handle.write(b'half a file'); handle.flush(); os.kill(os.getpid(), signal.SIGKILL)\n")
    killed = subprocess.run([sys.executable, "-c", writer, str(target)], capture_output=True)
    assert killed.returncode == -signal.SIGKILL
    [stale] = [path for path in tmp_path.iterdir() if path.name.startswith(".graph.nt.")]
    unrelated = tmp_path / ".notes.txt.tmp"
    unrelated.write_text("not ours")
    done = subprocess.run([MSCEV, "export", "-f", "nt", "--build", str(built.out), "--out", str(target)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert not stale.exists() and unrelated.exists()
    assert sorted(path.name for path in tmp_path.iterdir()) == [".notes.txt.tmp", "graph.nt"]
