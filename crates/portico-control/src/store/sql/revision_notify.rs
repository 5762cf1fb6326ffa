//! PostgreSQL announces every new revision on the [`CHANNEL`] notification channel, so that
//! every control-plane replica on the database wakes its gateways' long-polls when any replica
//! commits (see `distributor::replicas`).
//!
//! A trigger on the `revision` row does it rather than the store's commit code, so that any
//! write that bumps the revision announces itself (a restore run by hand included).
//! PostgreSQL delivers a notification only when its transaction commits, and drops it on
//! rollback, so a listener never hears of a revision it cannot read yet, and a commit that
//! changed nothing (rolled back) wakes nobody. SQLite has no such channel: it serves one
//! replica, which learns of its own commits in-process.

/// The channel name; the payload is the new revision as decimal text.
pub const CHANNEL: &str = "portico_revision";

/// PostgreSQL migration 3.
pub(super) const POSTGRES_MIGRATION: &str = "
    CREATE FUNCTION portico_revision_notify() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM pg_notify('portico_revision', NEW.value::text);
        RETURN NEW;
    END
    $$;
    CREATE TRIGGER revision_notify AFTER UPDATE ON revision
        FOR EACH ROW EXECUTE FUNCTION portico_revision_notify();";
