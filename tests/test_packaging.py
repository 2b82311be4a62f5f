"""The distribution as people install it: its own name, a license and type information."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_distribution_has_its_own_name_a_license_and_type_information() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    # "costmodel" on the public index is another project; the import name and the command stay costmodel.
    assert project["name"] == "torch-costmodel"
    assert "MIT License" in (ROOT / "LICENSE").read_text()
    assert (ROOT / "costmodel" / "py.typed").is_file()
    assert any(c.startswith("Typing :: Typed") for c in project["classifiers"])
    readme = (ROOT / "README.md").read_text()
    assert "pip install costmodel" not in readme
    assert "pip install torch-costmodel" in readme
