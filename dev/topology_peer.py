"""The OpenID provider of dev/topology: the tests' oidc-provider peer, run in the foreground until SIGTERM.

    python dev/topology_peer.py --port P --base-url URL --client-id ID --client-secret-env VAR

It knows one client (Deskgate at URL, every instance behind one base_url) and the accounts `customer1`
… `customer1000` (password: the account id; the load test signs in hundreds) with the e-mail address <id>@topology.example, and prints
``issuer=…`` once discovery answers.
"""

from __future__ import annotations

import argparse
import os
import signal
import threading

from deskgate.demo.oidc_peer import OidcPeer, PeerAccount, PeerClient
from deskgate.services import BACKCHANNEL_LOGOUT_PATH, CALLBACK_PATH, POST_LOGOUT_PATH

ACCOUNT_COUNT = 1000
ACCOUNTS = tuple(
    PeerAccount(
        f"customer{n}",
        f"customer{n}",
        {
            "email": f"customer{n}@topology.example",
            "email_verified": True,
            "name": f"Customer {n}",
            "given_name": "Customer",
            "family_name": str(n),
        },
    )
    for n in range(1, ACCOUNT_COUNT + 1)
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--client-secret-env", required=True, metavar="VAR")
    args = parser.parse_args()
    base = args.base_url.rstrip("/")
    client = PeerClient(
        args.client_id,
        os.environ[args.client_secret_env],
        [base + CALLBACK_PATH],
        post_logout_redirect_uris=[base + POST_LOGOUT_PATH],
        token_endpoint_auth_method="client_secret_post",  # noqa: S106 - a method name
        backchannel_logout_uri=base + BACKCHANNEL_LOGOUT_PATH,
    )
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    with OidcPeer(clients=[client], accounts=ACCOUNTS, gluu_paths=False, port=args.port) as peer:
        print(f"issuer={peer.issuer}", flush=True)
        stop.wait()


if __name__ == "__main__":
    main()
