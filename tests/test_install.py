"""Installing rnnlab beside a TensorFlow the user already has, and running it without one."""
import json
import os
import re
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def is_tensorflow(name: str) -> bool:
    """A TensorFlow distribution (tensorflow, tensorflow-cpu, tensorflow-intel, tf-nightly...)
    or a part only a TensorFlow pulls in (tensorflow-io-gcs-filesystem); not tensorboard."""
    return re.match(r"(tensorflow|tf-nightly)([-_.].*)?$", name.lower()) is not None


def pip(python, *args):
    done = subprocess.run([str(python), "-m", "pip", "--disable-pip-version-check", *args],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr


def test_pip_install_adds_no_second_tensorflow(tmp_path):
    """`pip install rnnlab` where `tensorflow` is installed (Colab, a GPU machine) must keep
    it and add no other TensorFlow (tensorflow-cpu beside tensorflow breaks both). pip's
    own resolver answers, with --dry-run --report, in a fresh environment holding a
    stand-in `tensorflow` distribution (an empty package of that name and a current
    version); rnnlab's other dependencies are resolved from the index as a user's are."""
    env = tmp_path / "env"
    venv.create(env, with_pip=True)
    python = env / "bin" / "python"

    standin = tmp_path / "standin"
    (standin / "tensorflow").mkdir(parents=True)
    (standin / "tensorflow" / "__init__.py").write_text("")
    (standin / "pyproject.toml").write_text(
        '[project]\nname = "tensorflow"\nversion = "2.21.0"\n'
        '[tool.setuptools]\npackages = ["tensorflow"]\n')
    pip(python, "install", "--quiet", str(standin))

    # What `pip install .` reads: a copy, so no build files land in the checkout.
    project = tmp_path / "rnnlab"
    shutil.copytree(ROOT / "src", project / "src",
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, project / name)
    report = tmp_path / "report.json"
    pip(python, "install", "--quiet", "--dry-run", "--report", str(report), str(project))

    names = [item["metadata"]["name"] for item in json.loads(report.read_text())["install"]]
    assert "rnnlab" in names and "numpy" in names  # the resolution did happen
    assert [n for n in names if is_tensorflow(n)] == []


def test_the_readmes_wheel_installs_and_runs_outside_the_checkout(tmp_path):
    """The README's way to install rnnlab elsewhere: a wheel built from the checkout
    (`pip wheel --no-deps -w dist .`), installed into a fresh environment, whose
    `rnnlab` then trains from a folder that is not the checkout. The environment sees
    this one's packages (TensorFlow among them) through a .pth file, so nothing is
    downloaded; its [cpu] and [gpu] extras name the TensorFlow builds they install."""
    project = tmp_path / "checkout"
    shutil.copytree(ROOT / "src", project / "src",
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, project / name)
    pip(sys.executable, "wheel", "--quiet", "--no-deps", "-w", str(tmp_path / "dist"),
        str(project))
    (wheel,) = (tmp_path / "dist").glob("rnnlab-*.whl")
    env = tmp_path / "env"
    venv.create(env, with_pip=True)
    python = env / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import site; print(site.getsitepackages()[0])"],
                          capture_output=True, text=True).stdout.strip()
    ours = [p for p in sys.path if p.endswith("site-packages")]
    Path(site, "outer.pth").write_text("\n".join(ours) + "\n")
    pip(python, "install", "--quiet", "--no-deps", str(wheel))
    requires = subprocess.run([str(python), "-c", "from importlib.metadata import requires; "
                               "print('\\n'.join(requires('rnnlab')))"],
                              capture_output=True, text=True).stdout.splitlines()
    assert any(r.startswith("tensorflow-cpu") and 'extra == "cpu"' in r for r in requires)
    assert any(r.startswith("tensorflow[and-cuda]") and 'extra == "gpu"' in r for r in requires)
    work = tmp_path / "elsewhere"
    work.mkdir()
    done = subprocess.run([str(env / "bin" / "rnnlab"), "train", "--epochs", "1",
                           "--series-length", "5000", "--plot", "none", "--out", "run"],
                          capture_output=True, text=True, cwd=work, timeout=300,
                          env={**os.environ, "MPLBACKEND": "Agg"})
    assert done.returncode == 0, done.stderr
    assert (work / "run" / "metrics.csv").exists()
    location = subprocess.run([str(python), "-c", "import rnnlab; print(rnnlab.__file__)"],
                              capture_output=True, text=True).stdout
    assert str(env) in location  # the wheel's rnnlab, not the checkout's


def test_without_tensorflow_the_cli_names_the_pip_command(tmp_path):
    """One line naming the install command, exit code 2, no traceback. A None entry in
    sys.modules makes `tensorflow` unimportable, as in an environment without it."""
    code = ("import sys\nsys.modules['tensorflow'] = None\nfrom rnnlab.cli import main\n"
            f"sys.exit(main(['train', '--epochs', '1', '--out', {str(tmp_path / 'run')!r}]))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "MPLBACKEND": "Agg"}, timeout=120)
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines() == [
        "rnnlab: error: rnnlab needs TensorFlow, which is not installed: pip install "
        "tensorflow-cpu (NVIDIA GPUs on Linux: pip install 'tensorflow[and-cuda]'; macOS: "
        "pip install tensorflow)"]
    assert not (tmp_path / "run").exists()


def test_the_tensorboard_command_loads():
    """`tensorboard --logdir runs` (README) needs tensorboard 2.21 or later: older ones import
    pkg_resources, which current setuptools no longer has. The command's module, loaded
    in a fresh interpreter (running the command itself loads TensorFlow, ten times slower)."""
    done = subprocess.run([sys.executable, "-c", "import tensorboard.main"], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
