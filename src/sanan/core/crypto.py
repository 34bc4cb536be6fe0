"""Encryption of personal data at rest and keyed blind indexes for exact lookup.

A stored value reads ``v1:<cipher>:<key id>:<base64(nonce | ciphertext | tag)>`` so keys can
rotate (new values use the current key; every listed key still decrypts) and the cipher can be
AES-256-GCM or SM4-GCM (GB/T 32907) per value.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

_PREFIX = "v1"
_NONCE = 12
_TAG = 16


class DecryptionError(Exception):
    """A stored value could not be decrypted (unknown key id, or tampered)."""


def _sm4_key(key: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=16, salt=None, info=b"sanan-sm4").derive(key)


def _encrypt(cipher: str, key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    nonce = os.urandom(_NONCE)
    if cipher == "aes-256-gcm":
        return nonce + AESGCM(key).encrypt(nonce, plaintext, aad)
    encryptor = Cipher(algorithms.SM4(_sm4_key(key)), modes.GCM(nonce)).encryptor()
    encryptor.authenticate_additional_data(aad)
    body = encryptor.update(plaintext) + encryptor.finalize()
    return nonce + body + encryptor.tag


def _decrypt(cipher: str, key: bytes, blob: bytes, aad: bytes) -> bytes:
    nonce, body = blob[:_NONCE], blob[_NONCE:]
    if cipher == "aes-256-gcm":
        return AESGCM(key).decrypt(nonce, body, aad)
    decryptor = Cipher(algorithms.SM4(_sm4_key(key)), modes.GCM(nonce, body[-_TAG:])).decryptor()
    decryptor.authenticate_additional_data(aad)
    return decryptor.update(body[:-_TAG]) + decryptor.finalize()


def encrypt(plaintext: str, *, purpose: str) -> str:
    """Encrypt ``plaintext`` with the current key; ``purpose`` (e.g. "user.phone") is bound in."""
    key_id = settings.PII_CURRENT_KEY_ID
    cipher = settings.PII_CIPHER
    blob = _encrypt(cipher, settings.PII_KEYS[key_id], plaintext.encode(), purpose.encode())
    return f"{_PREFIX}:{cipher}:{key_id}:{base64.b64encode(blob).decode('ascii')}"


def decrypt(token: str, *, purpose: str) -> str:
    try:
        prefix, cipher, key_id, encoded = token.split(":", 3)
        if prefix != _PREFIX or cipher not in ("aes-256-gcm", "sm4-gcm"):
            raise ValueError
        key = settings.PII_KEYS[key_id]
        return _decrypt(cipher, key, base64.b64decode(encoded), purpose.encode()).decode()
    except Exception as exc:  # never echo the value
        raise DecryptionError("stored personal value cannot be decrypted") from exc


def key_id_of(token: str) -> str:
    return token.split(":", 3)[2]


def blind_index(value: str, *, purpose: str) -> str:
    """A keyed HMAC-SHA256 of a normalised value: equal values match, nothing can be read back."""
    key = settings.PII_INDEX_KEY
    return hmac.new(key, f"{purpose}\x00{value}".encode(), hashlib.sha256).hexdigest()
