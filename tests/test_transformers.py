"""Hugging Face models called as their users call them: per-layer rows, FLOPs against FlopCounterMode, exact params.

Small configurations, no downloads. Each model is given keyword inputs (token ids as int64, masks
that mask something), with eager and sdpa attention. ``forward`` is behind decorators fx cannot
trace, and the masks are checked by value: the report splits the run by module call, and runs on
the given values.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable
from typing import Any

import pytest
import torch
from torch import nn

import costmodel
from tests.conftest import torch_flop_counter_macs_by_keyword

T = pytest.importorskip("transformers")

SMALL = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 64}


def _ids(length: int = 16) -> torch.Tensor:
    return torch.randint(0, 100, (2, length), generator=torch.Generator().manual_seed(1))


def _mask() -> torch.Tensor:
    mask = torch.ones(2, 16, dtype=torch.long)
    mask[1, 10:] = 0  # the second sequence is padded: the mask really masks
    return mask


def _images() -> torch.Tensor:
    return torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(2))


TOKENS = {"vocab_size": 100, "pad_token_id": 0, "bos_token_id": 1, "eos_token_id": 2}

#: name -> (model from an attention implementation, its keyword inputs)
CASES: dict[str, tuple[Callable[[str], nn.Module], Callable[[], dict[str, torch.Tensor]]]] = {
    "bert": (
        lambda a: T.BertModel(T.BertConfig(max_position_embeddings=64, attn_implementation=a, **TOKENS, **SMALL)),
        lambda: {"input_ids": _ids(), "attention_mask": _mask()},
    ),
    "distilbert": (
        lambda a: T.DistilBertModel(
            T.DistilBertConfig(
                vocab_size=100, dim=32, n_layers=2, n_heads=4, hidden_dim=64, max_position_embeddings=64,
                pad_token_id=0, attn_implementation=a,
            )
        ),
        lambda: {"input_ids": _ids(), "attention_mask": _mask()},
    ),
    "gpt2": (
        lambda a: T.GPT2Model(
            T.GPT2Config(n_embd=32, n_layer=2, n_head=4, n_positions=64, attn_implementation=a, **TOKENS)
        ),
        lambda: {"input_ids": _ids(), "attention_mask": _mask()},
    ),
    "llama": (
        lambda a: T.LlamaModel(
            T.LlamaConfig(num_key_value_heads=2, max_position_embeddings=64, attn_implementation=a, **TOKENS, **SMALL)
        ),
        lambda: {"input_ids": _ids(), "attention_mask": _mask()},
    ),
    "qwen2": (
        lambda a: T.Qwen2Model(
            T.Qwen2Config(num_key_value_heads=2, max_position_embeddings=64, attn_implementation=a, **TOKENS, **SMALL)
        ),
        lambda: {"input_ids": _ids()},
    ),
    "t5": (
        lambda a: T.T5Model(
            T.T5Config(
                d_model=32, d_kv=8, d_ff=64, num_layers=2, num_heads=4, decoder_start_token_id=0,
                attn_implementation=a, **TOKENS,
            )
        ),
        lambda: {"input_ids": _ids(), "attention_mask": _mask(), "decoder_input_ids": _ids(8)},
    ),
    "vit": (
        lambda a: T.ViTModel(T.ViTConfig(image_size=32, patch_size=8, attn_implementation=a, **SMALL)),
        lambda: {"pixel_values": _images()},
    ),
    "whisper": (
        lambda a: T.WhisperModel(
            T.WhisperConfig(
                d_model=32, encoder_layers=2, decoder_layers=2, encoder_attention_heads=4, decoder_attention_heads=4,
                encoder_ffn_dim=64, decoder_ffn_dim=64, num_mel_bins=16, max_source_positions=32,
                max_target_positions=32, decoder_start_token_id=1, attn_implementation=a, **TOKENS,
            )
        ),
        lambda: {
            "input_features": torch.randn(2, 16, 64, generator=torch.Generator().manual_seed(3)),
            "decoder_input_ids": _ids(8),
        },
    ),
    "clip": (
        lambda a: T.CLIPModel(
            T.CLIPConfig(
                text_config={"vocab_size": 100, "max_position_embeddings": 32, **SMALL},
                vision_config={"image_size": 32, "patch_size": 8, **SMALL},
                projection_dim=16,
                attn_implementation=a,
            )
        ),
        lambda: {"input_ids": _ids(), "pixel_values": _images(), "attention_mask": _mask()},
    ),
}  # fmt: skip


def _state(model: nn.Module) -> tuple[dict[str, torch.Tensor], list[bool], int]:
    hooks = sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules())
    return copy.deepcopy(model.state_dict()), [m.training for m in model.modules()], hooks


def _layers_called(model: nn.Module, inputs: dict[str, Any]) -> set[str]:
    """Paths of the layers that do the work (linears, GPT-2's Conv1D, convs, embeddings) that a real run calls."""
    work = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Embedding, T.pytorch_utils.Conv1D)
    copied = copy.deepcopy(model).eval()
    called: set[str] = set()
    for path, m in copied.named_modules():
        if isinstance(m, work):
            m.register_forward_hook(lambda *_, path=path: called.add(path))
    with torch.no_grad():
        copied(**inputs)
    return called


