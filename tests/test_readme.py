"""The README, as a newcomer follows it.

- CI (``.ci/run``) runs the README's test command verbatim;
- the README's install command brings every package its Python example imports (a package
  only the test extra brings would pass the test below in CI and fail the newcomer);
- the README's Python example runs, verbatim, on a store written from the README's own
  example scenario (cut to two hours), in a fresh process with matplotlib's Agg backend;
- every command and option the README shows exists (``orbitwin CMD --help``).

Everything but the example runs in this process, through ``twin_core.cli.main``; the
run compiles one kernel (about 15 s with a cold taichi cache, 2 s warm).
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from twin_core.testing import run_cli as orbitwin

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text()


def blocks(lang: str) -> list[str]:
    return [b.strip() for b in re.findall(rf"```{lang}\n(.*?)```", README, re.S)]


def setup_commands() -> tuple[str, str]:
    """The README's two set-up commands: (run the example, run the tests)."""
    bash = blocks("bash")
    run = next(b for b in bash if "orbitwin run examples/" in b)
    test = next(b for b in bash if "pytest" in b)
    return run, test


def shown_commands() -> list[str]:
    """Every ``orbitwin ...`` command line the README shows, comments dropped."""
    lines = []
    for block in blocks("bash"):
        for line in block.splitlines():
            for part in line.split("#", 1)[0].split("&&"):
                part = part.strip()
                m = re.match(r"(?:\S*/)?orbitwin\s+(.*)", part)
                if m:
                    lines.append("orbitwin " + m.group(1).strip())
    return lines


def _requirement_name(req: str) -> str:
    return re.split(r"[<>=!~;\[ ]", req, maxsplit=1)[0].strip().lower().replace("_", "-")


def _installed_by(command: str) -> set[str]:
    """The distributions a README ``pip install`` command asks for by name (the project's
    dependencies and those of the extras it names)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    m = re.search(r"pip install (?:-\S+ )*\"?\.(?:\[([^\]]*)\])?\"?(?:\s|$)", command)
    assert m, f"no `pip install .` in {command!r}"
    extras = [e.strip() for e in (m.group(1) or "").split(",") if e.strip()]
    optional = project.get("optional-dependencies", {})
    for extra in extras:
        assert extra in optional, f"the README installs the extra [{extra}], which pyproject.toml does not define"
    reqs = list(project["dependencies"]) + [r for e in extras for r in optional[e]]
    return {_requirement_name(r) for r in reqs}


def _imports(code: str) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


# -- CI and the README agree ----------------------------------------------------------


def test_ci_runs_the_readme_test_command_verbatim():
    _run, test = setup_commands()
    ci = (ROOT / ".ci" / "run").read_text()
    assert test in [line.strip() for line in ci.splitlines()], (
        f".ci/run does not run the README's test command verbatim:\n{test}")
    for named in re.findall(r"tests/\S+\.py", ci):  # the files its comments point to exist
        assert (ROOT / named).is_file(), f".ci/run names {named}, which does not exist"


def test_the_readme_install_brings_what_its_python_imports():
    run, test = setup_commands()
    snippets = blocks("python")
    assert snippets, "the README shows no Python"
    for command in (run, test):
        installed = _installed_by(command)
        for code in snippets:
            needed = _imports(code) | ({"matplotlib"} if ".plot(" in code else set())
            needed = {n.lower().replace("_", "-") for n in needed}
            missing = needed - installed
            assert not missing, f"{command!r} does not install {sorted(missing)}, which the README's Python needs"


# -- the README's example, end to end -------------------------------------------------


@pytest.fixture(scope="module")
def readme_store(tmp_path_factory):
    """The README's run command on its own example scenario, two hours long instead of a
    day, into a store of the name the README gives, in a fresh directory."""
    from twin_core.cli import main

    run, _test = setup_commands()
    m = re.search(r"orbitwin run (\S+) --output (\S+)", run)
    assert m, run
    example, output = ROOT / m.group(1), m.group(2)
    text, n = re.subn(r"^duration_days = 1\b", "duration_h = 2", example.read_text(), flags=re.M)
    assert n == 1, f"{example} no longer says duration_days = 1: update this test's shortening"
    where = tmp_path_factory.mktemp("readme")
    scenario = where / example.name
    scenario.write_text(text)
    try:
        main(["run", str(scenario), "--output", str(where / output), "--overwrite", "-q"])
    except SystemExit as exc:
        assert exc.code in (0, None), f"the README's run command failed ({exc.code})"
    return where, output


def test_the_readme_python_runs_verbatim_on_the_readme_example(readme_store):
    where, output = readme_store
    for code in blocks("python"):
        opened = set(re.findall(r"open_zarr\(\s*[\"']([^\"']+)[\"']", code))
        assert opened == {output}, f"the README's Python opens {opened}, its run command writes {output}"
        figures = re.findall(r"savefig\(\s*[\"']([^\"']+)[\"']", code)
        check = "\nimport sys\nassert 'twin_core' not in sys.modules and 'taichi' not in sys.modules\n"
        env = dict(os.environ, MPLBACKEND="Agg")
        r = subprocess.run([sys.executable, "-c", code + check], cwd=where, env=env, capture_output=True,
                           text=True, timeout=300)
        assert r.returncode == 0, f"the README's Python failed:\n{code}\n{r.stderr}"
        for fig in figures:
            assert (where / fig).stat().st_size > 1000, fig


# -- every command the README shows exists ---------------------------------------------


def test_the_readme_shows_every_builtin_command():
    shown = {line.split()[1] for line in shown_commands()}
    assert {"run", "validate", "budget", "plugins", "info"} <= shown, shown


@pytest.mark.parametrize("line", sorted(set(shown_commands())))
def test_every_command_the_readme_shows_exists(capsys, line):
    words = line.split()
    command = words[1]
    code, out, err = orbitwin(capsys, command, "--help")
    assert code == 0, f"`orbitwin {command} --help` exits {code}: {err}"
    for option in re.findall(r"(?<![\w-])(-{1,2}[a-z][a-z-]*)", " ".join(words[2:])):
        assert re.search(rf"(?<![\w-]){re.escape(option)}\b", out), (
            f"the README shows `{option}` for `orbitwin {command}`; its --help does not list it")
    for choices in re.findall(r"\b(\w+(?:\|\w+)+)\b", line):  # cpu|gpu|auto
        assert choices in out, f"the README shows {choices} for `orbitwin {command}`"
