"""The checks of the TLS PEM files before grpc gets them (server/adapters/tls.py): grpc only
says "Failed to bind to address" for a bad certificate or key, so the service says what is
wrong, in a few words that never quote key material. Keys made in memory, no file."""

from __future__ import annotations

import datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from server.adapters.tls import certificates_problem, private_key_problem


def key_pem(key: ec.EllipticCurvePrivateKey, passphrase: bytes | None = None) -> bytes:
    encryption = (
        serialization.BestAvailableEncryption(passphrase) if passphrase else serialization.NoEncryption()
    )
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)


def certificate_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    start = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(1).not_valid_before(start).not_valid_after(start + datetime.timedelta(days=3650))
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM)


KEY = ec.generate_private_key(ec.SECP256R1())
OTHER = ec.generate_private_key(ec.SECP256R1())
CERTIFICATE = certificate_pem(KEY)


def test_a_matching_key_and_certificate_pass() -> None:
    assert certificates_problem(CERTIFICATE) is None
    assert private_key_problem(key_pem(KEY), CERTIFICATE) is None


def test_a_file_without_a_certificate_is_named_so() -> None:
    assert certificates_problem(b"") == "holds no PEM certificate"
    assert certificates_problem(key_pem(KEY)) == "holds no PEM certificate"


def test_a_key_with_a_passphrase_is_refused_since_grpc_cannot_use_it() -> None:
    assert private_key_problem(key_pem(KEY, b"s3cret"), CERTIFICATE) == (
        "is encrypted with a passphrase, which grpc cannot use"
    )


def test_a_key_file_without_a_key_or_with_another_key_is_named_so() -> None:
    assert private_key_problem(CERTIFICATE, CERTIFICATE) == "holds no PEM private key"
    assert private_key_problem(key_pem(OTHER), CERTIFICATE) == "is not the private key of the server certificate"


def test_a_key_is_not_judged_against_a_certificate_file_that_holds_none() -> None:
    # The certificate's own check names that file; the key's says nothing of it.
    assert private_key_problem(key_pem(KEY), b"not a certificate") is None
