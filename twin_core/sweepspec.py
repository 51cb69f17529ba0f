"""What a sweep varies: ``--vary`` options parsed, the cases drawn from them, and each
case's scenario written out as TOML text.

Key paths. A ``--vary`` key is the dotted path of a scenario key, table by table:
``cost.launch_price_usd_per_kg``, ``solar.area_m2``, ``scenario.seed``. A whole number
as a segment picks an element of an array of tables, counting from 0:
``orbit.shell.0.altitude_km`` is ``altitude_km`` of the first ``[[orbit.shell]]``
(``orbit.shell[0].altitude_km``, as scenario errors print it, means the same). A key the
scenario file leaves out is added (a plugin table with defaults may be absent), and the
scenario is validated again, so a key no plugin knows is refused by the scenario loader
itself, with its closest spelling.

Values. ``KEY=V1,V2,...`` is a list of TOML values (numbers, booleans, quoted or bare
strings, dates); ``KEY=START:STOP:NUM`` is ``NUM`` evenly spaced values from ``START`` to
``STOP`` inclusive (whole numbers when ``START`` and ``STOP`` are written as whole numbers
and every value is whole); ``KEY=START:STOP`` is the continuous range a ``--sample``
draws from (whole numbers between them, inclusive, when both are written as whole numbers).

Cases. Every combination of the lists (the first ``--vary`` varies slowest), or
``--sample lhs:N`` / ``mc:N``: N cases drawn with ``numpy.random.default_rng(seed)``, a
Latin hypercube (each key's range cut in N strata, each stratum used once, independently
permuted per key) or plain Monte Carlo. A list under ``--sample`` is drawn from as a set
of equally likely values. ``--tornado``: the baseline, then each key alone at its low and
its high value (`tornado_cases`).
"""

from __future__ import annotations

import copy
import itertools
import re
import tomllib
from typing import Any

import attrs
import numpy as np

from twin_core.errors import ScenarioError, UserError

_INDEX = re.compile(r"\[(\d+)\]")
_LIMIT_CASES = 100_000


@attrs.frozen
class Vary:
    """One ``--vary`` option.

    Attributes:
        key: the dotted key path (``orbit.shell.0.altitude_km``).
        text: the option's value as typed (recorded in the store; a resume compares it).
        values: the values of a list or of ``START:STOP:NUM``; empty for a bare range.
        low, high: the bounds of a ``START:STOP`` range (``None`` for a list).
        whole: a range of whole numbers (``START`` and ``STOP`` written as integers).
    """

    key: str
    text: str
    values: tuple[Any, ...] = ()
    low: float | None = None
    high: float | None = None
    whole: bool = False

    @property
    def segments(self) -> tuple[str | int, ...]:
        return split_key(self.key)

    @property
    def is_range(self) -> bool:
        return self.low is not None


def split_key(key: str) -> tuple[str | int, ...]:
    """``orbit.shell.0.altitude_km`` (or ``orbit.shell[0].altitude_km``) as
    ``("orbit", "shell", 0, "altitude_km")``."""
    return tuple(int(s) if s.isdigit() else s for s in _INDEX.sub(r".\1", key).split("."))


def normal_key(key: str) -> str:
    """A key path in the dotted form (indices as ``.0``, not ``[0]``)."""
    return ".".join(str(s) for s in split_key(key))


