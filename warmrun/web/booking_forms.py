"""Input models of bookings: slots, options, the desk's day and its handed-out counts."""

from __future__ import annotations

from datetime import date, time
from typing import Literal

from pydantic import Field

from warmrun.web.forms import Form

# Days the desk's views may ask about (far enough from the calendar's ends to add a day).
Day = Field(None, ge=date(2000, 1, 1), le=date(2100, 12, 31))


class NewSlots(Form):
    """``days`` daily slots from ``day``, ``starts``–``ends`` in the compound's local time."""

    day: date = Field(ge=date(2000, 1, 1), le=date(2100, 12, 31))
    starts: time
    ends: time
    capacity: int = Field(ge=1, le=1000)
    days: int = Field(1, ge=1, le=14)


class OptionChoice(Form):
    name_zh: str = Field(min_length=1, max_length=32)
    name_en: str = Field(min_length=1, max_length=32)


class NewOptionGroup(Form):
    """A question residents answer when booking (口味 flavour), with its answers."""

    name_zh: str = Field(min_length=1, max_length=32)
    name_en: str = Field(min_length=1, max_length=32)
    choices: list[OptionChoice] = Field(min_length=1, max_length=12)


class DayQuery(Form):
    day: date | None = Day  # the compound's today unless given


class HandedOutQuery(Form):
    since: date | None = Day  # a week before ``until`` unless given
    until: date | None = Day  # today unless given
    lang: Literal["zh", "en"] = "zh"  # the CSV's headers
