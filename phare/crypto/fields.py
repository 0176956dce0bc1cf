"""Model fields for personal data. At the database level each is a TextField holding a token, so that
switching the cipher or the key never needs a schema migration.

Token: ``v1:<key id>:<row uid>:<nonce+ciphertext>`` (base64url; key id ``o<id>.<fp>`` or ``p<id>.<fp>``), AES-256-GCM with associated data
``table|column|row uid``: a token copied to another column or row does not open.

* Sealing happens in ``pre_save(instance, add)``, the one hook that sees the row: the key is the person's key
  when the row is about a person (the model's ``encryption_subject()``, else its ``person`` foreign key's uid,
  else its own uid for a model named ``Person``), otherwise the organisation's data key.
* Opening happens in ``from_db_value``: the token names its key (``o<id>.<fingerprint>`` organisation key,
  ``p<id>.<fingerprint>`` person key) and its row, so ``.values()`` and exports work without the instance. When an instance is built, a
  ``post_init`` check makes sure each value was sealed for this very row (its ``uid``).
* A value whose person key was destroyed (erasure) reads as ``None``. A token that fails authentication raises
  ``TamperedValueError``.
* Plaintext never reaches SQL: ``get_prep_value`` refuses an unsealed value, so ``QuerySet.update()``,
  ``bulk_update()`` and filtering on these fields raise instead of writing or comparing clear text. Use
  ``save()``/``bulk_create()`` to write and a blind index (``phare.crypto.blind_index``) to look up.
* Rows written before encryption existed (no ``v1:`` prefix) read as they are; ``phare rotate_keys --seal``
  re-saves them sealed.
"""

from __future__ import annotations

import binascii
import functools
import uuid
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any, NamedTuple

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.db import models
from django.db.models.signals import post_init

from phare.crypto import keys

PREFIX = "v1"


class TamperedValueError(Exception):
    """An encrypted value failed authentication: changed, or moved from another row or column."""


class Sealed(str):
    """A token ready for the database (only `pre_save` makes these)."""


class Opened(str):
    """A decrypted value, remembering the row uid it was sealed for."""

    bound_uid: str = ""


class OpenedDate(date):
    bound_uid: str = ""


def _aad(table: str, column: str, uid: str) -> bytes:
    return f"{table}|{column}|{uid}".encode()


@functools.cache
def has_person(meta: Any) -> bool:
    """Whether rows of this model are about a person (a `person` field): their values are sealed with that key."""
    return any(f.name == "person" for f in meta.get_fields())


def encryption_subject(instance: Any) -> Any:
    """The uid of the person whose key seals this row's personal fields, or None for the organisation key."""
    hook = getattr(instance, "encryption_subject", None)
    if callable(hook):
        return hook()
    meta = instance._meta
    if has_person(meta) and getattr(instance, "person_id", None) is not None:
        return instance.person.uid
    if meta.model_name == "person":
        return instance.uid
    return None


def _check_binding(sender: Any, instance: Any, **kwargs: Any) -> None:
    values = instance.__dict__
    uid = values.get("uid")
    if uid is None:
        return
    # (the model's sealed fields looked up once: this runs for every row loaded, a list page loads a hundred)
    for field in sealed_fields(sender):
        bound = getattr(values.get(field.attname), "bound_uid", "")
        if bound and bound != str(uid):
            raise TamperedValueError(f"{field.model._meta.label}.{field.name} holds a value sealed for another row")


