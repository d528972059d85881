"""Command line: ``python -m synthesis speak|explain|voices``.

``speak`` in a fresh process is a cold start: the voice starts loading in a thread
(``load_in_background``) before the front end's modules (pypinyin's dictionaries) are even
imported, so the two overlap; those modules are therefore imported inside the commands. Run as
a program, the process also skips the work a one-off process does not need: the cyclic garbage
collector (it would walk the dictionaries' hundreds of thousands of objects as they load, ~0.05 s)
and the interpreter's teardown (freeing the voice and the dictionaries, ~0.13 s, memory the OS
takes back at exit anyway).
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import sys
from pathlib import Path

from synthesis.engines import (DEFAULT_ENGINE, ENGINES, EngineUnavailable, get_engine, load_in_background,
                               wait_for_background_loads)


def _text(args) -> str:
    if args.file:
        return Path(args.file).read_text(encoding="utf-8")
    if args.text and args.text != "-":
        return args.text
    return sys.stdin.read()


def _add_text_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("text", nargs="?", help="script text; '-' or omitted reads standard input")
    parser.add_argument("-f", "--file", help="read the script from this UTF-8 file")


def cmd_speak(args) -> int:
    out = Path(args.output)
    fmt = out.suffix.lstrip(".").lower()
    if fmt not in ("mp3", "wav"):
        raise SystemExit(f"output must end in .mp3 or .wav, not {out.name!r}")
    load_in_background(args.engine)
    from synthesis.pipeline import RenderConfig, render

    config = RenderConfig(
        out_dir=args.cache_dir,
        engine=args.engine,
        voice=args.voice or "",
        emotion=args.emotion,
        intensity=args.intensity,
        speed=args.speed,
        sample_rate=args.rate,
        formats=(fmt,),
    )
    rendering = render(_text(args), config)
    out.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(rendering.paths[fmt], out)
    state = "cached" if rendering.cached else "rendered"
    print(f"{out}: {rendering.duration:.2f} s, {rendering.sample_rate} Hz, {state}, key {rendering.cache_key}")
    for warning in rendering.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return 0


def _report(clause: dict) -> str:
    """A clause as a curator reads it: text, pinyin, who decided what, and what is uncertain."""
    lines = [clause["text"], "  " + " ".join(clause["pinyin"])]
    lines += [f"  {r['text']} → {r['spoken']}  ← normaliser: {r['rule']}" for r in clause["rewrites"]]
    lines += [f"  {d['char']} {d['pinyin']}  ← {d['source']}" for d in clause["decided"]]
    lines += [f"  ? {u['char']} {u['pinyin']}  uncertain; also read {' / '.join(u['alternatives'])}"
              for u in clause["uncertain"]]
    return "\n".join(lines)


def cmd_explain(args) -> int:
    from synthesis.frontend import explain

    for clause in explain(_text(args), emotion=args.emotion):
        print(_report(clause) if args.report else json.dumps(clause, ensure_ascii=False))
    return 0


def cmd_voices(args) -> int:
    for name in ENGINES:
        try:
            engine = get_engine(name)
        except EngineUnavailable as exc:
            print(f"{name}: unavailable: {exc}")
            continue
        for voice in engine.voices():
            print(f"{name}\t{voice.name}\t{voice.sample_rate} Hz\t{', '.join(voice.emotions)}\t{voice.description}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m synthesis", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    speak = sub.add_parser("speak", help="render a script to an MP3 or WAV file")
    _add_text_args(speak)
    speak.add_argument("-o", "--output", required=True, help="out.mp3 or out.wav")
    speak.add_argument("--engine", default=DEFAULT_ENGINE, choices=list(ENGINES))
    speak.add_argument("--voice", help="voice name (python -m synthesis voices)")
    speak.add_argument("--emotion", default="neutral")
    speak.add_argument("--intensity", type=float, default=1.0)
    speak.add_argument("--speed", type=float, default=1.0)
    speak.add_argument("--rate", type=int, default=24000, help="sample rate, 16000–48000")
    speak.add_argument("--cache-dir", default="media/audio")
    speak.set_defaults(func=cmd_speak)
    exp = sub.add_parser("explain", help="print the front end's reading, one JSON object per clause")
    _add_text_args(exp)
    exp.add_argument("--emotion", default="neutral")
    exp.add_argument("--report", action="store_true",
                     help="readable pronunciation report instead of JSON: sources and uncertain characters")
    exp.set_defaults(func=cmd_explain)
    sub.add_parser("voices", help="list engines and voices").set_defaults(func=cmd_voices)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, EngineUnavailable) as exc:
        from synthesis.markup import ScriptError  # a ValueError too, located in the script

        print(f"{'script error' if isinstance(exc, ScriptError) else 'error'}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    gc.disable()
    code = main()
    wait_for_background_loads()  # a script error can come first; the voice's load then ends normally
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
