"""Personal data at rest: AES-GCM tokens bound to row and column, per-person keys, rotation, blind index."""

from __future__ import annotations

import logging
import os
import stat
import subprocess
import uuid
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.db import connection, transaction

from phare.accounts.models import Organisation, OrganisationKey, OrganisationNote, PersonKey, User
from phare.accounts.testing import MARKER_DATE, build_tenant_rows
from phare.crypto import blind_index, keys
from phare.crypto.fields import EncryptedTextField, TamperedValueError

pytestmark = pytest.mark.django_db


def _raw(model: Any, column: str, pk: Any) -> Any:
    with connection.cursor() as cur:
        cur.execute(f"SELECT {connection.ops.quote_name(column)} FROM {model._meta.db_table} WHERE id = %s", [pk])
        return cur.fetchone()[0]


def _org(slug: str = "crypt") -> Organisation:
    return Organisation.objects.create(slug=slug, org_Name=slug)


def test_it_round_trips_text_and_dates_and_stores_versioned_tokens() -> None:
    note = OrganisationNote.objects.create(
        organisation=_org(), body="Amaka Obi, +234 803 000 0000", noted_on=date(1999, 4, 2)
    )
    token = _raw(OrganisationNote, "body", note.pk)
    assert token.startswith("v1:o") and str(note.uid) in token and "Amaka" not in token
    fresh = OrganisationNote.objects.get(pk=note.pk)
    assert fresh.body == "Amaka Obi, +234 803 000 0000" and fresh.noted_on == date(1999, 4, 2)
    assert OrganisationNote.objects.values_list("body", flat=True).get(pk=note.pk) == fresh.body


def test_it_seals_each_value_with_a_fresh_nonce() -> None:
    org = _org()
    a = OrganisationNote.objects.create(organisation=org, body="same")
    b = OrganisationNote.objects.create(organisation=org, body="same")
    assert _raw(OrganisationNote, "body", a.pk) != _raw(OrganisationNote, "body", b.pk)


def test_it_refuses_a_token_moved_to_another_row_or_column() -> None:
    org = _org()
    a = OrganisationNote.objects.create(organisation=org, body="alpha secret")
    b = OrganisationNote.objects.create(organisation=org, body="beta")
    with connection.cursor() as cur:
        cur.execute(
            "UPDATE accounts_organisationnote SET body = %s WHERE id = %s", [_raw(OrganisationNote, "body", a.pk), b.pk]
        )
    with pytest.raises(TamperedValueError):
        OrganisationNote.objects.get(pk=b.pk)
    # same row, other column: the associated data names the column
    with connection.cursor() as cur:
        cur.execute("UPDATE accounts_organisationnote SET noted_on = body WHERE id = %s", [a.pk])
    with pytest.raises(TamperedValueError):
        OrganisationNote.objects.get(pk=a.pk)


def _move_and_relabel(org: Organisation) -> OrganisationNote:
    """Copy row a's token into row b, relabelled with b's uid, so that only the cipher's associated data can
    tell that it was sealed for a."""
    a = OrganisationNote.objects.create(organisation=org, body="alpha secret")
    b = OrganisationNote.objects.create(organisation=org, body="beta")
    prefix, kid, uid, body = _raw(OrganisationNote, "body", a.pk).split(":", 3)
    assert uid == str(a.uid)
    with connection.cursor() as cur:
        cur.execute("UPDATE accounts_organisationnote SET body = %s WHERE id = %s",
                    [f"{prefix}:{kid}:{b.uid}:{body}", b.pk])  # fmt: skip
    return b


def test_it_binds_each_token_to_its_row_in_the_associated_data(monkeypatch: pytest.MonkeyPatch) -> None:
    b = _move_and_relabel(_org())
    with pytest.raises(TamperedValueError):
        OrganisationNote.objects.get(pk=b.pk)
    # Negative control: associated data without the row's uid lets the relabelled token open in the other row.
    from phare.crypto import fields

    monkeypatch.setattr(fields, "_aad", lambda table, column, uid: f"{table}|{column}".encode())
    b = _move_and_relabel(_org("crypt-2"))
    assert OrganisationNote.objects.get(pk=b.pk).body == "alpha secret"


def test_it_detects_a_flipped_bit() -> None:
    note = OrganisationNote.objects.create(organisation=_org(), body="integrity")
    token = _raw(OrganisationNote, "body", note.pk)
    head, body = token.rsplit(":", 1)
    forged = head + ":" + body[:-2] + ("A" if body[-2] != "A" else "B") + body[-1]
    with connection.cursor() as cur:
        cur.execute("UPDATE accounts_organisationnote SET body = %s WHERE id = %s", [forged, note.pk])
    with pytest.raises(TamperedValueError):
        OrganisationNote.objects.get(pk=note.pk)


