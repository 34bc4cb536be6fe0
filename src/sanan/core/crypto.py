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
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.db import transaction
from django.db.models import Model
from django.utils.translation import gettext_lazy as _

from sanan.core.errors import DomainError

_PREFIX = "v1"
_NONCE = 12
_TAG = 16


class DecryptionError(Exception):
    """A stored value could not be decrypted (unknown key id, or tampered)."""


def _sm4_key(key: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=16, salt=None, info=b"sanan-sm4").derive(key)


_AES: dict[bytes, AESGCM] = {}


def _aes(key: bytes) -> AESGCM:
    """One AESGCM object per key (making one expands the key schedule: half the cost of
    encrypting an ID number). Keys are few; the cache is bounded all the same."""
    aes = _AES.get(key)
    if aes is None:
        if len(_AES) > 64:
            _AES.clear()
        aes = _AES[key] = AESGCM(key)
    return aes


def _encrypt(cipher: str, key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    nonce = os.urandom(_NONCE)
    if cipher == "aes-256-gcm":
        return nonce + _aes(key).encrypt(nonce, plaintext, aad)
    encryptor = Cipher(algorithms.SM4(_sm4_key(key)), modes.GCM(nonce)).encryptor()
    encryptor.authenticate_additional_data(aad)
    body = encryptor.update(plaintext) + encryptor.finalize()
    return nonce + body + encryptor.tag


def _decrypt(cipher: str, key: bytes, blob: bytes, aad: bytes) -> bytes:
    nonce, body = blob[:_NONCE], blob[_NONCE:]
    if cipher == "aes-256-gcm":
        return _aes(key).decrypt(nonce, body, aad)
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


def cipher_of(token: str) -> str:
    return token.split(":", 3)[1]


def current_prefix() -> str:
    """What a value encrypted right now starts with: format, cipher and key id."""
    return f"{_PREFIX}:{settings.PII_CIPHER}:{settings.PII_CURRENT_KEY_ID}:"


def is_current(token: str) -> bool:
    """Encrypted with the current key and the current cipher (nothing to rotate)."""
    return not token or token.startswith(current_prefix())


def reencrypt(token: str, *, purpose: str) -> str:
    """The same value under the current key and cipher (unchanged when already current)."""
    if is_current(token):
        return token
    return encrypt(decrypt(token, purpose=purpose), purpose=purpose)


# --- Which columns hold encrypted personal values ---------------------------------------------


@dataclass(frozen=True)
class EncryptedField:
    """A model column holding ``encrypt(..., purpose=purpose)`` tokens (``""`` when empty)."""

    model: str  # app_label.ModelName
    field: str
    purpose: str


_FIELDS: dict[tuple[str, str], EncryptedField] = {}


def register_encrypted_field(model: str, field: str, *, purpose: str) -> None:
    """Declare a column of encrypted values, so ``sanan pii rotate`` and ``status`` find it.

    Apps call this when their models module loads (idempotent)."""
    _FIELDS[(model, field)] = EncryptedField(model, field, purpose)


def encrypted_fields() -> list[EncryptedField]:
    return sorted(_FIELDS.values(), key=lambda f: (f.model, f.field))


# Users' phones predate this registry; declared here so accounts need not import it.
register_encrypted_field("accounts.User", "phone_encrypted", purpose="user.phone")


# --- Revealing a protected value --------------------------------------------------------------

REVEAL_REASON_MIN = 2  # 回访 (call-back) is a complete reason


def reveal_reason(reason: str) -> str:
    """The stripped reason for a reveal, or ``pii.reason_required``."""
    reason = (reason or "").strip()
    if len(reason) < REVEAL_REASON_MIN:
        raise DomainError(
            "pii.reason_required",
            _("Say why you need to see this, in a few words (e.g. 回访, call-back)."),
            fields={"reason": [_("Give a reason of at least 2 characters.")]},
        )
    return reason


def pii_reveal(
    *, actor: Any, target: Model, reason: str, values: Mapping[str, Callable[[], str]]
) -> dict[str, str]:
    """Decrypt the named values of ``target`` for an actor who gave a reason; audited as
    ``pii.revealed`` (naming the fields, never the values) before anything is returned.

    The caller has checked the permission (``pii.reveal`` over the target's place)."""
    from sanan.audit.services import audit_record

    reason = reveal_reason(reason)
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="pii.revealed",
            target=target,
            reason=reason,
            data={"field": ",".join(values)},
        )
    return {name: read() for name, read in values.items()}
