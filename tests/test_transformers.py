"""Hugging Face models called as their users call them: per-layer rows, FLOPs against FlopCounterMode, exact params.

Small configurations, no downloads. Each model is given keyword inputs (token ids as int64, masks
that mask something), with eager and sdpa attention. ``forward`` is behind decorators fx cannot
trace, and the masks are checked by value: the report splits the run by module call, and runs on
the given values.
"""

from __future__ import annotations

import copy
import warnings
from typing import Any

import pytest
import torch
from torch import nn

import costmodel
from tests.conftest import torch_flop_counter_macs_by_keyword

T = pytest.importorskip("transformers")

from tests.hf_models import CASES, token_ids  # noqa: E402


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
    same = costmodel.report(model, {"input_ids": token_ids(), "attention_mask": torch.ones(2, 16, dtype=torch.long)})
    assert rep.flops == same.flops > 0
    assert rep.params == sum(p.numel() for p in model.parameters())