class EncryptedTextField(models.TextField):  # type: ignore[type-arg]
    """Personal free text or identifier. Cannot be filtered or sorted on in SQL: use a blind index."""

    def contribute_to_class(self, cls: Any, name: str, private_only: bool = False) -> None:
        super().contribute_to_class(cls, name, private_only=private_only)
        if not cls._meta.abstract:
            post_init.connect(_check_binding, sender=cls, weak=False, dispatch_uid=f"phare-seal-{cls._meta.label}")

    # -- text <-> token ---------------------------------------------------------------------------------------

    def _plain(self, value: Any) -> str:
        return str(value)

    def _seal_for(self, instance: Any, text: str) -> Sealed:
        uid = getattr(instance, "uid", None)
        org_id = getattr(instance, "organisation_id", None)
        if uid is None or org_id is None:
            raise ValueError(f"{type(instance).__name__} needs `uid` and `organisation` to encrypt {self.name}")
        uid = str(uid)
        subject = encryption_subject(instance)
        if subject is not None:
            pk, key = keys.person_key_for(org_id, subject)
            kid = keys.kid("p", pk, key)
        else:
            pk, key = keys.active_org_key(org_id, "data")
            kid = keys.kid("o", pk, key)
        body = keys.seal_bytes(key, text.encode(), _aad(self.model._meta.db_table, str(self.column), uid))
        return Sealed(f"{PREFIX}:{kid}:{uid}:{body}")

    def _open_token(self, token: str) -> str | None:
        """The plaintext of `token`; None when its person key was destroyed."""
        if not token.startswith(PREFIX + ":"):
            return token  # written before encryption existed; `phare rotate_keys --seal` fixes it
        try:
            _, kid, uid, body = token.split(":", 3)
            key = keys.key_by_kid(kid)
        except keys.KeyDestroyedError:
            return None
        except ValueError as exc:
            raise TamperedValueError(f"malformed token in {self.model._meta.label}.{self.name}") from exc
        try:
            text = keys.open_bytes(key, body, _aad(self.model._meta.db_table, str(self.column), uid)).decode()
        except (InvalidTag, ValueError) as exc:
            raise TamperedValueError(f"{self.model._meta.label}.{self.name} failed authentication") from exc
        opened = Opened(text)
        opened.bound_uid = uid
        return opened

    @staticmethod
    def token_kid(token: str) -> str:
        parts = token.split(":", 3)
        return parts[1] if len(parts) == 4 and parts[0] == PREFIX else ""

    # -- Django hooks -----------------------------------------------------------------------------------------

    def pre_save(self, model_instance: Any, add: bool) -> Any:
        value = getattr(model_instance, self.attname)
        if value is None or value == "":
            return None if self.null else ""
        return self._seal_for(model_instance, self._plain(value))

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        return None if value is None or value == "" else self._open_token(value)

    def get_prep_value(self, value: Any) -> Any:
        if value is None or isinstance(value, Sealed):
            return value
        if value == "":
            return None if self.null else ""
        raise ValueError(
            f"{self.model._meta.label}.{self.name} is encrypted: write it with save() on the instance "
            "(not update()/bulk_update()), and look it up through a blind index"
        )


_TOKEN = PREFIX + ":"
_PERSON_TOKEN = PREFIX + ":p"


# What `TokenOpener.keys_for` gives `with_keys`: keys by key id (None: destroyed), person keys still wrapped by key id
# (subject, wrapped key, id of the organisation key wrapping it), and those organisation keys by id.
KeysGiven = tuple[dict[str, "bytes | None"], dict[str, tuple[str, str, int]], dict[int, bytes]]


