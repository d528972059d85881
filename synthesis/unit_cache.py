"""Content-addressed store of the engine's audio per synthesis unit (one sentence it is given).

A render looks every sentence up here and synthesises only the missing ones, so editing one
sentence of a narration, or changing a lexicon term, costs one sentence of engine time. This is
safe only because engine output is deterministic: a unit's key holds everything the engine's
output depends on (spoken syllables and prosody marks per clause, emotion, intensity, speed,
voice, engine name and model version), and the samples are stored as raw float32, so audio
assembled from stored units is bit-identical to audio synthesised from scratch.

Layout under the folder the caller passes (``RenderConfig.unit_cache_dir``)::

    ab/abcdef….unit     one unit: MAGIC, sha256 of the rest, header length, JSON header, float32 samples
    pins/<id>.pin       keys a render in progress uses (the sweep never evicts them)

Files are written to a temporary name and hard-linked into place, so a reader never sees half a
file and two processes filling the same unit leave one file. Every read verifies the checksum:
a corrupt or truncated file is deleted and reported as missing (the render synthesises it
again). Reading a unit sets its mtime to now, which is the sweep's least-recently-used order.

Imports: ``synthesis.clause``, ``synthesis.engines.base``, ``synthesis.prosody``, numpy.
"""
from __future__ import annotations

import hashlib
import json
import os
import secrets
import struct
import time
from collections.abc import Iterable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from synthesis import prosody
from synthesis.clause import Clause
from synthesis.engines.base import ClauseAudio

UNIT_FORMAT = 1  # bump when what a unit holds, or how its key is made, changes
MAGIC = b"SYNUNIT1"
SUFFIX = ".unit"
PIN_DIR = "pins"
PIN_MAX_AGE_S = 6 * 3600  # a pin this old belongs to a process that died mid-render
_HEAD = len(MAGIC) + 32 + 4  # magic, sha256, u32 header length


def unit_key(sentence: Sequence[Clause], *, voice: str, speed: float, engine: str, model_version: str) -> str:
    """Everything the engine's audio for this sentence depends on, hashed."""
    syllables, marks = prosody.sentence_input(sentence)
    material = {
        "v": UNIT_FORMAT,
        "syllables": syllables,
        "marks": marks,
        "per_clause": [len(c.spoken) for c in sentence],
        "emotion": [(c.emotion, c.intensity) for c in sentence],
        "voice": voice,
        "speed": speed,
        "engine": [engine, model_version],
    }
    blob = json.dumps(material, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:40]


def _encode(outs: Sequence[ClauseAudio]) -> bytes:
    header = {
        "rate": outs[0].sample_rate if outs else 0,
        "clauses": [
            {"n": len(o.samples), "chars": o.char_times, "warnings": o.warnings, "joined": o.joined}
            for o in outs
        ],
    }
    head = json.dumps(header, ensure_ascii=False, separators=(",", ":"), default=float).encode("utf-8")
    samples = np.concatenate([np.asarray(o.samples, "<f4") for o in outs]) if outs else np.zeros(0, "<f4")
    body = struct.pack("<I", len(head)) + head + samples.astype("<f4", copy=False).tobytes()
    return MAGIC + hashlib.sha256(body).digest() + body


def _decode(blob: bytes) -> list[ClauseAudio] | None:
    """The clauses' audio, or None when the bytes are not a whole, intact unit."""
    if len(blob) < _HEAD or not blob.startswith(MAGIC):
        return None
    body = blob[len(MAGIC) + 32:]
    if hashlib.sha256(body).digest() != blob[len(MAGIC): len(MAGIC) + 32]:
        return None
    (head_len,) = struct.unpack_from("<I", body)
    header = json.loads(body[4: 4 + head_len].decode("utf-8"))
    samples = np.frombuffer(body, "<f4", offset=4 + head_len).astype(np.float32)
    outs, at = [], 0
    for c in header["clauses"]:
        chars = [tuple(pair) for pair in c["chars"]] if c["chars"] is not None else None
        outs.append(ClauseAudio(samples=samples[at: at + c["n"]], sample_rate=header["rate"],
                                char_times=chars, warnings=list(c["warnings"]), joined=c["joined"]))
        at += c["n"]
    return outs if at == len(samples) else None


