"""RFC 8785 (JCS) canonical JSON, fast on long arrays of numbers.

``rfc8785.dumps`` serialises value by value in Python: about 0.05 s for one full NB201 result
(15,625 ids, scores and per-batch values), which made verification the slowest part of building
the site. Here an array of plain numbers is written by the C ``json`` encoder in one call and then
brought to the RFC 8785 form with two regular expressions:

- Python's ``repr`` and ECMAScript's Number-to-String pick the same shortest round-trip digits;
  they differ only in spelling. ECMAScript drops the ``.0`` of an integral value and the sign of
  ``-0``; the few exponent spellings that differ are re-spelled by ``rfc8785`` itself.
- NaN and infinities, integers outside +-(2**53 - 1) and lone surrogates are refused as
  ``rfc8785`` refuses them (its ``CanonicalizationError`` subclasses).

Everything else (objects, strings, short arrays, mixed arrays) goes through ``rfc8785`` value by
value. The output equals ``rfc8785.dumps`` byte for byte; ``tests/test_canonical.py`` checks it on
generated values.
"""

from __future__ import annotations

import json
import re
from typing import Any, Callable

import rfc8785

#: Arrays shorter than this are not worth the fast path's checks.
FAST_FROM = 16
_INT_MAX = 2**53 - 1
_MINUS_ZERO = re.compile(r"(?<=[\[,])-0(?=[,\]])")
# Python writes an exponent for 1e16 <= |x| < 1e21 and |x| < 1e-4, ECMAScript only from 1e21 and
# below 1e-6, and Python pads negative exponents to two digits ("1e-07"; ECMAScript "1e-7"). Other
# exponents ("1.5e+36", "2e-10") are spelled alike.
_DIFFERENT_EXPONENT = re.compile(r"e(?:\+(?:1[6-9]|20)|-0\d)$")


def dumps(value: Any) -> bytes:
    """The RFC 8785 canonical UTF-8 bytes of a JSON value (dict, list, str, int, float, bool, None).

    Raises:
        rfc8785.CanonicalizationError: NaN or infinite floats, integers beyond 2**53 - 1 in
            magnitude, non-string object keys, lone surrogates, unsupported types.
    """
    parts: list[str] = []
    _dump(value, parts.append)
    try:
        return "".join(parts).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise rfc8785.CanonicalizationError("input contains non-UTF-8 codepoints") from exc


def _dump(value: Any, out: Callable[[str], None]) -> None:
    if isinstance(value, dict):
        if any(not isinstance(k, str) for k in value):
            raise rfc8785.CanonicalizationError("object keys must be strings")
        out("{")
        for i, key in enumerate(sorted(value, key=lambda k: k.encode("utf-16be", "surrogatepass"))):
            if i:
                out(",")
            out(_scalar(key))
            out(":")
            _dump(value[key], out)
        out("}")
    elif isinstance(value, (list, tuple)):
        fast = _number_array(value) if len(value) >= FAST_FROM else None
        if fast is not None:
            out(fast)
            return
        out("[")
        for i, item in enumerate(value):
            if i:
                out(",")
            _dump(item, out)
        out("]")
    else:
        out(_scalar(value))


def _scalar(value: Any) -> str:
    # rfc8785 refuses lone surrogates while encoding; let them through here so that dumps() raises
    # the same error after joining (keys are sorted on surrogate-passing UTF-16 for the same reason).
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return rfc8785.dumps(value).decode()


def _number_array(items: list | tuple) -> str | None:
    """The canonical text of an array of plain ints and floats, or None when it holds anything else."""
    kinds = set(map(type, items))
    if not kinds <= {float, int}:
        return None
    if int in kinds:
        ints = [x for x in items if type(x) is int] if float in kinds else items
        if max(ints) > _INT_MAX or min(ints) < -_INT_MAX:
            return None  # rfc8785 raises IntegerDomainError on the slow path
    text = json.dumps(items, separators=(",", ":"))
    if float in kinds:
        # Only a float token can end in ".0" (repr has no other trailing zero), so plain replaces do.
        text = text.replace(".0,", ",").replace(".0]", "]")
        if "-0," in text or "-0]" in text:  # -0.0 became "-0"; JCS writes 0
            text = _MINUS_ZERO.sub("0", text)
    if "e" in text or "N" in text or "I" in text:  # a substring test first: most arrays have neither
        text = "[" + ",".join(_respell(t) if "e" in t or not t[-1].isdigit() else t for t in text[1:-1].split(",")) + "]"
    return text


def _respell(token: str) -> str:
    """ECMAScript's spelling of a Python float token that has an exponent (or is NaN / Infinity)."""
    if not token[-1].isdigit():  # NaN, Infinity, -Infinity: let rfc8785 refuse them
        return rfc8785.dumps(float(token)).decode()
    if not _DIFFERENT_EXPONENT.search(token):
        return token
    mantissa, exponent = token.split("e")
    sign = "-" if mantissa.startswith("-") else ""
    digits = mantissa.lstrip("-").replace(".", "")  # shortest digits d1 d2 ..., value = d1.d2... * 10**exponent
    power = int(exponent)
    if power > 0:
        return sign + digits + "0" * (power + 1 - len(digits))
    if power >= -6:
        return f"{sign}0.{'0' * (-power - 1)}{digits}"
    return f"{mantissa}e{power}"
