"""The command line's input grammar: shapes, several inputs, keywords and dtypes; a file's INPUT_SHAPE of tensors."""

from __future__ import annotations

import json
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


# -- no --input-shape: the input read from the model's forward --------------------------------------------------
HF_FILES = {
    "bert": (
        "from transformers import BertConfig, BertModel\n"
        "model = BertModel(BertConfig(hidden_size=32, num_hidden_layers=1, num_attention_heads=2,\n"
        "                             intermediate_size=64, vocab_size=100, max_position_embeddings=64))\n",
        [[1, 64]],  # the default 128 tokens, fewer where the positions allow fewer
    ),
    "vit": (
        "from transformers import ViTConfig, ViTModel\n"
        "model = ViTModel(ViTConfig(hidden_size=32, num_hidden_layers=1, num_attention_heads=2,\n"
        "                           intermediate_size=64, image_size=32, patch_size=8, num_channels=3))\n",
        [[1, 3, 32, 32]],
    ),
    "t5": (
        "from transformers import T5Config, T5Model\n"
        "model = T5Model(T5Config(d_model=32, d_ff=64, num_layers=1, num_heads=2, d_kv=16, vocab_size=100))\n",
        [[1, 128], [1, 128]],  # an encoder-decoder: decoder_input_ids too
    ),
}


@pytest.mark.parametrize("family", sorted(HF_FILES))
def test_a_transformer_file_without_a_shape_gets_its_forwards_input(
    family: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text, shapes = HF_FILES[family]
    path = tmp_path / "hf.py"
    path.write_text(text)
    assert main(["report", str(path), "--format", "json"]) == 0
    captured = capsys.readouterr()
    (data,) = json.loads(captured.out)
    assert data["input_shapes"] == shapes
    assert "note: no --input-shape;" in captured.err
    assert "(read from its forward)" in captured.err


def test_float_token_ids_get_a_hint_to_give_the_dtype(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "hf.py"
    path.write_text(HF_FILES["bert"][0])
    assert main(["report", str(path), "--input-shape", "1,16"]) == 2
    err = capsys.readouterr().err
    assert "but got torch.float32" in err
    assert "(token ids are integers: give the dtype, e.g. --input-shape 1,16:int64)" in err
    assert err.count("\n") == 1
