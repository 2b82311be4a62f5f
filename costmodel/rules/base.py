"""The ``Rule`` base class: a guideline check over a costed graph, and the checks on its identity."""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from typing import Any, ClassVar

from costmodel.types import CostedGraph, Diagnostic, OpCost, SourceLocation, TimeModel
from costmodel.units import milliseconds

__all__ = ["Rule", "validate"]


class Rule(ABC):
    """A guideline check: a code, a kebab-case name, a one-line summary, options, and its docstring.

    The docstring is the explanation ``costmodel explain CODE`` prints: what it
    does, why it costs, an example, and the paper section.
    """

    code: ClassVar[str]
    name: ClassVar[str]
    summary: ClassVar[str]
    #: Option name -> default value; users override them as ``CODE.option``.
    options: ClassVar[Mapping[str, float]] = {}

    def __init__(
        self, options: Mapping[str, float] | None = None, time: TimeModel | None = None, model_seconds: float = 0.0
    ) -> None:
        self.opts = {**self.options, **(options or {})}
        #: The calibrated device, when findings are to state predicted time and savings.
        self.time = time
        self.model_seconds = model_seconds

    @classmethod
    def explanation(cls) -> str:
        """The rule's docstring, dedented."""
        return inspect.cleandoc(cls.__doc__ or "")

    @abstractmethod
    def find(self, graph: CostedGraph) -> Iterator[Diagnostic]:
        """Yield the findings of this rule on a costed graph (a ``Report`` is one)."""

    def replacement_timing(self, op: OpCost, fix: Callable[[], OpCost]) -> dict[str, float]:
        """``finding`` keywords for an op whose fix is another op (built only with a time model)."""
        if self.time is None:
            return {}
        now = self.time.op_seconds(op)
        return {"predicted_s": now, "saving_s": now - self.time.op_seconds(fix())}

    def finding(
        self,
        message: str,
        module: str,
        where: SourceLocation | None,
        *,
        degree: float,
        module_type: str = "",
        predicted_s: float | None = None,
        saving_s: float | None = None,
        **data: Any,
    ) -> Diagnostic:
        """A ``Diagnostic`` of this rule; ``where`` falls back to ``<model>:1:1``.

        ``module_type`` names the kind of module (repeated findings group by it).
        With a time model, ``predicted_s`` (the offending part's time) and ``saving_s`` (what the
        suggested fix saves) are stated in the message and the data, in milliseconds.
        """
        if self.time is not None and predicted_s is not None and saving_s is not None:
            saving_s = max(saving_s, 0.0)
            share = saving_s / self.model_seconds if self.model_seconds else 0.0
            message += (
                f"; on {self.time.device} it takes a predicted {milliseconds(predicted_s):.3f} ms and the fix saves "
                f"{milliseconds(saving_s):.3f} ms ({share:.1%} of the model's "
                f"{milliseconds(self.model_seconds):.2f} ms)"
            )
            data = {
                **data,
                "predicted_ms": milliseconds(predicted_s),
                "saving_ms": milliseconds(saving_s),
                "saving_share": share,
            }
        return Diagnostic(
            code=self.code,
            name=self.name,
            message=message,
            module=module,
            file=where.file if where else "<model>",
            line=where.line if where else 1,
            column=where.column if where else 1,
            degree=degree,
            data={k: (round(v, 4) if isinstance(v, float) else v) for k, v in data.items()},
            module_type=module_type,
        )


def _is_code(text: str) -> bool:
    """``G`` and digits: ``G1``, ``G12``."""
    return text[:1] == "G" and text[1:].isascii() and text[1:].isdigit()


def _is_kebab_case(text: str) -> bool:
    """Lower-case words joined by hyphens, the first all letters: ``channel-width``, ``group-conv2``."""
    first, *rest = text.split("-")
    plain = all(part and part.isascii() and (part.islower() or part.isdigit()) and part.isalnum() for part in rest)
    return bool(first) and first.isascii() and first.isalpha() and first.islower() and plain


def validate(rule: type[Rule]) -> None:
    """Check a rule class's identity before it is registered."""
    for attr in ("code", "name", "summary"):
        if not isinstance(getattr(rule, attr, None), str):
            raise TypeError(f"rule {rule.__name__} needs a str class attribute '{attr}'")
    if not _is_code(rule.code):
        raise ValueError(f"rule {rule.__name__}: code {rule.code!r} is not G and digits")
    if not _is_kebab_case(rule.name):
        raise ValueError(f"rule {rule.__name__}: name {rule.name!r} is not kebab-case")
    if not rule.__doc__:
        raise ValueError(f"rule {rule.__name__} needs a docstring (its explanation)")
