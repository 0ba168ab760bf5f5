-- The explorer searches UPNs and mail addresses by substring (LIKE '%text%'), which a btree index cannot
-- serve; these two indexes only cost space and write time on every object version. Display names keep
-- their index (listing order and prefix search); app ids keep theirs (exact lookups by appId).
DROP INDEX IF EXISTS object_version_upn;
DROP INDEX IF EXISTS object_version_mail;
