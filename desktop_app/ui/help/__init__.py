"""The Help menu: Diagnostics, Keyboard shortcuts, About."""
