"""Provider SDKs' lazy modules, loaded once and whole however many threads ask.

Written against pulumi 3.x's `pulumi._utils._LazyModule` (pinned exactly, reached through
conduit.offline.pulumi_seam: this replaces its `__getattribute__`). The generated SDKs
(`pulumi_aws.ec2`, ...) are lazy modules: the first attribute access runs the module's code.
pulumi's copy of the stdlib class turns the module into a plain one *before* running that code, so
a second thread asking meanwhile (the SDK resolves output types and rebuilds resource references on
executor threads while the program's thread imports) sees it half-loaded: `module 'pulumi_aws.ec2'
has no attribute 'Eip'` (two awsx Vpcs in one program). Here a load runs under one re-entrant lock
and the module stays lazy until its code has run, so another thread waits for the whole module
instead.
"""

from __future__ import annotations

import sys
import threading
import types
from typing import Any

from conduit.offline.pulumi_seam import LAZY_INTROSPECTION, LAZY_MODULE

_LOCK = threading.RLock()
_LOADING: set[int] = set()


def _load_then_get(module: types.ModuleType, attr: str) -> Any:
    if attr in LAZY_INTROSPECTION:
        return types.ModuleType.__getattribute__(module, attr)
    with _LOCK:
        if types.ModuleType.__getattribute__(module, "__class__") is not LAZY_MODULE \
                or id(module) in _LOADING:  # loaded meanwhile, or being loaded by this thread
            return types.ModuleType.__getattribute__(module, attr)
        _LOADING.add(id(module))
        try:
            spec = types.ModuleType.__getattribute__(module, "__spec__")
            attrs_then = spec.loader_state["__dict__"]
            attrs_now = types.ModuleType.__getattribute__(module, "__dict__")
            updated = {k: v for k, v in attrs_now.items() if k not in attrs_then or attrs_then[k] is not v}
            spec.loader.exec_module(module)
            if spec.name in sys.modules and sys.modules[spec.name] is not module:
                raise ValueError(f"module object for {spec.name!r} substituted in sys.modules during a lazy load")
            attrs_now.update(updated)
        finally:
            # A module's own code may give it a class of its own (an SDK's `config` module does):
            # only a module still lazy becomes a plain one.
            if types.ModuleType.__getattribute__(module, "__class__") is LAZY_MODULE:
                module.__class__ = types.ModuleType
            _LOADING.discard(id(module))
    return getattr(module, attr)


def install() -> None:
    LAZY_MODULE.__getattribute__ = _load_then_get  # type: ignore[attr-defined]
