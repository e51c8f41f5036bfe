"""The first run (Connect my account / Try the demo) and Replace token."""
