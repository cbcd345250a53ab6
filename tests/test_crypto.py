"""Envelope encryption without a database: the cipher, the stored format and the key-encryption key setting
(core/crypto). The database side is in tests/test_field_encryption.py."""
import base64

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from core.config import ConfigError
from core.crypto import envelope, kek
from core.crypto.fields import aad


def test_asvs_11_3_2_a_value_is_aes_256_gcm_with_its_key_id_stored():
    key = AESGCM.generate_key(256)
    token = envelope.seal(AESGCM(key), "0123456789abcdef", b'["kopp","debts"]', aad(7, "family", "problem_areas", "r1"))
    version, key_id, data = token.split(":")
    assert (version, key_id) == ("v1", "0123456789abcdef") and envelope.key_id(token) == key_id
    raw = base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))
    # a standard AES-256-GCM message: 12-byte nonce, ciphertext, 16-byte tag, with the field's associated data
    assert len(key) == 32 and len(raw) == 12 + len(b'["kopp","debts"]') + 16
    assert AESGCM(key).decrypt(raw[:12], raw[12:], aad(7, "family", "problem_areas", "r1")) == b'["kopp","debts"]'
    assert envelope.open_(AESGCM(key), token, aad(7, "family", "problem_areas", "r1")) == b'["kopp","debts"]'


def test_asvs_11_3_4_every_encryption_has_a_fresh_nonce():
    cipher, where = AESGCM(AESGCM.generate_key(256)), aad(1, "contact", "note", "r")
    tokens = {envelope.seal(cipher, "k", b"same note", where) for _ in range(200)}
    nonces = {base64.urlsafe_b64decode(t.split(":")[2] + "==")[:12] for t in tokens}
    assert len(tokens) == len(nonces) == 200


@pytest.mark.parametrize("other", [aad(8, "family", "wishes", "r1"), aad(7, "family", "preferences", "r1"),
                                   aad(7, "family", "wishes", "r2"), aad(7, "intake_meeting", "wishes", "r1")],
                         ids=["tenant", "column", "row", "table"])
def test_asvs_11_3_3_a_value_bound_elsewhere_or_changed_is_refused(other):
    cipher = AESGCM(AESGCM.generate_key(256))
    token = envelope.seal(cipher, "k", b"needs rest", aad(7, "family", "wishes", "r1"))
    with pytest.raises(envelope.DecryptionError, match="does not belong here"):
        envelope.open_(cipher, token, other)
    changed = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    with pytest.raises(envelope.DecryptionError):
        envelope.open_(cipher, changed, aad(7, "family", "wishes", "r1"))
    with pytest.raises(envelope.DecryptionError, match="not an encrypted value"):
        envelope.open_(cipher, "needs rest", aad(7, "family", "wishes", "r1"))


def test_the_key_encryption_keys_setting():
    first, second = kek.generate("2026a"), kek.generate("2025b")
    ring = kek.parse(f"{first}, {second}", "production")
    assert ring.current_id == "2026a" and len(ring.get("2025b")) == 32 and "2026a" in repr(ring)
    assert base64.b64encode(ring.get("2026a")).decode() not in repr(ring)
    with pytest.raises(kek.MissingKeyError):
        ring.get("dev")
    assert kek.parse("", "development") is kek.DEVELOPMENT and kek.parse("", "testing").is_development
    with pytest.raises(ConfigError, match="FIELD_ENCRYPTION_KEYS is missing"):
        kek.parse("", "production")
    with pytest.raises(ConfigError, match="development key"):
        kek.parse(f"dev:{base64.b64encode(kek.DEV_KEK).decode()}", "production")
    for bad in ("2026a", "2026a:c2hvcnQ=", f"{first}, {first}", "bad id:" + first.split(":")[1]):
        with pytest.raises(ConfigError, match="FIELD_ENCRYPTION_KEYS must be distinct"):
            kek.parse(bad, "development")
