"""The one cache layer: every store named, bounded and counted; ``clear_caches`` empties them all, and a report
after it matches a fresh process's."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import weakref

import pytest
import torch
from torch import nn

import costmodel
from costmodel.cache import IdentityStore, KeyedStore, WeakStore, cache_info, clear_caches
from costmodel.zoo import MODELS


def test_an_identity_store_keys_on_the_object_not_its_value_and_stays_bounded() -> None:
    store: IdentityStore[costmodel.TensorSpec, int] = IdentityStore("test.identity", "for this test", limit=2)
    a, b = costmodel.TensorSpec((2, 3)), costmodel.TensorSpec((2, 3))
    assert a == b
    assert a is not b
    store.put(a, 1)
    assert store.get(a) == 1
    assert store.get(b) is None  # equal, but another object
    store.put(b, 2)
    store.put(costmodel.TensorSpec((4,)), 3)  # past the limit: starts afresh
    assert len(store) == 1
    assert store.get(a) is None
    info = store.info()
    assert (info.hits, info.misses, info.size, info.limit) == (1, 2, 1, 2)
    assert info.hit_rate == 1 / 3


def test_a_keyed_store_counts_hits_misses_and_bypasses_by_reason() -> None:
    store: KeyedStore[str, int] = KeyedStore("test.keyed", "for this test")
    assert store.get("x") is None
    store.put("x", 0)
    assert store.get("x") == 0  # a kept falsy value is a hit
    store.bypass("unhashable")
    store.bypass("unhashable")
    store.bypass("in place")
    info = store.info()
    assert (info.hits, info.misses) == (1, 1)
    assert dict(info.bypasses) == {"unhashable": 2, "in place": 1}
    assert "bypassed: in place 1, unhashable 2" in str(info)


def test_a_weak_store_does_not_keep_its_key_alive() -> None:
    store: WeakStore[nn.Module, str] = WeakStore("test.weak", "for this test")
    model = nn.Linear(2, 2)
    alive = weakref.ref(model)
    store.put(model, "seen")
    assert store.get(model) == "seen"
    del model
    assert alive() is None
    assert len(store) == 0


def test_a_store_name_is_taken_once() -> None:
    KeyedStore("test.once", "for this test")
    with pytest.raises(ValueError, match=r"test\.once"):
        KeyedStore("test.once", "again")


def test_every_store_of_a_report_is_listed_with_counts() -> None:
    clear_caches(counts=True)
    costmodel.report(MODELS["shufflenet_v2_x0.5"](), (1, 3, 64, 64))
    costmodel.report(MODELS["shufflenet_v2_x0.5"](), (1, 3, 64, 64))
    infos = {info.name: info for info in costmodel.cache_info()}
    # the stores a CNN's report goes through, each found and counted
    for name in (
        "graph.meta_kernels",
        "graph.nodes",
        "graph.op_price",
        "graph.node_price",
        "ops.formula_of",
        "ops.conv_args",
        "rules.blocks",
        "rules.elementwise_parts",
        "source.call_sites",
        "types.tensor_specs",
    ):
        assert infos[name].hits > 0, name
        assert infos[name].misses > 0, name
    # the second report is served from the node memo: every repeated block and the whole model again
    assert infos["graph.nodes"].hits >= infos["graph.nodes"].misses


def test_clear_caches_empties_every_store() -> None:
    costmodel.report(MODELS["mobilenet_v2_x0.5"](), (1, 3, 64, 64))
    assert any(info.size for info in cache_info())
    clear_caches()
    assert [info.name for info in cache_info() if info.size] == []


def test_a_formula_registration_empties_what_depends_on_the_formulas() -> None:
    costmodel.report(nn.Sequential(nn.Linear(4, 4)), (2, 4))
    assert {i.name: i.size for i in cache_info()}["graph.op_price"] > 0

    class Marker(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x

    costmodel.register_cost(Marker)(lambda call: costmodel.Cost())
    try:
        sizes = {i.name: i.size for i in cache_info()}
        assert sizes["graph.op_price"] == sizes["graph.node_price"] == sizes["ops.formula_of"] == 0
    finally:
        costmodel.unregister_cost(Marker)


_FRESH_REPORT = textwrap.dedent(
    """
    import json, sys
    import costmodel
    from costmodel.zoo import MODELS
    if sys.argv[1] == "warm":  # other models first, then every store emptied
        for name in ("resnet18", "mobilenet_v2_x1.0"):
            costmodel.report(MODELS[name](), (1, 3, 64, 64))
        costmodel.clear_caches()
    report = costmodel.report(MODELS["shufflenet_v2_x1.0"](), (1, 3, 64, 64))
    print(json.dumps(report.to_dict()))
    """
)


def test_a_report_after_clear_caches_matches_a_fresh_processs() -> None:
    def run(mode: str) -> dict:
        done = subprocess.run(
            [sys.executable, "-c", _FRESH_REPORT, mode], capture_output=True, text=True, check=True, timeout=300
        )
        return json.loads(done.stdout)

    assert run("warm") == run("fresh")


def test_the_cli_prints_every_store_on_request(capsys: pytest.CaptureFixture[str]) -> None:
    from costmodel.cli import main

    assert main(["report", "shufflenet_v2_x0.5", "--cache-info"]) == 0
    err = capsys.readouterr().err.splitlines()
    assert [line.split()[0] for line in err] == [info.name for info in cache_info()]
    assert any("graph.nodes" in line and "hits" in line for line in err)
