"""Console admins: local accounts, the first-admin setup link, admin sessions and sign-in throttling.

Framework-free: the web layer (`deskgate.web.admin_auth`) and the CLI (`deskgate admin`) both use it.
"""
