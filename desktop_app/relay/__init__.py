"""The team relay: MyOperator's webhooks in, one Redis stream, every desktop out.

Only the relay holds the account's API token; agents sign in to it with credentials an
admin issues and revokes (``myoperator relay agent``). Relay processes keep no state of
their own (see `engine`), so they scale out behind any load balancer.
"""
