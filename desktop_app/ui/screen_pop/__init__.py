"""The screen-pop: who is calling, shown while the phone rings (team relay only)."""
