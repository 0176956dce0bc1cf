"""Tenant isolation in PostgreSQL itself: row-level security on every table with an `organisation_id`.

The ORM filter in `phare.access` is the first line; this is the second, for the query that forgot it.

* `phare rls install` (as the tables' owner) creates the application role (PHARE_DB_ROLE, e.g. `phare_app`:
  not superuser, no BYPASSRLS, owns nothing), grants it DML, and on each tenant table, found through the app
  registry, runs ENABLE + FORCE ROW LEVEL SECURITY with the policy

      organisation_id = current_setting('phare.org_id')::bigint
      OR (current_setting('phare.maintenance') = 'on' AND current_user <> '<app role>')

  plus, on tables with a `uid`, a read-only policy for rows shared with the organisation by referral: the share
  must name that table and the row's own organisation as its owner. The shares themselves
  (`accounts_sharedrecord`) are written only by the owner of what they open (a tenant cannot grant itself
  another tenant's rows); owner and recipient may read them. A referral in flight (`referrals_transfer`) has
  two parties: sender and receiver read and update it, only the sender creates it; the referral directory
  (`referrals_directorylisting`) is read by every tenant and written by its own. Run it again after each migration (it is
  idempotent): `phare migrate` does, once it has been installed.
* Each HTTP request runs as the application role with `phare.org_id` set to the signed-in user's
  organisation (`RowLevelSecurityMiddleware` → `acting_for`): session-level settings made outside the view's
  transaction and reset when the request ends, so they hold for every transaction of the request
  (ATOMIC_REQUESTS) and never leak to the next request on a persistent connection. In production, connect
  with the application role's own credentials (DATABASE_URL) so that even `RESET ROLE` cannot escape.
* Owner sessions (migrations, management commands) set `phare.maintenance = on` when they connect: the
  owner is subject to the policies too (FORCE), and this is its explicit bypass; the app role cannot use it.

Exempt: users (signing in happens before the tenant is known), the audit log and its chains' heads (an
organisation's first event also writes to the instance's chain; protected by the log's trigger, grants and
MACs), the wrapped key tables (useless without the master key, and needed to open records shared across
tenants), and the job queue (one queue for every tenant: the worker
claims a job before it knows whose it is; a job holds a description of work, and runs its handler acting
for the job's organisation).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import DatabaseError, connection
from django.db.backends.base.base import BaseDatabaseWrapper

EXEMPT = frozenset({"accounts.user", "audit.auditevent", "audit.audithead", "accounts.organisationkey", "accounts.personkey",
                    "jobs.job"})
POLICY = "phare_tenant"
SHARED_POLICY = "phare_shared"
SHARE_WRITE = "phare_share"


def app_role() -> str:
    return str(getattr(settings, "PHARE_DB_ROLE", "") or "")


SHARES = "accounts_sharedrecord"


def tenant_tables() -> list[tuple[str, bool]]:
    """(table, has uid column) for every managed model with an `organisation_id` column, not exempt."""
    return sorted((table, has_uid) for table, has_uid, _ in _tenant_models())


def _tenant_models() -> list[tuple[str, bool, str]]:
    """(table, has uid column, model label) for every tenant table."""
    seen: dict[str, tuple[bool, str]] = {}
    for model in apps.get_models():
        meta = model._meta
        if not meta.managed or meta.proxy or meta.label_lower in EXEMPT:
            continue
        columns = {f.column for f in meta.concrete_fields}
        if "organisation_id" in columns:
            seen[meta.db_table] = ("uid" in columns, meta.label_lower)
    return sorted((t, u, label) for t, (u, label) in seen.items())


def exempt_tables() -> list[str]:
    """Tables with an `organisation_id` that row-level security leaves alone (EXEMPT)."""
    return sorted(m._meta.db_table for m in apps.get_models() if m._meta.label_lower in EXEMPT
                  and "organisation_id" in {f.column for f in m._meta.concrete_fields})  # fmt: skip


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


CURRENT_ORG = "NULLIF(current_setting('phare.org_id', true), '')::bigint"


def tenant_condition(role: str, column: str = "organisation_id") -> str:
    return (
        f"({column} = {CURRENT_ORG}"
        f" OR (current_setting('phare.maintenance', true) = 'on' AND current_user <> {_lit(role)}))"
    )


def shared_condition(table: str, label: str) -> str:
    """Rows of `table` (model `label`) that their own organisation shared with the current one: the share names
    this table and this row's organisation as its owner, so a share a tenant wrote about someone else's row
    (which the policies below refuse anyway) would still open nothing."""
    # The row's (organisation, uid) among the shares' (owner, uid): a subquery that names no column of the row is
    # read once and hashed. Correlated (its owner compared with each row's organisation), it was planned as a
    # lookup per row: PostgreSQL then costed a count of 30,000 cases at 128,000 instead of 2,200, compiled it with
    # JIT, and ran no scan under the policy in parallel (tests/test_rls.py compares the plans).
    t = _q(table)
    return (
        f"(({t}.organisation_id, {t}.uid) IN (SELECT s.owner_id, s.target_uid FROM {SHARES} s"
        f" WHERE s.organisation_id = {CURRENT_ORG} AND s.revoked_at IS NULL AND s.target_type = {_lit(label)}))"
    )


def shares_statements(role: str) -> list[str]:
    """The shares table's own policies: owner and recipient read; only the owner writes."""
    t = _q(SHARES)
    either = f"({tenant_condition(role)} OR {tenant_condition(role, 'owner_id')})"
    owner = tenant_condition(role, "owner_id")
    return [
        f"CREATE POLICY {POLICY} ON {t} FOR SELECT USING {either}",
        f"CREATE POLICY {SHARE_WRITE}_insert ON {t} FOR INSERT WITH CHECK {owner}",
        f"CREATE POLICY {SHARE_WRITE}_update ON {t} FOR UPDATE USING {owner} WITH CHECK {owner}",
        f"CREATE POLICY {SHARE_WRITE}_delete ON {t} FOR DELETE USING {owner}",
    ]


