"""The reference pages stay in step with the code (as datasette's plugin-hook docs do),
and the README's commands stay the ones CI runs."""

import inspect
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
sys.path.insert(0, str(ROOT / "docs"))

import build_docs  # noqa: E402


@pytest.mark.parametrize("page", sorted(build_docs.PAGES))
def test_generated_page_is_current(page):
    assert (ROOT / "docs" / page).read_text() == build_docs.PAGES[page](), (
        f"docs/{page} is out of date: run python docs/build_docs.py")


def test_every_hook_is_documented_with_its_exact_signature():
    from twin_core import hookspecs

    text = (ROOT / "docs" / "hooks.md").read_text()
    hooks = [n for n in vars(hookspecs) if n.startswith("orbitwin_")]
    assert len(hooks) >= 10
    for name in hooks:
        fn = getattr(hookspecs, name)
        assert f"{name}{inspect.signature(fn)}" in text, name


def test_every_scenario_key_of_the_builtins_is_documented():
    import attrs

    text = (ROOT / "docs" / "scenario.md").read_text()
    for table, (cls, _plugin) in build_docs.scenario_sections().items():
        for a in attrs.fields(cls):
            assert f"`{table}.{a.name}`" in text, f"{table}.{a.name}"


def test_readme_test_command_is_what_ci_runs():
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```bash\n(.*?)\n```", readme, re.S)
    run_cmd, test_cmd = blocks[0].strip(), blocks[1].strip()
    assert "orbitwin run examples/" in run_cmd
    ci = (ROOT / ".ci" / "run").read_text().strip().splitlines()
    assert ci[-1].strip() == test_cmd
