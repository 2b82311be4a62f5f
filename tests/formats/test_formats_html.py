"""The HTML view (what Jupyter shows): findings first, numbers right-aligned, the module tree indented, one
precision per time column. Checked once by eye in headless Chromium: docs/images/jupyter-view.png."""

from __future__ import annotations

import re

import costmodel
from costmodel.zoo import MODELS
from tests.device.test_device import known_profile


def test_the_html_view_shows_findings_aligned_numbers_and_the_module_tree() -> None:
    rep = costmodel.report(MODELS["resnet18"](), (1, 3, 224, 224), profile=known_profile())
    page = rep._repr_html_()
    assert "<h4>Findings</h4>" in page
    assert page.index("<h4>Findings</h4>") < page.index("<h4>By module</h4>")
    assert "G4 [stages.0] block &#x27;stages.0&#x27; (BasicBlock) spends" in page  # escaped quotes
    assert '<td class="num">231.21M</td>' in page  # a block's FLOPs, right-aligned
    assert '<td class="text" style="padding-left:40px">stages.0</td>' in page  # depth 2: indented, no spaces
    times = re.findall(r'<td class="num">(\d+\.\d+)</td><td class="num">[\d.]+%</td>', page)
    assert times
    assert {len(t.split(".")[1]) for t in times} == {3}  # predicted_ms to the microsecond, every row