class TokenOpener:
    """Opens sealed values read as plain column values (an export reads tuples, not instances), with the checks
    reading an instance makes: the token authenticates for its table, column and row uid, and it names the row it
    was read from (`_check_binding`), else TamperedValueError; a value whose person key was destroyed reads as
    None. Keys are looked up once per key id for the opener's life: make one per batch of rows."""

    def __init__(self) -> None:
        self._ciphers: dict[str, AESGCM | None] = {}
        self._closed = False  # (`with_keys`: no key is looked up)
        self._wrapped: dict[str, tuple[str, str, int]] = {}
        self._wrapping: dict[int, bytes | AESGCM] = {}

    @classmethod
    def with_keys(cls, known: dict[str, bytes | None], wrapped: dict[str, tuple[str, str, int]] | None = None,
                  wrapping: dict[int, bytes] | None = None) -> TokenOpener:  # fmt: skip
        """An opener that knows only the keys `keys_for` gave (`known`, None: destroyed; person keys still
        `wrapped`, with the organisation keys `wrapping` them) and looks up no other: for a process that must not
        use the database (an export's writing process, phare.imports.writing). A wrapped key is unwrapped when a
        value first names it. A token naming another key is refused as malformed."""
        opener = cls()
        opener._ciphers = {kid: None if key is None else AESGCM(key) for kid, key in known.items()}
        opener._wrapped = dict(wrapped or {})
        opener._wrapping = dict(wrapping or {})
        opener._closed = True
        return opener

    def keys_for(self, columns: Iterable[Iterable[Any]], wrapping_seen: dict[int, bytes] | None = None) -> KeysGiven:
        """The keys the sealed values among `columns` name, for `with_keys(*given)` in another process: person keys
        as their rows hold them, wrapped (one query; unwrapping them is left to the process that opens the values,
        half the reading's key work), with the organisation keys wrapping them; other keys as they are, None for a
        destroyed one. A key id that names no key is left out. `wrapping_seen`: organisation keys a reader of
        several batches already looked up (by row id; a row's key never changes), and gets those looked up here:
        each lookup is a query and an unwrap, a twentieth of an export's reading when made for every batch."""
        kids: set[str] = set()
        start, n = _TOKEN, len(_TOKEN)
        for values in columns:
            # The key id of each value that open_column takes for a token (one that names no key is refused there).
            kids.update(v[n : v.find(":", n)] for v in values if v and v.startswith(start))
        by_pk: dict[str, list[str]] = {}
        for kid in kids:
            if kid.startswith("p"):
                by_pk.setdefault(kid[1:].partition(".")[0], []).append(kid)
        wrapped: dict[str, tuple[str, str, int]] = {}
        wrapping: dict[int, bytes] = {}
        seen = {} if wrapping_seen is None else wrapping_seen
        for pk, subject, key_text, wk_pk in keys.person_key_rows_by_id(map(int, filter(str.isdigit, by_pk))):
            for kid in by_pk[str(pk)]:
                wrapped[kid] = (subject, key_text, wk_pk)
            if wk_pk not in wrapping:
                if wk_pk not in seen:
                    seen[wk_pk] = keys.org_key_by_id(wk_pk)
                wrapping[wk_pk] = seen[wk_pk]
        known: dict[str, bytes | None] = {}
        for kid in kids.difference(wrapped):
            try:
                known[kid] = keys.key_by_kid(kid)
            except keys.KeyDestroyedError:
                known[kid] = None
            except (keys.CryptoKeyError, ValueError):
                continue  # (its tokens are refused where they are opened)
        return known, wrapped, wrapping

    def _cipher(self, kid: str) -> AESGCM | None:
        try:
            return self._ciphers[kid]
        except KeyError:
            pass
        if self._closed:
            cipher = self._unwrapped(kid)
        else:
            try:
                cipher = AESGCM(keys.key_by_kid(kid))
            except keys.KeyDestroyedError:
                cipher = None
        self._ciphers[kid] = cipher
        return cipher

    def _unwrapped(self, kid: str) -> AESGCM | None:
        """The cipher of a person key given wrapped (`with_keys`); None, as `keys.person_key_by_id` says it, when
        the row's key is not the one the id's fingerprint names (a row id used again after a rollback)."""
        row = self._wrapped.get(kid)
        if row is None:
            raise ValueError(f"no key {kid} was given")
        subject, wrapped, wk_pk = row
        wrap = self._wrapping.get(wk_pk)
        if wrap is None:
            raise ValueError(f"the key wrapping {kid} was not given")
        if not isinstance(wrap, AESGCM):
            wrap = self._wrapping[wk_pk] = AESGCM(wrap)
        try:
            key = keys.open_person_key(subject, wrapped, wrap)
        except InvalidTag as exc:
            raise ValueError(f"person key {kid} failed authentication") from exc
        # (the fingerprints' memo is left alone: it is keyed by the key itself, and would keep every person's)
        return AESGCM(key) if keys.fingerprint.__wrapped__(key) == kid.partition(".")[2] else None

    def prefetch(self, columns: Iterable[Iterable[Any]]) -> None:
        """Unwrap at once the person keys the sealed values among `columns` name (one query), instead of one by
        one."""
        if self._closed:
            return
        kids: set[str] = set()
        for values in columns:
            kids.update(v[3 : v.find(":", 3)] for v in values if v and v.startswith(_PERSON_TOKEN))
        known = self._ciphers
        person_keys = {kid[1:].partition(".")[0] for kid in kids if kid not in known}
        loaded = keys.preload_person_keys_by_id((int(pk) for pk in person_keys if pk.isdigit()), remember=False)
        known.update((kid, AESGCM(key)) for kid, key in loaded.items())

    def open_column(self, table: str, column: str, tokens: Sequence[Any], row_uids: Iterable[str]) -> list[Any]:
        """The plaintext of each token of column `column` of `table`, read from the row whose uid is beside it in
        `row_uids` (None for an empty value). One loop for the column: an export opens a million values.
        The first token whose key is not known yet has the column's person keys unwrapped at once (`prefetch`):
        the columns after it, sealed with the same people's keys, are not looked through again."""
        aad = _aad(table, column, "")
        ciphers = self._ciphers
        scanned = False
        # keys.b64d, inline (a call per token was a fifth of the loop): strict, so that a character outside the
        # alphabet is refused.
        a2b, urlsafe, pads = binascii.a2b_base64, keys.URLSAFE, (b"", b"===", b"==", b"=")
        out: list[Any] = []
        append = out.append
        for token, row_uid in zip(tokens, row_uids, strict=True):
            if not token:
                append(None)
                continue
            if not token.startswith(_TOKEN):
                append(token)  # written before encryption existed, as `_open_token` reads it
                continue
            try:
                _, kid, uid, body = token.split(":", 3)
                cipher = ciphers[kid]
            except KeyError:
                if not scanned:
                    self.prefetch((tokens,))
                    scanned = True
                try:
                    cipher = ciphers[kid] if kid in ciphers else self._cipher(kid)
                except ValueError as exc:
                    raise TamperedValueError(f"malformed token in {table}.{column}") from exc
            except ValueError as exc:
                raise TamperedValueError(f"malformed token in {table}.{column}") from exc
            if uid != row_uid:
                raise TamperedValueError(f"{table}.{column} holds a value sealed for another row")
            if cipher is None:
                append(None)
                continue
            try:
                raw = a2b(body.encode("ascii").translate(urlsafe) + pads[len(body) & 3], strict_mode=True)
                append(cipher.decrypt(raw[:12], raw[12:], aad + uid.encode()).decode())
            except (InvalidTag, ValueError) as exc:
                raise TamperedValueError(f"{table}.{column} failed authentication") from exc
        return out


