"""Documents the customer downloads: invoice PDFs, the statement of account, merged invoices.

How a document is made, in three steps that never mix:

1. :mod:`portal.documents.queries` reads the ledger into plain, frozen data
   (:mod:`portal.documents.content`), applying the rules a document states —
   aging and the early-pay offer, the invoice center's own
   (:mod:`portal.invoices.services`) — with "today" in the vendor's time zone;
2. the view ends the request's database transaction;
3. :mod:`portal.documents.render` fills the templates in ``templates/documents/``
   with that data and has WeasyPrint lay them out. Templates only format (money,
   dates and words in the reader's language); they decide nothing.

WeasyPrint fetches nothing from the network, ever: its URL fetcher serves files
from the project's ``static/`` folder and refuses everything else.
"""
