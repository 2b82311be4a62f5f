"""G1 unequal-channel-width."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import ClassVar

from costmodel.mac import g1_lower_bound
from costmodel.rules.base import Rule
from costmodel.rules.layers import conv_layers
from costmodel.types import CostedGraph, Diagnostic
from costmodel.units import human


class UnequalChannelWidth(Rule):
    """Convs whose input and output widths differ move more memory than their FLOPs need.

    ## What it does
    For every stride-1 convolution (1x1 above all) it compares the layer's MAC,
    as the walker counts it, with the least MAC any split of the same FLOPs B
    into c_in x c_out can have over N output positions:
    ``MAC >= 2*sqrt(N*B*g/kk) + B/N``, reached only when c_in == c_out (for a
    1x1 conv with g = 1 this is the paper's ``2*sqrt(hw*B) + B/hw``). When the
    convs' MAC above their bounds adds up to ``min_share`` of the model's MAC, it
    lists each conv whose MAC is at least ``min_ratio`` times its bound. A conv
    reading the model's input is skipped: its width is the data's, not a choice.

    ## Why is this bad?
    At equal FLOPs, unequal widths read or write more activations. On memory-bound
    devices time follows MAC: the paper's Table 1 network runs 1:12 widths up to
    half as fast as 1:1 at the same FLOPs.

    ## Example
    ``nn.Conv2d(32, 192, 1)`` then ``nn.Conv2d(192, 32, 1)`` (MobileNet V2's
    expansion and projection) sit 1.4x above the bound; two ``nn.Conv2d(78, 78, 1)``
    of the same FLOPs sit on it.

    ## Options
    - ``min_ratio`` (1.05): list convs at least this far above their bound.
    - ``min_share`` (0.01): stay silent unless the excess is this share of the model's MAC.

    ## Reference
    Ma et al., ShuffleNet V2, ECCV 2018, Sec. 2, guideline G1 and Table 1.
    """

    code = "G1"
    name = "unequal-channel-width"
    summary = "convs with c_in != c_out pay MAC above the G1 bound for their FLOPs"
    options: ClassVar[Mapping[str, float]] = {"min_ratio": 1.05, "min_share": 0.01}

    def find(self, graph: CostedGraph) -> Iterator[Diagnostic]:
        layers = []
        produced = {n.name for n in graph.nodes}
        for conv in conv_layers(graph):
            if conv.args.transposed or conv.args.depthwise or conv.args.positions_in != conv.args.positions_out:
                continue
            if not all(name in produced for name in conv.node.inputs):
                continue  # reads the model's input: its width is the data's (RGB), not a design choice
            flops = conv.op.cost.flops
            mac = conv.op.cost.mac - conv.bias  # the paper's MAC has no bias term
            bound = g1_lower_bound(conv.args.positions_out, flops, conv.args.groups, conv.args.kernel_area)
            layers.append((conv, mac, bound))
        excess = sum(mac - bound for _, mac, bound in layers)
        share = excess / graph.mac if graph.mac else 0.0
        if share < self.opts["min_share"]:
            return
        for conv, mac, bound in layers:
            ratio = mac / bound
            if ratio < self.opts["min_ratio"]:
                continue
            yield self.finding(
                f"conv '{conv.node.module_path or conv.node.name}' ({conv.shape_text}) has widths "
                f"{conv.width_ratio}; its MAC is {ratio:.2f}x the G1 lower bound for its FLOPs "
                f"({human(mac)} vs {human(round(bound))} elements), and unequal widths cost this model "
                f"{share:.1%} of its MAC; make input and output widths equal (ShuffleNet V2 Sec. 2, G1)",
                conv.node.module_path,
                conv.where,
                module_type=conv.kind_text,
                degree=ratio / self.opts["min_ratio"],
                **self.replacement_timing(conv.op, conv.balanced),
                **conv.facts(),
                mac=mac,
                bound=float(bound),
                ratio=float(ratio),
                model_excess_share=float(share),
            )
