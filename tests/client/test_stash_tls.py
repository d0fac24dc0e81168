"""An https Stash with a self-signed certificate (seen in a real Stash v0.30.1 given stash.crt):
the plugin reaches it over loopback even where REQUESTS_CA_BUNDLE is set, which overrides a
requests session's ``verify=False``; the hook (standard library) does too."""

from __future__ import annotations

import shutil
import ssl
import subprocess
import sys
from pathlib import Path

import pytest

from stashtag_client.stash.client import StashClient
from stashtag_client.stash.http import StashConnection, StashError
from tests.fakestash import FakeStash, plugin_stdin, serve

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "plugin"))
import stashtag_hook

pytestmark = pytest.mark.skipif(not shutil.which("openssl"), reason="needs the openssl command")


@pytest.fixture
def https_stash(tmp_path):
    cert, key = tmp_path / "stash.crt", tmp_path / "stash.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
         "-out", str(cert), "-days", "1", "-subj", "/CN=stash.example"],
        check=True, capture_output=True,
    )  # fmt: skip
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)
    fake = FakeStash("key")
    fake.add_tag("AI_TagMe")
    server, url = serve(fake, tls)
    yield fake, url
    server.shutdown()


def test_the_plugin_reaches_a_self_signed_stash_on_loopback(https_stash, monkeypatch):
    fake, url = https_stash
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", ssl.get_default_verify_paths().openssl_cafile)
    server = plugin_stdin(url, fake.session_cookie, ".", ".", {})["server_connection"]
    assert server["Scheme"] == "https"
    client = StashClient(StashConnection.from_plugin(server))
    assert client.find_tag("AI_TagMe")["name"] == "AI_TagMe"
    hook = stashtag_hook.Stash(server)
    assert hook.gql("{ version { version } }")["version"]["version"]


def test_elsewhere_the_certificate_is_checked(https_stash):
    fake, url = https_stash
    client = StashClient(StashConnection(url, fake.api_key, timeout_s=3, attempts=1))
    with pytest.raises(StashError, match=r"SSL|certificate"):
        client.find_tag("AI_TagMe")
