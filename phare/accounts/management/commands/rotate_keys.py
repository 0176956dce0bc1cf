"""`phare rotate_keys`: re-wrap organisation keys under a new master key, or re-encrypt data under new
organisation data keys, or seal rows written before encryption.

    phare rotate_keys --master NEW_KEY_FILE     # NEW_KEY_FILE is created (0600) if missing
    phare rotate_keys --org-keys [--org SLUG]   # new data key per organisation, data re-encrypted
    phare rotate_keys --seal                    # encrypt legacy plaintext values in place

After --master, point PHARE_MASTER_KEY_FILE (or PHARE_MASTER_KEY) at the new key; the developer default key
file is replaced in place (the old one is kept next to it as master.key.old until you delete it).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from phare.accounts.models import Organisation, OrganisationKey
from phare.audit.log import record
from phare.crypto import keys
from phare.crypto.fields import PREFIX, EncryptedTextField


def encrypted_models() -> list[tuple[type[Any], list[EncryptedTextField]]]:
    out = []
    for model in apps.get_models():
        fields = [f for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
        if fields:
            out.append((model, fields))
    return out


def rotate_master(new_file: Path) -> int:
    """Re-wrap every organisation/instance key under the key in `new_file`; returns how many."""
    new_key = keys._read_key_file(new_file, create=True)
    new_kid = keys.kid_of(new_key)
    old_kid, old_key = keys.master()
    n = 0
    with transaction.atomic():
        # Recorded first: the audit key is then unwrapped (and cached) under the old master key.
        record("keys.master_rotation", detail={"from": old_kid, "to": new_kid})
        for row in OrganisationKey.objects.select_for_update().all():
            if row.master_kid == new_kid:
                continue
            if row.master_kid != old_kid:
                raise CommandError(f"organisation key {row.pk} is wrapped by an unknown master key {row.master_kid}")
            clear = keys.unwrap_org_key(row.wrapped, row.organisation_id, row.purpose, old_key)
            row.wrapped = keys.wrap_org_key(clear, row.organisation_id, row.purpose, new_key)
            row.master_kid = new_kid
            row.save(update_fields=["wrapped", "master_kid"])
            n += 1
    return n


def reseal(org_id: int | None = None, only_legacy: bool = False) -> int:
    """Re-save every encrypted value (of one organisation, or all) under the current keys."""
    n = 0
    for model, fields in encrypted_models():
        qs = model._default_manager.all()
        if org_id is not None:
            qs = qs.filter(organisation_id=org_id)
        names = [f.attname for f in fields]
        for pk in qs.values_list("pk", flat=True).iterator():
            with transaction.atomic():
                obj = model._default_manager.select_for_update().get(pk=pk)
                if only_legacy and not _has_legacy(model, pk, fields):
                    continue
                obj.save(update_fields=names)
                n += 1
    return n


def _has_legacy(model: type[Any], pk: Any, fields: list[EncryptedTextField]) -> bool:
    from django.db import connection

    cols = ", ".join(connection.ops.quote_name(str(f.column)) for f in fields)
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cur:
        cur.execute(f"SELECT {cols} FROM {table} WHERE {connection.ops.quote_name(model._meta.pk.column)} = %s", [pk])
        row = cur.fetchone() or ()
    return any(v and not str(v).startswith(PREFIX + ":") for v in row)


def rotate_org_data_key(org: Organisation) -> int:
    """A new data key for `org`: person keys re-wrapped, rows sealed with the old key re-encrypted, old key
    retired. Returns the number of rows re-encrypted."""
    with transaction.atomic():
        old = OrganisationKey.objects.select_for_update().filter(organisation=org, purpose="data", active=True).first()
        if old is None:
            return 0
        old.active = False
        old.save(update_fields=["active"])
        new_pk, _ = keys.active_org_key(org.pk, "data")
        keys.rewrap_person_keys(old.pk, new_pk)
        from phare.referrals.packages import rewrap_keypairs

        rewrap_keypairs(org.pk, new_pk)  # the referral key pairs are sealed with the data key too
    n = reseal(org.pk)
    record("keys.org_rotated", organisation=org, detail={"from": old.pk, "to": new_pk, "rows": n})
    return n


class Command(BaseCommand):
    help = "Rotate the master key (re-wrap) or organisation data keys (re-encrypt); seal legacy plaintext."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--master", metavar="NEW_KEY_FILE", help="re-wrap organisation keys under this key")
        parser.add_argument("--org-keys", action="store_true", help="new data keys, data re-encrypted")
        parser.add_argument("--org", metavar="SLUG", help="only this organisation (with --org-keys)")
        parser.add_argument("--seal", action="store_true", help="encrypt values written before encryption")

    def handle(self, *args: Any, **options: Any) -> None:
        if not (options["master"] or options["org_keys"] or options["seal"]):
            raise CommandError("say what to rotate: --master NEW_KEY_FILE, --org-keys or --seal")
        if options["master"]:
            new_file = Path(options["master"])
            n = rotate_master(new_file)
            current = keys.default_master_key_file()
            from django.conf import settings

            if not getattr(settings, "PHARE_MASTER_KEY_FILE", "") and not _env_key():
                shutil.copy2(current, current.with_suffix(".key.old"))
                shutil.copy2(new_file, current)
                current.chmod(0o600)
                self.stdout.write(f"{n} keys re-wrapped; {current} now holds the new master key")
            else:
                self.stdout.write(f"{n} keys re-wrapped; now set PHARE_MASTER_KEY_FILE={new_file} and restart")
            keys.reset_caches()
        if options["org_keys"]:
            orgs = Organisation.objects.all()
            if options["org"]:
                orgs = orgs.filter(slug=options["org"])
            for org in orgs:
                n = rotate_org_data_key(org)
                self.stdout.write(f"{org.slug}: new data key, {n} rows re-encrypted")
        if options["seal"]:
            n = reseal(only_legacy=True)
            self.stdout.write(f"{n} rows sealed")


def _env_key() -> bool:
    import os

    return bool(os.getenv("PHARE_MASTER_KEY"))