TRANSFERS = "referrals_transfer"
DIRECTORY = "referrals_directorylisting"


def two_party_statements(role: str, table: str = TRANSFERS, other: str = "receiver_id") -> list[str]:
    """A row with two parties (a referral in flight: its sender `organisation_id` and its receiver): both read
    it and either may update it (each through its own verbs), but an update cannot hand it to a third
    organisation; only the sender creates or deletes it."""
    t = _q(table)
    either = f"({tenant_condition(role)} OR {tenant_condition(role, other)})"
    sender = tenant_condition(role)
    return [
        f"CREATE POLICY {POLICY} ON {t} FOR SELECT USING {either}",
        f"CREATE POLICY {SHARE_WRITE}_insert ON {t} FOR INSERT WITH CHECK {sender}",
        f"CREATE POLICY {SHARE_WRITE}_update ON {t} FOR UPDATE USING {either} WITH CHECK {either}",
        f"CREATE POLICY {SHARE_WRITE}_delete ON {t} FOR DELETE USING {sender}",
    ]


def transfer_guard_statements(role: str) -> list[str]:
    """What each party may change of a referral in flight, below the ORM: neither its parties, its case, what
    was sent nor when (the payload may only be erased); only the sender marks a withdrawal or a withdrawn
    consent; only the receiver records what it did (accepted, declined, services started, closed, its case)."""
    t = _q(TRANSFERS)
    return [
        f"""CREATE OR REPLACE FUNCTION phare_transfer_guard() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF current_setting('phare.maintenance', true) = 'on' AND current_user <> {_lit(role)} THEN
                RETURN NEW;
            END IF;
            IF NEW.organisation_id <> OLD.organisation_id OR NEW.receiver_id <> OLD.receiver_id
               OR NEW.case_id <> OLD.case_id OR NEW.parts <> OLD.parts OR NEW.services <> OLD.services
               OR NEW.urgency <> OLD.urgency OR NEW.sent_at <> OLD.sent_at
               OR NEW.referral_id IS DISTINCT FROM OLD.referral_id
               OR (NEW.payload <> OLD.payload AND NEW.payload <> '') THEN
                RAISE EXCEPTION 'a referral keeps its parties and what was sent';
            END IF;
            IF OLD.receiver_id = {CURRENT_ORG} THEN
                IF NEW.consent_id IS DISTINCT FROM OLD.consent_id OR NEW.consent_withdrawn <> OLD.consent_withdrawn
                   OR (NEW.status <> OLD.status AND NEW.status = 'withdrawn') THEN
                    RAISE EXCEPTION 'only the sender withdraws a referral';
                END IF;
            ELSIF NEW.receiver_case_id IS DISTINCT FROM OLD.receiver_case_id
                  OR (NEW.status <> OLD.status AND NEW.status <> 'withdrawn') THEN
                RAISE EXCEPTION 'only the receiver reports on a referral';
            END IF;
            RETURN NEW;
        END $$""",
        f"DROP TRIGGER IF EXISTS phare_transfer_guard ON {t}",
        f"CREATE TRIGGER phare_transfer_guard BEFORE UPDATE ON {t} FOR EACH ROW EXECUTE FUNCTION phare_transfer_guard()",
    ]


