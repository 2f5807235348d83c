"""Security helpers that do not belong to one protocol or route: redirect-target validation."""
