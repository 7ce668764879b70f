"""The bench's TLS set-up: certificates, and a token server on its own port.

Python 3 standard library (and the `openssl` command line, to make keys and certificates once).
What a fresh CI container meets at Docker Hub, GHCR or Quay: an HTTPS registry whose Bearer
tokens come from a realm on another host. Here the registry is Debian's `docker-registry` with
`auth.token`, and the realm is `TokenServer`, an HTTPS server on its own port that grants an
anonymous client every scope it asks for (as a public registry grants pull), signing RS256 JWTs
with its RSA key. The signature is computed here (`pow` with the key's CRT numbers: about a
millisecond on an idle core, tens on a busy machine), and a token is handed out again for the
same service and scopes for a minute (the bench asks for the same few again and again), so a
token costs its round trip and next to nothing more. The server keeps connections alive, as
real token servers do.
"""

import base64
import hashlib
import json
import re
import socket
import ssl
import subprocess
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

SERVICE = "bench-registry"
ISSUER = "bench-issuer"

OPENSSL_CNF = """[req]
distinguished_name = dn
[dn]
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[server]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1,DNS:localhost
authorityKeyIdentifier = keyid
[signer]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
"""

EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "30",
          "-config", "openssl.cnf"]


def _openssl(directory, *args):
    out = subprocess.run(["openssl", *args], cwd=directory, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"openssl {' '.join(args)} failed:\n{out.stderr}")
    return out.stdout


class Certificates:
    """A P-256 CA (`ca.crt`, what clients trust), one server certificate for 127.0.0.1 that the
    registry and the token server both serve (`server.crt`, `server.key`), and the RSA key that
    signs tokens with its self-signed certificate (`signer.key`, `signer.crt`: the registry's
    `rootcertbundle`)."""

    def __init__(self, directory):
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        (d / "openssl.cnf").write_text(OPENSSL_CNF)
        _openssl(d, "req", "-x509", *EC_KEY, "-extensions", "ca", "-subj", "/CN=bench-CA",
                 "-keyout", "ca.key", "-out", "ca.crt")
        _openssl(d, "req", "-x509", *EC_KEY, "-extensions", "server", "-subj", "/CN=127.0.0.1",
                 "-CA", "ca.crt", "-CAkey", "ca.key", "-keyout", "server.key", "-out", "server.crt")
        _openssl(d, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30", "-config",
                 "openssl.cnf", "-extensions", "signer", "-subj", "/CN=bench-token-signer",
                 "-keyout", "signer.key", "-out", "signer.crt")
        self.ca = d / "ca.crt"
        self.cert = d / "server.crt"
        self.key = d / "server.key"
        self.signer_key = d / "signer.key"
        self.signer_cert = d / "signer.crt"


class RsaSigner:
    """RS256 (RSASSA-PKCS1-v1_5 with SHA-256) with a PEM RSA key, read once with `openssl rsa`."""

    DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")

    def __init__(self, key_path):
        text = _openssl(Path(key_path).parent, "rsa", "-in", str(key_path), "-noout", "-text")
        numbers = {}
        for name, hexdump in re.findall(r"^(\w+):\s*\n((?:\s+[0-9a-f:]+\n?)+)", text, re.M):
            numbers[name] = int(re.sub(r"[^0-9a-f]", "", hexdump), 16)
        self.n = numbers["modulus"]
        self.p, self.q = numbers["prime1"], numbers["prime2"]
        self.dp, self.dq = numbers["exponent1"], numbers["exponent2"]
        self.qinv = numbers["coefficient"]
        self.size = (self.n.bit_length() + 7) // 8

    def sign(self, message):
        digest = self.DIGEST_INFO + hashlib.sha256(message).digest()
        padded = b"\x00\x01" + b"\xff" * (self.size - len(digest) - 3) + b"\x00" + digest
        c = int.from_bytes(padded, "big")
        m1, m2 = pow(c, self.dp, self.p), pow(c, self.dq, self.q)
        s = m2 + ((self.qinv * (m1 - m2)) % self.p) * self.q
        return s.to_bytes(self.size, "big")