def directory_statements(role: str, table: str = DIRECTORY) -> list[str]:
    """The referral directory: every organisation of the instance reads every listing (names, services,
    places: nothing personal); each writes only its own."""
    t = _q(table)
    own = tenant_condition(role)
    return [
        f"CREATE POLICY {POLICY} ON {t} FOR SELECT USING (true)",
        f"CREATE POLICY {SHARE_WRITE}_insert ON {t} FOR INSERT WITH CHECK {own}",
        f"CREATE POLICY {SHARE_WRITE}_update ON {t} FOR UPDATE USING {own} WITH CHECK {own}",
        f"CREATE POLICY {SHARE_WRITE}_delete ON {t} FOR DELETE USING {own}",
    ]


# Tenant tables every organisation of the instance reads (their policies say so; nothing personal in them).
READ_BY_ALL = frozenset({"referrals.directorylisting"})
# Tables whose policies are not the plain tenant one.
# (Looked up by name when installing, so that a test can swap one for the policy it replaced.)
SPECIAL = {SHARES: "shares_statements", TRANSFERS: "two_party_statements", DIRECTORY: "directory_statements"}


def install_statements(role: str, password: str | None = None) -> list[str]:
    login = f"LOGIN PASSWORD {_lit(password)}" if password else "NOLOGIN"
    stmts = [
        f"""DO $$ BEGIN
            IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = {_lit(role)}) THEN
                CREATE ROLE {_q(role)} {login} NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
            END IF;
        END $$""",
        f"ALTER ROLE {_q(role)} NOSUPERUSER NOBYPASSRLS",
        f"GRANT USAGE ON SCHEMA public TO {_q(role)}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {_q(role)}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {_q(role)}",
        f"REVOKE UPDATE, DELETE, TRUNCATE ON audit_auditevent FROM {_q(role)}",
        # The owner switches to the app role per request (SET ROLE) when both share one DATABASE_URL.
        f"""DO $$ BEGIN
            IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
                EXECUTE format('GRANT %I TO %I', {_lit(role)}, current_user);
            END IF;
        END $$""",
    ]
    if password:
        stmts.append(f"ALTER ROLE {_q(role)} LOGIN PASSWORD {_lit(password)}")
    for table, has_uid, label in _tenant_models():
        t = _q(table)
        stmts += [
            f"ALTER TABLE {t} ENABLE ROW LEVEL SECURITY",
            f"ALTER TABLE {t} FORCE ROW LEVEL SECURITY",
            f"DROP POLICY IF EXISTS {POLICY} ON {t}",
            f"DROP POLICY IF EXISTS {SHARED_POLICY} ON {t}",
            *(f"DROP POLICY IF EXISTS {SHARE_WRITE}_{verb} ON {t}" for verb in ("insert", "update", "delete")),
        ]
        if table in SPECIAL:
            stmts += globals()[SPECIAL[table]](role)
            if table == TRANSFERS:
                stmts += transfer_guard_statements(role)
            continue
        stmts.append(f"CREATE POLICY {POLICY} ON {t} USING {tenant_condition(role)} WITH CHECK {tenant_condition(role)}")
        if has_uid:
            stmts.append(f"CREATE POLICY {SHARED_POLICY} ON {t} FOR SELECT USING {shared_condition(table, label)}")
    for table in exempt_tables():  # a table exempted after an earlier install (the job queue) loses its policies
        t = _q(table)
        stmts += [f"DROP POLICY IF EXISTS {POLICY} ON {t}", f"DROP POLICY IF EXISTS {SHARED_POLICY} ON {t}",
                  f"ALTER TABLE {t} NO FORCE ROW LEVEL SECURITY", f"ALTER TABLE {t} DISABLE ROW LEVEL SECURITY"]  # fmt: skip
    return stmts


