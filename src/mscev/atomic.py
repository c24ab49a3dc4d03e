"""Outputs written whole or not at all: under a temporary name beside the target, then renamed into place.

A folder (build, release, synthetic corpus) is written by one process at a time: ``replacing_folder`` holds an
exclusive lock on ``.NAME.lock`` beside it (flock: the kernel drops it when the holder dies, so a killed writer
leaves no stale lock), removes what killed writers left behind, and hands out a staging folder
``.NAME.partial-PID`` that ``swap_in`` exchanges with the target in one atomic rename (Linux renameat2
RENAME_EXCHANGE). A process killed at any moment therefore leaves either the previous folder or the new one,
never a mix; the next writer removes its leftovers. Where the file system cannot exchange (e.g. NFS) two
renames are used, and a copy moved aside by a writer killed between them is put back by the next writer.
"""

import ctypes
import errno
import fcntl
import glob
import os
import secrets
import shutil
from collections.abc import Iterable, Iterator
from typing import BinaryIO
from contextlib import contextmanager
from pathlib import Path

from mscev.errors import MscevError
from mscev.paths import PROJECT_ROOT, SOURCE_DIRS
from mscev.processes import remove_stale

AT_FDCWD = -100
RENAME_EXCHANGE = 2
NO_EXCHANGE = (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP)


def check_writable(folder: Path) -> None:
    """A clear refusal, before any work, when outputs cannot be written into ``folder``."""
    if not folder.exists():
        raise MscevError(f"{folder}: the output folder's parent does not exist")
    if not folder.is_dir():
        raise MscevError(f"{folder}: not a folder, so nothing can be written there (choose another --out)")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise MscevError(f"{folder}: not writable (read-only or not yours), so nothing can be written there "
                         "(choose another --out)")


def check_output_folder(out: Path, what: str, markers: Iterable[str], sources: Iterable[Path] = ()) -> None:
    """Refuse an --out folder whose replacement would lose files mscev did not write: /, the home folder, the
    project root, a folder holding sources (the project's, or ``sources``, the files being read), and any
    folder that is not empty and has none of ``markers`` (the files by which each kind of output knows its own
    previous copy: a build's summary.json, a release's SHA256SUMS, a corpus's synth.json)."""
    where = Path(out).resolve()
    if where in {Path("/"), Path.home().resolve(), PROJECT_ROOT.resolve()}:
        raise MscevError(f"--out {out}: that is {_known_folder(where)}; {what} replaces its output folder whole, "
                         "so choose a new or empty folder")
    for source in (*SOURCE_DIRS, *map(Path, sources)):
        source = source.resolve()
        if where == source or where in source.parents:
            raise MscevError(f"--out {out}: holds the sources ({source}); {what} replaces its output folder whole, "
                             "so choose a new or empty folder")
    if where.is_dir() and not any((where / marker).exists() for marker in markers) and any(where.iterdir()):
        raise MscevError(f"--out {out}: holds files that mscev did not write as {what} (it has no "
                         f"{' or '.join(markers)}); replacing the folder would delete them, so choose a new or empty "
                         "folder")


def _known_folder(where: Path) -> str:
    if where == Path("/"):
        return "the root folder /"
    return "your home folder" if where == Path.home().resolve() else "the project root"


def write_text(path: Path, text: str) -> None:
    """Write ``path`` through a temporary sibling renamed over it; on failure nothing is left behind."""
    with writing(path) as handle:
        handle.write(text.encode("utf-8"))


