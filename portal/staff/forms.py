"""Forms of the staff pages (Flask-WTF: every form carries a CSRF token)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, IntegerField, StringField
from wtforms.validators import DataRequired, Email, Length, NumberRange, Optional

from portal.links.services import MAX_DAYS, MIN_DAYS


class CreateLinkForm(FlaskForm):
    """A new invoice link: the invoice (of the customer on the page), expiry, recipient.

    The same limits as :func:`portal.links.services.create`, checked here too so the
    page can say what is wrong in the staff member's language.
    """

    customer = HiddenField(validators=[DataRequired(), Length(max=50)])
    invoice = StringField(_l("Invoice number"), validators=[
        DataRequired(message=_l("Enter the invoice number.")), Length(max=50)])
    days = IntegerField(_l("Expires after (days)"), validators=[
        Optional(), NumberRange(min=MIN_DAYS, max=MAX_DAYS, message=_l(
            "A link expires after %(min)d to %(max)d days."))])
    email = EmailField(_l("E-mail the link to"), validators=[
        Optional(), Length(max=254), Email(message=_l("Enter an e-mail address."))])


class RevokeLinkForm(FlaskForm):
    """The "Revoke" button of one link: nothing but the CSRF token."""
