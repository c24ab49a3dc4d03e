"""The build manifest: every file of a build with its size and SHA-256, and the store's triple counts.

`mscev build` writes manifest.json last into the staging folder, so it describes exactly the build swapped in.
Readers check it at two depths (see check_build): `mscev query`, which should start in a few hundred
milliseconds, compares sizes only (a stat per file: a truncated or emptied file is caught, a same-sized
overwrite is not); `release`, `export` and `serve`, which read the whole build or serve it for long, also
compare the checksums and count the store's triples per graph.
"""

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path

import pyoxigraph as ox

from mscev.errors import MscevError

MANIFEST = "manifest.json"


def write_manifest(folder: Path, files: Iterable[str], graphs: dict[str, int]) -> None:
    """manifest.json in ``folder`` for ``files`` (names inside it) and the store's ``graphs`` (IRI → triples)."""
    folder = Path(folder)
    manifest = {"files": {name: {"bytes": (folder / name).stat().st_size, "sha256": sha256(folder / name)}
                          for name in sorted(files)},
                "store": {"triples": dict(sorted(graphs.items()))}}
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


def check_build(build_dir: Path, store: ox.Store | None = None, checksums: bool = False) -> None:
    """Compare the build with its manifest: file sizes always; with ``checksums`` also each file's SHA-256 and,
    given the opened ``store``, its triples per graph. A difference raises MscevError naming the first one."""
    build_dir = Path(build_dir)
    try:
        manifest = json.loads((build_dir / MANIFEST).read_text(encoding="utf-8"))
        files, graphs = manifest["files"], manifest["store"]["triples"]
    except FileNotFoundError:
        raise damaged(build_dir, f"no {MANIFEST}, which every complete build has") from None
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise damaged(build_dir, f"{MANIFEST} cannot be read ({error})") from None
    for name, expected in files.items():
        path = build_dir / name
        try:
            size = path.stat().st_size
        except OSError:
            raise damaged(build_dir, f"{name} is missing") from None
        if size != expected["bytes"]:
            raise damaged(build_dir, f"{name} has {size:,} bytes where the build wrote {expected['bytes']:,}")
        if checksums and sha256(path) != expected["sha256"]:
            raise damaged(build_dir, f"{name} differs from what the build wrote (SHA-256)")
    if checksums and store is not None:
        for graph, expected in graphs.items():
            found = int(next(store.query(f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}"))[0].value)
            if found != expected:
                raise damaged(build_dir, f"the store's graph <{graph}> holds {found:,} triples where the build wrote "
                                         f"{expected:,}")


def damaged(build_dir: Path, why: str) -> MscevError:
    """The one message for a build that cannot be trusted, with the command that writes it again."""
    return MscevError(f"the build in {build_dir} is damaged or incomplete ({why}); run `mscev build "
                      f"--out {build_dir}` to write it again.")


def source_digests(files: Iterable[Path]) -> dict[str, str]:
    """Each input file's SHA-256 by its absolute path: a build records what it read (summary.json), so that
    staleness is judged by content, not by time (a file rewritten with the same bytes is not a change)."""
    return {str(Path(path).resolve()): sha256(path) for path in files}


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
