"""OpenID Connect / OAuth 2.0 relying party: discovery, JWKS, the code flow, token validation."""
