-- The restore points page lists a tenant's committed restore points newest first, a page at a time by keyset
-- (committed_at, id), optionally of one kind: these indexes answer each page, and its count up to the cap,
-- as a range, however many points the tenant has.
CREATE INDEX IF NOT EXISTS restore_point_committed ON restore_point (tenant_id, committed_at DESC, id DESC)
    WHERE state = 'committed';
CREATE INDEX IF NOT EXISTS restore_point_kind_committed ON restore_point (tenant_id, kind, committed_at DESC, id DESC)
    WHERE state = 'committed';
