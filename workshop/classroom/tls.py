"""HTTPS for a room without a certificate authority: `serve --tls-self-signed` makes a key and a
self-signed certificate once (kept in the state folder, reused on every restart so the
fingerprint learners pinned stays true) and the join line carries its SHA-256 fingerprint.

The learner's client pins that fingerprint (`workshop.report`, stdlib only); this module, which
makes certificates, needs `cryptography` and runs on the instructor's machine only.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import os
import socket
import ssl
import tempfile
from pathlib import Path

from workshop.errors import WorkshopError
from workshop.report import fingerprint

FOLDER = "classroom-tls"
CERT, KEY = "cert.pem", "key.pem"
DAYS = 397  # what browsers accept for a server certificate's lifetime


def folder() -> Path:
    from workshop.state import home

    return home() / FOLDER


def cert_fingerprint(path: str | Path) -> str:
    """`sha256:...` of the first certificate in a PEM file (the server's own, which is what a
    TLS client receives first)."""
    text = Path(path).read_text(encoding="ascii", errors="replace")
    start = text.find("-----BEGIN CERTIFICATE-----")
    end = text.find("-----END CERTIFICATE-----", start)
    if start < 0 or end < 0:
        raise WorkshopError(f"{path} holds no PEM certificate: pass the certificate file.")
    pem = text[start : end + len("-----END CERTIFICATE-----")] + "\n"
    return fingerprint(ssl.PEM_cert_to_DER_cert(pem))


def _usable(cert: Path, key: Path) -> bool:
    """Both files there, a pair, and the certificate valid for a day more."""
    if not (cert.is_file() and key.is_file()):
        return False
    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(cert, key)
        from cryptography import x509

        loaded = x509.load_pem_x509_certificate(cert.read_bytes())
    except (ssl.SSLError, OSError, ValueError, ImportError):
        return False
    left = loaded.not_valid_after_utc - datetime.datetime.now(datetime.UTC)
    return left > datetime.timedelta(days=1)


def self_signed(names: list[str]) -> tuple[Path, Path, bool]:
    """(certificate, key, made now): the state folder's pair if it is still good, else a new
    one for `names` (IP addresses and DNS names) plus this machine's loopback names."""
    where = folder()
    cert, key = where / CERT, where / KEY
    if _usable(cert, key):
        return cert, key, False
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
    except ImportError:
        raise WorkshopError(
            "--tls-self-signed needs the `cryptography` package on the server's machine: install "
            "the kit's classroom extra (pip install 'cryptography'), or pass --tls-cert/--tls-key."
        ) from None
    every = [*names, "127.0.0.1", "::1", "localhost", socket.gethostname()]
    sans: list = []
    for name in dict.fromkeys(n.strip("[]") for n in every if n):
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            with contextlib.suppress(ValueError):
                sans.append(x509.DNSName(name.encode("idna").decode("ascii")))
    private = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "workshop classroom")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(private.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=DAYS))
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(private, hashes.SHA256())
    )
    where.mkdir(parents=True, exist_ok=True)
    _write(
        key,
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )
    _write(cert, certificate.public_bytes(serialization.Encoding.PEM))
    return cert, key, True


def _write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
