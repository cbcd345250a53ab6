"""Special-category fields encrypted at rest (core/crypto): what PostgreSQL holds, what the app reads, moved
ciphertexts, key rotation, the blind index and the caches. The cipher alone is in tests/test_crypto.py."""
import pytest
from sqlalchemy import select, text

from core.crypto import blind, envelope, kek, keystore, rotation
from core.crypto.models import TenantDataKey
from core.extensions import db
from core.policy import facts
from core.programme.models import Family
from tenants.context import cross_tenant_scope, tenant_scope

pytestmark = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)



@pytest.fixture(autouse=True)
def context(app):
    with app.app_context():
        yield


SECRET = "Moeder heeft een psychose gehad en is in behandeling"


def _record(world, slug="aalten", **values):
    """The requesting family of *slug* with *values* written through the ORM; its id."""
    family_id = world.records[slug]["family"]
    with tenant_scope(world.ids[slug]):
        family = db.session.get(Family, family_id)
        for name, value in values.items():
            setattr(family, name, value)
        db.session.commit()
    return family_id


def _raw(owner_engine, table, column, row_id):
    with owner_engine.begin() as conn:
        conn.execute(text("SELECT set_config('koppel.cross_tenant', 'on', true)"))
        return conn.execute(text(f"SELECT {column}, row_key, tenant_id FROM {table} WHERE id = :id"),
                            {"id": row_id}).one()


def test_asvs_14_2_4_special_category_fields_are_ciphertext_in_the_database(app, world, client, owner_engine):
    family_id = _record(world, wishes=SECRET, household_income=1234, problem_areas=["kopp", "debts"])
    stored = {c: _raw(owner_engine, "family", c, family_id)[0] for c in ("wishes", "household_income", "problem_areas")}
    for value in stored.values():
        assert envelope.is_sealed(value) and "psychose" not in value and "1234" not in value and "kopp" not in value
    with owner_engine.begin() as conn:  # the decision's findings quote the problem areas: encrypted too
        conn.execute(text("SELECT set_config('koppel.cross_tenant', 'on', true)"))
        assert all(v.startswith("v1:") and "overload" not in v
                   for v in conn.execute(text("SELECT findings FROM decision")).scalars())
    # every way in reads the plain values: the API (one family, the list) and the ORM
    response = client.get(f"/api/v1/aalten/families/{family_id}", headers=world.bearer("coordinator"))
    body = response.get_json()
    assert (body["wishes"], body["household_income"], body["problem_areas"]) == (SECRET, 1234, ["kopp", "debts"])
    assert body["decisions"][0]["findings"][0]["explanation"] == "overloaded"
    assert client.get("/api/v1/aalten/families", headers=world.bearer("coordinator")).status_code == 200


def test_asvs_11_3_3_a_ciphertext_moved_to_another_row_column_or_tenant_does_not_decrypt(app, world, owner_engine):
    family_id = _record(world, wishes=SECRET, preferences="geen huisdieren")
    other_id = world.records["aalten"]["supporting"]
    foreign_id = _record(world, "druten", wishes="iets anders")
    token = _raw(owner_engine, "family", "wishes", family_id)[0]
    moves = [("wishes", other_id, "aalten"), ("preferences", family_id, "aalten"), ("wishes", foreign_id, "druten")]
    for column, row_id, slug in moves:
        with owner_engine.begin() as conn:
            conn.execute(text("SELECT set_config('koppel.cross_tenant', 'on', true)"))
            conn.execute(text(f"UPDATE family SET {column} = :token WHERE id = :id"), {"token": token, "id": row_id})
        with tenant_scope(world.ids[slug]):
            with pytest.raises(envelope.DecryptionError):
                db.session.get(Family, row_id)
            db.session.rollback()
            db.session.expunge_all()