@pytest.mark.parametrize("attention", ["eager", "sdpa"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_called_directly_with_keyword_inputs(name: str, attention: str) -> None:
    build, make_inputs = CASES[name]
    torch.manual_seed(0)
    model, inputs = build(attention).train(), make_inputs()  # left in training mode: must stay so
    before = _state(model)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rep = costmodel.report(model, inputs)
    # one row per layer: every linear, conv and embedding that ran has its own row, at its path
    rows = {n.module_path for n in rep.nodes if n.op == "call_module"}
    called = _layers_called(model, inputs)
    assert called
    assert called <= rows
    assert len(rep.by_module(depth=3)) > 5
    assert rep.findings, "the rules see the layers"
    # FLOPs against FlopCounterMode (math SDPA), parameters exact, nothing unsupported
    model_eval = copy.deepcopy(model).eval()
    reference = torch_flop_counter_macs_by_keyword(model_eval, inputs)
    assert abs(rep.flops - reference) <= 0.005 * reference
    assert rep.params == sum(p.numel() for p in model.parameters())
    assert rep.unsupported == {}
    # the model is left as it was: weights, training flags, hooks
    after = _state(model)
    assert after[1] == before[1]
    assert after[2] == before[2]
    assert all(torch.equal(before[0][k], v) for k, v in after[0].items())


def test_a_mask_is_read_as_values_and_the_weights_stay_on_meta() -> None:
    """A padding mask is checked by value (``mask.all()``): the mask and what is computed from it alone hold
    real values, the rest runs on meta, so the model never runs on values, here or with meta weights."""
    build, make_inputs = CASES["bert"]
    model = build("sdpa").eval()
    inputs = make_inputs()
    rep = costmodel.report(model, inputs)
    assert rep.on_values is None
    unmasked = costmodel.report(model, {**inputs, "attention_mask": torch.ones(2, 16, dtype=torch.long)})
    assert rep.flops == unmasked.flops
    assert rep.elementwise > unmasked.elementwise  # the mask masks: its expansion is built and added
    with torch.device("meta"):
        on_meta = build("sdpa").eval()
    assert costmodel.report(on_meta, inputs).total == rep.total


def test_shapes_and_dtypes_alone_are_enough_for_token_models() -> None:
    """No example tensors: int64 token ids as TensorSpecs, values generated (valid ids, masks of ones)."""
    build, _ = CASES["llama"]
    model = build("eager").eval()
    spec = costmodel.TensorSpec((2, 16), torch.int64)
    rep = costmodel.report(model, {"input_ids": spec, "attention_mask": spec})
    same = costmodel.report(model, {"input_ids": _ids(), "attention_mask": torch.ones(2, 16, dtype=torch.long)})
    assert rep.flops == same.flops > 0
    assert rep.params == sum(p.numel() for p in model.parameters())
