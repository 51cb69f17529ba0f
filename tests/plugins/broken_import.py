"""A plugin that fails to import (for the broken-plugin tests)."""

raise ImportError("this plugin is broken on purpose")
