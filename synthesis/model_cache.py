"""The folder where derived model files are kept between processes, and how they get there.

Things computed from an installed wheel's files that cost tenths of a second to compute again
(the vocoder converted to ONNX, jieba's word list as a sorted index) are cached here under
names that include a hash of their source, so a new wheel or a new format makes a new file
and a stale one is never read. The folder is ``SYNTHESIS_MODEL_CACHE``, else ``model-cache``
under ``VAR_DIR`` (the project's ``var/`` by default). Writes go through a temporary file and
an atomic rename, so two processes writing at once both leave a whole file; on a read-only or
full folder the caller keeps its result in memory and computes it again next time.

Imports: the standard library only.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Callable

CACHE_ENV = "SYNTHESIS_MODEL_CACHE"
PROJECT_VAR = Path(__file__).resolve().parents[1] / "var"


def model_cache_dir() -> Path:
    """SYNTHESIS_MODEL_CACHE, else model-cache/ in the site's VAR_DIR (the project's var/ by default)."""
    return Path(os.environ.get(CACHE_ENV) or Path(os.environ.get("VAR_DIR") or PROJECT_VAR) / "model-cache")


def write_atomically(path: Path, data: bytes) -> None:
    """``data`` at ``path`` all at once: readers see no file or the whole file (OSError if not writable)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(temporary, 0o644)  # mkstemp makes it private; workers may run as other users
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def cached(name: str, make: Callable[[], bytes], folder: Path | None = None) -> bytes:
    """The cached file ``name``, else ``make()``, written to the cache if the folder allows."""
    path = (folder or model_cache_dir()) / name
    try:
        return path.read_bytes()
    except OSError:
        pass
    data = make()
    try:
        write_atomically(path, data)
    except OSError:  # read-only or full: keep it in memory only
        pass
    return data
