"""What a provider's Python SDK declares, read from the SDK itself: the class behind a type or
function token, the properties it declares with their types, which of them a program may set,
and which hold resources.

Lookups go through the file that defines a class (`pulumi_aws.ec2.instance`), never only its
package: packages are lazy modules, which Python < 3.12.3 shows half-loaded to other threads,
and the mock monitor asks on executor threads while the program's thread is loading them.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import keyword
import re
import sys
import typing
from collections.abc import Sequence
from typing import Any

import pulumi


def snake(name: str) -> str:
    """A Pulumi name as the Python SDKs name its file: `vpcEndpoint` -> `vpc_endpoint`,
    `graphQLApi` -> `graph_ql_api`, `iPSet` -> `ip_set`."""
    name = re.sub(r"^([a-z])([A-Z]+)(?=[A-Z][a-z]|\d|$)", lambda m: m[1] + m[2].lower(), name)
    name = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower()


@functools.cache  # a failed import looks through every folder on sys.path: fail once per name
def _missing(name: str) -> bool:
    try:
        importlib.import_module(name)
    except ImportError:
        return True
    return False


def _import(name: str) -> Any:
    return sys.modules.get(name) or (None if _missing(name) else importlib.import_module(name))


@functools.cache
def _module(token: str) -> tuple[Any, str] | None:
    """(Python module, member name) of a type or function token such as `aws:ec2/getAmi:getAmi`.

    The file that defines the member (`pulumi_aws.ec2.get_ami`) comes first: the program already
    imported it on its own thread, and a real import is thread-safe. The package (`pulumi_aws.ec2`)
    is a lazy module, which on Python < 3.12.3 another thread can show half-loaded; the mock
    monitor answers on executor threads while the program loads packages, so a class looked up
    there could be missing and its outputs silently never made.
    """
    try:
        package, module, member = token.split(":")
    except ValueError:
        return None
    folder, _, file = module.partition("/")
    root = f"pulumi_{package.replace('-', '_')}"
    folder = f"{folder}_" if keyword.iskeyword(folder) else folder.replace("-", "_")
    if _import(root) is None:  # not a provider's package (the program's own component types)
        return None
    where = root if folder in ("", "index") else f"{root}.{folder}"
    # A resource class keeps its name; a data source is `get_ami` (`getRegion2` is `get_region`).
    members = (member, snake(member), snake(re.sub(r"\d+$", "", member)))
    for name in ([f"{where}.{snake(file)}"] if file else []) + [where, root]:
        found = _import(name)
        for candidate in members if found is not None else ():
            if getattr(found, candidate, None) is not None:
                return found, candidate
    return None


@functools.cache
def declared(cls: type) -> dict[str, Any]:
    """Pulumi name -> Python type of every property a resource or result class declares."""
    found = {}
    for _, prop in inspect.getmembers(cls, lambda m: isinstance(m, property)):
        name = getattr(prop.fget, "_pulumi_name", None)
        if not name:
            continue
        try:
            hint = typing.get_type_hints(prop.fget).get("return", Any)
        except Exception:  # a hint the SDK could not resolve: still make a value by name
            hint = Any
        found[name] = hint
    return found


def resource_class(token: str) -> type | None:
    located = _module(token)
    return getattr(located[0], located[1], None) if located else None


def result_class(token: str) -> type | None:
    located = _module(token)
    if located is None:
        return None
    function = getattr(*located)
    annotation = inspect.signature(function).return_annotation
    return annotation if inspect.isclass(annotation) else None


def unwrap(hint: Any) -> Any:
    """`Output[Optional[Sequence[str]]]` -> `Sequence[str]`."""
    while True:
        origin, args = typing.get_origin(hint), typing.get_args(hint)
        if origin is pulumi.Output or (inspect.isclass(origin) and issubclass(origin, pulumi.Output)):
            hint = args[0] if args else Any
        elif origin is typing.Union:
            rest = [a for a in args if a is not type(None)]
            hint = rest[0] if rest else Any
        else:
            return hint


def settable(cls: type) -> set[str]:
    """Pulumi names of the inputs a resource takes: its `<Name>Args` class where the file defines
    one (pulumi_kubernetes' `ServiceArgs` is the object's shape, status included, so the
    constructor's own parameters decide there)."""
    args = getattr(sys.modules.get(cls.__module__), f"{cls.__name__}Args", None)
    if inspect.isclass(args) and args.__module__ == cls.__module__:
        return set(declared(args))
    init = getattr(cls, "_internal_init", None)
    skip = {"__self__", "resource_name", "opts", "__props__", "self"}
    return {_camel(n) for n in inspect.signature(init).parameters if n not in skip} if init else set()


def resource_in(hint: Any) -> tuple[type | None, bool]:
    """(resource class, is it a list) an output holds, or (None, False) for any other value."""
    hint = unwrap(hint)
    args = typing.get_args(hint)
    many = bool(args) and typing.get_origin(hint) in (list, Sequence, typing.Sequence)
    inner = unwrap(args[0]) if many else hint
    return (inner, many) if inspect.isclass(inner) and issubclass(inner, pulumi.Resource) else (None, False)


def holds_resources(hint: Any) -> bool:
    """Outputs that are resources themselves (a component's children) travel as references."""
    return resource_in(hint)[0] is not None


def _camel(snake: str) -> str:
    head, *rest = snake.removesuffix("_").split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def resource_token(cls: type) -> str | None:
    """The type token of a provider SDK's resource class (`pulumi_aws.lb.load_balancer.LoadBalancer`
    -> `aws:lb/loadBalancer:LoadBalancer`), checked by looking it up again."""
    root, *folders, file = cls.__module__.split(".")
    if not root.startswith("pulumi_"):
        return None
    module = "/".join([folders[0].removesuffix("_") if folders else "index", _camel(file)])
    token = f"{root.removeprefix('pulumi_').replace('_', '-')}:{module}:{cls.__name__}"
    return token if resource_class(token) is cls else None