def _require_pg() -> None:
    if connection.vendor != "postgresql":
        raise RuntimeError("row-level security needs PostgreSQL")


def install(role: str | None = None, password: str | None = None) -> int:
    """Create/refresh the role, grants and policies; returns the number of tenant tables protected."""
    _require_pg()
    role = role or app_role() or "phare_app"
    with connection.cursor() as cur:
        # ALTER TABLE refuses tables with pending deferred foreign-key checks in this transaction.
        cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for sql in install_statements(role, password):
            cur.execute(sql)
        cur.execute("SET CONSTRAINTS ALL DEFERRED")
    return len(tenant_tables())


def installed() -> bool:
    """Whether `install` ran on this database: some tenant table has row-level security on."""
    _require_pg()
    tables = [t for t, _ in tenant_tables()]
    with connection.cursor() as cur:
        cur.execute("SELECT EXISTS (SELECT 1 FROM pg_class WHERE relname = ANY(%s) AND relrowsecurity)", [tables])
        return bool(cur.fetchone()[0])


def set_enabled(enabled: bool, tables: list[str] | None = None) -> None:
    """Switch row-level security on or off (tests prove the leak it prevents; never in production)."""
    _require_pg()
    with connection.cursor() as cur:
        cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for table in tables or [t for t, _ in tenant_tables()]:
            if enabled:
                cur.execute(f"ALTER TABLE {_q(table)} ENABLE ROW LEVEL SECURITY")
                cur.execute(f"ALTER TABLE {_q(table)} FORCE ROW LEVEL SECURITY")
            else:
                cur.execute(f"ALTER TABLE {_q(table)} NO FORCE ROW LEVEL SECURITY")
                cur.execute(f"ALTER TABLE {_q(table)} DISABLE ROW LEVEL SECURITY")
        cur.execute("SET CONSTRAINTS ALL DEFERRED")


def status() -> list[tuple[str, bool, bool, int]]:
    """(table, rls enabled, forced, number of policies) for every tenant table."""
    _require_pg()
    out = []
    with connection.cursor() as cur:
        for table, _ in tenant_tables():
            cur.execute(
                "SELECT c.relrowsecurity, c.relforcerowsecurity, "
                "(SELECT count(*) FROM pg_policies p WHERE p.tablename = c.relname) "
                "FROM pg_class c WHERE c.relname = %s AND c.relkind = 'r'",
                [table],
            )
            row = cur.fetchone()
            out.append((table, bool(row and row[0]), bool(row and row[1]), int(row[2]) if row else 0))
    return out


@contextmanager
def acting_for(organisation_id: int | None, user_id: int | None = None, role: str = "") -> Iterator[None]:
    """Run the block as `role` (when given) with `phare.org_id` set, on PostgreSQL; a no-op elsewhere.

    Nested blocks restore what the outer one set (an operator's request counting a partner's rows acts for the
    partner for that count only)."""
    if connection.vendor != "postgresql":
        yield
        return
    # One round trip each way; set_config('role', ...) is SET ROLE.
    with connection.cursor() as cur:
        cur.execute(
            "SELECT current_setting('phare.org_id', true), current_setting('phare.user_id', true),"
            " current_setting('role'), set_config('phare.org_id', %s, false), set_config('phare.user_id', %s, false)"
            + (", set_config('role', %s, false)" if role else ""),
            [str(organisation_id or ""), str(user_id or ""), *([role] if role else [])],
        )
        before = cur.fetchone()
    prev_org, prev_user, prev_role = (before[0] or ""), (before[1] or ""), (before[2] or "none")
    try:
        yield
    finally:
        try:
            with connection.cursor() as cur:
                cur.execute(
                    "SELECT set_config('phare.org_id', %s, false), set_config('phare.user_id', %s, false)"
                    + (", set_config('role', %s, false)" if role else ""),
                    [prev_org, prev_user, *([prev_role] if role else [])],
                )
        except DatabaseError:
            # An aborted transaction: its rollback undoes the settings; a broken connection is closed anyway.
            pass


def on_connect(sender: Any, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    """Owner sessions (not acting for a request) may see all tenants: the explicit maintenance bypass."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SELECT set_config('phare.maintenance', 'on', false)")
