"""Errors that reach the user as one clear message and a documented exit status, never a
traceback.

Every exception class defined in this module carries its ``exit_code``, and the command
line (`twin_core.cli.main`) catches every one of them, found by walking this module, so a
class added here is covered without touching the command line:

- 2: `UserError` and its subclasses, a message written for the person who typed the
  scenario or the command (bad scenario, bad option, existing output, disk full);
- 3: `PluginError` (a plugin's hook raised) and `NonFiniteError` (a stage produced NaN
  or infinity): the run stopped, naming the plugin.

Anything else that escapes is a bug in orbitwin or a plugin and is reported as one, with
its traceback and exit status 1 (130 for an interrupt).
"""

from __future__ import annotations


class UserError(Exception):
    """A mistake the user can fix: bad scenario, bad option, missing plugin."""

    exit_code = 2


class ScenarioError(UserError):
    """A scenario file that cannot be read or does not validate.

    Attributes:
        path: the scenario file.
        key: dotted key path (``orbit.shell[1].altitude_km``), or ``None`` for the file.
        value: the offending value, when there is one.
        expected: what was expected, in words.
    """

    def __init__(self, path: str, key: str | None, problem: str, value: object = None,
                 expected: str | None = None, hint: str | None = None):
        self.path, self.key, self.value, self.expected, self.hint = path, key, value, expected, hint
        where = f"{path}: " + (f"key '{key}': " if key else "")
        text = where + problem
        if value is not None:
            text += f": got {value!r}"
        if expected:
            text += f"; expected {expected}"
        if hint:
            text += f" ({hint})"
        super().__init__(text)


class BuildError(UserError):
    """The loaded plugins do not fit together for this scenario (a variable with no
    writer or two writers, a stage cycle, a missing section)."""


class PluginError(Exception):
    """A plugin's hook raised; the message names the plugin and the hook."""

    exit_code = 3

    def __init__(self, plugin: str, hook: str, error: BaseException):
        self.plugin, self.hook, self.error = plugin, hook, error
        super().__init__(f"plugin '{plugin}' failed in hook '{hook}': {type(error).__name__}: {error}")


class NonFiniteError(Exception):
    """A stage produced NaN or infinity: names the variable, its plugin, the satellite and
    the time. Found after the launch in which it happened (at the latest at the next
    record)."""

    exit_code = 3

    def __init__(self, variable: str, plugin: str, satellite: int, t_s: float, epoch: object, axis: str = "sat"):
        import datetime as _dt

        self.variable, self.plugin, self.satellite, self.t_s = variable, plugin, satellite, t_s
        when = epoch + _dt.timedelta(seconds=t_s) if isinstance(epoch, _dt.datetime) else None
        where = f"satellite {satellite}" if axis == "sat" else f"{axis} slot {satellite}"
        super().__init__(f"variable '{variable}' (plugin '{plugin}') is not finite for {where} "
                         f"at t = {t_s:g} s" + (f" ({when:%Y-%m-%dT%H:%M:%S} UTC)" if when else "")
                         + "; the run stopped and the state at that time was saved")


class StageError(PluginError):
    """A plugin's stage is wrong: its function has the wrong signature, touches a field
    it does not declare, or does not compile. The message names the plugin and the stage:
    ``plugin 'x', stage 'x.y': <the problem>``.

    Attributes:
        plugin: the plugin that returned the stage.
        stage: the stage's name.
        problem: what is wrong, in words (taichi's message for a compilation error).
    """

    exit_code = 3

    def __init__(self, plugin: str, stage: str, problem: str):
        self.plugin, self.stage, self.problem = plugin, stage, problem
        self.hook, self.error = "orbitwin_stages", None
        Exception.__init__(self, f"plugin '{plugin}', stage '{stage}': {problem}")

    def __reduce__(self):  # pickled across processes (a shard's error) with its three parts
        return (type(self), (self.plugin, self.stage, self.problem))
