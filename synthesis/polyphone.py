"""A learned reading for polyphonic characters: the g2pM BiLSTM (Kakao Brain, Apache-2.0).

The ``g2pM`` wheel ships its weights as numpy pickles; we load them ourselves instead of
calling ``G2pM()`` because its own prediction ranks all 876 syllables of the training set
(so 长 may come out as a syllable 长 never has) and gives no scores. Here the logits are
restricted to the readings the character actually has, so the model only ever chooses,
and the ranking doubles as the list of alternatives shown to curators.

The weights are loaded once per process, on first use (``model()``): a web process that
only builds forms never pays for them.
"""
from __future__ import annotations

import importlib.util
import pickle
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from synthesis import lazy
from synthesis.syllables import is_valid_syllable

_BOS, _EOS, _UNK = "시", "끝", "<UNK>"  # g2pM's sentence markers and unknown-character token


def to_project_syllable(pron: str) -> str | None:
    """g2pM's CC-CEDICT spelling → ours: lu:4 → lv4, r5 (儿化) → er5; None if unusable (xx5)."""
    syllable = pron.replace("u:", "v")
    if syllable == "r5":
        syllable = "er5"
    return syllable if is_valid_syllable(syllable) else None


@dataclass(frozen=True)
class Prediction:
    ranked: tuple[str, ...]  # the character's readings, most likely first
    confidence: float  # the model's probability of ranked[0], among the character's readings


class PolyphoneModel:
    def __init__(self, weights: dict, char2idx: dict[str, int], class2idx: dict[str, int],
                 cedict: dict[str, list[str]]):
        w = {k: np.asarray(v, dtype=np.float64) for k, v in weights.items()}
        self._embedding = w["embedding.weight"]
        self._fw = (w["lstm.weight_ih_l0"].T, w["lstm.weight_hh_l0"].T,
                    w["lstm.bias_ih_l0"] + w["lstm.bias_hh_l0"])
        self._bw = (w["lstm.weight_ih_l0_reverse"].T, w["lstm.weight_hh_l0_reverse"].T,
                    w["lstm.bias_ih_l0_reverse"] + w["lstm.bias_hh_l0_reverse"])
        self._hidden = (w["logit_layer.0.weight"].T, w["logit_layer.0.bias"])
        self._logits = (w["logit_layer.2.weight"].T, w["logit_layer.2.bias"])
        self._char2idx = char2idx
        # per polyphonic character: class ids of its readings and those readings in our format
        self._choices: dict[str, tuple[np.ndarray, tuple[str, ...]]] = {}
        for ch, prons in cedict.items():
            pairs = {}
            for pron in prons:
                syllable = to_project_syllable(pron)
                if syllable and pron in class2idx and syllable not in pairs:
                    pairs[syllable] = class2idx[pron]
            if len(pairs) > 1:
                self._choices[ch] = (np.array(list(pairs.values())), tuple(pairs))

    def readings(self, ch: str) -> tuple[str, ...]:
        """The readings the model chooses among for ``ch``; () if it does not decide ``ch``."""
        choice = self._choices.get(ch)
        return choice[1] if choice else ()

    def _run(self, x: np.ndarray, params) -> np.ndarray:
        w_ih, w_hh, bias = params
        gates_in = x @ w_ih + bias  # the input half of every step at once: [T, 4H]
        size = w_hh.shape[0]
        h, c = np.zeros(size), np.zeros(size)
        out = np.empty((len(x), size))
        for t in range(len(x)):
            g = gates_in[t] + h @ w_hh  # PyTorch gate order: input, forget, cell, output
            i, f = 1 / (1 + np.exp(-g[:size])), 1 / (1 + np.exp(-g[size:2 * size]))
            o = 1 / (1 + np.exp(-g[3 * size:]))
            c = f * c + i * np.tanh(g[2 * size:3 * size])
            h = o * np.tanh(c)
            out[t] = h
        return out

    def predict(self, chars: str, indices: Sequence[int]) -> dict[int, Prediction]:
        """Rank the readings of chars[i] for each i in ``indices`` the model decides."""
        wanted = [i for i in indices if chars[i] in self._choices]
        if not wanted:
            return {}
        unk = self._char2idx[_UNK]
        ids = [self._char2idx[_BOS]] + [self._char2idx.get(ch, unk) for ch in chars] + [self._char2idx[_EOS]]
        x = self._embedding[ids]
        states = np.concatenate([self._run(x, self._fw), self._run(x[::-1], self._bw)[::-1]], axis=1)
        w0, b0 = self._hidden
        w1, b1 = self._logits
        hidden = np.maximum(states[[i + 1 for i in wanted]] @ w0 + b0, 0)  # +1: the BOS marker
        out = {}
        for row, i in zip(hidden, wanted):
            class_ids, syllables = self._choices[chars[i]]
            logits = row @ w1[:, class_ids] + b1[class_ids]
            probs = np.exp(logits - logits.max())
            probs /= probs.sum()
            order = np.argsort(-probs, kind="stable")
            out[i] = Prediction(tuple(syllables[k] for k in order), float(probs[order[0]]))
        return out


def _load_pickle(name: str):
    # Only the package's folder: importing g2pM would build its own model as well.
    folder = Path(importlib.util.find_spec("g2pM").submodule_search_locations[0])
    with (folder / name).open("rb") as f:
        return pickle.load(f)  # noqa: S301 - the wheel's own weight files, pinned by version


@lazy.once
def model() -> PolyphoneModel:
    """The model, loaded on first call and shared by the whole process."""
    return PolyphoneModel(_load_pickle("np_ckpt.pkl"), _load_pickle("char2idx.pkl"),
                          _load_pickle("class2idx.pkl"), _load_pickle("digest_cedict.pkl"))
