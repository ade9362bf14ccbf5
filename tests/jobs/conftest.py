"""Job contexts wired to fake connectors: the same `make_jc` fixture the sync tests use."""

from tests.sync.conftest import make_jc

__all__ = ["make_jc"]