class EncryptedDateField(EncryptedTextField):
    """A personal date (a birth date), stored encrypted as ISO text and returned as a `date`."""

    def _plain(self, value: Any) -> str:
        return value.isoformat() if isinstance(value, date) else date.fromisoformat(str(value)).isoformat()

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        text = super().from_db_value(value, expression, connection)
        if not text:
            return None
        d = date.fromisoformat(str(text))
        opened = OpenedDate(d.year, d.month, d.day)
        opened.bound_uid = getattr(text, "bound_uid", "")
        return opened

    def to_python(self, value: Any) -> Any:
        if value is None or isinstance(value, date) or value == "":
            return value or None
        return date.fromisoformat(str(value))

    def formfield(self, **kwargs: Any) -> Any:
        from django import forms

        return forms.DateField(**{"required": not self.blank, **kwargs})


# Where a bulk-built instance keeps its PresealedPerson (phare.cases.bulk reads it when inserting the row).
PRESEALED_ATTR = "_phare_presealed"


def _uuid_of(number: int) -> uuid.UUID:
    """uuid.UUID(int=number) without its checks: a presealed row's uid, sent by the preparing process as its number."""
    u = _new_object(uuid.UUID)
    _set(u, "int", number)
    _set(u, "is_safe", _UNKNOWN)
    return u


_new_object, _set, _UNKNOWN, _new_tuple = object.__new__, object.__setattr__, uuid.SafeUUID.unknown, tuple.__new__


def _presealed_person(uid: int, uid_text: str, key: bytes, wrapped: str, wrap_pk: int, fp: str,
                      sealed: dict[str, tuple[Any, str]]) -> PresealedPerson:  # fmt: skip
    return _new_tuple(PresealedPerson, (_uuid_of(uid), uid_text, key, wrapped, wrap_pk, fp, sealed))


def _presealed_row(uid: int, uid_text: str, subject: str | None, key: bytes, fp: str,
                   sealed: dict[str, tuple[Any, str]]) -> PresealedRow:  # fmt: skip
    return _new_tuple(PresealedRow, (_uuid_of(uid), uid_text, subject, key, fp, sealed))


class PresealedPerson(NamedTuple):  # a tuple: it crosses a pipe 100,000 times in a large import
    """A new person's key and sealed fields, prepared away from the database (an import's reading process, while
    the writer works on the batch before). Each token lacks only the row id of the key, known once the key's
    row is inserted; `token` completes it, and the writer seals afresh whatever does not match."""

    uid: uuid.UUID
    uid_text: str
    key: bytes  # the person key, in clear: it stays in memory like every key the writer creates
    wrapped: str  # the person key sealed by the organisation's data key `wrap_pk`
    wrap_pk: int
    fp: str
    sealed: dict[str, tuple[Any, str]]  # attname -> (the value sealed, the AES-GCM body)

    def __reduce__(self) -> tuple[Any, ...]:
        # Its uid crosses as a number: a UUID pickles at several times the cost of the rest of the tuple.
        return _presealed_person, (self.uid.int, *self[1:])

    def token(self, attname: str, value: Any, key_pk: int, key: bytes) -> str | None:
        hit = self.sealed.get(attname)
        if hit is None or hit[0] != value or key != self.key:
            return None
        return f"{PREFIX}:p{key_pk}.{self.fp}:{self.uid_text}:{hit[1]}"


