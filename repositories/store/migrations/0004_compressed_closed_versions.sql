-- Superseded versions keep their JSON compressed (repositories/store/compress.py): when a commit closes a
-- version it moves `data` into `data_z` and sets `data` to NULL. Current versions stay plain jsonb.
ALTER TABLE object_version ADD COLUMN IF NOT EXISTS data_z bytea;
