"""Word segmentation for the front end: jieba 0.42 (MIT) with its shipped dictionary.

Words decide which phrase-dictionary readings apply (递交/了/结案, not 了结), keep the third
tone sandhi inside words, and tell prosody where words end. The tokenizer is built once per
process on first use. jieba would log "Building prefix dict…" to stderr and write a cache
file to the temp directory; building the prefix dictionary directly from the shipped word
list is as fast here (about 0.5 s) and writes nothing, so the result never depends on a
stale or foreign cache file.
"""
from __future__ import annotations

import logging

from synthesis import lazy

@lazy.once
def _load():
    import jieba  # imported here: a process that never segments never loads it

    logging.getLogger("jieba").setLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    with tokenizer.get_dict_file() as words:
        tokenizer.FREQ, tokenizer.total = tokenizer.gen_pfdict(words)
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
