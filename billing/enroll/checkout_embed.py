"""The hosted checkout embedded in one of our pages (the sandbox's stand-in iframe), shared by
the demo site's enrollment page and the card-update link's page.

The page hands the iframe its session secret once the iframe says it is ready (only to the
sandbox's own origin), and posts the card the iframe reports (brand, last four, expiry: never a
number) to ``action``; ``card_of`` reads that form back.
"""

from __future__ import annotations

import html
import json
from urllib.parse import parse_qs, urlsplit

from fastapi import Request

from billing.enroll.models import CardIn


def origin_of(sandbox: str) -> str:
    return "{0.scheme}://{0.netloc}".format(urlsplit(sandbox))


def embed(*, sandbox: str, session_secret: str | None, action: str) -> str:
    """The iframe, the hidden form it fills, and the script between them."""
    origin = origin_of(sandbox)
    init = json.dumps({"type": "toast-checkout:init", "sessionSecret": session_secret})
    return (
        f"<iframe name='toast-checkout' title='Card details' src='{html.escape(sandbox)}"
        f"/__sandbox__/checkout'></iframe>"
        f"<form id='done' method='post' action='{html.escape(action, quote=True)}'>"
        "<input type='hidden' name='brand'><input type='hidden' name='last_four'>"
        "<input type='hidden' name='exp_month'><input type='hidden' name='exp_year'></form>"
        "<script>(function(){var frame=document.querySelector('iframe');"
        f"var origin={json.dumps(origin)};"
        "window.addEventListener('message',function(e){if(e.origin!==origin)return;"
        "var d=e.data||{};"
        f"if(d.type==='toast-checkout:ready'){{frame.contentWindow.postMessage({init},origin);}}"
        "if(d.type==='toast-checkout:result'&&d.result&&!d.result.error){"
        "var f=document.getElementById('done'),c=d.result.card||{},x=c.expiry||{};"
        "f.brand.value=c.brand||'';f.last_four.value=c.lastFour||'';"
        "f.exp_month.value=x.month||'';f.exp_year.value=x.year||'';f.submit();}});})();"
        "</script>"
    )


async def form_of(request: Request) -> dict[str, str]:
    parsed = parse_qs((await request.body()).decode(errors="replace"))
    return {key: values[0] for key, values in parsed.items()}


def card_of(form: dict[str, str]) -> CardIn | None:
    """The card the iframe reported, or None when the form is not one it filled."""
    try:
        return CardIn(brand=form.get("brand", ""), last_four=form.get("last_four", ""),
                      exp_month=int(form.get("exp_month", "0")),
                      exp_year=2000 + int(form.get("exp_year", "0")[-2:]))  # fmt: skip
    except ValueError:
        return None
