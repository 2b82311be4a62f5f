"""The command line's input grammar: shapes, several inputs, keywords and dtypes; a file's INPUT_SHAPE of tensors."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from costmodel import TensorSpec
from costmodel.cli import main, parse_shapes


# -- the command line ---------------------------------------------------------------------------------------
def test_input_shape_grammar() -> None:
    assert parse_shapes("1,3,8,8") == (1, 3, 8, 8)
    assert parse_shapes("1,3;2,5") == [(1, 3), (2, 5)]
    assert parse_shapes("1,3", "int64") == TensorSpec((1, 3), torch.int64)
    assert parse_shapes("input_ids=2,16:int64;attention_mask=2,16:int64") == {
        "input_ids": TensorSpec((2, 16), torch.int64),
        "attention_mask": TensorSpec((2, 16), torch.int64),
    }


TOKEN_MODEL = """
import torch
from torch import nn

class Tagger(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed, self.out = nn.Embedding(30, 8), nn.Linear(8, 3)

    def forward(self, ids, mask=None):
        y = self.out(self.embed(ids))
        return y if mask is None else y * mask.unsqueeze(-1)

INPUT_SHAPE = {"ids": torch.zeros(2, 5, dtype=torch.long)}
"""


def test_cli_keyword_and_integer_inputs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "tagger.py"
    path.write_text(TOKEN_MODEL)
    assert main(["report", str(path), "--format", "json"]) == 0  # the file's INPUT_SHAPE: a dict of tensors
    assert '"flops": 240' in capsys.readouterr().out  # 2 x 5 tokens x 8 x 3
    assert main(["report", str(path), "--input-shape", "ids=2,5:int64;mask=2,5", "--format", "json"]) == 0
    assert '"flops": 240' in capsys.readouterr().out
    for bad in ("ids=2,5:int65", "ids=2,5;2,5", "2,5=ids"):
        assert main(["report", str(path), "--input-shape", bad]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1
        assert "--input-shape" in err
