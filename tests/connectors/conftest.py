"""Connector tests run the real clients against the loopback fakes."""

from tests.fakes.fixtures import *  # noqa: F403


class Recorder:
    """An injectable sleep that records waits instead of passing time."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
