"""Per-rule fixtures (tests/rules/data/G*.py): each case raises exactly the codes its header names."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import costmodel
from costmodel.rules import RULES, LintConfig

DATA = Path(__file__).parent / "data"
HEADER = re.compile(r"^#: (?P<codes>Okay|G\d+(?: G\d+)*)\s*$")


def _cases() -> list:
    cases = []
    for path in sorted(DATA.glob("G*.py")):
        lines = path.read_text().splitlines()
        for number, line in enumerate(lines, 1):
            match = HEADER.match(line)
            if match:
                name = re.match(r"class (\w+)", lines[number]).group(1)
                codes = set() if match["codes"] == "Okay" else set(match["codes"].split())
                cases.append(pytest.param(path, name, codes, id=f"{path.name}:{number}:{name}"))
    return cases


def _load(path: Path):
    spec = importlib.util.spec_from_file_location(f"fixture_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(("path", "name", "expected"), _cases())
def test_fixture_raises_exactly_its_codes(path: Path, name: str, expected: set[str]) -> None:
    module = _load(path)
    family = path.stem  # G1.py exercises G1
    found = costmodel.lint(getattr(module, name)(), module.INPUT_SHAPE, select=[family])
    assert {d.code for d in found} == expected, [str(d) for d in found]
    for finding in found:  # every finding points into the fixture file, at the layer or block
        assert finding.file == str(path)
        assert f"'{finding.module}'" in finding.message or finding.module == ""


def test_every_rule_is_fully_described() -> None:
    assert list(RULES) == ["G1", "G2", "G3", "G4"]
    names = [rule.name for rule in RULES.values()]
    assert len(set(names)) == len(names)
    for rule in RULES.values():
        text = rule.explanation()
        for section in ("## What it does", "## Why is this bad?", "## Example", "## Options", "## Reference"):
            assert section in text, (rule.code, section)
        for option in rule.options:
            assert f"``{option}``" in text, (rule.code, option)


def test_registering_a_duplicate_or_malformed_rule_fails() -> None:
    from costmodel.errors import DuplicateRegistration
    from costmodel.rules import register_rule

    with pytest.raises(DuplicateRegistration):
        register_rule(RULES["G1"])

    class Bad(RULES["G1"]):
        """Doc."""

        code = "X1"
        name = "bad-rule"

    with pytest.raises(ValueError, match="is not G and digits"):
        register_rule(Bad)


@given(st.text(alphabet="Gg0123456789-abzAZ_\u0661\u00df ", max_size=8))
@settings(max_examples=500, deadline=None)
def test_rule_codes_and_names_are_checked_as_their_patterns_say(text: str) -> None:
    """The hand-written checks (no regex compiled at import) against the patterns they replace."""
    from costmodel.rules.base import _is_code, _is_kebab_case

    assert _is_code(text) == bool(re.fullmatch(r"G[0-9]+", text))
    assert _is_kebab_case(text) == bool(re.fullmatch(r"[a-z]+(-[a-z0-9]+)*", text))


def test_config_selects_and_ignores_by_prefix_and_rejects_unknown_names() -> None:
    config = LintConfig(select=("G",), ignore=("G4",))
    assert [c for c in RULES if config.enabled(c)] == ["G1", "G2", "G3"]
    with pytest.raises(costmodel.UnsupportedInput, match=r"unknown rule option 'G1\.nope'"):
        LintConfig(options={"G1.nope": 1})
    with pytest.raises(costmodel.UnsupportedInput, match="no rule code starts with 'X'"):
        LintConfig(select=("X",))


def test_options_change_the_verdict() -> None:
    module = _load(DATA / "G4.py")
    model, shape = module.BatchNormFoldsAway(), module.INPUT_SHAPE
    assert costmodel.lint(model, shape, select=["G4"]) == ()
    counted = costmodel.lint(model, shape, select=["G4"], options={"G4.count_batchnorm": 1})
    assert {d.code for d in counted} == {"G4"}


def test_pyproject_settings_are_read(tmp_path: Path) -> None:
    from costmodel.rules import load_config

    (tmp_path / "pyproject.toml").write_text(
        '[tool.costmodel]\nignore = ["G3"]\n"G1.min_ratio" = 1.5\n[tool.costmodel.G4]\nmax_share = 0.6\n'
    )
    (tmp_path / "sub").mkdir()
    config = load_config(tmp_path / "sub")
    assert config.ignore == ("G3",)
    assert config.options == {"G1.min_ratio": 1.5, "G4.max_share": 0.6}
    (tmp_path / "pyproject.toml").write_text("[tool.costmodel]\nunknown = 3\n")
    with pytest.raises(costmodel.UnsupportedInput, match="unknown key 'unknown'"):
        load_config(tmp_path)


def test_the_clis_rule_catalog_read_from_source_matches_the_registered_rules() -> None:
    """``costmodel rules`` and ``explain`` read the rules from their source files (no torch import): the same
    codes, names, summaries, options and explanations as the imported classes."""
    from costmodel.cli.rule_catalog import builtin_rules
    from costmodel.rules.registry import BUILTIN_RULES

    read = [(r.code, r.name, r.summary, r.options, r.explanation) for r in builtin_rules()]
    imported = [(r.code, r.name, r.summary, dict(r.options), r.explanation()) for r in BUILTIN_RULES]
    assert read == imported
