"""The key hierarchy.

    master key (outside the database: PHARE_MASTER_KEY, or the file PHARE_MASTER_KEY_FILE, or for a developer
    DATA_DIR/master.key created with mode 0600)
      └─ wraps organisation keys (accounts.OrganisationKey): per organisation a data key and a blind-index key,
         and instance-wide keys for the audit chain and TOTP secrets
           └─ an organisation's data key wraps its person keys (accounts.PersonKey), one per person

Every wrap is AES-256-GCM with associated data naming what is wrapped, so a wrapped key cannot be moved to
another row. Unwrapped keys are cached in process memory only; person keys for at most PERSON_KEY_TTL seconds
so that crypto-shredding takes effect in every worker soon after.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import contextvars
import functools
import hashlib
import os
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from phare.core.prepared import Prepared, any_of_ids, id_array

PERSON_KEY_TTL = 60.0


class CryptoKeyError(Exception):
    """A key is missing or cannot be unwrapped."""


class KeyDestroyedError(CryptoKeyError):
    """The person's key was destroyed (erasure): their data is gone for good."""


def b64e(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


URLSAFE = bytes.maketrans(b"-_", b"+/")  # urlsafe base64 to the standard alphabet


def b64d(text: str) -> bytes:
    # binascii in strict mode: half the time of base64.urlsafe_b64decode (an export decodes a million tokens), and
    # it refuses any character outside the alphabet where urlsafe_b64decode skipped it.
    data = text.encode("ascii").translate(URLSAFE)
    return binascii.a2b_base64(data + b"=" * (-len(data) % 4), strict_mode=True)


def kid_of(key: bytes) -> str:
    return hashlib.sha256(b"phare-master:" + key).hexdigest()[:16]


def _read_key_file(path: Path, create: bool) -> bytes:
    if not path.exists():
        if not create:
            raise CryptoKeyError(f"master key file {path} does not exist")
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(b64e(AESGCM.generate_key(256)) + "\n")
    key = b64d(path.read_text().strip())
    if len(key) != 32:
        raise CryptoKeyError(f"master key in {path} is not 32 bytes of base64")
    return key


def default_master_key_file() -> Path:
    return Path(getattr(settings, "PHARE_MASTER_KEY_FILE", "") or Path(settings.DATA_DIR) / "master.key")


def load_master_key() -> bytes:
    """PHARE_MASTER_KEY (base64, 32 bytes) wins; else the key file (created on first use unless it was set
    explicitly, so that a mistyped path in production fails loudly instead of making a new key)."""
    env = os.getenv("PHARE_MASTER_KEY", "")
    if env:
        key = b64d(env.strip())
        if len(key) != 32:
            raise CryptoKeyError("PHARE_MASTER_KEY is not 32 bytes of base64")
        return key
    explicit = bool(getattr(settings, "PHARE_MASTER_KEY_FILE", ""))
    return _read_key_file(default_master_key_file(), create=not explicit)


_lock = threading.Lock()
# Keys looked up inside one bulk write (see `bulk_scope`); None outside such a scope.
_scope: contextvars.ContextVar[dict[tuple[Any, ...], tuple[int, bytes]] | None] = contextvars.ContextVar(
    "phare_key_scope", default=None
)
_master: tuple[str, bytes] | None = None
_cache: dict[str, tuple[bytes, float]] = {}


def master() -> tuple[str, bytes]:
    global _master
    with _lock:
        if _master is None:
            key = load_master_key()
            _master = (kid_of(key), key)
        return _master


def reset_caches() -> None:
    """Forget every unwrapped key (after a rotation, or in tests)."""
    global _master
    with _lock:
        _master = None
        _cache.clear()
        _forget_key_objects()


@functools.lru_cache(maxsize=1024)  # a bulk load seals several fields per person with the same key in a row
def _aead(key: bytes) -> AESGCM:
    return AESGCM(key)


def _seal(key: bytes, plaintext: bytes, aad: bytes) -> str:
    nonce = os.urandom(12)
    return b64e(nonce + _aead(key).encrypt(nonce, plaintext, aad))


def _open(key: bytes, token: str, aad: bytes) -> bytes:
    raw = b64d(token)
    return _aead(key).decrypt(raw[:12], raw[12:], aad)


def _org_aad(org_id: int | None, purpose: str) -> bytes:
    return f"phare:orgkey:{org_id}:{purpose}".encode()


def wrap_org_key(key: bytes, org_id: int | None, purpose: str, master_key: bytes) -> str:
    return _seal(master_key, key, _org_aad(org_id, purpose))


def unwrap_org_key(wrapped: str, org_id: int | None, purpose: str, master_key: bytes) -> bytes:
    return _open(master_key, wrapped, _org_aad(org_id, purpose))


def _cached(kid: str) -> bytes | None:
    hit = _cache.get(kid)
    if hit is None:
        return None
    key, expires = hit
    if expires and expires < time.monotonic():
        _cache.pop(kid, None)
        return None
    return key


@functools.lru_cache(maxsize=1024)
def fingerprint(key: bytes) -> str:
    """A short public fingerprint of a key: token key ids carry it, so a key id names exactly one key even if
    a row id is reused (SQLite reuses ids after a rollback)."""
    return hashlib.sha256(b"phare-fp:" + key).hexdigest()[:8]


def kid(prefix: str, pk: int, key: bytes) -> str:
    return f"{prefix}{pk}.{fingerprint(key)}"


def _unwrap_org_row(pk: int, wrapped: str, org_id: int | None, purpose: str, master_kid: str) -> bytes:
    mkid, mkey = master()
    if master_kid != mkid:
        raise CryptoKeyError(f"organisation key {pk} is wrapped by master key {master_kid}, not the current one")
    return unwrap_org_key(wrapped, org_id, purpose, mkey)


def org_key_by_id(pk: int, fp: str = "") -> bytes:
    if fp:
        key = _cached(f"o{pk}.{fp}")
        if key is not None:
            return key
    from phare.accounts.models import OrganisationKey

    row = OrganisationKey.objects.filter(pk=pk).first()
    if row is None:
        raise CryptoKeyError(f"organisation key {pk} not found")
    key = _unwrap_org_row(pk, row.wrapped, row.organisation_id, row.purpose, row.master_kid)
    if fp and fingerprint(key) != fp:
        raise CryptoKeyError(f"organisation key {pk} is not the key this value was sealed with")
    _cache[f"o{pk}.{fingerprint(key)}"] = (key, 0.0)
    return key


@contextlib.contextmanager
def bulk_scope() -> Iterator[None]:
    """Remember key lookups for the length of one bulk write, which must run inside one transaction.

    Without it every encrypted value costs several queries (find the key row, unwrap it). The memory lives
    exactly as long as the block: keys created inside it belong to the block's transaction, so nothing can
    outlive a rollback (a process-wide cache could keep a key whose row was rolled back, and SQLite reuses
    row ids). Shredding inside the block is not expected; `shred_person` clears the scope anyway.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("bulk_scope must run inside the transaction of the bulk write")
    token = _scope.set({})
    try:
        yield
    finally:
        _scope.reset(token)


def active_org_key(org_id: int | None, purpose: str) -> tuple[int, bytes]:
    """The organisation's active key for `purpose`, created on first use."""
    scope = _scope.get()
    if scope is not None and ("org", org_id, purpose) in scope:
        return scope[("org", org_id, purpose)]
    found = _active_org_key(org_id, purpose)
    if scope is not None:
        scope[("org", org_id, purpose)] = found
    return found


def _active_key_query(org_id: int | None, purpose: str) -> QuerySet[Any]:
    from phare.accounts.models import OrganisationKey

    return (OrganisationKey.objects.filter(organisation=org_id, purpose=purpose, active=True).order_by("pk")
            .values_list("pk", "wrapped", "organisation_id", "purpose", "master_kid")[:1])  # fmt: skip


# Read on every request (the audit key) and most (the data key): an organisation's and the instance's.
_ACTIVE_KEY = Prepared(_active_key_query, int, str)
_ACTIVE_INSTANCE_KEY = Prepared(lambda purpose: _active_key_query(None, purpose), str)


def _active_org_key(org_id: int | None, purpose: str) -> tuple[int, bytes]:
    from phare.accounts.models import OrganisationKey

    found = _ACTIVE_INSTANCE_KEY.rows(purpose) if org_id is None else _ACTIVE_KEY.rows(org_id, purpose)
    if found:
        pk, wrapped, row_org_id, row_purpose, master_kid = found[0]
        return pk, _org_row_key(pk, wrapped, row_org_id, row_purpose, master_kid)
    mkid, mkey = master()
    try:
        with transaction.atomic():
            row = OrganisationKey.objects.create(
                organisation_id=org_id,
                purpose=purpose,
                master_kid=mkid,
                wrapped=wrap_org_key(AESGCM.generate_key(256), org_id, purpose, mkey),
            )
    except IntegrityError:
        row = OrganisationKey.objects.get(organisation=org_id, purpose=purpose, active=True)
    return row.pk, _org_row_key(row.pk, row.wrapped, row.organisation_id, row.purpose, row.master_kid)


def _org_row_key(pk: int, wrapped: str, org_id: int | None, purpose: str, master_kid: str) -> bytes:
    """The clear key of an organisation key row already read. Every request reads the audit key and most the
    data key: reading the row again by id and unwrapping it each time cost a query and an AES-GCM open. The
    cache names the row by id and wrapped bytes (and the master key that wrapped them), so a row rewrapped by a
    rotation, or a rolled-back row whose id is reused, never matches an older entry."""
    name = f"w{pk}.{master_kid}.{wrapped}"
    key = _cached(name)
    if key is None:
        key = _unwrap_org_row(pk, wrapped, org_id, purpose, master_kid)
        _cache[name] = (key, 0.0)
    return key


def instance_key(purpose: str) -> bytes:
    """An instance-wide key (audit chain, TOTP secrets): wrapped by the master key like an organisation's."""
    return active_org_key(None, purpose)[1]


def _person_aad(subject: str) -> bytes:
    return f"phare:personkey:{subject}".encode()


def person_key_for(org_id: int, subject: Any) -> tuple[int, bytes]:
    """The key of the person identified by `subject` (their uid), created on first use."""
    scope = _scope.get()
    name = ("person", str(subject))
    if scope is not None and name in scope:
        return scope[name]
    found = _person_key_for(org_id, subject)
    if scope is not None:
        scope[name] = found
    return found


def _person_key_for(org_id: int, subject: Any) -> tuple[int, bytes]:
    from phare.accounts.models import PersonKey

    row = PersonKey.objects.filter(subject=subject).first()
    if row is None:
        wrap_pk, wrap_key = active_org_key(org_id, "data")
        raw = AESGCM.generate_key(256)
        try:
            with transaction.atomic():
                row = PersonKey.objects.create(
                    organisation_id=org_id,
                    subject=subject,
                    wrapping_key_id=wrap_pk,
                    wrapped=_seal(wrap_key, raw, _person_aad(str(subject))),
                )
        except IntegrityError:
            row = PersonKey.objects.get(subject=subject)
        else:
            # The key was just made: no need to read it back and unwrap it. The cache entry names the key by
            # row id and fingerprint, so a rolled-back row whose id is reused can never match it.
            _cache[f"p{row.pk}.{fingerprint(raw)}"] = (raw, time.monotonic() + PERSON_KEY_TTL)
            return row.pk, raw
    if row.destroyed_at is not None or not row.wrapped:
        raise KeyDestroyedError(f"the key of person {subject} was destroyed")
    return row.pk, person_key_by_id(row.pk)


def wrap_person_key(wrap_key: bytes, key: bytes, subject: str) -> str:
    return _seal(wrap_key, key, _person_aad(subject))


def create_person_keys(org_id: int, subjects: list[Any], ready: dict[str, tuple[bytes, str, int]] | None = None) -> None:
    """Keys for people about to be created in bulk, in one INSERT instead of a lookup and an insert each.

    `ready` maps a subject to a key made in advance, (key, wrapped, pk of the organisation key that wrapped it):
    used when that organisation key is still the active one. Only inside `bulk_scope` (the keys belong to its
    transaction) and only for new subjects (fresh uids): an existing subject's row makes the insert fail, and
    the whole bulk write with it."""
    from phare.accounts.models import PersonKey
    from phare.cases import bulk

    scope = _scope.get()
    if scope is None:
        raise RuntimeError("create_person_keys must run inside bulk_scope")
    wrap_pk, wrap_key = active_org_key(org_id, "data")
    ready = ready or {}
    raws: list[bytes] = []
    rows = []
    for subject in subjects:
        text = str(subject)
        made = ready.get(text)
        if made is not None and made[2] == wrap_pk:
            raw, wrapped = made[0], made[1]
        else:
            raw = AESGCM.generate_key(256)
            wrapped = wrap_person_key(wrap_key, raw, text)
        raws.append(raw)
        rows.append(bulk.new(PersonKey, organisation_id=org_id, subject=subject, wrapping_key_id=wrap_pk, wrapped=wrapped))
    bulk.insert(rows, with_ids=True)
    expires = time.monotonic() + PERSON_KEY_TTL
    for subject, raw, row in zip(subjects, raws, rows, strict=True):
        if row.pk is None:  # a database that cannot return ids: fall back to one lookup per person later
            continue
        scope[("person", str(subject))] = (row.pk, raw)
        _cache[f"p{row.pk}.{fingerprint(raw)}"] = (raw, expires)


def preload_person_keys(subjects: Iterable[Any]) -> None:
    """Fetch and unwrap the keys of these people in one query, before a page reads their sealed fields:
    otherwise each person on a list costs a query of its own the first time their fields are opened."""
    if isinstance(subjects, QuerySet):
        # A query of subjects (a case's participants) goes into the key query as a subquery: one query, not two.
        wanted: Any = subjects
    else:
        wanted = {str(s) for s in subjects if s}
        if not wanted:
            return
    remember_person_keys(person_keys_query(wanted))


PERSON_KEY_COLUMNS = ("pk", "subject", "wrapped", "wrapping_key_id", "wrapping_key__wrapped",
                      "wrapping_key__organisation_id", "wrapping_key__purpose", "wrapping_key__master_kid")  # fmt: skip


def person_keys_query(wanted: Any) -> QuerySet[Any]:
    from phare.accounts.models import PersonKey

    rows = PersonKey.objects.filter(subject__in=wanted, destroyed_at__isnull=True, wrapping_key__isnull=False)
    return rows.exclude(wrapped="").values_list(*PERSON_KEY_COLUMNS)


def _caseperson_keys_query(case_id: int) -> QuerySet[Any]:
    from phare.cases.models import CaseParticipant

    return person_keys_query(CaseParticipant.objects.filter(case_id=case_id).values_list("person__uid", flat=True))


# A case page's people: `preload_person_keys` of the case's participants, the same query for every case.
_CASE_PERSON_KEYS = Prepared(_caseperson_keys_query, int)


def preload_case_person_keys(case_id: int) -> None:
    """`preload_person_keys` for the people of one case."""
    remember_person_keys(_CASE_PERSON_KEYS.rows(case_id))


def remember_person_keys(rows: Iterable[tuple[Any, ...]]) -> None:
    org_keys: dict[int, bytes] = {}
    expires = time.monotonic() + PERSON_KEY_TTL
    for pk, subject, wrapped, wk_pk, wk_wrapped, wk_org, wk_purpose, wk_master in rows:
        if wk_pk not in org_keys:
            org_keys[wk_pk] = _org_row_key(wk_pk, wk_wrapped, wk_org, wk_purpose, wk_master)
        key = _open(org_keys[wk_pk], wrapped, _person_aad(str(subject)))
        _cache[f"p{pk}.{fingerprint(key)}"] = (key, expires)


ID_PAD = 250


@functools.lru_cache(maxsize=64)
def _person_keys_sql(using: str, n: int) -> tuple[str, tuple[Any, ...]]:
    """The query of `preload_person_keys_by_id` for `n` key ids and the parameters after them: Django writes it once
    per size, not once per batch (preparing a thousand ids through its lookups cost more than running the query;
    phare.imports.exporting reads its rows the same way)."""
    from django.db import connections
    from django.db.models import TextField
    from django.db.models.functions import Cast

    from phare.accounts.models import PersonKey

    # The subject as the database's text, not as a UUID built per row (a fifth of the time for 100,000 keys):
    # SQLite keeps 32 hex digits, PostgreSQL writes the usual form; the associated data names the usual form.
    subjects = Cast("subject", output_field=TextField())
    rows = PersonKey.objects.using(using).filter(pk__in=range(n), destroyed_at__isnull=True, wrapping_key__isnull=False)
    qs = rows.exclude(wrapped="").values_list("pk", subjects, "wrapped", "wrapping_key_id")
    sql, params = qs.query.sql_with_params()
    if list(params[:n]) != list(range(n)) or any(isinstance(p, int) for p in params[n:]):
        raise RuntimeError(f"unexpected parameters in {sql}")
    if n == 1 and connections[using].vendor == "postgresql":
        return any_of_ids(str(sql)), tuple(params[n:])  # the ids as one array parameter
    return str(sql), tuple(params[n:])


def person_key_rows_by_id(pks: Iterable[int]) -> list[tuple[int, str, str, int]]:
    """(id, subject as the database's text, wrapped key, id of the organisation key wrapping it) of each live person
    key among `pks`, in one query: for `open_person_key`, here or in another process. A destroyed key is left out."""
    from django.db import connections

    wanted = sorted(set(pks))
    if not wanted:
        return []
    using = "default"
    connection = connections[using]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            sql, tail = _person_keys_sql(using, 1)
            cursor.execute(sql, [id_array(wanted), *tail])
        else:
            # Padded to a multiple of ID_PAD with the last id (which changes nothing): a few sizes, each written once.
            padded = wanted + wanted[-1:] * (-len(wanted) % ID_PAD)
            sql, tail = _person_keys_sql(using, len(padded))
            cursor.execute(sql, [*padded, *tail])
        return cursor.fetchall()  # type: ignore[no-any-return]


def open_person_key(subject: str, wrapped: str, wrap: AESGCM) -> bytes:
    """A person key from its row (`person_key_rows_by_id`), with the cipher of the organisation key wrapping it."""
    if len(subject) == 32:  # (SQLite's text of a uuid)
        subject = f"{subject[:8]}-{subject[8:12]}-{subject[12:16]}-{subject[16:20]}-{subject[20:]}"
    raw = b64d(wrapped)
    return wrap.decrypt(raw[:12], raw[12:], _person_aad(subject))


def preload_person_keys_by_id(pks: Iterable[int], remember: bool = True) -> dict[str, bytes]:
    """`preload_person_keys` for keys named by their row id, as sealed values name them (`p<id>.<fingerprint>`):
    a reader of many rows unwraps each person's key once, in one query per batch. Returns them by key id;
    `remember=False` keeps them out of the process's cache (a reader of 100,000 people would hold each key there
    for PERSON_KEY_TTL, when it needs it only for its batch). A destroyed key is left out: `person_key_by_id` says
    so when a value names it."""
    loaded: dict[str, bytes] = {}
    org_keys: dict[int, AESGCM] = {}
    expires = time.monotonic() + PERSON_KEY_TTL
    for pk, subject, wrapped, wk_pk in person_key_rows_by_id(pks):
        cipher = org_keys.get(wk_pk)
        if cipher is None:
            cipher = org_keys[wk_pk] = AESGCM(org_key_by_id(wk_pk))
        key = open_person_key(subject, wrapped, cipher)
        kid = f"p{pk}.{fingerprint(key) if remember else fingerprint.__wrapped__(key)}"  # (nor in its memo)
        if remember:
            _cache[kid] = (key, expires)
        loaded[kid] = key
    return loaded


_shred_mark: Any = None  # the latest key destruction this process has seen


def _latest_shred_query() -> QuerySet[Any]:
    from phare.accounts.models import PersonKey

    # The latest destruction, as MAX() would give it, read through the destroyed_at index.
    return PersonKey.objects.filter(destroyed_at__isnull=False).order_by("-destroyed_at").values_list("destroyed_at")[:1]


_LATEST_SHRED = Prepared(_latest_shred_query)


def forget_shredded() -> None:
    """Drop from this process's cache the person keys other processes destroyed since the last call.

    `shred_person` clears the cache of the process that runs it; every other worker process calls this once
    per request or job (one indexed query), so an erasure takes effect everywhere at the next request instead
    of after PERSON_KEY_TTL."""
    global _shred_mark
    from phare.accounts.models import PersonKey

    destroyed = PersonKey.objects.filter(destroyed_at__isnull=False)
    found = _LATEST_SHRED.rows()
    latest = found[0][0] if found else None
    seen = _shred_mark
    if latest is None or (seen is not None and latest <= seen):
        return
    gone = set(destroyed.filter(destroyed_at__gte=seen).values_list("pk", flat=True)) if seen is not None else None
    with _lock:
        for cached in [k for k in _cache if k.startswith("p")]:
            if gone is None or int(cached[1:].partition(".")[0]) in gone:
                _cache.pop(cached, None)
        _forget_key_objects()
        _shred_mark = latest


def _forget_key_objects() -> None:
    """The memoised AES-GCM objects and fingerprints are keyed by raw key bytes: a destroyed key must not stay
    in memory there either."""
    _aead.cache_clear()
    fingerprint.cache_clear()


def person_key_by_id(pk: int, fp: str = "") -> bytes:
    if fp:
        key = _cached(f"p{pk}.{fp}")
        if key is not None:
            return key
    from phare.accounts.models import PersonKey

    # With its wrapping key, as the preloads read it: one query, not a second one for the organisation key.
    row = PersonKey.objects.select_related("wrapping_key").filter(pk=pk).first()
    if row is None or row.destroyed_at is not None or not row.wrapped or row.wrapping_key is None:
        raise KeyDestroyedError(f"person key {pk} was destroyed")
    wk = row.wrapping_key
    wrap_key = _org_row_key(wk.pk, wk.wrapped, wk.organisation_id, wk.purpose, wk.master_kid)
    key = _open(wrap_key, row.wrapped, _person_aad(str(row.subject)))
    if fp and fingerprint(key) != fp:
        raise KeyDestroyedError(f"person key {pk} is not the key this value was sealed with")
    _cache[f"p{pk}.{fingerprint(key)}"] = (key, time.monotonic() + PERSON_KEY_TTL)
    return key


def key_by_kid(key_id: str) -> bytes:
    """The key a token names: `o<id>.<fingerprint>` (organisation) or `p<id>.<fingerprint>` (person)."""
    pk, _, fp = key_id[1:].partition(".")
    if key_id.startswith("o"):
        return org_key_by_id(int(pk), fp)
    if key_id.startswith("p"):
        return person_key_by_id(int(pk), fp)
    raise CryptoKeyError(f"unknown key id {key_id!r}")


def shred_person(subject: Any) -> bool:
    """Crypto-shredding: destroy the person's key. Every field sealed with it becomes unreadable, in the
    database, its backups and its replicas alike. Returns whether a key existed."""
    from phare.accounts.models import PersonKey

    scope = _scope.get()
    if scope is not None:
        scope.pop(("person", str(subject)), None)
    rows = list(PersonKey.objects.filter(subject=subject, destroyed_at__isnull=True))
    for row in rows:
        row.wrapped = ""
        row.destroyed_at = timezone.now()
        row.save(update_fields=["wrapped", "destroyed_at"])
        for cached in [k for k in _cache if k.startswith(f"p{row.pk}.")]:
            _cache.pop(cached, None)
    if rows:
        _forget_key_objects()
    return bool(rows)


def rewrap_person_keys(old_pk: int, new_pk: int) -> int:
    """Re-wrap every live person key wrapped by organisation key `old_pk` under `new_pk`."""
    from phare.accounts.models import PersonKey

    old, new = org_key_by_id(old_pk), org_key_by_id(new_pk)
    n = 0
    for row in PersonKey.objects.filter(wrapping_key_id=old_pk, destroyed_at__isnull=True):
        aad = _person_aad(str(row.subject))
        row.wrapped = _seal(new, _open(old, row.wrapped, aad), aad)
        row.wrapping_key_id = new_pk
        row.save(update_fields=["wrapped", "wrapping_key"])
        n += 1
    return n


def seal_bytes(key: bytes, plaintext: bytes, aad: bytes) -> str:
    return _seal(key, plaintext, aad)


def open_bytes(key: bytes, token: str, aad: bytes) -> bytes:
    return _open(key, token, aad)
