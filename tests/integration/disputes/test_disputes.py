"""Disputes end to end through the pages: opening one on chosen lines with a photo, the
hold it puts on the invoice, the thread both sides write in (HTML shown as text), the
staff's decisions (credit once, rejection), withdrawal, and who may reach what."""

from __future__ import annotations

import pathlib
import re

from sqlalchemy import func, select

from portal.disputes import files, services
from portal.disputes.models import Dispute, DisputeAttachment, DisputeEvent
from portal.ledger.models import CreditMemo, Customer, Invoice, JournalEntry
from tests.integration.disputes.conftest import (
    SUPPORT,
    TODAY,
    csrf,
    issue,
    jpeg,
    ledger_ok,
    line_ids,
    open_dispute,
    png,
    staff,
    text,
)


def invoice_row(book, number: str = "R-1") -> tuple[int, str]:
    with book.database.session() as session:
        row = session.scalars(select(Invoice).where(Invoice.number == number)).one()
        return row.balance_minor, row.status


def to_pay_now(browser, number: str = "R-1") -> str:
    """What the checkout of invoice ``number`` proposes to pay, as it shows it."""
    page = browser.client.get(f"/pay?invoice={number}").get_data(as_text=True)
    return re.search(r"data-charge>([^<]+)<", page).group(1)


def disputes(book) -> list[Dispute]:
    with book.database.session() as session:
        rows = list(session.scalars(select(Dispute).order_by(Dispute.id)))
        session.expunge_all()
        return rows


def stored_files(config) -> list:
    from pathlib import Path
    root = Path(config.attachments_dir)
    return sorted(root.iterdir()) if root.exists() else []


def test_a_payer_disputes_two_lines_with_a_photo(app, book, signed_in, smtp_sink):
    payer = signed_in()
    bolts, nuts, _freight = line_ids(book)
    response = open_dispute(payer, line=[str(bolts), str(nuts)],
                            files=[("crushed box.png", png())])
    assert response.status_code == 303, text(response.get_data(as_text=True))
    [dispute] = disputes(book)
    # The lines' total with tax: 648.00 + 250.00.
    assert (dispute.status, dispute.amount_minor, dispute.reason) == ("open", 898_00, "damaged")
    page = payer.client.get(response.headers["Location"]).get_data(as_text=True)
    words = text(page)
    assert "Your dispute is open. $898.00 of the invoice is on hold" in words
    assert "Hex bolts M8 $648.00" in words and "Nylon lock nuts $250.00" in words
    # The photo: stored under a generated name, downloaded with its checked type.
    [attachment_id] = re.findall(r'/disputes/\d+/attachments/(\d+)"', page)
    download = payer.client.get(f"/disputes/{dispute.id}/attachments/{attachment_id}")
    assert download.status_code == 200 and download.data == png()
    assert download.mimetype == "image/png"
    assert download.headers["Content-Disposition"] == 'attachment; filename="crushed box.png"'
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    [stored] = stored_files(app.config["PORTAL"])
    assert re.fullmatch(r"[0-9a-f]{32}", stored.name)
    # The invoice: disputed, and the checkout defaults to the undisputed rest.
    detail = text(payer.client.get("/invoices/R-1").get_data(as_text=True))
    assert "Disputed: $898.00" in detail and "Pay $100.52" in detail
    assert "Disputed: $898.00" in text(payer.client.get("/invoices").get_data(as_text=True))
    assert to_pay_now(payer) == "$100.52"
    # The vendor is told; the ERP's feed has the opening.
    [mail] = smtp_sink.to(SUPPORT)
    assert mail["Subject"] == "New dispute on invoice R-1 from Acme Corp"
    assert "Two boxes arrived crushed." in smtp_sink.text(mail)
    with book.database.session() as session:
        [event] = session.scalars(select(DisputeEvent)).all()
        assert (event.kind, event.invoice_number, event.customer_number, event.reason,
                event.amount_minor) == ("opened", "R-1", "C-ACME", "damaged", 898_00)
    ledger_ok(book)