def test_it_never_sends_plaintext_through_update_or_filters() -> None:
    note = OrganisationNote.objects.create(organisation=_org(), body="x")
    with pytest.raises(ValueError, match="encrypted"):
        OrganisationNote.objects.filter(pk=note.pk).update(body="clear text")
    with pytest.raises(ValueError, match="encrypted"):
        list(OrganisationNote.objects.filter(body="x"))


def test_it_uses_the_persons_key_and_erasing_it_makes_their_fields_unreadable() -> None:
    org = _org()
    person = uuid.uuid4()
    mine = OrganisationNote.objects.create(
        organisation=org, subject=person, body="about the person", noted_on=date(2001, 1, 1)
    )
    other = OrganisationNote.objects.create(organisation=org, body="organisation note")
    assert _raw(OrganisationNote, "body", mine.pk).startswith("v1:p")
    keys.reset_caches()
    assert OrganisationNote.objects.get(pk=mine.pk).body == "about the person"
    assert keys.shred_person(person)
    keys.reset_caches()  # as in every other worker once the cache expires
    gone = OrganisationNote.objects.get(pk=mine.pk)
    assert gone.body is None and gone.noted_on is None
    assert PersonKey.objects.get(subject=person).wrapped == ""
    assert OrganisationNote.objects.get(pk=other.pk).body == "organisation note"
    with pytest.raises(keys.KeyDestroyedError):
        OrganisationNote.objects.create(organisation=org, subject=person, body="new data for an erased person")


