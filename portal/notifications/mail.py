"""Render and send e-mail.

Messages are rendered from ``templates/emails/<name>.txt`` and ``.html`` in the
recipient's language, then handed to :mod:`portal.tasks`, which sends them
in-process or through Celery. Callers enqueue only after their unit of work
has committed (``uow.after_commit``), so a rolled-back change never e-mails.
A message may carry attachments (:class:`Attachment`); those are built and
delivered inside a task of their own (a receipt's PDF), since a task's
arguments must stay small and serialisable.

Transport: with ``PORTAL_SMTP_URL`` (``smtp://user:password@host:port``, or
``smtps://`` for implicit TLS, ``?starttls=1`` for STARTTLS) mail goes over
SMTP; without it, it is written to the log (the embedded set-up).
"""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from urllib.parse import parse_qs, unquote, urlsplit

from flask import current_app, render_template
from flask_babel import force_locale

log = logging.getLogger("portal.mail")


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file sent with a message (a receipt's PDF)."""

    filename: str
    mimetype: str  # "application/pdf"
    data: bytes


@dataclass(frozen=True, slots=True)
class Email:
    """A rendered message, ready to send."""

    to: str
    subject: str
    text: str
    html: str
    attachments: tuple[Attachment, ...] = ()


def render(template: str, to: str, locale: str | None = None, **context) -> Email:
    """Render ``templates/emails/<template>`` for ``to`` in ``locale``."""
    with force_locale(locale or "en"):
        subject = render_template(f"emails/{template}.subject.txt", **context).strip()
        text = render_template(f"emails/{template}.txt", **context)
        html = render_template(f"emails/{template}.html", subject=subject, **context)
    return Email(to=to, subject=subject, text=text, html=html)


def to_mime(message: Email, sender: str) -> EmailMessage:
    """Build the MIME message (plain text with an HTML alternative, then any attachments)."""
    mime = EmailMessage()
    mime["From"] = sender
    mime["To"] = message.to
    mime["Subject"] = message.subject
    mime["Date"] = formatdate(localtime=False)
    mime["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[-1].strip(">") or None)
    mime.set_content(message.text)
    mime.add_alternative(message.html, subtype="html")
    for attachment in message.attachments:
        maintype, _, subtype = attachment.mimetype.partition("/")
        mime.add_attachment(attachment.data, maintype=maintype, subtype=subtype,
                            filename=attachment.filename)
    return mime


def deliver(message: Email) -> None:
    """Send ``message`` now through the configured transport."""
    config = current_app.config["PORTAL"]
    mime = to_mime(message, config.mail_from)
    if not config.smtp_url:
        log.info("e-mail (not sent: no PORTAL_SMTP_URL)\nTo: %s\nSubject: %s\n\n%s",
                 message.to, message.subject, message.text)
        return
    url = urlsplit(config.smtp_url)
    options = parse_qs(url.query)
    port = url.port or (465 if url.scheme == "smtps" else 25)
    smtp_class = smtplib.SMTP_SSL if url.scheme == "smtps" else smtplib.SMTP
    with smtp_class(url.hostname or "127.0.0.1", port, timeout=30) as smtp:
        if options.get("starttls", ["0"])[0] in ("1", "true"):
            smtp.starttls()
        if url.username:
            smtp.login(unquote(url.username), unquote(url.password or ""))
        smtp.send_message(mime)
    log.info("e-mail sent to %s: %s", message.to, message.subject)


def send(template: str, to: str, locale: str | None = None, **context) -> None:
    """Render a message and queue it for delivery (in-process or Celery)."""
    from portal import tasks

    message = render(template, to, locale, **context)
    tasks.enqueue("send_email", to=message.to, subject=message.subject, text=message.text,
                  html=message.html)