def test_keys_rotate_rewraps_reencrypts_resumes_and_the_old_kek_can_go(app, world, owner_engine):
    family_id = _record(world, wishes=SECRET, household_income=900)
    aalten = world.ids["aalten"]
    development = app.config["FIELD_ENCRYPTION_KEYS"]
    new = kek.parse(kek.generate("2027a"), "testing")
    app.config["FIELD_ENCRYPTION_KEYS"] = kek.KeyRing(new.keys + development.keys)
    runner = app.test_cli_runner()
    try:
        with tenant_scope(aalten):  # interrupted after its first batch
            (old_key,) = rotation.value_counts(aalten)

            def interrupt(line):
                if "re-encrypted" in line:
                    raise KeyboardInterrupt
            with pytest.raises(KeyboardInterrupt):
                rotation.rotate_data_key(aalten, batch_size=1, progress=interrupt)
            db.session.rollback()
            assert len(rotation.value_counts(aalten)) == 2  # half way: values under both keys
        result = runner.invoke(args=["keys", "rotate", "--tenant", "aalten", "--batch-size", "2"])
        assert result.exit_code == 0, result.output
        assert "aalten: 1 key(s) re-wrapped" in result.output and "resuming with data key" in result.output
        keystore.forget()
        app.config["FIELD_ENCRYPTION_KEYS"] = new  # the development KEK is gone
        with tenant_scope(aalten):
            counts = rotation.value_counts(aalten)
            assert old_key not in counts and sum(counts.values()) > 5
            keys = db.session.execute(select(TenantDataKey.kek_id, TenantDataKey.retired_at.is_not(None))).all()
            assert {k for k, _ in keys} == {"2027a"} and sorted(r for _, r in keys) == [False, True]
            family = db.session.get(Family, family_id)
            assert (family.wishes, family.household_income) == (SECRET, 900)
            db.session.commit()
        status = runner.invoke(args=["keys", "status", "--tenant", "aalten"])
        assert status.exit_code == 0 and "current key-encryption key: 2027a" in status.output
        assert f"data {old_key} kek=2027a" in status.output and "values=0" in status.output
    finally:
        app.config["FIELD_ENCRYPTION_KEYS"] = development
        keystore.forget()


def test_the_blind_index_finds_equal_values_per_tenant_and_survives_rotation(app, world):
    aalten, druten = world.ids["aalten"], world.ids["druten"]
    with tenant_scope(aalten):
        connection = db.session.connection()
        digest = blind.digest(connection, aalten, "member", "full_name", "Anna  JANSEN")
        assert digest == blind.digest(connection, aalten, "member", "full_name", "anna jansen")
        assert digest != blind.digest(connection, aalten, "member", "full_name", "Anna Janssen")
        assert digest != blind.digest(connection, aalten, "family", "display_name", "anna jansen")
        db.session.commit()
        rotation.rotate_data_key(aalten)
        assert blind.digest(db.session.connection(), aalten, "member", "full_name", "anna jansen") == digest
        db.session.commit()
    with tenant_scope(druten):
        assert blind.digest(db.session.connection(), druten, "member", "full_name", "anna jansen") != digest
        db.session.commit()


def test_asvs_14_2_2_decrypted_facts_are_cached_per_tenant_and_never_across(app, world):
    from datetime import date

    _record(world, wishes=SECRET)
    aalten, druten = world.ids["aalten"], world.ids["druten"]
    ids = [world.records["aalten"]["family"], world.records["aalten"]["supporting"]]
    with cross_tenant_scope("consortium-aggregation"):
        assert facts.matching_facts(ids, date.today())[ids[0]].wishes == SECRET
        db.session.commit()
    assert facts.cached_tenants() == set()  # a cross-tenant scope caches nothing
    with tenant_scope(aalten):
        assert facts.matching_facts(ids, date.today())[ids[0]].wishes == SECRET
        db.session.commit()
    assert facts.cached_tenants() == {aalten}
    with tenant_scope(druten):  # aalten's ids asked for in druten: nothing of aalten, from the cache or elsewhere
        assert facts.matching_facts(ids, date.today()) == {}
        db.session.commit()
    facts.forget(aalten)
    assert facts.cached_tenants() == set()
