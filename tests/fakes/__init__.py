"""Loopback fake provider servers that speak each provider's wire format.

Each fake is a small ASGI app with deterministic data, knobs for failures (rate limits,
5xx, hangs, expired tokens, restated days) and request counters. `fixtures.py` starts
them on 127.0.0.1 on a free port; see the README in this folder for the knobs.
"""
