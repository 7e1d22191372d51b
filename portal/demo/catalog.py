"""The demo's fictitious world as plain data: the vendor, what it sells, who buys it.

Northwind Industrial Supply sells MRO supplies (bearings, fasteners, abrasives,
safety gear, fluid power) to five customer accounts, each with its own terms,
currency, tax and habits of paying. Addresses use ``.example`` domains and
555-01xx telephone numbers, which are reserved for fiction.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

VENDOR_PROFILE: dict[str, object] = {
    "name": "Northwind Industrial Supply",
    "legal_name": "Northwind Industrial Supply, Inc.",
    "logo_path": "img/vendor-logo.svg",
    "remit_to": ("Northwind Industrial Supply, Inc.\n"
                 "Attn: Accounts Receivable\n"
                 "P.O. Box 74120\n"
                 "Cleveland, OH 44194-4120"),
    "support_email": "ar@northwind-supply.example",
    "support_phone": "+1 (216) 555-0142",
    "website": "https://northwind-supply.example",
    "timezone": "America/New_York",
    "discount_base": "total",
    "prorate_partial_discounts": False,
}


@dataclass(frozen=True, slots=True)
class Product:
    """A catalog item: SKU, description, unit price in USD cents and a usual order size."""

    sku: str
    description: str
    unit_price_minor: int
    min_qty: int
    max_qty: int


PRODUCTS: tuple[Product, ...] = (
    Product("BRG-6205-2RS", "Deep groove ball bearing 6205-2RS, 25 x 52 x 15 mm", 8_45, 10, 60),
    Product("BRG-UCP208", "Pillow block bearing UCP208, 1-1/2 in. bore", 46_80, 2, 12),
    Product("BLT-B48", "V-belt B48, classical section", 14_20, 4, 24),
    Product("CHN-40-10", "Roller chain #40, 10 ft box with connecting link", 42_00, 1, 8),
    Product("SPR-40B18", "Sprocket 40B18, 3/4 in. bore, keyed", 23_75, 2, 10),
    Product("CPL-L100", "Jaw coupling L100, 1 in. bore, with spider", 31_40, 2, 8),
    Product("HCS-G8-050-2", "Hex cap screw Grade 8, 1/2-13 x 2 in., box of 50", 38_90, 2, 20),
    Product("NUT-NL-050", "Nylon insert lock nut 1/2-13, zinc, box of 100", 17_60, 2, 20),
    Product("WSH-F-050", "Flat washer 1/2 in., USS, zinc, box of 100", 9_85, 2, 20),
    Product("ANC-WDG-38", "Wedge anchor 3/8 x 3-3/4 in., box of 50", 27_30, 2, 10),
    Product("ABR-FD-45-60", "Flap disc 4-1/2 in., 60 grit zirconia, box of 10", 54_00, 2, 15),
    Product("ABR-CW-45", "Cut-off wheel 4-1/2 x .045 in., box of 25", 36_50, 2, 12),
    Product("EM-C12-4F", "Carbide end mill 1/2 in., 4 flute, TiAlN", 62_50, 2, 10),
    Product("DRL-HSS-29", "HSS drill bit set, 29 pc, 1/16 to 1/2 in.", 89_00, 1, 4),
    Product("TAP-M8", "Spiral point tap M8 x 1.25", 18_40, 3, 12),
    Product("GLV-NIT-L", "Nitrile gloves 6 mil, large, box of 100", 12_75, 10, 80),
    Product("SAF-GLS-CLR", "Safety glasses ANSI Z87.1, clear anti-fog", 4_10, 12, 120),
    Product("SAF-HH-T2", "Hard hat Type II, ratchet suspension", 28_90, 4, 24),
    Product("SAF-EP-200", "Foam ear plugs NRR 32, box of 200 pairs", 31_20, 2, 10),
    Product("SAF-VST-L3", "Hi-vis safety vest ANSI Class 3, XL", 16_95, 6, 40),
    Product("LUB-GRS-14", "Lithium EP2 grease cartridge, 14 oz", 7_80, 10, 60),
    Product("LUB-AW46-5", "Hydraulic oil AW 46, 5 gal pail", 98_00, 1, 10),
    Product("LUB-CUT-1G", "Cutting fluid, semi-synthetic, 1 gal", 34_60, 2, 12),
    Product("HYD-HOSE-08", "Hydraulic hose 1/2 in. 2-wire, 3000 psi, per ft", 4_95, 25, 200),
    Product("HYD-JIC-08", "JIC 37 deg. swivel fitting, 1/2 in., steel", 11_30, 6, 40),
    Product("PNU-PTC-38", "Push-to-connect fitting 3/8 in. tube x 1/4 NPT", 3_65, 20, 150),
    Product("PNU-FRL-12", "Filter-regulator-lubricator, 1/2 in. NPT", 142_00, 1, 4),
    Product("ELC-SOOW-123", "Portable cord SOOW 12/3, per ft", 1_85, 50, 500),
    Product("ELC-HB-150", "LED high bay 150 W, 5000 K, 21,000 lm", 189_00, 2, 12),
    Product("MTR-5HP-TEFC", "Motor 5 HP, 1800 rpm, TEFC, 184T frame", 865_00, 1, 2),
    Product("MH-PJ-5500", "Pallet jack, 5,500 lb, 27 x 48 in. forks", 449_00, 1, 2),
    Product("MH-RS-2-27", "Ratchet strap 2 in. x 27 ft, 3,333 lb WLL", 19_80, 4, 24),
    Product("WLD-ER70-33", "MIG wire ER70S-6, .035 in., 33 lb spool", 96_00, 2, 10),
    Product("WLD-7018-10", "Stick electrode E7018 1/8 in., 10 lb can", 41_50, 2, 10),
    Product("JAN-TWL-RL", "Shop towels, blue, roll of 55", 3_90, 12, 72),
    Product("JAN-ABS-100", "Universal absorbent pads 15 x 19 in., pack of 100", 58_00, 1, 6),
)

FREIGHT_DESCRIPTION = "Freight - LTL, prepaid and added"


@dataclass(frozen=True, slots=True)
class Habits:
    """How a customer's accounts-payable team pays (percentages are whole numbers)."""

    # (method, weight): "ach" or "card" through the portal, "check" or "wire" outside it.
    methods: tuple[tuple[str, int], ...]
    # Weekdays (0 = Monday) on which the customer runs its payments.
    run_days: tuple[int, ...]
    # Of invoices with an early-pay discount, the percentage paid inside the window.
    takes_discount: int
    # Days after the due date a payment usually comes, as an inclusive range.
    late_days: tuple[int, int]
    # Percentage of invoices that get stuck (lost, disputed by e-mail) for months.
    stuck: int
    # The number on the first check the demo sees from this customer.
    first_check: int = 1001


