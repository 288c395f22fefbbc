"""A provider SDK's lazy module asked for by two threads at once: both get the whole module.
(Python < 3.12.3 and pulumi's copy of the stdlib class let the second see it half-loaded.)"""

from __future__ import annotations

import sys
import threading
import time

import pulumi._utils as pulumi_utils
import pytest

from conduit.offline import lazy_modules


@pytest.fixture
def slow_package(tmp_path, monkeypatch):
    package = tmp_path / "slowpkg"
    package.mkdir()
    (package / "__init__.py").write_text("import time\nFIRST = 1\ntime.sleep(0.5)\nLAST = 2\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield lambda: pulumi_utils.lazy_import("slowpkg")
    sys.modules.pop("slowpkg", None)


def _race(module) -> list[object]:
    got: list[object] = []

    def ask() -> None:
        try:
            got.append(module.LAST)
        except AttributeError as error:
            got.append(error)

    first = threading.Thread(target=ask)
    first.start()
    time.sleep(0.1)  # the first thread is inside the module's code
    ask()
    first.join()
    return got


def test_without_the_lock_a_second_thread_sees_the_module_half_loaded(slow_package, monkeypatch):
    monkeypatch.setattr(pulumi_utils._LazyModule, "__getattribute__", pulumi_utils._LazyModule.__getattribute__)
    assert any(isinstance(g, AttributeError) for g in _race(slow_package()))


def test_with_the_lock_every_thread_waits_for_the_whole_module(slow_package, monkeypatch):
    monkeypatch.setattr(pulumi_utils._LazyModule, "__getattribute__", pulumi_utils._LazyModule.__getattribute__)
    lazy_modules.install()
    module = slow_package()
    assert _race(module) == [2, 2]
    assert type(module) is not pulumi_utils._LazyModule and module.FIRST == 1


def test_a_module_that_gives_itself_a_class_keeps_it(tmp_path, monkeypatch):
    """Generated SDKs' `config` modules end by swapping their own class (for `aws.config.region`)."""
    package = tmp_path / "selfclass"
    package.mkdir()
    (package / "__init__.py").write_text(
        "import sys, types\nclass Exported(types.ModuleType):\n    @property\n    def region(self):\n"
        "        return 'us-east-1'\nsys.modules[__name__].__class__ = Exported\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(pulumi_utils._LazyModule, "__getattribute__", pulumi_utils._LazyModule.__getattribute__)
    lazy_modules.install()
    try:
        assert pulumi_utils.lazy_import("selfclass").region == "us-east-1"
    finally:
        sys.modules.pop("selfclass", None)
