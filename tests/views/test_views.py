"""The report's views: sorting and top rows, module roll-ups with the shapes that enter and leave them,
trainable and frozen parameters, and activation liveness."""

from __future__ import annotations

import torch
from torch import nn

import costmodel
from costmodel.zoo import shufflenet_v2


def test_sort_and_top_order_rows_by_the_figure_and_share_is_of_the_total() -> None:
    rep = costmodel.report(shufflenet_v2(0.5), (1, 3, 224, 224))
    lines = rep.table(sort="params", top=3).splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("node"))
    rows = [line.split() for line in lines[start + 2 : start + 5]]
    expected = sorted((n for n in rep.nodes if n.ops), key=lambda n: n.params, reverse=True)[:3]
    assert [r[0] for r in rows] == [n.name for n in expected]
    assert rows[0][-1] == f"{expected[0].params / rep.params:.1%}"
    assert lines[start].split()[-2:] == ["%", "params"]


def test_module_rows_carry_their_input_and_output_shapes() -> None:
    model = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 4 * 4, 10))
    rows = {m.path: m for m in costmodel.report(model, (2, 3, 8, 8)).by_module(1)}
    assert rows["0"].input_shapes == ((2, 3, 8, 8),)
    assert rows["0"].output_shapes == ((2, 8, 4, 4),)
    assert rows["3"].input_shapes == ((2, 128),)
    assert rows["3"].output_shapes == ((2, 10),)
    assert rows[""].input_shapes == ((2, 3, 8, 8),)
    assert rows[""].output_shapes == ((2, 10),)


def test_a_module_reading_one_output_of_a_layer_shows_that_output_alone() -> None:
    class Tagger(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lstm = nn.LSTM(32, 128, num_layers=2, batch_first=True, bidirectional=True)
            self.out = nn.Linear(256, 10)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y, _ = self.lstm(x)  # the state tuple (h, c) is dropped
            return self.out(y)

    rows = {m.path: m for m in costmodel.report(Tagger(), (4, 50, 32)).by_module(1)}
    assert rows["lstm"].output_shapes == ((4, 50, 256),)  # what the model reads of it
    assert rows["out"].input_shapes == ((4, 50, 256),)  # not the LSTM's (2*2, 4, 128) state too
    assert rows["out"].output_shapes == ((4, 50, 10),)


def test_trainable_and_frozen_parameters() -> None:
    model = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 4))
    model[0].requires_grad_(False)
    rep = costmodel.report(model, (1, 16))
    assert rep.frozen_params == 16 * 32 + 32
    assert rep.trainable_params == 32 * 4 + 4
    assert model[0].weight.requires_grad is False
    assert model[2].weight.requires_grad is True


class ReluChain(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.inplace = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.relu(x)  # new memory
        y = self.inplace(y)  # in place: none
        z = y.view(-1)  # a view: none
        return torch.relu(z)  # new memory, while y is still alive


def test_activation_memory_counts_live_tensors_views_and_in_place_ops() -> None:
    megabyte = 256 * 1024 * 4  # one [1, 256, 1024] float32 tensor
    memory = costmodel.report(ReluChain(), (1, 256, 1024)).activation_memory()
    assert memory.written_bytes == 2 * megabyte  # two fresh outputs
    assert memory.peak_bytes == 3 * megabyte  # the input, y and the last relu at once
