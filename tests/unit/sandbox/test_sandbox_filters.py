"""GET /filters and the filter expression compiler."""

from __future__ import annotations

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from desktop_app.sandbox import DEMO_TOKEN
from desktop_app.sandbox.filters import FILTERS, FilterError, compile_filters, matches

TYPICAL_ACCOUNT = {
    (1, "Source of logs"): {2: "MyOperator IVR", 3: "Mobile"},
    (4, "Event of logs"): {5: "Incoming", 6: "Outgoing"},
    (7, "Type of logs"): {8: "Call", 9: "SMS"},
    (11, "Status of logs"): {12: "Connected", 13: "Missed", 14: "Voicemail"},
    (15, "Tags"): {16: "Sales lead", 17: "Complaint", 18: "VIP", 19: "Follow-up"},
    (21, "Call property"): {22: "Noted", 23: "Archived", 24: "Star marked"},
}
CHILD_IDS = sorted(f.id for f in FILTERS if f.parent_id)


async def test_filters_endpoint_is_the_typical_account(client: httpx.AsyncClient) -> None:
    response = await client.get("/filters", params={"token": DEMO_TOKEN})
    body = response.json()
    assert body["status"] == "success"
    rows = body["data"]
    assert all(set(row) == {"id", "name", "parent_id"} for row in rows)
    headers = {(r["id"], r["name"]) for r in rows if r["parent_id"] == 0}
    assert headers == set(TYPICAL_ACCOUNT)
    for (header_id, _), children in TYPICAL_ACCOUNT.items():
        got = {r["id"]: r["name"] for r in rows if r["parent_id"] == header_id}
        assert got == children


def test_blank_expression_is_no_filter() -> None:
    assert compile_filters("") is None
    assert compile_filters("   ") is None


def test_flat_and_is_one_term() -> None:
    assert compile_filters("5 AND 13 AND 8") == ((1 << 5) | (1 << 13) | (1 << 8),)


def test_or_of_ands_expands_to_dnf() -> None:
    terms = compile_filters("(2 OR 3) AND 5")
    assert terms is not None
    assert set(terms) == {(1 << 2) | (1 << 5), (1 << 3) | (1 << 5)}


def test_runaway_expressions_are_refused() -> None:
    pairs = [CHILD_IDS[i : i + 2] for i in range(0, 16, 2)]
    product = " AND ".join(f"({a} OR {b})" for a, b in pairs)
    terms = compile_filters(product)
    assert terms is not None and len(terms) == 256
    with pytest.raises(FilterError, match="too complex"):
        compile_filters(product + " OR 12")
    with pytest.raises(FilterError, match="too long"):
        compile_filters(" OR ".join(["12"] * 300))


def _expressions() -> st.SearchStrategy[str]:
    leaf = st.sampled_from(CHILD_IDS).map(str)
    return st.recursive(
        leaf,
        lambda inner: st.one_of(
            st.tuples(inner, st.sampled_from(["AND", "OR"]), inner).map(" ".join),
            inner.map(lambda e: f"({e})"),
        ),
        max_leaves=8,
    )


@given(_expressions(), st.sets(st.sampled_from(CHILD_IDS)))
def test_compiled_expression_agrees_with_python_precedence(
    expression: str, carried: set[int]
) -> None:
    try:
        terms = compile_filters(expression)
    except FilterError as exc:
        assert "too complex" in str(exc)
        return
    assert terms is not None
    mask = sum(1 << i for i in carried)
    # Oracle: Python's own `and`/`or`, which have the same precedence.
    tokens = [
        f"({tok} in carried)" if tok.isdigit() else tok.lower()
        for tok in expression.replace("(", " ( ").replace(")", " ) ").split()
    ]
    expected = eval(" ".join(tokens), {"carried": carried})
    assert matches(mask, terms) == bool(expected)
