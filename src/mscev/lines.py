"""Line-sorted RDF files for graphs too large to sort in Python: the system's `sort`, which spills to disk
instead of memory. Byte order (LC_ALL=C) is code-point order for UTF-8, so the files are sorted as Python sorts
their lines. Used by the fast build (graph.nt, inferred.nt) and by the release of a fast build."""

import os
import subprocess
from pathlib import Path

import pyoxigraph as ox

from mscev.errors import MscevError
from mscev.processes import with_parent


def dump_sorted(store: ox.Store, graph: ox.NamedNode, target: Path) -> None:
    """One graph of ``store`` as N-Triples sorted by line (sort_lines)."""
    unsorted = target.with_name(f".{target.name}.unsorted")
    store.dump(str(unsorted), ox.RdfFormat.N_TRIPLES, from_graph=graph)
    sort_lines(unsorted, target)
    unsorted.unlink()


def sort_lines(source: Path | list[Path], target: Path, unique: bool = True) -> None:
    """``sort [-u]`` of one file or of several together, in byte order (the order of a sorted list of the lines in
    Python), spilling to disk rather than memory."""
    sources = [str(path) for path in (source if isinstance(source, list) else [source])]
    try:
        subprocess.run(["sort", *(["-u"] if unique else []), "-S", "1G", "-T", str(target.parent), "-o", str(target),
                        *sources], env=SORT_ENV, check=True, capture_output=True, **with_parent())
    except FileNotFoundError:
        raise MscevError(f"the fast engine sorts {target.name} with the system's `sort`, which is not on PATH: "
                         "install coreutils, or build with --engine reference") from None
    except (OSError, subprocess.CalledProcessError) as error:
        raise MscevError(f"sorting {target.name} with the system's `sort` failed: "
                         f"{getattr(error, 'stderr', b'').decode(errors='replace').strip() or error}") from None


SORT_ENV = {**os.environ, "LC_ALL": "C"}
