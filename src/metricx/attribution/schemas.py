"""Request bodies of the attribution API."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

ModelName = Literal["last_click", "first_click", "linear", "time_decay", "position_based"]
WindowDays = Literal[1, 7, 14, 28, 30, 90]


class AttributionSettingsIn(BaseModel):
    """A change of the workspace's attribution model, window or time-decay half-life."""

    model_config = ConfigDict(extra="forbid")

    model: ModelName | None = None
    window_days: WindowDays | None = None
    time_decay_half_life_days: float | None = Field(default=None, gt=0, le=90)
