"""suite.canonical equals rfc8785.dumps byte for byte, and refuses what it refuses."""

from __future__ import annotations

import json
import math

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from suite import canonical

EDGE_FLOATS = [0.0, -0.0, 1.0, -2.0, 1e-7, 1e-6, 9.999e-5, 1e-4, 1e15, 1e16, 9.007199254740993e15, 1e20, 1e21, 1.5e21,
               5e-324, 1.7976931348623157e308, 123456789012345.6, 0.1, -1e-5, 2.0**53, float("nan"), float("inf"),
               float("-inf")]
numbers = st.one_of(st.floats(), st.sampled_from(EDGE_FLOATS),
                    st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1), st.integers())
strings = st.text(st.characters(blacklist_categories=()), max_size=12)  # control characters and lone surrogates too
scalars = st.one_of(st.none(), st.booleans(), numbers, strings)
values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=20),
        st.lists(numbers, min_size=canonical.FAST_FROM, max_size=60),  # the fast path
        st.lists(st.floats(min_value=-1e6, max_value=1e6), min_size=canonical.FAST_FROM, max_size=60),
        st.dictionaries(strings, children, max_size=6),
    ),
    max_leaves=80,
)


def _outcome(func, value):
    try:
        return func(value)
    except ValueError:  # CanonicalizationError, and rfc8785's UnicodeEncodeError on a lone surrogate key
        return "refused"


@settings(max_examples=600, deadline=None)
@given(values)
def test_equals_rfc8785(value):
    assert _outcome(canonical.dumps, value) == _outcome(rfc8785.dumps, value)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=canonical.FAST_FROM, max_size=200))
def test_finite_float_arrays_round_trip(items):
    text = canonical.dumps(items)
    assert text == rfc8785.dumps(items)
    assert [float(x) for x in json.loads(text)] == [x + 0.0 for x in items]  # -0 is written as 0


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), 2**53, -(2**53)])
def test_fast_path_refuses_what_rfc8785_refuses(bad):
    items = [0.5] * canonical.FAST_FROM + [bad]
    with pytest.raises(rfc8785.CanonicalizationError):
        canonical.dumps(items)


def test_hand_checked_spellings():
    items = [2.0, -0.0, 1e-7, 1e21, 1e20, 0.000001, 1.5, -3, 123.0] + [0.25] * canonical.FAST_FROM
    assert canonical.dumps(items).startswith(b"[2,0,1e-7,1e+21,100000000000000000000,0.000001,1.5,-3,123,0.25")
    assert canonical.dumps({"b": [1.0], "a": "\u20ac\n"}) == '{"a":"\u20ac\\n","b":[1]}'.encode()
    assert math.isclose(json.loads(canonical.dumps([1e-5] * 20))[0], 1e-5)
