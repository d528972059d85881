"""Word segmentation for the front end: jieba 0.42 (MIT) with its shipped dictionary.

Words decide which phrase-dictionary readings apply (递交/了/结案, not 了结), keep the third
tone sandhi inside words, and tell prosody where words end. The tokenizer is built once per
process on first use. jieba would log "Building prefix dict…" to stderr, build a ~500,000-entry
prefix dictionary (~0.6 s) and write a cache of it to the temp directory; instead its ``FREQ``
is a ``word_index.WordIndex`` over the shipped word list, which gives the same answers, is
cached in the model cache under the list's sha256 (never a stale or foreign file) and loads in
milliseconds.
"""
from __future__ import annotations

import logging

from synthesis import lazy, word_index


@lazy.once
def _load():
    import jieba  # imported here: a process that never segments never loads it

    logging.getLogger("jieba").setLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    with tokenizer.get_dict_file() as words:
        index = word_index.load(words.read())
    tokenizer.FREQ, tokenizer.total = index, index.total
    tokenizer.initialized = True  # so jieba never looks for or writes its cache
    return tokenizer


def words(text: str) -> list[tuple[int, int]]:
    """[start, end) spans of the words of ``text``, covering it without gaps."""
    spans, pos = [], 0
    # HMM off: its guesses at unknown words glue names to their neighbours, and readings
    # come from the phrase dictionary and the model anyway.
    for word in _load().cut(text, HMM=False):
        spans.append((pos, pos + len(word)))
        pos += len(word)
    return spans
