"""The documentation: the site builds with ``mkdocs build --strict`` (a broken link or a missing API name fails
it), each rule's page is written from the rule, and README stays short and true to CI."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from costmodel.rules import RULES

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(shutil.which("mkdocs", path=str(Path(sys.executable).parent)) is None, reason="docs extra")
def test_the_site_builds_strictly_with_a_page_per_rule(tmp_path: Path) -> None:
    mkdocs = str(Path(sys.executable).parent / "mkdocs")
    done = subprocess.run(
        [mkdocs, "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    for code, rule in RULES.items():
        page = (tmp_path / "site" / "rules" / code / "index.html").read_text()
        assert rule.name in page
        assert rule.summary in page
        assert all(f"{code}.{option}" in page for option in rule.options)
    api = (tmp_path / "site" / "api" / "index.html").read_text()
    assert "Trace ``model``" not in api  # rendered, not raw
    assert "costmodel.analysis.report" in api


def test_readme_is_short_and_its_test_command_is_what_ci_runs() -> None:
    readme = (ROOT / "README.md").read_text()
    assert len(readme.encode()) < 10_000
    ci = (ROOT / ".ci" / "run").read_text().strip().splitlines()[-1]
    assert ci in readme
    assert ".venv/bin/costmodel report" in readme
