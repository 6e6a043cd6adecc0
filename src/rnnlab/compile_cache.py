"""A cache of XLA's compiled programs kept across runs, so that a run like an earlier one
starts without compiling (TensorFlow's persistent compilation cache, in a folder rnnlab
chooses and keeps to a size)."""
import contextlib
import hashlib
import importlib.metadata
import os
import platform
import sys

LIMIT = 256 * 2**20  # bytes of compiled programs kept; the oldest go first
ROOM = 64 * 2**20    # free bytes a cache needs where it is, or it is not used: a program
                     # XLA cannot write there would fail the run


def _tensorflow_version() -> str:
    for name in ("tensorflow", "tensorflow-cpu", "tensorflow-intel", "tensorflow-macos",
                 "tf-nightly", "tf-nightly-cpu"):
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return "unknown"


def _cpu() -> str:
    """The processor, as precisely as the system says: a program XLA compiled for one
    CPU's instructions may not run on another."""
    try:
        with open("/proc/cpuinfo") as f:
            fields = dict(line.split(":", 1) for line in f.read().split("\n\n")[0].splitlines()
                          if ":" in line)
        return " ".join(fields.get(k, "").strip() for k in ("vendor_id", "model name", "flags"))
    except OSError:
        return f"{platform.machine()} {platform.processor()}"


def cache_dir() -> str | None:
    """Where XLA keeps compiled programs across runs: a folder per TensorFlow version,
    CPU and XLA flags, under RNNLAB_XLA_CACHE (default ~/.cache/rnnlab/xla). None, so
    every run compiles, when RNNLAB_XLA_CACHE=off, or the folder cannot be written or
    has less than ROOM free."""
    setting = os.environ.get("RNNLAB_XLA_CACHE", "")
    if setting.lower() in ("0", "off", "no", "false"):
        return None
    base = setting or os.path.join(os.environ.get("XDG_CACHE_HOME") or
                                   os.path.join(os.path.expanduser("~"), ".cache"), "rnnlab", "xla")
    version = _tensorflow_version()
    key = "\n".join([version, _cpu(), os.environ.get("XLA_FLAGS", ""), sys.version])
    folder = os.path.join(base, f"tf{version}-{hashlib.sha256(key.encode()).hexdigest()[:12]}")
    try:
        os.makedirs(folder, exist_ok=True)
        prune(base, LIMIT)
        free = os.statvfs(folder)
        if free.f_bavail * free.f_frsize < ROOM:
            return None
    except OSError:
        return None
    return folder if os.access(folder, os.R_OK | os.W_OK | os.X_OK) else None


def prune(base: str, limit: int) -> None:
    """Delete the oldest cached programs until they take at most `limit` bytes."""
    files = []
    for root, _, names in os.walk(base):
        for name in names:
            path = os.path.join(root, name)
            with contextlib.suppress(OSError):
                stat = os.stat(path)
                files.append((stat.st_mtime, stat.st_size, path))
    total = sum(size for _, size, _ in files)
    for _, size, path in sorted(files):
        if total <= limit:
            break
        with contextlib.suppress(OSError):
            os.unlink(path)
        total -= size


def clear(folder: str) -> None:
    """Forget every compiled program in `folder` (one was unreadable)."""
    with contextlib.suppress(OSError):
        for name in os.listdir(folder):
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(folder, name))
