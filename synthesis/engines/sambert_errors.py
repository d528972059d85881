"""Why ModelScope's Sambert pipeline failed to load, in words that say what to do.

ModelScope hides the cause: ``LazyImportModule._get_module`` (modelscope/utils/import_utils.py)
turns a missing ``kantts`` into ``RuntimeError('Failed to import … No module named …')`` and
``build_from_cfg`` (modelscope/utils/registry.py) re-raises as ``type(e)(f'{cls}: {e}')``, so
the original ImportError's ``.name`` is lost. We therefore read the whole exception chain
(``__cause__`` / ``__context__``), the ``No module named`` text, and the class names of the
exceptions in modelscope/utils/audio/tts_exceptions.py (matched by name, so this module does
not need ModelScope to import).
"""
from __future__ import annotations

import errno
import re
from typing import Iterator, Optional

from synthesis.engines.base import EngineUnavailable

MODELSCOPE_INDEX = "https://modelscope.oss-cn-beijing.aliyuncs.com/releases/repo.html"
INDEX_ONLY = ("kantts", "ttsfrd")  # PyPI's packages of these names are empty squats
_NO_MODULE = re.compile(r"No module named '([A-Za-z0-9_.]+)'")
_READ_ONLY = (errno.EROFS, errno.EACCES, errno.EPERM)


def unavailable(reason: str) -> EngineUnavailable:
    return EngineUnavailable(f"Sambert engine unavailable: {reason}")


def install_hint(name: Optional[str] = None) -> str:
    names = name or " ".join(INDEX_ONLY)
    return (
        f"pip install -r requirements-sambert.txt, then pip install --no-deps --no-index --find-links "
        f"{MODELSCOPE_INDEX} {names} (ModelScope's own index; never PyPI's packages of those names)"
    )


def predownload_hint() -> str:
    return (
        "pre-download the model where the ModelScope hub is reachable: python -c \"from modelscope.hub."
        "snapshot_download import snapshot_download; print(snapshot_download('damo/speech_sambert-hifigan_tts_"
        "zh-cn_16k'))\", copy that folder to a writable place here and set SAMBERT_MODEL_DIR=/path/to/it"
    )


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def missing_module(exc: BaseException) -> Optional[str]:
    """Top-level name of the module whose import failed somewhere in the chain, if any."""
    for link in _chain(exc):
        name = getattr(link, "name", None) if isinstance(link, ImportError) else None
        found = name or (_NO_MODULE.search(str(link)) or [None, None])[1]
        if found:
            return found.split(".")[0]
    return None


def explain_load_error(exc: BaseException, target: str) -> str:
    chain = list(_chain(exc))
    kinds = {cls.__name__ for link in chain for cls in type(link).__mro__}
    what = f"{type(exc).__name__}: {exc}"
    module = missing_module(exc)
    if module in INDEX_ONLY:
        return f"{module} is not installed (ModelScope said: {what}). {install_hint(module)}"
    if module:
        return f"the Python package {module!r} is missing ({what}): pip install -r requirements-sambert.txt"
    if any(isinstance(link, OSError) and link.errno in _READ_ONLY for link in chain):
        return (
            f"the model folder {target} is not writable ({what}). SambertHifigan unpacks resource.zip into "
            f"it on every load: copy the folder somewhere writable (or mount it read-write) and point "
            f"SAMBERT_MODEL_DIR there"
        )
    if kinds & {"TtsFrontendInitializeFailedException", "TtsFrontendLanguageTypeInvalidException"}:
        return (
            f"ttsfrd could not load the model's front-end resource ({what}): resource.zip in {target} is "
            f"incomplete, or ttsfrd does not match this model; re-download the model or reinstall ttsfrd: "
            f"{install_hint('ttsfrd')}"
        )
    if "TtsVoiceNotExistsException" in kinds:
        return f"the model in {target} has no usable voice (voices/voices.json missing or empty: {what}); {predownload_hint()}"
    if kinds & {"TtsModelNotExistsException", "TtsModelConfigurationException", "FileNotFoundError"}:
        return f"the weights in {target} are missing or incomplete ({what}); {predownload_hint()}"
    return f"could not build the pipeline for {target} ({what}): the hub is unreachable or the weights are missing; {predownload_hint()}"
