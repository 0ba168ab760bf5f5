-- Closing a pair (valid_to = R) becomes a HOT update that adds no index entry: no index may cover valid_to,
-- and pages need free space for the new tuple version. This keeps the indexes of this large, narrow table
-- from growing with membership churn (see docs/benchmarks.md, "Entra ID backup repository").
-- Pruning finds closed pairs with a scan of the tenant's rows instead.
DROP INDEX IF EXISTS relation_version_to;
ALTER TABLE relation_version SET (fillfactor = 90);  -- applies to pages written from now on
