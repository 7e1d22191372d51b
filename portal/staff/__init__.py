"""The vendor's AR staff pages under ``/staff/``."""
