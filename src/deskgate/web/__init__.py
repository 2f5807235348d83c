"""The thin web layer (Starlette): auth routes, admin routes, the error boundary, security headers."""
