"""``python -m twin_core`` is ``orbitwin``."""

from twin_core.cli import main

main()
