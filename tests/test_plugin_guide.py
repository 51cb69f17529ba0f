"""docs/plugin-guide.md works as written: its files are written into an empty folder and
its commands run there, in order, in a throw-away virtual environment that sees this
environment's packages (orbitwin, taichi, pytest, ...) and into which the guide's
``pip install -e .`` installs the example package, so nothing is installed here.

The guide marks what the test uses:

- ```` ```<lang> file=PATH ````: a file, written to PATH in the plugin's folder;
- ```` ```bash ```` (or ```` ```bash exit=N ````): commands, run with ``bash -e`` in the
  folder, which must exit with status 0 (or N);
- ```` ```text output ````: lines the output of the commands just before must show, in
  order (whitespace collapsed; ``...`` stands for anything, a line of its own for any
  lines);
- ```` ```text message=cycle ````: the message of the variant the guide describes
  (``reads`` instead of ``reads_previous``), checked here;
- ```` ```python ```` without a file: a snippet, which must compile.

Offline and quick: ``pip install -e .`` builds without isolation when the setuptools
here can (>= 70.1, or with ``wheel``); otherwise pip fetches the build backend from its
configured index, as the project's own install does.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
GUIDE = ROOT / "docs" / "plugin-guide.md"
FENCE = re.compile(r"^```([^\n]*)\n(.*?)^```\s*$", re.M | re.S)


def blocks(text: str | None = None) -> list[tuple[str, dict[str, str], str]]:
    """The guide's fenced blocks as ``(language, {marker: value}, body)``, in order."""
    out = []
    for info, body in FENCE.findall(text if text is not None else GUIDE.read_text()):
        words = info.split()
        lang = words[0] if words else ""
        marks = dict(w.split("=", 1) if "=" in w else (w, "") for w in words[1:])
        out.append((lang, marks, body))
    return out


def _normal(line: str) -> str:
    return " ".join(line.split())


def expect_lines(expected: str, output: str) -> None:
    """Every line of ``expected`` appears in ``output`` in order (see the module docstring)."""
    lines = [_normal(x) for x in output.splitlines()]
    pos = 0
    for want in (x for x in expected.splitlines() if x.strip()):
        want = _normal(want)
        if want == "...":
            continue
        pattern = re.compile(".*".join(re.escape(part.strip()) for part in want.split("...")))
        for j in range(pos, len(lines)):
            if pattern.search(lines[j]):
                pos = j + 1
                break
        else:
            raise AssertionError(f"the guide shows {want!r}, which the output lacks after line {pos}:\n{output}")


def test_expect_lines_matches_in_order_with_ellipses():
    expect_lines("a  b\n...\nd ... f", "x a b y\nc\nd e f\n")
    with pytest.raises(AssertionError):
        expect_lines("d\na", "a\nd\n")


def test_guide_marks_what_the_test_runs():
    got = blocks()
    files = [m["file"] for _l, m, _b in got if "file" in m]
    assert files == ["pyproject.toml", "orbitwin_laser.py", "tests/test_laser.py", "scenario.toml", "read.py"]
    commands = "\n".join(b for lang, _m, b in got if lang == "bash")
    for cmd in ("pip install -e .", "orbitwin plugins", "python -m pytest", "orbitwin validate scenario.toml",
                "orbitwin run scenario.toml", "orbitwin info laser.zarr"):
        assert cmd in commands, cmd
    assert sum(1 for _l, m, _b in got if m.get("message") == "cycle") == 1
    plugin = next(b for _l, m, b in got if m.get("file") == "orbitwin_laser.py")
    for needed in ("@hookimpl", "attrs.frozen", "validator=", "Variable(", "@ti.func", "def control(i, k, t, dt)",
                   "Stage(", "reads_previous=", "Contribution(\"power.bus_demand_w\"", "ScenarioError("):
        assert needed in plugin, needed
    assert '[project.entry-points.orbitwin]' in next(b for _l, m, b in got if m.get("file") == "pyproject.toml")


def test_python_snippets_compile():
    for n, (lang, marks, body) in enumerate(blocks()):
        if lang == "python":
            compile(body, marks.get("file", f"<guide block {n}>"), "exec")


