"""Customer accounts, users, roles, sign-in and sessions, invitations, the audit log."""
