"""Framework-free speech library: narration script with emotion tags -> finished Mandarin audio.

Pipeline: markup (``markup``) -> text normalisation (``normalize``) -> pinyin, lexicon and
tone sandhi (``pinyin``, ``lexicon``) -> engine (``engines``) -> trim, pauses, loudness,
resampling and atomic WAV/MP3 writing (``audio``). ``pipeline.render`` ties them together.

Names are exported lazily so that ``from synthesis.clause import EMOTIONS`` (a web process
building a form) does not import numpy, pypinyin and the engines.
"""
from importlib import import_module

_EXPORTS = {
    "EngineUnavailable": "synthesis.engines",
    "PauseConfig": "synthesis.frontend",
    "analyse": "synthesis.frontend",
    "explain": "synthesis.frontend",
    "ScriptError": "synthesis.markup",
    "RenderConfig": "synthesis.pipeline",
    "Rendering": "synthesis.pipeline",
    "cached_rendering": "synthesis.pipeline",
    "prepare": "synthesis.pipeline",
    "render": "synthesis.pipeline",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'synthesis' has no attribute {name!r}")
