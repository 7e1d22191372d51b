"""The policy's reasons for sending a plan request to the vendor, in words, with the
vendor's own limits (the codes of :func:`portal.plans.schedule.judge`): shown to the
customer beside the schedule, and to staff in the queue and on the plan's page."""

from __future__ import annotations

from flask_babel import format_percent, ngettext
from flask_babel import gettext as _

from portal.i18n import money
from portal.plans.schedule import Policy


def reason_words(code: str, policy: Policy, total_minor: int, currency: str) -> str:
    """Say why a plan of ``total_minor`` is outside ``policy``, for one code of ``judge``."""
    if code == "total":
        return _("Total over the %(limit)s limit",
                 limit=money(policy.max_total_minor, currency))
    if code == "installments":
        return ngettext("More than %(num)d installment", "More than %(num)d installments",
                        policy.max_installments)
    if code == "frequency":
        return _("Paid at a frequency the policy does not offer")
    if code == "first_date":
        return ngettext("First installment more than %(num)d day away",
                        "First installment more than %(num)d days away",
                        policy.max_first_delay_days)
    if code == "down_payment":
        return _("Down payment under the %(amount)s minimum (%(percent)s of the total)",
                 amount=money(policy.min_down_minor(total_minor), currency),
                 percent=percent_words(policy))
    if code == "defaulted":
        return ngettext("Defaulted a plan in the last %(num)d day",
                        "Defaulted a plan in the last %(num)d days", policy.default_lookback_days)
    if code == "credit_limit":
        return _("Open receivables over the credit limit")
    return code


def percent_words(policy: Policy) -> str:
    """The minimum down payment as a percentage in the reader's language ("10%")."""
    return format_percent(policy.min_down_percent / 100, format="#,##0.##%")


def plan_reasons(plan, policy: Policy) -> list[str]:
    """Why ``plan`` (a :class:`portal.plans.models.Plan`) needed the vendor's decision."""
    return [reason_words(code, policy, plan.total_minor, plan.currency)
            for code in plan.policy_reasons]
