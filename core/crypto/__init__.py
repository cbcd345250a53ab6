"""Envelope encryption of special-category fields (issue 14, item 2).

* :mod:`core.crypto.kek`: the key-encryption keys (KEKs) from ``FIELD_ENCRYPTION_KEYS``.
* :mod:`core.crypto.envelope`: AES-256-GCM of one value, ``v1:<key id>:<nonce+ciphertext>``.
* :mod:`core.crypto.models`: the tenant data keys (DEKs), stored wrapped by a KEK.
* :mod:`core.crypto.keystore`: creating, wrapping, unwrapping and finding a tenant's keys.
* :mod:`core.crypto.fields`: the ``Encrypted`` column type and the ORM events that make it transparent.
* :mod:`core.crypto.blind`: blind indexes (a keyed hash per tenant) for equality search.
* :mod:`core.crypto.rotation`: ``koppel keys rotate`` and ``koppel keys status``.

Nothing here imports the app at module level, so :mod:`core.config` can use :mod:`core.crypto.kek`.
"""
