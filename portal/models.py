"""Every table the portal owns, imported in one place for Alembic and the tests."""

from portal.accounts import models as accounts_models  # noqa: F401
from portal.disputes import models as disputes_models  # noqa: F401
from portal.invoices import models as invoices_models  # noqa: F401
from portal.ledger import models as ledger_models  # noqa: F401
from portal.links import models as links_models  # noqa: F401
from portal.payments import bank_models  # noqa: F401
from portal.payments import models as payments_models  # noqa: F401
from portal.plans import models as plans_models  # noqa: F401
from portal.vendor import models as vendor_models  # noqa: F401
