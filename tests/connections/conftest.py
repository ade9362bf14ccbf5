"""Connection tests run the OAuth flows against the loopback fakes."""

from tests.fakes.fixtures import *  # noqa: F403
