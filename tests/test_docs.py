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


def _reference() -> str:
    return (ROOT / "docs" / "reference.md").read_text()


def test_reference_documents_every_declaration_class_and_field():
    import attrs

    from twin_core import declarations

    text = _reference()
    classes = [c for c in vars(declarations).values()
               if isinstance(c, type) and attrs.has(c) and c.__module__ == declarations.__name__]
    names = {c.__name__ for c in classes}
    assert {"Variable", "Stage", "Metric", "CommonSeries", "SatelliteTable", "MassItem", "PowerItem",
            "ValidRange", "Combined", "Contribution"} <= names
    for cls in classes:
        section = text.split(f"### `{cls.__name__}`\n", 1)[1].split("\n### ", 1)[0]
        for a in attrs.fields(cls):
            assert f"| `{a.name}` |" in section, f"{cls.__name__}.{a.name}"


def test_reference_lists_every_error_with_its_exit_code():
    from twin_core import errors

    text = _reference()
    classes = [c for c in vars(errors).values()
               if isinstance(c, type) and issubclass(c, BaseException) and c.__module__ == errors.__name__]
    assert {"UserError", "ScenarioError", "BuildError", "PluginError", "StageError"} <= {c.__name__ for c in classes}
    for cls in classes:
        assert f"| `{cls.__name__}` | `{cls.__bases__[0].__name__}` | {cls.exit_code} |" in text, cls.__name__


def test_reference_lists_every_interface_variable_with_units_and_shape():
    from twin_core.interfaces import ALL

    text = _reference()
    for v in ALL.values():
        assert f"| `{v.name}` | `{v.units}` | `{v.shape}` |" in text, v.name
    assert "| `power.bus_demand_w` | `W` | `()` | f32 | power, Combined sum |" in text


def test_reference_documents_validators_and_testing_helpers():
    import inspect

    from twin_core import testing, validators

    text = _reference()
    for name, fn in vars(validators).items():
        if inspect.isfunction(fn) and not name.startswith("_") and fn.__module__ == validators.__name__:
            assert f"`validator={name}" in text, name
    for name, obj in vars(testing).items():
        if not name.startswith("_") and getattr(obj, "__module__", None) == testing.__name__:
            assert f"### `testing.{name}`" in text, name
    assert "store: str | Path | None = None" in text


def test_generated_pages_have_no_accidental_code_blocks():
    """Docstrings are indented reStructuredText; the reference converts them so that no
    paragraph outside a fence is indented by four spaces (Markdown would show it as code)."""
    fenced = False
    for n, line in enumerate(_reference().splitlines(), 1):
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced:
            assert not line.startswith("    "), f"docs/reference.md:{n}: {line!r}"
    assert not fenced
