"""The preview of a release (and its club-run report) as one self-contained HTML page: the same
rows and totals as ``billing releases preview --json``. Jinja2 with autoescape: member emails,
items and reasons are user text."""

from __future__ import annotations

from typing import Any

import jinja2

from billing.clubs.preview import Preview
from billing.domain.money import format_cents

TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ p.title }}: preview</title>
<style>
body { font: 14px/1.45 system-ui, sans-serif; margin: 32px; color: #1f2933; }
table { border-collapse: collapse; width: 100%; } th, td { padding: 4px 8px;
  border-bottom: 1px solid #e4e7eb; text-align: left; vertical-align: top; }
td.n { text-align: right; } .blocked { color: #d0533f; } .muted { color: #6b7785; }
</style></head><body>
<h1>{{ p.title }}</h1>
<p class="muted">Release {{ p.release_id }}, {{ p.status }},
{{ "approved" if p.approved else "NOT approved" }}; processes {{ p.process_at }},
cutoff {{ p.cutoff_at }}{% if p.snapshot_at %}; snapshot {{ p.snapshot_at }}{% endif %}</p>
{% for line in p.differences %}<p class="blocked">Changed since the cutoff (processing
refuses): {{ line }}</p>{% endfor %}
<p>{{ t.chargeable }} chargeable, {{ money(t.chargeable_cents) }}; {{ t.shipped_now }} shipped
now; {{ t.skipped }} skipped; {{ t.on_hold }} on hold; {{ t.blocked }} blocked;
{{ t.cancelled }} cancelled.</p>
<table><thead><tr><th>Member</th><th>Tier</th><th>Status</th><th>Amount</th><th>Card</th>
<th>Lines / reason</th></tr></thead><tbody>
{% for r in p.rows %}<tr class="{{ r.category }}"><td>{{ r.member }}</td><td>{{ r.tier }}</td>
<td>{{ r.category }}</td><td class="n">{{ money(r.amount_cents) }}</td><td>{{ r.card }}</td>
<td>{% if r.category == "chargeable" %}{% for x in r.lines %}{{ x.qty }} x {{ x.item }}
({{ money(x.net_cents) }}){% if not loop.last %}, {% endif %}{% endfor %}; shipping
{{ money(r.shipping_cents) }}, tax {{ money(r.tax_cents) }}{% if r.explicit_reason %}; amount
set by staff: {{ r.explicit_reason }}{% endif %}{% else %}{{ r.reason }}{% endif %}</td></tr>
{% endfor %}</tbody></table>
{% if run %}<h2>Club run</h2><table><tbody>
{% for k, v in run.counts.items() %}<tr><td>{{ k }}</td><td class="n">{{ v }}</td></tr>
{% endfor %}<tr><td>revenue</td><td class="n">{{ money(run.revenue_cents) }}</td></tr>
{% for k, v in run.revenue_by_tier.items() %}<tr><td>revenue, {{ k }}</td>
<td class="n">{{ money(v) }}</td></tr>{% endfor %}</tbody></table>{% endif %}
</body></html>
"""
_ENV = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)


def _money(cents: int | None) -> str:
    return "" if cents is None else format_cents(int(cents))


def render(preview: Preview, run: dict[str, Any] | None = None) -> str:
    rows = [{"member": "", "lines": [], "explicit_reason": None, "shipping_cents": None,
             "tax_cents": None, **r} for r in preview.rows]  # fmt: skip
    view = Preview(**{**preview.__dict__, "rows": rows})
    return _ENV.from_string(TEMPLATE).render(p=view, t=preview.totals, run=run, money=_money)