def test_what_is_wrong_is_said_and_nothing_is_written(app, book, signed_in):
    payer = signed_in()
    [other_line] = line_ids(book, "G-9")
    cases = [
        ({"reason": ""}, "Choose what is wrong."),
        ({"amount": "2,000.00"}, "You can dispute at most $998.52"),
        ({"amount": "0"}, "Enter an amount greater than zero."),
        ({"amount": "lots"}, "Enter the amount you dispute, such as"),
        ({}, "Enter the amount you dispute, or choose the lines."),
        ({"line": [str(other_line)]}, "Choose lines of this invoice only."),
        ({"amount": "10", "description": "  "}, "Say in a few words what is wrong."),
    ]
    for fields, message in cases:
        response = open_dispute(payer, files=[("photo.png", png())], **fields)
        assert response.status_code == 422, fields
        assert message in text(response.get_data(as_text=True)), fields
    assert disputes(book) == [] and stored_files(app.config["PORTAL"]) == []


def test_files_that_are_not_what_they_claim_are_refused(app, book, signed_in):
    payer = signed_in()
    cases = [
        ("photo.png", png() + b"PK\x05\x06" + bytes(18), "hidden content"),  # PNG + ZIP
        ("invoice.pdf", b"MZ\x90\x00" + bytes(2000), "is not a PDF, PNG, JPEG, CSV or XLSX"),
        ("logo.png", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
         "is not a PDF, PNG, JPEG, CSV or XLSX"),
        ("notes.csv", b"<html><body><script>alert(1)</script></body></html>",
         "is not a PDF, PNG, JPEG, CSV or XLSX"),
        ("big.csv", b"a,b\n" * (11 * 1024 * 1024 // 4), "larger than 10 MB"),
    ]
    for name, content, message in cases:
        response = open_dispute(payer, amount="10", files=[("ok.jpg", jpeg()), (name, content)])
        assert response.status_code == 422, name
        assert message in text(response.get_data(as_text=True)), name
    six = [(f"p{i}.png", png()) for i in range(6)]
    response = open_dispute(payer, amount="10", files=six)
    assert "Attach at most 5 files" in text(response.get_data(as_text=True))
    assert disputes(book) == [] and stored_files(app.config["PORTAL"]) == []


def test_html_in_messages_is_shown_as_text_on_both_sides(app, book, signed_in):
    payer = signed_in()
    attack = '<script>document.title="owned"</script><img src=x onerror=alert(1)>'
    assert open_dispute(payer, amount="50", description=attack).status_code == 303
    [dispute] = disputes(book)
    for page in (payer.client.get(f"/disputes/{dispute.id}").get_data(as_text=True),
                 staff(app).client.get(f"/staff/disputes/{dispute.id}").get_data(as_text=True)):
        assert "<script>document.title" not in page and "<img src=x" not in page
        assert "&lt;script&gt;document.title=" in page


def test_staff_reply_then_resolve_with_credit_posts_once(app, book, signed_in, smtp_sink):
    payer = signed_in()
    bolts, nuts, _ = line_ids(book)
    open_dispute(payer, line=[str(bolts), str(nuts)])
    [dispute] = disputes(book)
    collector = staff(app)
    page = collector.client.get(f"/staff/disputes/{dispute.id}").get_data(as_text=True)
    token = csrf(page)
    queue = text(collector.client.get("/staff/disputes").get_data(as_text=True))
    assert f"Dispute {dispute.id} Acme Corp C-ACME R-1 Damaged goods $898.00 Open" in queue
    reply = collector.client.post(f"/staff/disputes/{dispute.id}/messages", data={
        "csrf_token": token, "body": "Sorry about that. Can you send the delivery note?"})
    assert reply.status_code == 303
    [to_payer] = smtp_sink.to("payer@acme.example")
    assert "Can you send the delivery note?" in smtp_sink.text(to_payer)
    assert "http://portal.test/disputes/" in smtp_sink.text(to_payer)
    # Pay the undisputed rest first: no reason needed beyond the dispute.
    assert to_pay_now(payer) == "$100.52"

    resolve = {"csrf_token": token, "credit": "898.00", "note": "Credited the damaged goods."}
    first = collector.client.post(f"/staff/disputes/{dispute.id}/resolve", data=resolve)
    again = collector.client.post(f"/staff/disputes/{dispute.id}/resolve", data=resolve)
    assert first.status_code == again.status_code == 303
    assert "closed already" in text(collector.client.get(again.headers["Location"])
                                    .get_data(as_text=True))
    with book.database.session() as session:
        assert session.scalar(select(func.count()).select_from(JournalEntry).where(
            JournalEntry.kind == "credit_memo_issued")) == 1
        memo = session.scalars(select(CreditMemo)).one()
        assert (memo.number, memo.amount_minor) == (f"CM-D{dispute.id}", 898_00)
        kinds = [e.kind for e in session.scalars(select(DisputeEvent).order_by(DisputeEvent.id))]
        assert kinds == ["opened", "message", "resolved_credit"]
    assert invoice_row(book) == (100_52, "open")
    shown = text(payer.client.get(f"/disputes/{dispute.id}").get_data(as_text=True))
    assert "Resolved on" in shown and "with a credit of $898.00" in shown
    assert "Credited the damaged goods." in shown
    assert "Disputed" not in text(payer.client.get("/invoices/R-1").get_data(as_text=True))
    ledger_ok(book)


def test_a_credit_above_the_disputed_amount_is_refused(app, book, signed_in):
    open_dispute(signed_in(), amount="100")
    [dispute] = disputes(book)
    collector = staff(app)
    token = csrf(collector.client.get(f"/staff/disputes/{dispute.id}").get_data(as_text=True))
    response = collector.client.post(f"/staff/disputes/{dispute.id}/resolve", data={
        "csrf_token": token, "credit": "100.01", "note": "x"})
    assert response.status_code == 422
    assert "Enter a credit between $0.01 and $100.00" in text(response.get_data(as_text=True))
    assert disputes(book)[0].status == "open" and invoice_row(book) == (998_52, "open")


def test_rejection_returns_the_amount_to_collection_with_the_reason(app, book, signed_in):
    payer = signed_in()
    open_dispute(payer, amount="250")
    [dispute] = disputes(book)
    collector = staff(app)
    token = csrf(collector.client.get(f"/staff/disputes/{dispute.id}").get_data(as_text=True))
    collector.client.post(f"/staff/disputes/{dispute.id}/review", data={"csrf_token": token})
    assert disputes(book)[0].status == "under_review"
    collector.client.post(f"/staff/disputes/{dispute.id}/reject", data={
        "csrf_token": token, "note": "The delivery note is signed without remarks."})
    assert disputes(book)[0].status == "rejected"
    shown = text(payer.client.get(f"/disputes/{dispute.id}").get_data(as_text=True))
    assert "the amount is due again" in shown and "signed without remarks" in shown
    assert to_pay_now(payer) == "$998.52"
    ledger_ok(book)


def test_the_customer_withdraws_and_the_vendor_is_told(app, book, signed_in, smtp_sink):
    payer = signed_in()
    open_dispute(payer, amount="250")
    [dispute] = disputes(book)
    page = payer.client.get(f"/disputes/{dispute.id}").get_data(as_text=True)
    payer.client.post(f"/disputes/{dispute.id}/withdraw", data={"csrf_token": csrf(page)})
    assert disputes(book)[0].status == "withdrawn"
    assert any("withdrawn" in m["Subject"] for m in smtp_sink.to(SUPPORT))
    # Closed: no more messages.
    response = payer.client.post(f"/disputes/{dispute.id}/messages", data={
        "csrf_token": csrf(page), "body": "one more thing"})
    assert "This dispute is closed" in text(payer.client.get(response.headers["Location"])
                                            .get_data(as_text=True))


def test_another_customers_dispute_and_attachment_are_not_found(app, book, signed_in):
    acme = signed_in()
    open_dispute(acme, amount="10", files=[("photo.png", png())])
    [dispute] = disputes(book)
    with book.database.session() as session:
        attachment_id = session.scalars(select(DisputeAttachment.id)).one()
    globex = signed_in("payer@globex.example")
    for path in (f"/disputes/{dispute.id}",
                 f"/disputes/{dispute.id}/attachments/{attachment_id}",
                 "/invoices/R-1/dispute"):
        assert globex.client.get(path).status_code == 404, path
    token = csrf(globex.client.get("/disputes").get_data(as_text=True))
    for path in (f"/disputes/{dispute.id}/messages", f"/disputes/{dispute.id}/withdraw"):
        assert globex.client.post(path, data={"csrf_token": token,
                                              "body": "x"}).status_code == 404, path
    assert "R-1" not in globex.client.get("/disputes").get_data(as_text=True)
    # A customer never reaches the staff pages; a viewer cannot open one.
    assert acme.client.get(f"/staff/disputes/{dispute.id}").status_code == 404
    viewer = signed_in("viewer@acme.example")
    assert viewer.client.get("/invoices/R-1/dispute").status_code == 403
    assert viewer.client.get(f"/disputes/{dispute.id}").status_code == 200
    assert disputes(book)[0].status == "open"


def test_the_checkout_pays_the_undisputed_rest_or_all_if_the_payer_asks(app, book, signed_in):
    from portal.payments import checkout
    from portal.payments.checkout import CheckoutRequest, LineRequest
    from portal.vendor.services import get_vendor

    open_dispute(signed_in(), amount="898.00")
    with book.database.session() as session:
        vendor = get_vendor(session)

        def quote(amount: str = "", reason: str = "") -> checkout.QuoteLine:
            result = checkout.quote(session, book.acme_id, vendor, TODAY, CheckoutRequest(
                (LineRequest("R-1", amount=amount, reason=reason),)))
            return result.lines[0]

        rest = quote()
        assert (rest.pay_minor, rest.held_minor, rest.reason, rest.errors) == (
            100_52, 898_00, "disputed", [])
        everything = quote("998.52")
        assert (everything.pay_minor, everything.reason, everything.errors) == (998_52, None, [])
        less = quote("50.00")
        assert less.errors == ["Paying less than is due needs a reason."]


def test_a_request_larger_than_five_files_is_refused_before_it_is_read(app, book, signed_in):
    payer = signed_in()
    too_much = [(f"scan-{i}.csv", b"a,b\n" * (3 * 1024 * 1024)) for i in range(5)]  # 60 MB
    response = open_dispute(payer, amount="10", files=too_much)
    assert response.status_code == 413
    assert "at most 5 files of 10 MB each. Nothing was saved." in text(
        response.get_data(as_text=True))
    assert disputes(book) == [] and stored_files(app.config["PORTAL"]) == []


def test_the_invoice_list_filters_disputed_invoices_while_the_dispute_is_in_force(
        app, book, signed_in):
    with book.session() as uow:
        issue(uow.session, uow.session.get(Customer, book.acme_id), "R-2", 90_00)
        uow.commit()
    payer = signed_in()

    def disputed() -> list[str]:
        page = payer.client.get("/invoices?status=disputed").get_data(as_text=True)
        return re.findall(r'<tr data-number="([^"]+)"', page)

    assert disputed() == []
    open_dispute(payer, amount="250")
    assert disputed() == ["R-1"]
    page = payer.client.get("/invoices?status=disputed").get_data(as_text=True)
    assert '<option value="disputed" selected>Disputed</option>' in page
    [dispute] = disputes(book)
    page = payer.client.get(f"/disputes/{dispute.id}").get_data(as_text=True)
    payer.client.post(f"/disputes/{dispute.id}/withdraw", data={"csrf_token": csrf(page)})
    assert disputed() == []


def test_files_of_a_message_that_rolls_back_are_deleted_and_kept_when_it_commits(
        app, book, signed_in):
    # The files reach the store before their rows are committed: a rollback must not
    # leave a customer's document on disk that no row names.
    payer = signed_in()
    open_dispute(payer, amount="50")
    [dispute] = disputes(book)
    store = files.storage_for(app.config["PORTAL"])
    root = pathlib.Path(app.config["PORTAL"].attachments_dir)
    on_disk = lambda: sorted(p.name for p in root.iterdir() if p.is_file())  # noqa: E731
    before = on_disk()
    author = services.Author("customer", "Acme Payer", "payer@acme.example")
    with app.test_request_context(), book.session() as uow:
        s = uow.session
        services.post_message(s, s.get(Dispute, dispute.id), author, "A photo, then an error.",
                              [services.Upload("photo.png", png())], store)
        assert len(on_disk()) == len(before) + 1  # written, not yet committed
        # ...and the unit of work ends without a commit: it rolls back.
    assert on_disk() == before
    with app.test_request_context(), book.session() as uow:
        s = uow.session
        message = services.post_message(s, s.get(Dispute, dispute.id), author, "A photo.",
                                        [services.Upload("photo.png", png())], store)
        uow.commit()
        [key] = [a.storage_key for a in s.scalars(select(DisputeAttachment).where(
            DisputeAttachment.message_id == message.id))]
    assert on_disk() == sorted([*before, key])
