"""TensorFlow's log lines that mean nothing to a user, and how rnnlab keeps them off
the terminal (and out of notebook cells) without hiding real errors."""
import contextlib
import os
import re
import sys
import tempfile

# A C++ log line, absl's "I0000 00:00:1795883466.142074  42 port.cc:153] ..." or older
# TensorFlow's "2024-05-01 12:00:00.000000: I tensorflow/...] ...": the letter is its severity.
_LOG_LINE = re.compile(r"^(?:([IWEF])\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ \S+:\d+\]"
                       r"|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: ([IWEF]) )")
_ABSL_PREAMBLE = "WARNING: All log messages before absl::InitializeLog() is called"
# The one multi-line start-up message: cpu_feature_guard's second line.
_CONTINUATION = "To enable the following instructions:"
# What XLA logs as errors each time it loads a program from its cache, harmlessly: it
# tries the text format before the binary one, and takes tuning hints for CPU features.
CACHE_LOAD_NOISE = ("Error parsing text-format tensorflow.XlaSerializedCacheEntry",
                    "Target machine feature +prefer-no-")


def startup_lines_to_keep(text: str, harmless: tuple = (), logs: bool = False) -> str:
    """What TensorFlow wrote to stderr, less its info and warning log lines (unless
    `logs`: --verbose keeps them), absl's preamble and error lines saying one of
    `harmless`. Other errors, fatal lines and anything that is not a C++ log line (a
    Python warning, -X importtime's lines) stay."""
    kept, dropped_last = [], False
    for line in text.splitlines(keepends=True):
        match = _LOG_LINE.match(line)
        if match:
            dropped_last = (((match.group(1) or match.group(2)) in "IW" and not logs)
                            or any(words in line for words in harmless))
        else:
            dropped_last = (line.startswith(_ABSL_PREAMBLE)
                            or (dropped_last and line.startswith(_CONTINUATION)))
        if not dropped_last:
            kept.append(line)
    return "".join(kept)


@contextlib.contextmanager
def stderr_filtered(harmless: tuple = (), enabled: bool = True, logs: bool = False):
    """Point file descriptor 2 at a temporary file for the block, then pass on what was
    written there but TensorFlow's noise. TF_CPP_MIN_LOG_LEVEL cannot silence all of
    it: its libraries log as they load, before absl's logging is set up (and on some
    CPUs only, such as oneDNN's notice on AVX-512 ones)."""
    if not enabled:
        yield
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):  # no stderr to speak of: nothing to hide
        yield
        return
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            with contextlib.suppress(OSError, ValueError, AttributeError):
                sys.stderr.flush()  # Python's own writes in the block go first
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            rest = startup_lines_to_keep(capture.read().decode("utf-8", errors="replace"),
                                         harmless, logs)
            if rest:
                sys.stderr.write(rest)
                sys.stderr.flush()