def _b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class TokenServer:
    """HTTPS on 127.0.0.1 (a free port): `GET /token?service=…&scope=…` answers a JWT granting
    every scope asked. Counts the token requests (`requests`)."""

    def __init__(self, certs):
        signer = RsaSigner(certs.signer_key)
        der = ssl.PEM_cert_to_DER_cert(Path(certs.signer_cert).read_text())
        header = _b64(json.dumps({"typ": "JWT", "alg": "RS256",
                                  "x5c": [base64.b64encode(der).decode()]}).encode())
        server_self = self
        self.requests = 0
        lock = threading.Lock()
        counter = [0]
        issued = {}  # (service, access as JSON) -> (unix time issued, token)

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Buffered, so that headers and body leave in one write (flushed after each
            # answer).
            wbufsize = 64 * 1024

            def setup(self):
                # No Nagle, as a Go or nginx token server: OpenSSL sends its TLS 1.3 session
                # tickets on the first read after the handshake, so the answer is a second
                # segment, which Nagle's algorithm holds until the tickets are acknowledged,
                # and the proxy's delayed ACK made that 40 ms on every token.
                super().setup()
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def do_GET(self):
                url = urllib.parse.urlsplit(self.path)
                if url.path != "/token":
                    self._answer(404, {"errors": [{"code": "NOT_FOUND", "message": "not found"}]})
                    return
                query = urllib.parse.parse_qs(url.query)
                access = []
                for scope in " ".join(query.get("scope", [])).split():
                    kind, _, rest = scope.partition(":")
                    name, _, actions = rest.rpartition(":")
                    if kind and name and actions:
                        access.append({"type": kind, "name": name, "actions": actions.split(",")})
                service = query.get("service", [SERVICE])[0]
                key = (service, json.dumps(access, sort_keys=True))
                now = int(time.time())
                with lock:
                    counter[0] += 1
                    server_self.requests += 1
                    jti = counter[0]
                    known = issued.get(key)
                if known and now - known[0] < 60:
                    token = known[1]
                else:
                    claims = {"iss": ISSUER, "sub": "", "aud": service, "exp": now + 300,
                              "nbf": now - 10, "iat": now, "jti": f"bench-{jti}", "access": access}
                    signing_input = f"{header}.{_b64(json.dumps(claims).encode())}"
                    token = f"{signing_input}.{_b64(signer.sign(signing_input.encode()))}"
                    with lock:
                        issued[key] = (now, token)
                self._answer(200, {"token": token, "access_token": token, "expires_in": 300})

            def _answer(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(certs.cert, certs.key)
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def plain_config(storage, secret):
    """The `docker-registry` configuration of a plain-HTTP registry on `storage` (deletes on, a
    random port): the bench's own registry, and the base of the token-mode one."""
    return (
        "version: 0.1\n"
        "log:\n  level: info\n  accesslog:\n    disabled: false\n"
        "storage:\n"
        f"  filesystem:\n    rootdirectory: {json.dumps(str(storage))}\n"
        "  cache:\n    blobdescriptor: inmemory\n"
        "  delete:\n    enabled: true\n"
        "http:\n  addr: 127.0.0.1:0\n"
        f"  secret: {secret}\n"
    )


def registry_config(storage, certs, realm, secret):
    """The `docker-registry` configuration of the token-mode registry: TLS with `certs`, tokens
    from `realm`, on storage shared with the bench's plain registry."""
    return plain_config(storage, secret) + (
        f"  tls:\n    certificate: {json.dumps(str(certs.cert))}\n    key: {json.dumps(str(certs.key))}\n"
        "auth:\n  token:\n"
        f"    realm: {realm}\n    service: {SERVICE}\n    issuer: {ISSUER}\n"
        f"    rootcertbundle: {json.dumps(str(certs.signer_cert))}\n"
    )
