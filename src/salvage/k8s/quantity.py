"""Kubernetes resource quantities ("1Gi", "500M", "1.5Gi") to and from bytes."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {"k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18, "m": Decimal("0.001")}


def parse_quantity(value: str | int) -> int:
    """Bytes in a quantity, rounded up (storage sizes are whole bytes)."""
    if isinstance(value, int):
        return value
    text = value.strip()
    for suffixes in (_BINARY, _DECIMAL):
        for suffix, factor in suffixes.items():
            if text.endswith(suffix):
                return _ceil(_number(text[: -len(suffix)], value) * Decimal(factor))
    return _ceil(_number(text, value))


def format_bytes(size: int) -> str:
    """The shortest exact binary quantity for ``size`` bytes (``1073741824`` → ``1Gi``)."""
    for suffix in ("Ei", "Pi", "Ti", "Gi", "Mi", "Ki"):
        factor = _BINARY[suffix]
        if size >= factor and size % factor == 0:
            return f"{size // factor}{suffix}"
    return str(size)


def _number(text: str, original: str | int) -> Decimal:
    try:
        return Decimal(text)
    except InvalidOperation as exc:
        raise ValueError(f"{original!r} is not a Kubernetes quantity") from exc


def _ceil(number: Decimal) -> int:
    return int(number.to_integral_value(rounding="ROUND_CEILING"))
