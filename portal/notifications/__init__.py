"""E-mail to people: rendered from templates (text + HTML, translated), sent after commit."""