def _toml_value(text: str) -> Any:
    """One value typed on the command line: TOML when it parses as a TOML value, else
    the text itself as a string (so ``conical`` needs no quotes)."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def _number(text: str) -> int | float | None:
    v = _toml_value(text.strip())
    return v if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def parse_vary(option: str) -> Vary:
    """Parse one ``--vary KEY=VALUES`` into a `Vary`, or a `UserError` naming it."""
    key, eq, text = option.partition("=")
    key, text = key.strip(), text.strip()
    where = f"--vary {option!r}"
    if not eq or not key:
        raise UserError(f"{where}: expected KEY=V1,V2,... or KEY=START:STOP:NUM (e.g. solar.area_m2=40,60,80)")
    if any(not s for s in _INDEX.sub(r".\1", key).split(".")) or not re.fullmatch(r"[\w.\[\]-]+", key):
        raise UserError(f"{where}: {key!r} is not a dotted key path such as cost.launch_price_usd_per_kg or "
                        "orbit.shell.0.altitude_km")
    if not text:
        raise UserError(f"{where}: no values after '='")
    key = normal_key(key)
    parts = text.split(":")
    if "," not in text and len(parts) in (2, 3) and _number(parts[0]) is not None:
        return _parse_range(key, text, parts, where)
    try:
        values = tomllib.loads(f"v = [{text}]")["v"]
    except tomllib.TOMLDecodeError:
        values = [_toml_value(p.strip()) for p in text.split(",")]
    if any(isinstance(v, (list, dict)) for v in values) or any(v == "" for v in values):
        raise UserError(f"{where}: each value must be one number, string, boolean or date, separated by commas")
    return Vary(key, text, tuple(values))


def _parse_range(key: str, text: str, parts: list[str], where: str) -> Vary:
    start, stop = _number(parts[0]), _number(parts[1])
    shape = "START:STOP:NUM (NUM values from START to STOP inclusive) or START:STOP (a range to --sample)"
    if start is None or stop is None:
        raise UserError(f"{where}: {text!r} is not a range: expected {shape}, with numbers for START and STOP")
    whole = isinstance(start, int) and isinstance(stop, int)
    if len(parts) == 2:
        if start >= stop:
            raise UserError(f"{where}: the range {text!r} is empty; START must be below STOP")
        return Vary(key, text, (), float(start), float(stop), whole)
    num = _toml_value(parts[2].strip())
    if isinstance(num, bool) or not isinstance(num, int) or num < 1:
        raise UserError(f"{where}: NUM in {text!r} must be a whole number of values, at least 1; expected {shape}")
    if num > _LIMIT_CASES:
        raise UserError(f"{where}: {num} values is more than a sweep takes ({_LIMIT_CASES:,})")
    grid = np.linspace(float(start), float(stop), num)
    if whole and np.all(grid == np.round(grid)):
        values: tuple[Any, ...] = tuple(int(v) for v in np.round(grid))
    else:
        values = tuple(float(v) for v in grid)
    return Vary(key, text, values)


def check_distinct(varies: list[Vary]) -> None:
    seen: set[str] = set()
    for v in varies:
        if v.key in seen:
            raise UserError(f"--vary {v.key} is given twice; give each key once, with all its values")
        seen.add(v.key)


def parse_sample(text: str | None) -> tuple[str, int] | None:
    """``lhs:N`` or ``mc:N`` as ``("lhs", N)``; ``None`` for a full factorial."""
    if text is None:
        return None
    kind, _, n = text.partition(":")
    if kind not in ("lhs", "mc") or not n.strip().isdigit() or int(n) < 1:
        raise UserError(f"--sample {text!r}: expected lhs:N (a Latin hypercube of N cases) or mc:N (N Monte Carlo "
                        "cases), N a whole number of at least 1")
    if int(n) > _LIMIT_CASES:
        raise UserError(f"--sample {text!r}: more cases than a sweep takes ({_LIMIT_CASES:,})")
    return kind, int(n)


# -- cases ------------------------------------------------------------------------------


def factorial_cases(varies: list[Vary]) -> list[dict[str, Any]]:
    """Every combination of the values, the first key varying slowest."""
    for v in varies:
        if v.is_range:
            raise UserError(f"--vary {v.key}={v.text}: a range without NUM is for --sample lhs:N or mc:N; for a "
                            f"grid give START:STOP:NUM (e.g. {v.key}={v.text}:5)")
    n = int(np.prod([len(v.values) for v in varies]))
    if n > _LIMIT_CASES:
        raise UserError(f"--vary: {n:,} combinations is more than a sweep takes ({_LIMIT_CASES:,}); use --sample")
    return [dict(zip([v.key for v in varies], combo)) for combo in itertools.product(*[v.values for v in varies])]


def sampled_cases(varies: list[Vary], kind: str, n: int, seed: int) -> list[dict[str, Any]]:
    """``n`` cases: a Latin hypercube (``lhs``) or Monte Carlo (``mc``) draw with
    numpy's default generator seeded with ``seed``, one uniform column per key."""
    rng = np.random.default_rng(seed)
    d = len(varies)
    if kind == "lhs":
        u = (np.stack([rng.permutation(n) for _ in range(d)], axis=1) + rng.random((n, d))) / n
    else:
        u = rng.random((n, d))
    cases: list[dict[str, Any]] = [{} for _ in range(n)]
    for j, v in enumerate(varies):
        col = u[:, j]
        if v.is_range and v.whole:
            lo, hi = int(v.low), int(v.high)
            vals: list[Any] = [int(x) for x in np.minimum(lo + np.floor(col * (hi - lo + 1)), hi)]
        elif v.is_range:
            vals = [float(x) for x in v.low + col * (v.high - v.low)]
        else:
            idx = np.minimum(np.floor(col * len(v.values)).astype(int), len(v.values) - 1)
            vals = [v.values[i] for i in idx]
        for case, x in zip(cases, vals):
            case[v.key] = x
    return cases


