"""Golden outputs of what users read: the node table, the by-module table, lint's text lines.

The expected text lives in ``tests/__snapshots__/test_golden.ambr``; after an intended change
regenerate it with ``pytest tests/formats/test_golden.py --snapshot-update`` and read the diff.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from syrupy.assertion import SnapshotAssertion

import costmodel
from costmodel.cli import main
from costmodel.zoo import shufflenet_v2
from tests.nets import small_cnn

ROOT = Path(__file__).resolve().parents[2]


def test_the_node_table_of_a_small_cnn(snapshot: SnapshotAssertion) -> None:
    assert str(costmodel.report(small_cnn(), (1, 3, 16, 16))) == snapshot


def test_the_by_module_table_of_shufflenet_v2(snapshot: SnapshotAssertion) -> None:
    assert costmodel.report(shufflenet_v2(0.5), (1, 3, 224, 224)).table(depth=2) == snapshot


def test_lint_text_lines_on_shufflenet_v1(
    snapshot: SnapshotAssertion, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)  # paths print relative to the working directory
    assert main(["lint", "shufflenet_v1_g3_x1.0", "--select", "G1,G2"]) == 1
    assert capsys.readouterr().out == snapshot


def test_grouped_lint_lines_on_shufflenet_v2(
    snapshot: SnapshotAssertion, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    monkeypatch.delenv("COLUMNS", raising=False)
    assert main(["lint", "shufflenet_v2_x0.5"]) == 1
    assert capsys.readouterr().out == snapshot


def test_the_sorted_top_table_with_shapes_and_shares(snapshot: SnapshotAssertion) -> None:
    rep = costmodel.report(shufflenet_v2(0.5), (1, 3, 224, 224))
    assert rep.table(depth=1, sort="flops", top=4) == snapshot


def test_the_default_command_line_report(
    snapshot: SnapshotAssertion, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """What `costmodel report` prints for a new user: modules three levels deep, a transformer's block tree."""
    monkeypatch.delenv("COLUMNS", raising=False)
    assert main(["report", "vit_tiny"]) == 0
    assert capsys.readouterr().out == snapshot
