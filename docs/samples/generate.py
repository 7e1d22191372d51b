"""Write a large customers CSV and invoices CSV for measuring the import (docs/import.md).

    python docs/samples/generate.py 40000 /tmp/bench

writes /tmp/bench/customers.csv (2,000 customers) and /tmp/bench/invoices.csv
(40,000 invoices of 1 to 4 lines each, about 100,000 rows, random amounts).
"""

from __future__ import annotations

import csv
import datetime as dt
import random
import sys
from pathlib import Path

CUSTOMERS = 2000
TERMS = ("net 30", "2/10 net 30", "net 45")


def main(invoices: int, folder: Path, seed: int = 1) -> int:
    """Write both files; return the number of invoice rows."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "customers.csv", "w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["customer_number", "name", "currency", "credit_limit", "default_terms",
                      "email", "contact_name", "contact_email"])
        for i in range(CUSTOMERS):
            out.writerow([f"C{i:05d}", f"Customer {i}", "USD", "100000.00", rng.choice(TERMS),
                          f"ap{i}@example.com", f"Clerk {i}", f"clerk{i}@example.com"])
    rows = 0
    with open(folder / "invoices.csv", "w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["invoice_number", "customer_number", "issue_date", "due_date", "currency",
                      "terms", "po_number", "line_description", "quantity", "unit_price",
                      "line_amount", "line_tax", "memo"])
        for n in range(invoices):
            header = [f"INV-{n:07d}", f"C{rng.randrange(CUSTOMERS):05d}",
                      (dt.date(2026, 1, 1) + dt.timedelta(days=rng.randrange(300))).isoformat(),
                      "", "USD", rng.choice(("net 30", "2/10 net 30", "")),
                      f"PO-{rng.randrange(10**6)}"]
            for line in range(rng.choice((1, 2, 3, 4))):
                quantity, cents = rng.randint(1, 20), rng.randint(100, 500_000)
                amount = quantity * cents
                tax = amount * 8 // 100
                out.writerow([*header, f"Item {line}", quantity, _plain(cents), _plain(amount),
                              _plain(tax), ""])
                rows += 1
    return rows


def _plain(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


if __name__ == "__main__":
    print(main(int(sys.argv[1]), Path(sys.argv[2])), "invoice rows")
