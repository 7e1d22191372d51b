"""Receipts: the PDF a customer downloads and the e-mail the payer gets after settlement,
over real SMTP, in the payer's language, sent only once the settlement is committed."""

from __future__ import annotations

import dataclasses

import pytest

from portal import ledger
from portal.app import create_app
from portal.ledger.models import Payment
from portal.notifications import mail
from portal.payments import receipts
from tests import pdf
from tests.integration.payments.history_data import World, build, sign_in


@pytest.fixture
def app(config, smtp_sink):
    application = create_app(dataclasses.replace(config, smtp_url=smtp_sink.url,
                                                 base_url="http://portal.test"))
    yield application
    application.extensions["portal.db"].dispose()


@pytest.fixture
def world(app) -> World:
    return build(app.extensions["portal.db"])


def flat(text: str) -> str:
    return " ".join(text.replace("\u202f", " ").replace("\xa0", " ").split())


def test_receipt_pdf_lists_payer_method_invoices_discount_total_and_remit_to(app, world):
    response = sign_in(app).client.get(f"/payments/{world.card}/receipt.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Cache-Control"] == "no-store"
    assert f"receipt-{world.card}-" in response.headers["Content-Disposition"]
    text = flat(pdf.text(response.data))
    for expected in ("PAYMENT RECEIPT", f"Payment {world.card}", "Acme Corp", "Pat Payer",
                     "Visa ending in 4242", "A-100", "$1,000.00", "A-200", "$490.00", "$10.00",
                     "Invoices settled $1,500.00", "$1,490.00", "REMIT TO",
                     "P.O. Box 74120", "Cleveland, OH 44194-4120"):
        assert expected in text, expected


def test_receipt_pdf_of_a_short_paid_check_names_the_reason_and_the_credit(app, world):
    text = flat(pdf.text(sign_in(app).client.get(f"/payments/{world.check}/receipt.pdf").data))
    for expected in ("Check or wire", "CHK-1001", "A-300", "$250.00", "Goods damaged or defective",
                     "Two cases arrived broken", "To account credit $150.00", "$400.00"):
        assert expected in text, expected


def test_default_short_pay_reasons_read_in_the_users_language(app, world):
    text = flat(pdf.text(sign_in(app, "payeur@acme.example").client.get(
        f"/payments/{world.check}/receipt.pdf").data))
    assert "Marchandise endommagée ou défectueuse" in text
    page = sign_in(app, "payeur@acme.example").client.get(f"/payments/{world.check}")
    assert "Marchandise endommagée ou défectueuse" in page.get_data(as_text=True)


def test_receipt_pdf_in_the_users_language(app, world):
    text = flat(pdf.text(sign_in(app, "payeur@acme.example").client.get(
        f"/payments/{world.card}/receipt.pdf").data))
    assert "REÇU DE PAIEMENT" in text and "1 490,00 $US" in text and "Visa se terminant" in text


def test_only_settled_payments_of_the_account_have_receipts(app, world):
    client = sign_in(app).client
    assert client.get(f"/payments/{world.declined}/receipt.pdf").status_code == 404
    assert client.get(f"/payments/{world.ach}/receipt.pdf").status_code == 404
    assert client.get(f"/payments/{world.wire}/receipt.pdf").status_code == 404  # Globex's
    with app.app_context(), app.extensions["portal.db"].session() as session:
        assert receipts.deliver_receipt(session, world.declined) is None


def test_receipt_email_arrives_after_commit_with_the_pdf(app, world, smtp_sink):
    with app.app_context(), app.extensions["portal.db"].unit_of_work() as uow:
        receipts.send_receipt(uow.session, world.card)
        assert smtp_sink.messages == []  # nothing before the commit
        uow.commit()
    [message] = smtp_sink.to("payer@acme.example")
    assert message["Subject"] == "Receipt for your payment of $1,490.00"
    text = flat(smtp_sink.text(message))
    for expected in ("Northwind Industrial Supply received your payment of $1,490.00",
                     "Method: Visa ending in 4242", "A-100: $1,000.00",
                     "A-200: $490.00 · discount $10.00", "Total received: $1,490.00",
                     f"http://portal.test/payments/{world.card}", "P.O. Box 74120"):
        assert expected in text, expected
    html = message.get_body(preferencelist=("html",)).get_content()
    assert "A-200" in html and "$10.00" in html
    [attachment] = list(message.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename().startswith(f"receipt-{world.card}-")
    assert "A-200" in pdf.text(attachment.get_content())


def test_receipt_email_in_french_for_a_french_payer_once_the_ach_debit_settles(
        app, world, smtp_sink):
    with app.app_context(), app.extensions["portal.db"].unit_of_work() as uow:
        ledger.settle_payment(uow.session, world.ach)
        receipts.send_receipt(uow.session, world.ach)
        uow.commit()
    [message] = smtp_sink.to("payeur@acme.example")
    assert "Reçu" in message["Subject"] and "200,00" in message["Subject"]
    text = flat(smtp_sink.text(message))
    assert "a reçu votre paiement de 200,00 $US" in text
    assert "A-400 : 200,00 $US" in text
    assert "Compte bancaire (ACH)" in text


def test_no_receipt_when_the_settlement_rolls_back(app, world, smtp_sink):
    with app.app_context(), app.extensions["portal.db"].unit_of_work() as uow:
        ledger.settle_payment(uow.session, world.ach)
        receipts.send_receipt(uow.session, world.ach)
        uow.session.rollback()
    with app.app_context(), app.extensions["portal.db"].unit_of_work() as uow:
        uow.session.get(Payment, world.ach)
        uow.commit()  # a later commit of the same kind of session sends nothing either
    assert smtp_sink.messages == []


def test_a_payment_without_a_payers_address_gets_no_email(app, world, smtp_sink):
    # The check was posted by the ERP: no payer e-mail, no portal user behind it.
    with app.app_context(), app.extensions["portal.db"].unit_of_work() as uow:
        receipts.send_receipt(uow.session, world.check)
        uow.commit()
    assert smtp_sink.messages == []


def test_mail_carries_attachments():
    message = mail.Email(to="ap@acme.example", subject="Receipt", text="Thanks",
                         html="<p>Thanks</p>",
                         attachments=(mail.Attachment("receipt-1.pdf", "application/pdf",
                                                      b"%PDF-1.7 test"),))
    mime = mail.to_mime(message, "Billing <billing@vendor.example>")
    assert mime.get_body(preferencelist=("plain",)).get_content().strip() == "Thanks"
    [attachment] = list(mime.iter_attachments())
    assert attachment.get_filename() == "receipt-1.pdf"
    assert attachment.get_content() == b"%PDF-1.7 test"
