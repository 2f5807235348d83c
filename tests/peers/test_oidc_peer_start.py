"""The launcher's start-up: a provider that hangs silently is started again; one that exits fails at once."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from deskgate.demo.oidc_peer import START_ATTEMPTS, OidcPeer, PeerClient, PeerStartError, default_peer_dir


def _fake_node(tmp_path: Path, body: str) -> str:
    """A stand-in for `node`: prints what node prints first, counts its starts, then does `body`."""
    script = tmp_path / "node"
    script.write_text(f'#!/bin/sh\necho start >> "{tmp_path}/starts"\necho "notice"\n{body}\n')
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(script)


def _peer(node: str) -> OidcPeer:
    client = PeerClient("rp", "secret-0123456789", ["http://127.0.0.1:1/cb"])
    return OidcPeer(
        clients=[client], accounts=[], node=node, startup_timeout=0.5, peer_dir=default_peer_dir()
    )


def test_a_silent_provider_is_started_again_then_given_up(tmp_path: Path) -> None:
    peer = _peer(_fake_node(tmp_path, "exec sleep 30"))
    with pytest.raises(PeerStartError, match="did not start within") as failed:
        peer.start()
    assert (tmp_path / "starts").read_text().count("start") == START_ATTEMPTS
    assert str(failed.value).count("notice") == START_ATTEMPTS  # each attempt's output is kept
    assert peer.output == ["notice"] * START_ATTEMPTS


def test_a_provider_that_exits_fails_at_once(tmp_path: Path) -> None:
    peer = _peer(_fake_node(tmp_path, "exit 3"))
    with pytest.raises(PeerStartError, match="exited during start-up"):
        peer.start()
    assert (tmp_path / "starts").read_text().count("start") == 1


def test_bytes_that_are_not_utf8_do_not_stop_the_reader(tmp_path: Path) -> None:
    # A reader that died here would leave the provider's pipe unread: Node blocks once it is full.
    peer = _peer(_fake_node(tmp_path, r"printf '\377\376 odd bytes\nafter them\n'; exec sleep 30"))
    with pytest.raises(PeerStartError):
        peer.start()
    assert "after them" in peer.output
    assert "\ufffd\ufffd odd bytes" in peer.output


def test_a_provider_without_an_rs256_signing_key_refuses_to_start() -> None:
    peer = _peer("node")
    peer.config["signing_keys"] = [key for key in peer.config["signing_keys"] if key["alg"] != "RS256"]
    with pytest.raises(PeerStartError, match="signing_keys needs an RS256 private JWK"):
        peer.start()
