"""``/staff/``: the vendor's AR staff home, with customer and invoice search; the
invoice-link pages (portal.staff.links) are nested in this blueprint."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from portal.accounts.access import principal, staff_required
from portal.core.request_db import uow
from portal.staff import disputes, links, plans, queries

bp = Blueprint("staff", __name__, url_prefix="/staff")
bp.register_blueprint(links.bp)
bp.register_blueprint(disputes.bp)
bp.register_blueprint(plans.bp)


@bp.get("/")
@staff_required()
def home():
    term = request.args.get("q", "").strip()[:100]
    session = uow().session
    customers = queries.search_customers(session, term) if term else []
    invoices = queries.search_invoices(session, term) if term else []
    return render_template("staff/home.html", who=principal(), term=term,
                           customers=customers, invoices=invoices,
                           totals=queries.totals(session))


@bp.get("/audit")
@staff_required()
def audit_log():
    from portal.accounts import audit

    return render_template("staff/audit.html", who=principal(),
                           events=audit.recent(uow().session))
