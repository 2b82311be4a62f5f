"""A module's forward with its forward pre-hooks and hooks, as ``nn.Module.__call__`` runs them in inference.

The global hooks run first, then the module's own; hooks registered ``with_kwargs`` get the
keyword arguments; a pre-hook may replace the arguments and a hook the result. Backward hooks
are never set up (the walk is inference).
"""

from __future__ import annotations

from typing import Any

from torch import nn
from torch.nn.modules import module as _torch_module

__all__ = ["Hooked", "call_forward", "has_hooks"]


def has_hooks(module: nn.Module) -> bool:
    """Whether calling ``module`` runs forward pre-hooks or forward hooks (its own, or global ones)."""
    return bool(module._forward_pre_hooks or module._forward_hooks or _GLOBAL_PRE_HOOKS or _GLOBAL_HOOKS)


_GLOBAL_PRE_HOOKS = _torch_module._global_forward_pre_hooks
_GLOBAL_HOOKS = _torch_module._global_forward_hooks
_GLOBAL_HOOKS_WITH_KWARGS = _torch_module._global_forward_hooks_with_kwargs


def call_forward(module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """``module.forward`` with its forward pre-hooks and hooks, the global ones first, as ``nn.Module._call_impl``
    runs them in inference (backward hooks are not set up)."""
    if not has_hooks(module):
        return module.forward(*args, **kwargs)
    for hook_id, hook in (*_GLOBAL_PRE_HOOKS.items(), *module._forward_pre_hooks.items()):
        if hook_id in module._forward_pre_hooks_with_kwargs:
            changed = hook(module, args, kwargs)
            if changed is not None:
                if not (isinstance(changed, tuple) and len(changed) == 2):
                    raise RuntimeError(f"forward pre-hook must return None or a tuple of (new_args, new_kwargs), "
                                       f"but got {changed}.")  # fmt: skip
                args, kwargs = changed
        else:
            changed = hook(module, args)
            if changed is not None:
                args = changed if isinstance(changed, tuple) else (changed,)
    result = module.forward(*args, **kwargs)
    for hook_id, hook in (*_GLOBAL_HOOKS.items(), *module._forward_hooks.items()):
        if hook_id in module._forward_hooks_with_kwargs or hook_id in _GLOBAL_HOOKS_WITH_KWARGS:
            changed = hook(module, args, kwargs, result)
        else:
            changed = hook(module, args, result)
        if changed is not None:
            result = changed
    return result


class Hooked:
    """A module's call with its hooks, as a node runs it (``run(*args, **kwargs)``)."""

    __slots__ = ("module",)

    def __init__(self, module: nn.Module) -> None:
        self.module = module

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return call_forward(self.module, args, kwargs)
