"""Connector tests run the real clients against the loopback fakes."""

from tests.fakes.fixtures import *  # noqa: F403
from tests.fakes.fixtures import RecordingSleep

Recorder = RecordingSleep