@contextmanager
def writing(path: Path) -> Iterator[BinaryIO]:
    """A binary handle on a temporary sibling of ``path``, renamed over it when the block ends without error;
    on any failure the temporary file is removed and ``path`` is left as it was.

    A path that exists and is no regular file (/dev/null, /dev/stdout, a named pipe) is written directly: a
    rename would replace the device or pipe with a file, and there is no previous content to keep.
    """
    path = Path(path)
    if path.exists() and not path.is_file() and not path.is_dir():
        try:
            with open(path, "wb") as handle:
                yield handle
        except OSError as error:
            raise MscevError(f"{path}: cannot write it ({error.strerror or error})") from None
        return
    try:
        temporary, handle = _new_file(path)
    except OSError as error:
        raise MscevError(f"{path}: cannot write there ({error.strerror or error})") from None
    try:
        with handle:
            yield handle
        os.replace(temporary, path)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise MscevError(f"{path}: cannot write it ({error.strerror or error}); nothing was changed") from None
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _new_file(path: Path) -> tuple[Path, BinaryIO]:
    """A new temporary sibling of ``path``, opened for writing with mode 0666 less the umask, as any other output
    (tempfile's files are 0600 whatever the umask, and keep that mode when renamed into place). Its name carries
    this process's PID, so the next writer removes it if this one is killed."""
    remove_stale(path.parent, f".{path.name}.", ".tmp")
    for _ in range(100):
        name = path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")
        try:
            return name, os.fdopen(os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666), "wb")
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary name", str(path))


@contextmanager
def replacing_folder(out: Path, what: str, markers: Iterable[str], sources: Iterable[Path] = ()) -> Iterator[Path]:
    """A fresh staging folder for a new ``out``, to be put in place with ``swap_in``; removed in any case.

    ``what`` names the output in messages ("the build", "the release"); ``out`` must pass check_output_folder.
    """
    out = Path(os.path.abspath(out))  # "." or "..": a folder with a name, whose siblings hold lock and staging
    check_output_folder(out, what, markers, sources)
    check_writable(out.parent)
    with locked(out, what):
        _remove_leftovers(out)
        staging = out.with_name(f".{out.name}.partial-{os.getpid()}")
        try:
            staging.mkdir()
        except OSError as error:
            raise MscevError(f"{out}: cannot write {what} ({error.strerror or error})") from None
        try:
            yield staging
        finally:
            shutil.rmtree(staging, ignore_errors=True)


def swap_in(staging: Path, out: Path) -> None:
    """Put ``staging`` in place of ``out`` atomically; the previous ``out`` ends up in ``staging`` (removed by
    ``replacing_folder``)."""
    if not out.exists():
        staging.rename(out)
    elif not _exchange(staging, out):
        old = out.with_name(f".{out.name}.old-{os.getpid()}")
        out.rename(old)
        staging.rename(out)
        old.rename(staging)


@contextmanager
def locked(out: Path, what: str) -> Iterator[None]:
    """Hold the exclusive lock of ``out`` (also for changes made in place); a second writer is refused with the
    holder's PID."""
    out = Path(os.path.abspath(out))
    path = out.with_name(f".{out.name}.lock")
    try:
        handle = open(path, "a+", encoding="utf-8")
    except OSError as error:
        raise MscevError(f"{out}: cannot write {what} ({error.strerror or error})") from None
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip()
            raise MscevError(f"{out}: another mscev process{f' (PID {holder})' if holder else ''} is writing it "
                             f"now; wait for it to finish, or choose another --out (lock: {path})") from None
        try:
            handle.truncate(0)
            handle.write(str(os.getpid()))
            handle.flush()
        except OSError as error:
            raise MscevError(f"{out}: cannot write {what} ({error.strerror or error})") from None
        yield


def _remove_leftovers(out: Path) -> None:
    """Staging folders of writers that were killed (under the lock no other writer is at work), and a previous
    ``out`` moved aside by a two-rename swap that was interrupted (put back when ``out`` is missing)."""
    pattern = glob.escape(f".{out.name}")
    for old in sorted(out.parent.glob(f"{pattern}.old-*")):
        if out.exists():
            shutil.rmtree(old, ignore_errors=True)
        else:
            old.rename(out)
    for partial in out.parent.glob(f"{pattern}.partial-*"):
        shutil.rmtree(partial, ignore_errors=True)


def _exchange(first: Path, second: Path) -> bool:
    """Swap two paths in one rename (Linux renameat2 RENAME_EXCHANGE); False where that is not supported."""
    renameat2 = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
    if renameat2 is None:
        return False
    if renameat2(AT_FDCWD, os.fsencode(first), AT_FDCWD, os.fsencode(second), RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in NO_EXCHANGE:
        return False
    raise OSError(code, os.strerror(code), str(second))
