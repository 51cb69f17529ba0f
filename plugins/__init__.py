"""orbitwin's built-in plugins (import package ``orbitwin_plugins``).

Each module is a plugin registered through the ``orbitwin`` entry-point group exactly as a
third-party plugin is; none is imported by the core. Modules without hooks
(`constants`, `ephemeris`) are shared physics libraries the plugins use.
"""
