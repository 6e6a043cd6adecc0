"""Text as training data: reading a file (--data), its symbols (characters, or words as
PyTorch's word_language_model reads them), their ids, and the parts held out for
validation and test (by position: training first, then validation, then test)."""
from __future__ import annotations

import collections
import hashlib
import os
import stat

import numpy as np

from rnnlab.errors import ConfigError

MAX_TEXT_BYTES = 2**30  # a corpus is read whole into memory, with a few arrays of its length
UNKNOWN, END_OF_LINE = "<unk>", "<eos>"


class TextError(ConfigError):
    """A text file that cannot serve as training data; the message says why."""


def read_text(path: str) -> str:
    """The whole of a UTF-8 text file, or TextError naming the problem (read_data)."""
    return read_data(path)[0]


def identity(raw: bytes) -> dict:
    """What a run records of the file it trains on: its size and the SHA-256 of its bytes."""
    return {"data_bytes": len(raw), "data_sha256": hashlib.sha256(raw).hexdigest()}


def read_data(path: str) -> tuple:
    """(text, identity) of a UTF-8 text file, or TextError naming the problem. Only
    regular files: a device (/dev/zero) never ends and a pipe may never answer."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise TextError(f"--data {path!r} does not exist") from None
    except OSError as err:
        raise TextError(f"--data {path!r} cannot be read ({err.strerror})") from None
    if stat.S_ISDIR(info.st_mode):
        raise TextError(f"--data {path!r} is a folder, not a text file")
    if not stat.S_ISREG(info.st_mode):
        raise TextError(f"--data {path!r} is not a regular file (a device or a pipe?)")
    if info.st_size > MAX_TEXT_BYTES:
        raise TextError(f"--data {path!r} has {info.st_size:,} bytes; rnnlab reads a text "
                        f"whole, up to {MAX_TEXT_BYTES:,}")
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_TEXT_BYTES + 1)
    except OSError as err:
        raise TextError(f"--data {path!r} cannot be read ({err.strerror})") from None
    if not raw:
        raise TextError(f"--data {path!r} is empty")
    try:
        return raw.decode("utf-8"), identity(raw)
    except UnicodeDecodeError as err:
        raise TextError(f"--data {path!r} is not UTF-8 text (byte {err.start} is not)") from None


def words_of(text: str) -> list:
    """Whitespace-separated words, and an end-of-line token after each line."""
    lines = text.split("\n")
    if lines[-1] == "":  # the file's last newline ends its last line, not a new one
        lines.pop()
    return [word for line in lines for word in line.split() + [END_OF_LINE]]


def part_sizes(total: int, val_fraction: float | None, test_fraction: float | None) -> tuple:
    """(training, validation, test) symbols of a text of `total`, split by position."""
    val, test = int(total * (val_fraction or 0)), int(total * (test_fraction or 0))
    return total - val - test, val, test


def word_vocab(words: list, max_vocab: int | None) -> list:
    """The training part's words, most frequent first (ties in alphabetical order), at
    most max_vocab of them with <unk> (always there: held-out words may be new)."""
    counts = collections.Counter(words)
    counts.pop(UNKNOWN, None)
    ranked = sorted(counts, key=lambda w: (-counts[w], w))
    keep = len(ranked) if max_vocab is None else max_vocab - 1
    return ranked[:keep] + [UNKNOWN]


def text_settings(text: str, config, words: bool = False) -> dict:
    """What the text (or `words`) task fixes from its file: the symbols the model knows
    (characters: all of the file's; words: the training part's), the series length of
    the training part. TextError when a part is shorter than one window."""
    symbols = words_of(text) if words else text
    sizes = part_sizes(len(symbols), config.val_fraction, config.test_fraction)
    for name, size in zip(("training", "validation", "test"), sizes):
        fraction = {"validation": config.val_fraction, "test": config.test_fraction}.get(name, 1)
        if fraction and (size - 1) // config.batch_size < config.truncation:
            unit = "words" if words else "characters"
            raise TextError(f"--data {config.data!r} is too short: its {name} part has "
                            f"{size} {unit}, {config.batch_size} rows of "
                            f"{max(size - 1, 0) // config.batch_size}, shorter than one window "
                            f"(--truncation {config.truncation})")
    if words:
        vocab = "\n".join(word_vocab(symbols[:sizes[0]], config.max_vocab))
        classes = vocab.count("\n") + 1
    else:
        vocab = "".join(sorted(set(text)))
        classes = len(vocab)
    return {"vocab": vocab, "num_classes": classes, "num_inputs": classes,
            "series_length": (sizes[0] - 1) // config.batch_size * config.batch_size}


def symbols_of_vocab(config, words: bool = False) -> list:
    """The model's classes, in order: characters, or words."""
    return config.vocab.split("\n") if words else list(config.vocab)


