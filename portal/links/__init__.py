"""Invoice links: ``/i/<token>`` URLs that show one invoice to someone without an account."""
