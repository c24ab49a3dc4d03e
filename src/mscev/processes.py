"""Child processes and temporaries that do not outlive mscev, even when it is killed with SIGKILL.

A killed process runs no clean-up code, so: each child asks the kernel to kill it when its parent dies (Linux
prctl PR_SET_PDEATHSIG, in the child before it runs anything); and every temporary file or folder carries the
PID of the process that made it, so the next run removes those whose process is gone.
"""

import ctypes
import os
import shutil
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

PR_SET_PDEATHSIG = 1


def die_with(parent: int) -> None:
    """Ask Linux to kill this process when its parent ``parent`` dies; exit now if it already has (its parent is
    then another process). Called first thing in a child, or as a subprocess ``preexec_fn`` (see with_parent)."""
    prctl = getattr(ctypes.CDLL(None), "prctl", None)
    if prctl is not None:
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:
        sys.exit(1)


def with_parent() -> dict:
    """Keyword arguments for subprocess: the child is killed when this process dies."""
    parent = os.getpid()
    return {"preexec_fn": lambda: die_with(parent)}


def at_lower_priority(action: Callable[[], None], niceness: int = 10) -> None:
    """Run ``action`` at ``niceness`` more than this thread's, on a thread of its own, and wait for it. Linux keeps a
    nice value per thread (threads a thread starts inherit its value), and raising it needs no privilege while
    lowering it back does (CAP_SYS_NICE, which CI has not): so the lower priority is given to a thread that ends
    with the action, and this thread keeps its own."""
    failed: list[BaseException] = []

    def run() -> None:
        try:
            os.nice(niceness)
            action()
        except BaseException as error:  # raised again in the calling thread
            failed.append(error)

    thread = threading.Thread(target=run, name="lower-priority")
    thread.start()
    thread.join()
    if failed:
        raise failed[0]


def gone(pid: int) -> bool:
    """Whether the process with this PID has ended: no such process, or a zombie (killed, not yet reaped, which
    takes a while where PID 1 is not an init). A PID reused by another process counts as not gone: nothing of
    it is removed."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    except OSError:  # no /proc: ask the kernel
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return False
    return stat.rpartition(")")[2].split()[0] == "Z"


def owner(name: str, prefix: str) -> int | None:
    """The PID in a temporary's name ``PREFIX<pid>-...``, or None."""
    digits = name[len(prefix):].partition("-")[0]
    return int(digits) if name.startswith(prefix) and digits.isdigit() else None


def remove_stale(folder: Path, prefix: str, suffix: str = "") -> None:
    """Remove the files and folders ``PREFIX<pid>-...SUFFIX`` in ``folder`` whose process is gone."""
    try:
        entries = list(Path(folder).iterdir())
    except OSError:
        return
    for path in entries:
        pid = owner(path.name, prefix)
        if pid is None or not path.name.endswith(suffix) or not gone(pid):
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


@contextmanager
def temporary_folder(name: str) -> Iterator[Path]:
    """A temporary folder ``mscev-NAME-<pid>-...`` in the system's temporary folder, removed on leaving; the ones
    killed runs left are removed first. Inside the block, Python's tempfile puts its files there too (a library
    such as owlready2 makes its own), so they go with it."""
    import tempfile  # not on the path of `mscev query`, which only uses remove_stale

    prefix = f"mscev-{name}-"
    remove_stale(Path(tempfile.gettempdir()), prefix)
    previous = tempfile.tempdir
    folder = Path(tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-"))
    tempfile.tempdir = str(folder)
    try:
        yield folder
    finally:
        tempfile.tempdir = previous
        shutil.rmtree(folder, ignore_errors=True)


# ---------------------------------------------------------------------------------------------------- supervision

SUPERVISED_VARIABLE = "MSCEV_STAGE_FD"  # set in a supervised command: where it reports the stage it is in
OUT_OF_MEMORY_HINT = ("free memory or raise the limit (ulimit -v, the container's memory), leave the reasoner out "
                      "(--no-reason), or for a large input use --engine fast; the previous output is unchanged")


def report_stage(stage: str) -> None:
    """Tell the supervising process (if any) which stage this command is in, for its message if this one dies."""
    fd = os.environ.get(SUPERVISED_VARIABLE)
    if fd and fd.isdigit():
        try:
            os.write(int(fd), f"{stage}\n".encode())
        except OSError:
            pass


def supervise(argv: list[str], command: str) -> int:
    """Run ``mscev ARGV`` as a child and wait for it, passing its exit code on; when a signal ended it (the
    kernel's OOM killer sends SIGKILL, a library that cannot allocate memory aborts with SIGABRT), say so with
    the stage it was in and what to do, instead of an exit 134 or 137 with no word.

    The child shares the terminal (its spinner and Ctrl-C work as before) and dies with this process."""
    import subprocess

    read, write = os.pipe()
    code = "from mscev.cli import run; run()"
    env = {**os.environ, SUPERVISED_VARIABLE: str(write)}
    child = subprocess.Popen([sys.executable, "-c", code, *argv], env=env, pass_fds=(write,), **with_parent())
    os.close(write)
    interrupt = signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the child, which stops cleanly
    try:
        returncode = child.wait()
    finally:
        signal.signal(signal.SIGINT, interrupt)
    with os.fdopen(read, "rb") as stages:
        reported = stages.read().decode(errors="replace").split()
    if returncode >= 0:
        return returncode
    stage = f" in its {reported[-1]} stage" if reported else ""
    name = signal.Signals(-returncode).name
    if -returncode in (signal.SIGKILL, signal.SIGABRT):
        why = ("the system's out-of-memory killer most likely ended it (see `dmesg`)" if -returncode == signal.SIGKILL
               else "a native library could not allocate memory")
        sys.stderr.write(f"error: mscev {command} ran out of memory{stage} ({name}: {why}); {OUT_OF_MEMORY_HINT}.\n")
    else:
        sys.stderr.write(f"error: mscev {command} was ended by {name}{stage}.\n")
    return 2
