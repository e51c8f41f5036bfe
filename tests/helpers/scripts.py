"""Scripts that are not in a package (packaging/, bench/), loaded as modules for tests."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

#: The source tree's root.
ROOT = Path(__file__).resolve().parents[2]


def load_script(path: Path) -> ModuleType:
    """The script at `path` as a fresh module named after its file."""
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
