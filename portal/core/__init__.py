"""What every page shares: health, the request's database session, error pages."""
