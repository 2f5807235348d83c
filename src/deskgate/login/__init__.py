"""The sign-in flow: pending logins kept server-side, and the post-login pipeline."""
