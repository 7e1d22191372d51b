"""The invoice center: what a customer owes, by invoice, with its documents."""
