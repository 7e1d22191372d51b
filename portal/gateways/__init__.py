"""The outside world's payment services, each behind a small interface of the portal's own.

- :mod:`portal.gateways.stripe` — cards through Stripe; the only module that imports
  ``stripe``. It returns the portal's own dataclasses and raises the portal's own
  errors, so nothing else depends on stripe-python's types.
- :mod:`portal.gateways.localstripe` — development and tests only: a local
  Stripe-compatible server (localstripe) with the few extensions the portal needs,
  so the production code path is the one that runs offline too.
"""
