"""The deterministic demo dataset behind `metricx demo` (see plan, generator, loader)."""

from metricx.demo.names import DROP_CAMPAIGN_NAME, STAR_CAMPAIGN_NAME

__all__ = ["DROP_CAMPAIGN_NAME", "STAR_CAMPAIGN_NAME"]
