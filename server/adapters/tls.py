"""Checks of the PEM files TLS is configured with, before grpc gets them: given a bad
certificate or key, grpc refuses to bind and says only "Failed to bind to address".

Each check returns what is wrong in a few words, or None; it never quotes key material.
"""

from __future__ import annotations

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization


def certificates_problem(pem: bytes) -> str | None:
    """Why `pem` is not a PEM certificate chain, or None."""
    try:
        certificates = x509.load_pem_x509_certificates(pem)
    except ValueError:
        return "holds no PEM certificate"
    return None if certificates else "holds no PEM certificate"


def private_key_problem(key_pem: bytes, certificate_pem: bytes) -> str | None:
    """Why `key_pem` is not the unencrypted PEM private key of the first certificate in
    `certificate_pem`, or None."""
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except TypeError:
        return "is encrypted with a passphrase, which grpc cannot use"
    except ValueError:
        return "holds no PEM private key"
    except UnsupportedAlgorithm:
        return "holds a private key of an unsupported kind"
    try:
        certificate = x509.load_pem_x509_certificates(certificate_pem)[0]
    except (ValueError, IndexError):
        return None  # the certificate's own check reports it
    public = serialization.PublicFormat.SubjectPublicKeyInfo
    pem = serialization.Encoding.PEM
    if key.public_key().public_bytes(pem, public) != certificate.public_key().public_bytes(pem, public):
        return "is not the private key of the server certificate"
    return None
