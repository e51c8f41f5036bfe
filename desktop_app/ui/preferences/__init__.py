"""Preferences (Ctrl+,) and the two pickers the first run shares with it."""
