"""Framework-free speech library: narration script with emotion tags -> finished Mandarin audio.

Pipeline: markup (``markup``) -> text normalisation (``normalize``) -> pinyin, lexicon and
tone sandhi (``pinyin``, ``lexicon``) -> engine (``engines``) -> trim, pauses, loudness,
resampling and atomic WAV/MP3 writing (``audio``). ``render`` ties them together.
"""
# Imported eagerly on purpose: ``from synthesis import render`` must give the function, and
# binding it here after the submodule ``synthesis.render`` has loaded is what guarantees that.
from synthesis.engines import EngineUnavailable
from synthesis.frontend import PauseConfig, analyse, explain
from synthesis.markup import ScriptError
from synthesis.render import RenderConfig, Rendering, prepare, render

__all__ = [
    "EngineUnavailable",
    "PauseConfig",
    "RenderConfig",
    "Rendering",
    "ScriptError",
    "analyse",
    "explain",
    "prepare",
    "render",
]
