"""Bits a user gives predict (an argument or a stream of any length), read a piece at a
time and checked as they come."""
from __future__ import annotations

from rnnlab.errors import UsageError


def read_bits(source, name: str, size: int = 65536):
    """Bits from a string or a text stream, `size` characters at a time, as int arrays;
    whitespace is ignored, anything else is a UsageError naming the character."""
    import numpy as np

    read = (lambda: source.read(size)) if hasattr(source, "read") else iter(
        [source[i:i + size] for i in range(0, len(source), size)] + [""]).__next__
    position, found = 0, False
    while True:
        text = read()
        if not text:
            break
        codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), np.uint32)
        bits = (codes == ord("1")) | (codes == ord("0"))
        for at in np.flatnonzero(~bits).tolist():
            if not text[at].isspace():
                raise UsageError(f"{name}: character {text[at]!r} at position {position + at} "
                                 f"is not a bit (0 or 1)")
        position += len(text)
        if bits.any():
            found = True
            yield (codes[bits] == ord("1")).astype(np.int64)
    if not found:
        raise UsageError(f"{name}: no bits given")
