from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from phare.accounts.models import Organisation
from phare.cases.models import Person
from phare.ops.actions import OnLegalHoldError, erase_person, export_person, export_person_pdf, write_person_archive


class Command(BaseCommand):
    help = "Data-subject rights: export everything held about a person, or erase them (crypto-shredding)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        export = sub.add_parser("export")
        export.add_argument("--org", required=True)
        export.add_argument("--person", required=True, help="The person's uid.")
        export.add_argument("--out", required=True, help="A .json, .pdf or .zip path (the zip holds both and the person's documents, decrypted).")
        erase = sub.add_parser("erase")
        erase.add_argument("--org", required=True)
        erase.add_argument("--person", required=True)
        erase.add_argument("--reason", required=True, help="E.g. the erasure request's reference.")

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            org = Organisation.objects.get(slug=opts["org"])
            person = Person.objects.get(organisation=org, uid=opts["person"])
        except (Organisation.DoesNotExist, Person.DoesNotExist, ValueError) as exc:
            raise CommandError("no such person in that organisation") from exc
        if opts["action"] == "export":
            out = Path(opts["out"])
            if out.suffix.lower() == ".zip":
                with out.open("wb") as fh:
                    write_person_archive(None, person, fh)
            elif out.suffix.lower() == ".pdf":
                out.write_bytes(export_person_pdf(export_person(None, person)))
            else:
                out.write_text(json.dumps(export_person(None, person), indent=1, ensure_ascii=False), encoding="utf-8")
            self.stdout.write(f"wrote {out}")
        else:
            try:
                erase_person(None, person, opts["reason"])
            except (OnLegalHoldError, ValueError) as exc:
                raise CommandError(str(exc)) from exc
            self.stdout.write(f"erased the personal data of person {person.uid}")
