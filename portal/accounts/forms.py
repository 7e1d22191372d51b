"""Forms of the accounts pages (Flask-WTF: every form carries a CSRF token)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional

from portal.i18n import LANGUAGE_NAMES

ROLE_CHOICES = [SelectChoice("payer", _l("Payer — view, pay, dispute, request plans")),
                SelectChoice("viewer", _l("Viewer — view and download only")),
                SelectChoice("admin", _l("Admin — everything, plus users and bank accounts"))]
# Each language named in itself, marked with its language for screen readers.
LANGUAGE_CHOICES = [SelectChoice(code, name, render_kw={"lang": code})
                    for code, name in LANGUAGE_NAMES.items()]
LOCALE_CHOICES = [SelectChoice("", _l("Browser default")), *LANGUAGE_CHOICES]


class LanguageForm(FlaskForm):
    """The footer's language switch: the page to return to, and the language."""

    language = SelectField(_l("Language"), choices=LANGUAGE_CHOICES)
    next = HiddenField()


class LoginForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=256)])
    next = HiddenField()


class TotpForm(FlaskForm):
    code = StringField(_l("6-digit code"), validators=[DataRequired(), Length(min=6, max=8)])


class ForgotPasswordForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Email(), Length(max=254)])


class NewPasswordForm(FlaskForm):
    password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=256)])
    confirm = PasswordField(_l("Repeat the new password"),
                            validators=[DataRequired(), EqualTo("password",
                                        message=_l("The two passwords differ."))])


class AcceptInvitationForm(NewPasswordForm):
    name = StringField(_l("Your name"), validators=[DataRequired(), Length(max=200)])


class ChangePasswordForm(FlaskForm):
    current = PasswordField(_l("Current password"), validators=[DataRequired()])
    password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=256)])
    confirm = PasswordField(_l("Repeat the new password"),
                            validators=[DataRequired(), EqualTo("password",
                                        message=_l("The two passwords differ."))])


class ProfileForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    locale = SelectField(_l("Language"), choices=LOCALE_CHOICES, validators=[Optional()])


class InviteForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Email(), Length(max=254)])
    name = StringField(_l("Name"), validators=[Optional(), Length(max=200)])
    role = SelectField(_l("Role"), choices=ROLE_CHOICES, default="payer")


class RoleForm(FlaskForm):
    role = SelectField(_l("Role"), choices=ROLE_CHOICES)


class ConfirmForm(FlaskForm):
    """A button that changes something: only the CSRF token."""


class SwitchAccountForm(FlaskForm):
    customer_id = SelectField(_l("Account"), coerce=int)
