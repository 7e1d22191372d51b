"""The vendor's profile: who runs the portal, where to send money, and its payment policies."""
