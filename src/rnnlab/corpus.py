"""Text as training data: reading a file (--data), its characters, and their ids."""
from __future__ import annotations

import os
import stat

import numpy as np

from rnnlab.config import ConfigError

MAX_TEXT_BYTES = 2**30  # a corpus is read whole into memory, with a few arrays of its length


class TextError(ConfigError):
    """A text file that cannot serve as training data; the message says why."""


def read_text(path: str) -> str:
    """The whole of a UTF-8 text file, or TextError naming the problem. Only regular
    files: a device (/dev/zero) never ends and a pipe may never answer."""
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
        return raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise TextError(f"--data {path!r} is not UTF-8 text (byte {err.start} is not)") from None


def text_settings(text: str, batch_size: int, truncation: int, path: str) -> dict:
    """What the text task fixes from its file: the characters, the series length."""
    series_length = (len(text) - 1) // batch_size * batch_size
    if series_length // batch_size < truncation:
        raise TextError(f"--data {path!r} is too short: {len(text)} characters make "
                        f"{batch_size} rows of {series_length // batch_size}, shorter than one "
                        f"window (--truncation {truncation})")
    vocab = "".join(sorted(set(text)))
    return {"vocab": vocab, "num_classes": len(vocab), "num_inputs": len(vocab),
            "series_length": series_length}


def _code_points(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le", errors="surrogatepass"), dtype=np.uint32)


def encode_text(text: str, vocab: str) -> np.ndarray:
    """Characters -> class ids (positions in the sorted `vocab`); a character outside
    `vocab` is a TextError naming it."""
    points, known = _code_points(text), _code_points(vocab)
    order = np.argsort(known)
    found = np.searchsorted(known[order], points)
    found = np.minimum(found, len(known) - 1)
    ids = order[found]
    missing = np.flatnonzero(known[ids] != points) if len(known) else np.arange(len(points))
    if len(missing):
        position = int(missing[0])
        raise TextError(f"character {text[position]!r} at position {position} is not in the "
                        f"model's {len(vocab)} characters")
    return ids.astype(np.int64)


def load_corpus(config) -> np.ndarray:
    """The text task's characters as ids, checked against what the run was set up with."""
    text = read_text(config.data)
    if text_settings(text, config.batch_size, config.truncation, config.data) != {
            "vocab": config.vocab, "num_classes": config.num_classes,
            "num_inputs": config.num_inputs, "series_length": config.series_length}:
        raise TextError(f"--data {config.data!r} has changed since the run began")
    return encode_text(text, config.vocab)
