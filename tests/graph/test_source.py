"""Where a layer's class is defined: found without inspect's parse of the whole file, also when a library has
wrapped or replaced the class's methods (Hugging Face's kernel layers do both)."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from torch import nn

from costmodel.graph.source import class_site


def _wrapped(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return method(*args, **kwargs)

    return wrapper


def _replacement(self: nn.Module, *args: Any, **kwargs: Any) -> None:  # stands in for a library's own __init__
    nn.Module.__init__(self)


class WrappedLayer(nn.Module):
    @_wrapped
    def forward(self, x: Any) -> Any:
        return x


class ReplacedLayerTwin(nn.Module):  # a longer name that begins with the other's: not its line
    pass


class ReplacedLayer(nn.Module):
    pass


ReplacedLayer.__init__ = _replacement  # type: ignore[assignment,method-assign]
ReplacedLayer.forward = _wrapped(_replacement)  # type: ignore[method-assign]


def test_the_class_line_is_found_through_wrapped_and_replaced_methods() -> None:
    for cls in (WrappedLayer, ReplacedLayer):
        site = class_site(cls)
        assert site is not None
        assert (site.file, site.line) == (inspect.getsourcefile(cls), inspect.getsourcelines(cls)[1])


def test_torch_classes_have_no_site() -> None:
    assert class_site(nn.Linear) is None
