"""The word index answers exactly as jieba's prefix dictionary, so segmentation is unchanged,
and its cache file is keyed, checked and optional."""
from __future__ import annotations

import random

import jieba
import pytest

from exhibits.demo.museum import EXHIBITS
from synthesis import word_index, wordseg

SMALL = "长城 100 ns\n长 50 a\n长城站 3 n\n城 20 n\n长城 7 ns\n𠀀字 2 n\n"


@pytest.fixture(scope="module")
def shipped() -> bytes:
    with jieba.Tokenizer().get_dict_file() as words:
        return words.read()


@pytest.fixture(scope="module")
def jieba_freq(shipped):
    tokenizer = jieba.Tokenizer()
    with tokenizer.get_dict_file() as words:
        return tokenizer.gen_pfdict(words)


def test_every_entry_of_jiebas_prefix_dictionary_reads_the_same(shipped, jieba_freq, tmp_path):
    freq, total = jieba_freq
    index = word_index.load(shipped, tmp_path)
    assert index.total == total
    assert [k for k, v in freq.items() if k not in index or index[k] != v or index.get(k) != v] == []


def test_strings_jieba_does_not_know_are_not_in_the_index(shipped, jieba_freq, tmp_path):
    freq, _ = jieba_freq
    index = word_index.load(shipped, tmp_path)
    rng = random.Random(7)
    known = list(freq)
    probes = ["", "\x00", "长\x00", "\ud800", "x" * 200, "钟表" * 30]
    probes += [w + rng.choice("的了是在") for w in rng.sample(known, 3000)]  # words plus a character
    probes += ["".join(chr(rng.randrange(0x4E00, 0x9FA6)) for _ in range(rng.randint(1, 4))) for _ in range(20000)]
    for probe in probes:
        assert (probe in index) == (probe in freq), probe
        assert index.get(probe) == freq.get(probe), probe
        assert index.get(probe, -1) == freq.get(probe, -1), probe


def mixed_text(rng: random.Random, known: list[str], length: int) -> str:
    """Words jieba knows, unknown Han characters, ASCII, digits, spaces, punctuation, mixed."""
    pieces = [rng.choice(known), chr(rng.randrange(0x4E00, 0x9FA6)), rng.choice("abcXYZ019+#&._%-"),
              rng.choice([" ", "\r\n", "\n", "\t", "，", "。", "“", "（", "、", "①", "é", "😀", "\u3000"])]
    return "".join(rng.choice(pieces) if rng.random() < 0.3 else rng.choice(known) for _ in range(length))


def test_segmentation_is_jiebas(jieba_freq):
    """wordseg's tokenizer (jieba's, on the word index) cuts as jieba's own dictionary does."""
    reference = jieba.Tokenizer()
    reference.FREQ, reference.total = jieba_freq
    reference.initialized = True
    rng = random.Random(3)
    known = [w for w, count in jieba_freq[0].items() if count][:: 50]
    texts = ["".join(item["script"] for item in EXHIBITS), "他还了书还在看。银行行长很长寿。AT&T的C++程序员在3.5亿年前。", "",
             " ", "a b", "ABC123中文abc", "第1号展品 \r\n 高82厘米"]
    texts += [mixed_text(rng, known, rng.randint(1, 40)) for _ in range(2000)]
    for text in texts:
        assert list(wordseg._load().cut(text, HMM=False)) == list(reference.cut(text, HMM=False)), text


def test_duplicates_and_prefixes_follow_jieba(tmp_path):
    index = word_index.WordIndex(word_index.build(SMALL.encode()))
    assert index["长城"] == 7 and index.total == 100 + 50 + 3 + 20 + 7 + 2  # the last count wins, all add up
    assert index["长城站"] == 3 and index["长"] == 50 and index["𠀀"] == 0  # a prefix that is no word: 0
    assert "城站" not in index and index.get("站") is None
    with pytest.raises(KeyError):
        index["站"]
    with pytest.raises(ValueError, match="line 2"):
        word_index.build("长城 100\n长城\n".encode())


def test_the_index_is_cached_under_the_lists_hash_and_rebuilt_when_damaged(tmp_path):
    source = SMALL.encode()
    path = word_index.cache_path(source, tmp_path)
    assert word_index.load(source, tmp_path)["长城"] == 7
    assert path.exists() and path != word_index.cache_path(source + "新词 1 n\n".encode(), tmp_path)
    assert word_index.load(source, tmp_path)["长城"] == 7  # mapped from the file
    path.write_bytes(path.read_bytes()[:-3])  # a torn file is never read: built again, rewritten
    assert word_index.load(source, tmp_path)["长城"] == 7
    assert path.read_bytes() == word_index.build(source)


def test_an_unwritable_cache_folder_keeps_the_index_in_memory(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")  # the cache folder cannot be created under a file, even by root
    assert word_index.load(SMALL.encode(), blocker / "cache")["城"] == 20