@dataclass(frozen=True, slots=True)
class CustomerProfile:
    """A demo customer account and the shape of its invoice history."""

    number: str
    name: str
    currency: str
    terms: tuple[tuple[str, int], ...]  # (terms, weight)
    tax_rate: Decimal  # percent, applied per line, rounded half up
    invoice_count: int
    history_days: int  # how far back its invoices go
    po_format: str  # str.format pattern taking a number; "" for no PO numbers
    habits: Habits
    email: str
    phone: str
    billing_address: str
    tax_id: str | None
    contacts: tuple[tuple[str, str], ...]  # (name, e-mail), the billing contact first
    credit_limit_minor: int | None = None
    # Invoices left unpaid (lost, disputed by e-mail), by how many days late they are
    # today: they keep every aging bucket filled whichever day the demo is loaded.
    unpaid_days_late: tuple[int, ...] = ()


CUSTOMERS: tuple[CustomerProfile, ...] = (
    CustomerProfile(
        number="C-10042", name="Great Lakes Fabrication Co.", currency="USD",
        terms=(("2/10 net 30", 80), ("net 30", 20)), tax_rate=Decimal("6"),
        invoice_count=250, history_days=330, po_format="45000{:05d}",
        habits=Habits(methods=(("ach", 70), ("card", 10), ("check", 20)), run_days=(1, 3),
                      takes_discount=55, late_days=(-4, 12), stuck=3, first_check=10452),
        email="ap@greatlakesfab.example", phone="+1 (616) 555-0117",
        billing_address="Great Lakes Fabrication Co.\nAccounts Payable\n"
                        "1875 Foundry Row SW\nGrand Rapids, MI 49507",
        tax_id="38-4417265",
        contacts=(("Dana Whitfield", "dana.whitfield@greatlakesfab.example"),
                  ("Marcus Oyelaran", "marcus.oyelaran@greatlakesfab.example")),
        credit_limit_minor=250_000_00, unpaid_days_late=(38, 72, 97),
    ),
    CustomerProfile(
        number="C-10117", name="Harbor Point Marine Services LLC", currency="USD",
        terms=(("net 45", 100),), tax_rate=Decimal("5.5"),
        invoice_count=45, history_days=320, po_format="HPM-{:04d}",
        habits=Habits(methods=(("check", 75), ("wire", 25)), run_days=(4,),
                      takes_discount=0, late_days=(-2, 24), stuck=7, first_check=3301),
        email="payables@harborpointmarine.example", phone="+1 (207) 555-0163",
        billing_address="Harbor Point Marine Services LLC\n44 Wharf Street, Suite 3\n"
                        "Portland, ME 04101",
        tax_id="01-0938274",
        contacts=(("Ellen Castellano", "ellen@harborpointmarine.example"),),
        unpaid_days_late=(52, 86, 124),
    ),
    CustomerProfile(
        number="C-10231", name="Redwood Valley Foods, Inc.", currency="USD",
        terms=(("net 30", 100),), tax_rate=Decimal("0"),  # resale certificate on file
        invoice_count=40, history_days=300, po_format="RV{:05d}",
        habits=Habits(methods=(("card", 60), ("ach", 40)), run_days=(0, 2),
                      takes_discount=0, late_days=(3, 45), stuck=8),
        email="ap@redwoodvalleyfoods.example", phone="+1 (707) 555-0188",
        billing_address="Redwood Valley Foods, Inc.\nAttn: Accounts Payable\n"
                        "900 Orchard Lane\nSanta Rosa, CA 95407",
        tax_id="94-3307712",
        contacts=(("Priya Raman", "priya.raman@redwoodvalleyfoods.example"),
                  ("Tom Becker", "tom.becker@redwoodvalleyfoods.example")),
        unpaid_days_late=(33, 66, 104, 151),
    ),
    CustomerProfile(
        number="C-20008", name="Maple Leaf Mining Ltd.", currency="CAD",
        terms=(("net 45", 70), ("2/10 net 30", 30)), tax_rate=Decimal("13"),  # HST (Ontario)
        invoice_count=35, history_days=310, po_format="MLM-PO-{:05d}",
        habits=Habits(methods=(("wire", 100),), run_days=(2,),
                      takes_discount=40, late_days=(0, 30), stuck=6),
        email="comptes.payables@mapleleafmining.example", phone="+1 (705) 555-0129",
        billing_address="Maple Leaf Mining Ltd.\nAccounts Payable\n"
                        "1200 Nickel Ridge Road\nSudbury, ON P3A 4R7\nCanada",
        tax_id="81942 7765 RT0001",
        contacts=(("Genevieve Tremblay", "g.tremblay@mapleleafmining.example"),),
        unpaid_days_late=(45, 81),
    ),
    CustomerProfile(
        number="C-10388", name="Summit Ridge Construction", currency="USD",
        terms=(("2/10 net 30", 50), ("net 30", 50)), tax_rate=Decimal("7"),
        invoice_count=30, history_days=300, po_format="JOB-{:04d}",
        habits=Habits(methods=(("check", 60), ("card", 40)), run_days=(0,),
                      takes_discount=25, late_days=(10, 70), stuck=12, first_check=2210),
        email="office@summitridgebuild.example", phone="+1 (303) 555-0151",
        billing_address="Summit Ridge Construction\nPO Box 2290\nGolden, CO 80402",
        tax_id="84-2219830",
        contacts=(("Rick Alvarado", "rick@summitridgebuild.example"),),
        unpaid_days_late=(58, 112, 168),
    ),
)

# The customer whose invoices the showcase payments (processing ACH, volume rebate)
# are made on, and the one with a troubled history (write-offs, overpayment).
LARGE_CUSTOMER = "C-10042"
TROUBLED_CUSTOMER = "C-10388"
CARD_CUSTOMER = "C-10231"