@dataclass
class SweepReport:
    kept: int = 0
    kept_bytes: int = 0
    evicted: int = 0
    evicted_bytes: int = 0
    pinned: int = 0  # units over the bound that were kept because a render is using them
    stale_pins: int = 0
    broken_temp_files: int = 0


class UnitCache:
    def __init__(self, root: Path | str):
        self.root = Path(root)

    def path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}{SUFFIX}"

    def get(self, key: str) -> list[ClauseAudio] | None:
        """The unit's audio, or None if absent, corrupt or truncated (a bad file is removed)."""
        path = self.path(key)
        try:
            blob = path.read_bytes()
        except FileNotFoundError:
            return None
        outs = _decode(blob)
        if outs is None:
            path.unlink(missing_ok=True)
            return None
        try:
            os.utime(path)  # last use, for the LRU sweep: one syscall
        except FileNotFoundError:  # evicted between the read and now: the audio is still good
            pass
        return outs

    def put(self, key: str, outs: Sequence[ClauseAudio]) -> None:
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.parent / f".{key}.{secrets.token_hex(4)}.tmp"
        try:
            with open(tmp, "wb") as fh:
                fh.write(_encode(outs))
            try:
                os.link(tmp, path)  # atomic, and refuses to replace: the first filler wins
            except FileExistsError:
                if _decode(path.read_bytes()) is None:  # a damaged file is replaced
                    os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)

    # -- renders in progress -------------------------------------------------------------------
    @contextmanager
    def pinned(self, keys: Iterable[str]):
        """While the block runs, the sweep does not evict these units."""
        folder = self.root / PIN_DIR
        folder.mkdir(parents=True, exist_ok=True)
        pin = folder / f"{os.getpid()}-{secrets.token_hex(6)}.pin"
        tmp = pin.with_suffix(".tmp")
        tmp.write_text("\n".join(keys), encoding="ascii")
        os.replace(tmp, pin)
        try:
            yield
        finally:
            pin.unlink(missing_ok=True)

    def _pinned_keys(self, now: float, dry_run: bool, report: SweepReport) -> set[str]:
        keys: set[str] = set()
        for pin in (self.root / PIN_DIR).glob("*.pin"):
            try:
                if now - pin.stat().st_mtime > PIN_MAX_AGE_S:
                    report.stale_pins += 1
                    if not dry_run:
                        pin.unlink(missing_ok=True)
                    continue
                keys.update(pin.read_text(encoding="ascii").split())
            except FileNotFoundError:
                continue
        return keys

    # -- size bound ------------------------------------------------------------------------------
    def sweep(self, max_bytes: int, dry_run: bool = False, temp_age_s: float = 3600) -> SweepReport:
        """Evict least-recently-used units until the store fits ``max_bytes``; never a pinned one.
        Temporary files older than ``temp_age_s`` (a filler that died) are removed too."""
        report = SweepReport()
        if not self.root.is_dir():
            return report
        now = time.time()
        pinned = self._pinned_keys(now, dry_run, report)
        units: list[tuple[float, int, Path]] = []
        for shard in self.root.iterdir():
            if not shard.is_dir() or shard.name == PIN_DIR:
                continue
            for entry in os.scandir(shard):
                try:
                    stat = entry.stat()
                except FileNotFoundError:
                    continue
                if entry.name.endswith(SUFFIX):
                    units.append((stat.st_mtime, stat.st_size, Path(entry.path)))
                elif entry.name.endswith(".tmp") and now - stat.st_mtime > temp_age_s:
                    report.broken_temp_files += 1
                    if not dry_run:
                        Path(entry.path).unlink(missing_ok=True)
        total = sum(size for _, size, _ in units)
        for mtime, size, path in sorted(units, key=lambda u: u[0]):
            if total <= max_bytes:
                break
            if path.name[: -len(SUFFIX)] in pinned:
                report.pinned += 1
                continue
            report.evicted += 1
            report.evicted_bytes += size
            total -= size
            if not dry_run:
                path.unlink(missing_ok=True)
        report.kept = len(units) - report.evicted
        report.kept_bytes = total
        return report