def _code_points(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le", errors="surrogatepass"), dtype=np.uint32)


def encode_text(text: str, vocab: str) -> np.ndarray:
    """Characters -> class ids (positions in the sorted `vocab`); a character outside
    `vocab` is a TextError naming it."""
    points, known = _code_points(text), _code_points(vocab)
    order = np.argsort(known)
    found = np.minimum(np.searchsorted(known[order], points), len(known) - 1)
    ids = order[found]
    missing = np.flatnonzero(known[ids] != points) if len(known) else np.arange(len(points))
    if len(missing):
        position = int(missing[0])
        raise TextError(f"character {text[position]!r} at position {position} is not in the "
                        f"model's {len(vocab)} characters")
    return ids.astype(np.int64)


def encode_words(words: list, vocab: list) -> np.ndarray:
    """Words -> class ids; a word outside `vocab` is <unk>'s."""
    index = {word: i for i, word in enumerate(vocab)}
    unknown = index[UNKNOWN]
    return np.array([index.get(word, unknown) for word in words], dtype=np.int64)


def prime_ids(prime: str, config, words: bool, rng: np.random.RandomState) -> list:
    """The ids of the text a sample starts from, or one drawn at random without any."""
    symbols = symbols_of_vocab(config, words)
    if words:
        ids = list(encode_words(prime.split(), symbols)) if prime.strip() else []
    else:
        ids = list(encode_text(prime, config.vocab)) if prime else []
    return ids or [rng.randint(len(symbols))]


class TextWriter:
    """Drawn ids as text: characters, or words with a space between them and <eos> as
    a line's end; a piece at a time, so the words of one piece follow the last's."""

    def __init__(self, config, words: bool, prime: str = ""):
        self.symbols, self.words = symbols_of_vocab(config, words), words
        self.line_start = not prime or prime.endswith("\n")

    def __call__(self, ids) -> str:
        if not self.words:
            return "".join(self.symbols[i] for i in ids)
        out = []
        for i in ids:
            if self.symbols[i] == END_OF_LINE:
                out.append("\n")
                self.line_start = True
            else:
                out.append(("" if self.line_start else " ") + self.symbols[i])
                self.line_start = False
        return "".join(out)


def check_unchanged(config, found: dict) -> None:
    """TextError unless the file found is the one the run began with (its size and
    hash, where the run recorded them: runs from before it did not)."""
    if config.data_sha256 is None or found == {"data_bytes": config.data_bytes,
                                               "data_sha256": config.data_sha256}:
        return
    raise TextError(f"--data {config.data!r} has changed since the run began ({found['data_bytes']:,} "
                    f"bytes now, {config.data_bytes:,} then, and other bytes); a run goes on "
                    f"only with the text it trained on")


def load_corpus(config, words: bool = False) -> dict:
    """The text (or `words`) task's symbols as ids, {"train", "val", "test"} by
    position, checked against what the run was set up with."""
    text, found = read_data(config.data)
    check_unchanged(config, found)
    if text_settings(text, config, words) != {
            "vocab": config.vocab, "num_classes": config.num_classes,
            "num_inputs": config.num_inputs, "series_length": config.series_length}:
        raise TextError(f"--data {config.data!r} has changed since the run began")
    if words:
        ids = encode_words(words_of(text), symbols_of_vocab(config, words))
    else:
        ids = encode_text(text, config.vocab)
    train, val, _ = part_sizes(len(ids), config.val_fraction, config.test_fraction)
    return {"train": ids[:train], "val": ids[train:train + val], "test": ids[train + val:]}
