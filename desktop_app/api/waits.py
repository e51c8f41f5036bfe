"""How a wait reads to a person, in one place for every layer: the API's own messages (a
429, a spent budget) say it, and so do the status bar and the dialer."""

from __future__ import annotations

import math


def format_wait(seconds: float) -> str:
    """How long until something happens, as a person says it: "40 s", "43 min",
    "about 1 h 5 min". Rounded up (a wait shown is never shorter than the real one)."""
    whole = max(0, math.ceil(seconds))
    if whole < 60:
        return f"{whole} s"
    minutes = math.ceil(whole / 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"about {hours} h {minutes} min" if minutes else f"about {hours} h"
