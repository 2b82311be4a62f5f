"""G2 excessive-group-conv."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import ClassVar

from costmodel.rules.base import Rule
from costmodel.rules.layers import conv_layers
from costmodel.types import CostedGraph, Diagnostic
from costmodel.units import human


class ExcessiveGroupConv(Rule):
    """Grouped convolutions raise MAC at equal FLOPs.

    ## What it does
    For every grouped, non-depthwise convolution it compares the walker's MAC with
    the MAC of an ungrouped conv of the same FLOPs and input width. At fixed FLOPs
    B and input width c1, ``MAC = N*c1 + B*g/(kk*c1) + B/N``: the output is g times
    wider, so only the output term changes. It reports layers whose MAC is at
    least ``min_increase`` times the groups=1 MAC.

    ## Why is this bad?
    Group convolution buys FLOPs with memory traffic: the output widens with g.
    The paper's Table 2 network with 8 groups runs more than twice as slowly on
    GPU as with 1 group at the same FLOPs, and up to 30% more slowly on ARM.

    ## Example
    ShuffleNet V1's grouped 1x1 convs (g = 3 or 8); ResNeXt's grouped 3x3 convs.
    Depthwise convs (g = c_in) are G4's business, not G2's.

    ## Options
    - ``min_increase`` (1.1): report convs whose MAC is at least this times the groups=1 MAC.

    ## Reference
    Ma et al., ShuffleNet V2, ECCV 2018, Sec. 2, guideline G2 and Table 2.
    """

    code = "G2"
    name = "excessive-group-conv"
    summary = "grouped (non-depthwise) convs raise MAC at equal FLOPs"
    options: ClassVar[Mapping[str, float]] = {"min_increase": 1.1}

    def find(self, graph: CostedGraph) -> Iterator[Diagnostic]:
        for conv in conv_layers(graph):
            if conv.args.groups <= 1 or conv.args.depthwise or conv.args.transposed:
                continue
            mac = conv.op.cost.mac - conv.bias
            # Same FLOPs and input width with g = 1: the output is g times narrower.
            ungrouped = mac - conv.args.positions_out * conv.c2 * (1 - 1 / conv.args.groups)
            increase = mac / ungrouped
            if increase < self.opts["min_increase"]:
                continue
            yield self.finding(
                f"grouped conv '{conv.node.module_path or conv.node.name}' ({conv.shape_text}) has groups="
                f"{conv.args.groups}; at equal FLOPs its MAC is {increase:.2f}x that of groups=1 ({human(mac)} vs "
                f"{human(round(ungrouped))} elements); use fewer groups, or split channels instead "
                "(ShuffleNet V2 Sec. 2, G2)",
                conv.node.module_path,
                conv.where,
                module_type=conv.kind_text,
                degree=increase / self.opts["min_increase"],
                **self.replacement_timing(conv.op, conv.ungrouped),
                **conv.facts(),
                mac=mac,
                mac_groups_1=float(ungrouped),
                increase=float(increase),
            )
