"""The payment portal: a Flask app on a shared accounts-receivable ledger.

Read in this order: ``wsgi.py``, :mod:`portal.app`, a feature's ``views.py``
and ``services.py``, then :mod:`portal.ledger`.
"""
