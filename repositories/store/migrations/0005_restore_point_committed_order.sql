-- The restore points page lists a tenant's committed restore points newest first, a page at a time by keyset
-- (committed_at, id): this index answers each page as a range, however many points the tenant has.
CREATE INDEX IF NOT EXISTS restore_point_committed ON restore_point (tenant_id, committed_at DESC, id DESC)
    WHERE state = 'committed';
