"""Canary secrets for redaction tests: when the `canaries` setting is on, every API response carries them.

They are planted where a careless upstream leaks secrets: a nested `debug` object in the data, the text of
error messages, and a response header. Ordinary fields that merely look similar (`pincode`, `token_count`)
ride along, and must survive redaction.
"""

from __future__ import annotations

import base64
import json
from typing import Any


def _b64(obj: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()


def luhn_complete(prefix: str) -> str:
    """`prefix` plus the check digit that makes it Luhn-valid."""
    total = 0
    for i, ch in enumerate(reversed(prefix)):
        n = int(ch)
        if i % 2 == 0:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return prefix + str((10 - total % 10) % 10)


CARD_16 = luhn_complete("411111111111111")
CARD_19 = luhn_complete("622202761403958817")
CANARIES = {
    "jwt": ".".join(
        [
            _b64({"alg": "HS256", "typ": "JWT"}),
            _b64({"sub": "canary-subject", "exp": 4102444800}),
            "c2lnbmF0dXJlLWNhbmFyeQ",
        ]
    ),
    "refresh_token": "rt_canary_Qm9vbXNoYWthbGFrYQ",
    "card_16": " ".join(CARD_16[i : i + 4] for i in range(0, 16, 4)),
    "card_19": "-".join([CARD_19[:4], CARD_19[4:8], CARD_19[8:12], CARD_19[12:16], CARD_19[16:]]),
    "cvv": "737",
    "pin": "4921",
    "password": "Canary-Pa55word!",
    "otp": "913524",
}
HARMLESS = {"pincode": "560001", "token_count": 42}


def debug_block() -> dict[str, Any]:
    return {
        "session": {"access_token": CANARIES["jwt"], "refresh_token": CANARIES["refresh_token"]},
        "payment": {"card_number": CANARIES["card_16"], "cvv": CANARIES["cvv"]},
        "auth": {"password": CANARIES["password"], "transaction_pin": CANARIES["pin"], "otp": CANARIES["otp"]},
        "note": f"last charge on {CANARIES['card_19']} with Bearer {CANARIES['jwt']}",
        **HARMLESS,
    }


def message_suffix() -> str:
    c = CANARIES
    return (
        f" [trace: Bearer {c['jwt']}; refresh_token={c['refresh_token']}; card {c['card_16']} / {c['card_19']}; "
        f"cvv={c['cvv']}; pin: {c['pin']}; password={c['password']}; otp={c['otp']}]"
    )


def plant(data: Any) -> Any:
    return {**data, "debug": debug_block()} if isinstance(data, dict) else data


HEADERS = {"X-Debug-Authorization": f"Bearer {CANARIES['jwt']}"}