def tornado_cases(varies: list[Vary]) -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
    """The baseline (no change), then each key alone at its low and high value; with
    each case's ``(key, side)``: ``("", "baseline")``, ``(key, "low")``, ``(key, "high")``."""
    cases: list[dict[str, Any]] = [{}]
    tags = [("", "baseline")]
    for v in varies:
        if v.is_range:
            low, high = (int(v.low), int(v.high)) if v.whole else (v.low, v.high)
        elif len(v.values) == 2:
            low, high = v.values
        else:
            raise UserError(f"--tornado: --vary {v.key}={v.text} needs exactly two values, LOW,HIGH (or START:STOP), "
                            f"not {len(v.values)}")
        cases += [{v.key: low}, {v.key: high}]
        tags += [(v.key, "low"), (v.key, "high")]
    return cases, tags


# -- scenarios of the cases ----------------------------------------------------------------


def apply(raw: dict[str, Any], overrides: dict[str, Any], path: str) -> dict[str, Any]:
    """A deep copy of the parsed TOML ``raw`` with each dotted key set to its value.
    Missing tables on the way are created (the loader then says whether they exist);
    an index past the end of an array of tables, or a key below a plain value, is a
    `UserError` naming the ``--vary`` key."""
    data = copy.deepcopy(raw)
    for key, val in overrides.items():
        node: Any = data
        segs = split_key(key)
        for depth, seg in enumerate(segs):
            last = depth == len(segs) - 1
            here = ".".join(str(s) for s in segs[:depth]) or "the scenario"
            if isinstance(node, list):
                if not isinstance(seg, int):
                    raise UserError(f"--vary {key}: {here} in {path} is an array of {len(node)} table(s); give an "
                                    f"index from 0 to {len(node) - 1} after it (e.g. {here}.0...)")
                if seg >= len(node):
                    raise UserError(f"--vary {key}: {here} in {path} has {len(node)} table(s), indices 0 to "
                                    f"{len(node) - 1}; there is no {seg}")
            elif isinstance(node, dict):
                seg = str(seg)
                if not last and seg not in node:
                    node[seg] = {}
            else:
                raise UserError(f"--vary {key}: {here} in {path} is a value ({node!r}), not a table")
            if last:
                old = node[seg] if (isinstance(node, list) or seg in node) else None
                if isinstance(old, dict) or (isinstance(old, list) and old and isinstance(old[0], dict)):
                    raise UserError(f"--vary {key}: {key} in {path} is a table, not a value; name one of its keys")
                node[seg] = val
            else:
                node = node[seg]
    return data


def is_unknown_key_error(exc: ScenarioError, key: str) -> bool:
    """Whether the loader refused ``key`` (or a table on its path) as unknown."""
    text = str(exc)
    if "unknown key" not in text and "unknown table" not in text:
        return False
    bad = normal_key(exc.key or "")
    return bool(bad) and (key == bad or key.startswith(bad + "."))


def case_header(index: int, n: int, path: str, overrides: dict[str, Any]) -> str:
    """The comment that opens a case's scenario text: which sweep case, from which file."""
    from twin_core.tomlwrite import value

    changed = ", ".join(f"{k} = {value(v)}" for k, v in overrides.items()) or "none (the baseline)"
    return f"# orbitwin sweep: case {index} of {n}, from {path}\n# changed: {changed}\n\n"


def baseline_value(scenario: Any, key: str) -> Any:
    """The value ``key`` has in the loaded ``scenario`` (from the file, else the plugin's
    default), or ``None`` where it has none: the baseline of a tornado."""
    node: Any = scenario.raw
    segs = split_key(key)
    try:
        for s in segs:
            node = node[s]
        return node
    except (KeyError, IndexError, TypeError):
        pass
    head, rest = segs[0], segs[1:]
    node = {"scenario": scenario.run, "output": scenario.output}.get(str(head)) or scenario.section(str(head))
    try:
        for s in rest:
            node = node[s] if isinstance(s, int) else getattr(node, s)
    except (AttributeError, IndexError, TypeError):
        return None
    return node if isinstance(node, (bool, int, float, str)) else None
