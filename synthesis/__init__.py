"""Framework-free speech library: narration script with emotion tags -> finished Mandarin audio.

Pipeline: markup (``markup``) -> text normalisation (``normalize``) -> pinyin, lexicon and
tone sandhi (``pinyin``, ``lexicon``) -> engine (``engines``) -> trim, pauses, loudness,
resampling and atomic WAV/MP3 writing (``audio``). ``render`` ties them together.

Names are imported lazily so that ``import synthesis.engines`` does not pull in the front end
(pypinyin's dictionaries) and vice versa.
"""
from importlib import import_module

_EXPORTS = {
    "EngineUnavailable": "synthesis.engines",
    "PauseConfig": "synthesis.frontend",
    "analyse": "synthesis.frontend",
    "explain": "synthesis.frontend",
    "ScriptError": "synthesis.markup",
    "RenderConfig": "synthesis.render",
    "Rendering": "synthesis.render",
    "prepare": "synthesis.render",
    "render": "synthesis.render",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'synthesis' has no attribute {name!r}")
