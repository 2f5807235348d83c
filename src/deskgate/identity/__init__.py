"""Identity: the protocol-neutral side of sign-in (claims, presets, mapping, filters, OIDC)."""