def _offline_build() -> bool:
    """Whether the setuptools here builds an editable wheel with no download: it does
    from 70.1 on, and from 64 with the ``wheel`` package."""
    try:
        import setuptools
    except ImportError:
        return False
    version = tuple(int(x) for x in re.findall(r"\d+", setuptools.__version__)[:2])
    return version >= (70, 1) or (version >= (64, 0) and importlib.util.find_spec("wheel") is not None)


def make_env(where: Path) -> tuple[Path, dict[str, str]]:
    """A virtual environment that sees this one's packages (a ``.pth`` file adding this
    interpreter's site directories, whose own ``.pth`` files, an editable orbitwin's
    included, are processed too), with an ``orbitwin`` script, and the environment
    variables that put it first on ``PATH``."""
    env_dir = where / "venv"
    venv.EnvBuilder(with_pip=False, symlinks=os.name != "nt").create(env_dir)
    py = env_dir / "bin" / "python"
    purelib = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    sites = [p for p in sys.path if p.endswith(("site-packages", "dist-packages")) and Path(p).is_dir()]
    (Path(purelib) / "_orbitwin_guide_parent.pth").write_text(
        "import site; " + "; ".join(f"site.addsitedir({p!r})" for p in sites) + "\n")
    script = env_dir / "bin" / "orbitwin"
    script.write_text(f"#!{py}\nimport sys\nfrom twin_core.cli import main\nsys.exit(main())\n")
    script.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env.update(PATH=f"{env_dir / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}", VIRTUAL_ENV=str(env_dir),
               COLUMNS="120", TI_SKIP_VERSION_CHECK="ON", PIP_NO_DEPS="1", PIP_DISABLE_PIP_VERSION_CHECK="1",
               PYTHONDONTWRITEBYTECODE="1")
    if _offline_build():
        env.update(PIP_NO_BUILD_ISOLATION="0", PIP_NO_INDEX="1")  # pip reads "0" as: no isolation
    return env_dir, env


def test_the_guide_from_an_empty_folder(tmp_path):
    env_dir, env = make_env(tmp_path)
    project = tmp_path / "orbitwin-laser"
    project.mkdir()
    last_output: str | None = None
    sources: dict[str, str] = {}
    for lang, marks, body in blocks():
        if "file" in marks:
            path = project / marks["file"]
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(body)
            sources[marks["file"]] = body
        elif lang == "bash":
            r = subprocess.run(["bash", "-e", "-c", body], cwd=project, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, timeout=400)
            want = int(marks.get("exit", 0))
            assert r.returncode == want, f"{body}\nexited {r.returncode}, the guide says {want}:\n{r.stdout}"
            assert "Traceback" not in r.stdout, r.stdout
            last_output = r.stdout
        elif "output" in marks:
            assert last_output is not None, "an output block before any command"
            expect_lines(body, last_output)
        elif marks.get("message") == "cycle":
            _check_cycle_message(tmp_path, sources, body)
    # the package went into the throw-away environment
    assert list((env_dir / "lib").glob("python*/site-packages/*orbitwin_laser*"))


def _check_cycle_message(tmp_path: Path, sources: dict[str, str], message: str) -> None:
    """The guide's variant: ``battery.soc`` in ``reads`` instead of ``reads_previous``.
    Run here (where the example package is not installed) from a folder without its
    metadata, with the variant given as ``--plugin``."""
    before = 'reads=["environment.illumination"], reads_previous=["battery.soc"]'
    assert before in sources["orbitwin_laser.py"]
    variant = tmp_path / "variant" / "laser_variant.py"
    variant.parent.mkdir()
    variant.write_text(sources["orbitwin_laser.py"].replace(before, 'reads=["environment.illumination", "battery.soc"]'))
    scenario = tmp_path / "orbitwin-laser" / "scenario.toml"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    r = subprocess.run([sys.executable, "-m", "twin_core", "validate", str(scenario), "--plugin", str(variant)],
                       cwd=variant.parent, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2, r.stderr
    assert r.stderr.strip() == message.strip(), r.stderr