def test_it_uses_the_person_key_for_cases_person_linked_rows() -> None:
    org = _org()
    user = User.objects.create(username="u-crypt", organisation=org)
    rows = build_tenant_rows(org, user, "PKEY")
    person_models = [
        m for m in rows if m._meta.model_name == "person" or "person" in {f.name for f in m._meta.concrete_fields}
    ]
    for model in person_models:
        fields = [f for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
        for f in fields:
            raw = _raw(model, f.column, rows[model].pk)
            if raw and getattr(rows[model], "person_id", True):
                assert raw.startswith("v1:p"), (model, f.name)


def test_it_gives_each_organisation_its_own_blind_index_key() -> None:
    a, b = _org("bi-a"), _org("bi-b")
    assert blind_index(a.pk, "name", "amaka") == blind_index(a.pk, "name", "amaka")
    assert blind_index(a.pk, "name", "amaka") != blind_index(b.pk, "name", "amaka")
    assert blind_index(a.pk, "name", "amaka") != blind_index(a.pk, "phone", "amaka")
    # keyed: not the plain hash of the value
    import hashlib

    assert blind_index(a.pk, "name", "amaka") not in hashlib.sha256(b"name:amaka").hexdigest()
    # The batch form (an import's duplicate check) computes the very same indexes, with the same key per organisation.
    from phare.crypto import blind_indexer

    for org in (a, b):
        assert blind_indexer(org.pk)("name", "amaka") == blind_index(org.pk, "name", "amaka")
    assert blind_indexer(a.pk)("name", "amaka") != blind_indexer(b.pk)("name", "amaka")


def test_it_wraps_organisation_keys_and_keeps_no_clear_key_in_the_database() -> None:
    org = _org()
    OrganisationNote.objects.create(organisation=org, body="k")
    row = OrganisationKey.objects.get(organisation=org, purpose="data")
    clear = keys.org_key_by_id(row.pk)
    assert keys.b64e(clear) not in row.wrapped and len(keys.b64d(row.wrapped)) == 12 + 32 + 16


def test_it_creates_the_developer_master_key_file_private(tmp_path: Path, settings: Any) -> None:
    path = tmp_path / "master.key"
    key = keys._read_key_file(path, create=True)
    assert len(key) == 32 and stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with pytest.raises(keys.CryptoKeyError):
        keys._read_key_file(tmp_path / "missing.key", create=False)


def test_it_rotates_the_master_key_and_the_organisation_key_without_losing_data(tmp_path: Path, settings: Any) -> None:
    from django.core.management import call_command

    old_file = tmp_path / "old.key"
    keys._read_key_file(old_file, create=True)
    settings.PHARE_MASTER_KEY_FILE = str(old_file)
    keys.reset_caches()
    try:
        org = _org()
        plain = OrganisationNote.objects.create(organisation=org, body="org-level secret")
        personal = OrganisationNote.objects.create(organisation=org, subject=uuid.uuid4(), body="personal secret")
        old_data_key = OrganisationKey.objects.get(organisation=org, purpose="data", active=True)
        new_file = tmp_path / "new.key"
        call_command("rotate_keys", master=str(new_file))
        settings.PHARE_MASTER_KEY_FILE = str(new_file)
        keys.reset_caches()
        assert set(OrganisationKey.objects.values_list("master_kid", flat=True)) == {keys.master()[0]}
        assert OrganisationNote.objects.get(pk=plain.pk).body == "org-level secret"
        call_command("rotate_keys", org_keys=True, org=org.slug)
        keys.reset_caches()
        new_data_key = OrganisationKey.objects.get(organisation=org, purpose="data", active=True)
        assert new_data_key.pk != old_data_key.pk
        assert _raw(OrganisationNote, "body", plain.pk).startswith(f"v1:o{new_data_key.pk}.")
        assert OrganisationNote.objects.get(pk=plain.pk).body == "org-level secret"
        assert OrganisationNote.objects.get(pk=personal.pk).body == "personal secret"
        assert PersonKey.objects.get(subject=personal.subject).wrapping_key_id == new_data_key.pk
        # the old master key opens nothing any more
        settings.PHARE_MASTER_KEY_FILE = str(old_file)
        keys.reset_caches()
        with pytest.raises(keys.CryptoKeyError):
            OrganisationNote.objects.get(pk=plain.pk)
    finally:
        settings.PHARE_MASTER_KEY_FILE = ""
        keys.reset_caches()


def test_it_seals_legacy_plaintext_with_rotate_keys_seal() -> None:
    from django.core.management import call_command

    note = OrganisationNote.objects.create(organisation=_org(), body="soon sealed")
    with connection.cursor() as cur:
        cur.execute("UPDATE accounts_organisationnote SET body = 'legacy clear' WHERE id = %s", [note.pk])
    assert OrganisationNote.objects.get(pk=note.pk).body == "legacy clear"
    call_command("rotate_keys", seal=True)
    assert _raw(OrganisationNote, "body", note.pk).startswith("v1:")
    assert OrganisationNote.objects.get(pk=note.pk).body == "legacy clear"


def _database_bytes() -> bytes:
    if connection.vendor == "sqlite":
        connection.ensure_connection()
        return bytes(connection.connection.serialize())  # the database file's exact bytes
    # PostgreSQL: every column of every table, as stored (text form)
    chunks = []
    with connection.cursor() as cur:
        cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        for (table,) in cur.fetchall():
            cur.execute(f'SELECT t::text FROM "{table}" t')
            chunks += [r[0] for r in cur.fetchall()]
    return "\n".join(chunks).encode()


def test_it_leaves_no_planted_marker_in_the_database_or_the_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    org = _org("markers")
    user = User.objects.create(username="u-markers", organisation=org)
    with transaction.atomic():
        rows = build_tenant_rows(org, user, "ZQXMARKER")
    encrypted = {
        (m._meta.label, f.name) for m in rows for f in m._meta.concrete_fields if isinstance(f, EncryptedTextField)
    }
    assert len(encrypted) >= 10  # the planted values reached every personal field of the schema
    for model, obj in rows.items():  # ... and they read back
        fresh = model._default_manager.get(pk=obj.pk)
        for f in model._meta.concrete_fields:
            if isinstance(f, EncryptedTextField) and not isinstance(getattr(fresh, f.attname), date):
                assert str(getattr(fresh, f.attname)).startswith("ZQXMARKER"), (model, f.name)
    data = _database_bytes()
    assert b"ZQXMARKER" not in data
    assert MARKER_DATE.encode() not in data
    assert "ZQXMARKER" not in caplog.text


@pytest.mark.django_db(transaction=True)
def test_it_leaves_no_marker_in_a_pg_dump() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("pg_dump needs PostgreSQL")
    org = _org("dump")
    user = User.objects.create(username="u-dump", organisation=org)
    build_tenant_rows(org, user, "ZQXDUMP")
    s = connection.settings_dict
    env = {**os.environ, "PGPASSWORD": s.get("PASSWORD") or ""}
    out = subprocess.run(
        ["pg_dump", "--data-only", "-h", s["HOST"] or "127.0.0.1", "-p", str(s["PORT"] or 5432), "-U", s["USER"], s["NAME"]],
        capture_output=True, env=env, check=True,
    ).stdout  # fmt: skip
    assert b"accounts_organisationnote" in out
    assert b"ZQXDUMP" not in out and MARKER_DATE.encode() not in out


def test_it_forgets_a_key_another_process_destroyed_at_the_next_request(client: Any) -> None:
    from django.utils import timezone

    from phare.cases.models import Person

    org = Organisation.objects.create(slug="shred-elsewhere", org_Name="S")
    person = Person.objects.create(organisation=org, prs_FirstName="Ada")
    keys.reset_caches()
    keys.forget_shredded()
    assert Person.objects.get(pk=person.pk).prs_FirstName == "Ada"  # the key is now in this process's cache
    # Another worker process erases the person: the row changes, this process's cache does not.
    PersonKey.objects.filter(subject=person.uid).update(wrapped="", destroyed_at=timezone.now())
    assert Person.objects.get(pk=person.pk).prs_FirstName == "Ada"  # negative control: the stale cache opens it
    client.get("/healthz")  # any request
    assert Person.objects.get(pk=person.pk).prs_FirstName is None


def test_it_preloads_the_keys_of_the_people_on_a_page_in_one_query(django_assert_num_queries: Any) -> None:
    org = _org()
    people = [uuid.uuid4() for _ in range(3)]
    for i, person in enumerate(people):
        OrganisationNote.objects.create(organisation=org, subject=person, body=f"about {i}")
    keys.reset_caches()
    with django_assert_num_queries(1):
        keys.preload_person_keys([*people, None])
    # Every person's key is in memory now: reading their notes costs the one query for the notes alone.
    with django_assert_num_queries(1):
        assert [n.body for n in OrganisationNote.objects.filter(subject__in=people).order_by("pk")] == [
            "about 0", "about 1", "about 2"]  # fmt: skip


def test_it_preloads_the_keys_named_by_a_query_within_that_one_query(django_assert_num_queries: Any) -> None:
    # The case page names its people by a query (the case's participants): it becomes the key query's subquery.
    org = _org()
    people = [uuid.uuid4() for _ in range(3)]
    for i, person in enumerate(people):
        OrganisationNote.objects.create(organisation=org, subject=person, body=f"about {i}")
    OrganisationNote.objects.create(organisation=_org("elsewhere"), subject=uuid.uuid4(), body="not named")
    keys.reset_caches()
    with django_assert_num_queries(1):
        keys.preload_person_keys(OrganisationNote.objects.filter(organisation=org).values_list("subject", flat=True))
    with django_assert_num_queries(1):
        assert sorted(n.body for n in OrganisationNote.objects.filter(subject__in=people)) == [
            "about 0", "about 1", "about 2"]  # fmt: skip
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:  # the key left out is read when its note is
        assert OrganisationNote.objects.exclude(organisation=org).get().body == "not named"
    assert len(ctx.captured_queries) > 1


def test_the_active_key_is_read_in_one_query_and_follows_its_row(django_assert_num_queries: Any) -> None:
    # The audit key is read on every request: one query, no second read by id. The clear key is remembered by
    # the row's id and wrapped bytes, so a row that changes (rewrapped, or a rolled-back id reused) is unwrapped
    # anew, and a row wrapped by another master key is refused as before.
    org = _org()
    pk, key = keys.active_org_key(org.pk, "data")
    assert keys.org_key_by_id(pk) == key
    with django_assert_num_queries(1):
        assert keys.active_org_key(org.pk, "data") == (pk, key)
    other = AESGCM.generate_key(256)
    OrganisationKey.objects.filter(pk=pk).update(wrapped=keys.wrap_org_key(other, org.pk, "data", keys.master()[1]))
    assert keys.active_org_key(org.pk, "data") == (pk, other)
    OrganisationKey.objects.filter(pk=pk).update(master_kid="elsewhere")
    with pytest.raises(keys.CryptoKeyError):
        keys.active_org_key(org.pk, "data")


def test_a_person_key_not_in_memory_is_read_with_its_wrapping_key_in_one_query(django_assert_num_queries: Any) -> None:
    org = _org()
    subject = uuid.uuid4()
    note = OrganisationNote.objects.create(organisation=org, subject=subject, body="about them")
    pk, key = keys.person_key_for(org.pk, subject)
    keys.reset_caches()
    with django_assert_num_queries(1):
        assert keys.person_key_by_id(pk) == key
    assert OrganisationNote.objects.get(pk=note.pk).body == "about them"
    keys.shred_person(subject)
    keys.reset_caches()
    with pytest.raises(keys.KeyDestroyedError):
        keys.person_key_by_id(pk)