class PresealedRow(NamedTuple):
    """Another new row's uid and sealed fields, prepared ahead of the writer as a PresealedPerson is: with the new
    key of the person the row is about (`subject`, their uid), or with the organisation's data key (`subject`
    None). The writer uses a value only if the row it writes still has this uid, this subject and this key, and
    the value is the one sealed; it seals afresh anything else."""

    uid: uuid.UUID
    uid_text: str
    subject: str | None
    key: bytes  # in clear, as in PresealedPerson
    fp: str
    sealed: dict[str, tuple[Any, str]]

    def __reduce__(self) -> tuple[Any, ...]:
        return _presealed_row, (self.uid.int, *self[1:])  # as PresealedPerson's

    def token(self, attname: str, value: Any, subject: str | None, key_pk: int, key: bytes) -> str | None:
        hit = self.sealed.get(attname)
        if hit is None or hit[0] != value or subject != self.subject or key != self.key:
            return None
        return f"{PREFIX}:{'o' if subject is None else 'p'}{key_pk}.{self.fp}:{self.uid_text}:{hit[1]}"


def presealed_token(obj: Any, attname: str, value: Any) -> str | None:
    """The token of `value` for field `attname` of a bulk-built row, from what was sealed for it in advance
    (PRESEALED_ATTR), completed with the row id of its key; None: seal it now."""
    d = obj.__dict__
    pre = d.get(PRESEALED_ATTR)
    if pre is None or d.get("uid") is not pre.uid:
        return None
    org_id = d["organisation_id"]
    if isinstance(pre, PresealedPerson):
        key_pk, key = keys.person_key_for(org_id, pre.uid_text)
        return pre.token(attname, value, key_pk, key)
    if not isinstance(pre, PresealedRow):
        return None
    found = encryption_subject(obj)
    subject = None if found is None else str(found)
    key_pk, key = keys.active_org_key(org_id, "data") if subject is None else keys.person_key_for(org_id, subject)
    return pre.token(attname, value, subject, key_pk, key)


@functools.cache
def sealed_fields(model: type[models.Model]) -> tuple[EncryptedTextField, ...]:
    return tuple(f for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField))


def preseal_person(model: type[models.Model], wrap: tuple[int, bytes], values: dict[str, Any]) -> PresealedPerson:
    """The key and sealed fields of a new person with these field values (`model` is Person: its rows are
    sealed with their own person key, and their own uid is in each value's associated data)."""
    uid = uuid.uuid4()
    uid_text = str(uid)
    key = AESGCM.generate_key(256)
    wrap_pk, wrap_key = wrap
    table = model._meta.db_table
    sealed: dict[str, tuple[Any, str]] = {}
    for f in sealed_fields(model):
        value = values.get(f.attname)
        if value is None or value == "":
            continue
        sealed[f.attname] = (value, keys.seal_bytes(key, f._plain(value).encode(), _aad(table, str(f.column), uid_text)))
    return PresealedPerson(uid, uid_text, key, keys.wrap_person_key(wrap_key, key, uid_text), wrap_pk,
                           keys.fingerprint(key), sealed)  # fmt: skip


def preseal_row(model: type[models.Model], subject: str | None, key: bytes, values: dict[str, Any]) -> PresealedRow | None:
    """A new row's uid and its sealed fields with these values, sealed with `key`: the key of the person whose
    uid is `subject`, or the organisation's data key (`subject` None). None when it has nothing to seal."""
    fields = [(f, values.get(f.attname)) for f in sealed_fields(model)]
    fields = [(f, v) for f, v in fields if v is not None and v != ""]
    if not fields:
        return None
    uid = uuid.uuid4()
    uid_text = str(uid)
    table = model._meta.db_table
    sealed = {f.attname: (v, keys.seal_bytes(key, f._plain(v).encode(), _aad(table, str(f.column), uid_text)))
              for f, v in fields}  # fmt: skip
    return PresealedRow(uid, uid_text, subject, key, keys.fingerprint(key), sealed)
