"""What Preferences' account block says: told by the app, shown when the dialog is."""

from __future__ import annotations

from dataclasses import dataclass

#: What signing out does, as the confirmation says it, unless the app says otherwise.
SIGN_OUT_TEXT = (
    "The token is removed from this computer (the keyring or its file), and the "
    "window closes until you connect again."
)
RELAY_SIGN_OUT_TEXT = (
    "Your relay credential is removed from this computer (the keyring or its file), and "
    "the window closes until you connect again."
)


@dataclass(frozen=True)
class AccountView:
    """Where the token is kept (`warning`: somewhere it deserves one), and what the
    block offers: the demo has no token to sign out of, only a way to a real account;
    through the team relay (`relay`) the secret is the agent's credential."""

    status: str = "Not known yet."
    warning: bool = False
    demo: bool = False
    relay: bool = False
    sign_out_text: str = SIGN_OUT_TEXT
