"""The policy's reasons for sending a plan request to the vendor, in words, with the
vendor's own limits (the codes of :func:`portal.plans.schedule.judge`)."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import ngettext

from portal.i18n import money
from portal.plans.schedule import Policy


def reason_words(code: str, policy: Policy, currency: str) -> str:
    """Say why ``code`` needs the vendor's decision, naming the policy's limit."""
    if code == "total":
        return _("The total is over %(limit)s.",
                 limit=money(policy.max_total_minor, currency or "USD"))
    if code == "installments":
        return ngettext("More than %(num)d installment.", "More than %(num)d installments.",
                        policy.max_installments)
    if code == "frequency":
        return _("That frequency needs the vendor's approval.")
    if code == "first_date":
        return ngettext("The first installment is more than %(num)d day away.",
                        "The first installment is more than %(num)d days away.",
                        policy.max_first_delay_days)
    if code == "down_payment":
        percent = format(policy.min_down_percent.normalize(), "f")
        return _("The down payment is under %(percent)s%% of the total.", percent=percent)
    if code == "defaulted":
        return _("A plan of this account defaulted in the last 12 months.")
    if code == "credit_limit":
        return _("The account's open invoices are over its credit limit.")
    return code
