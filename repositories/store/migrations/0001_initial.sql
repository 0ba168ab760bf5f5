-- Entra ID backup repository, schema version 1.
-- Every directory object version is a row valid over a range of restore point ids [valid_from, valid_to).
-- See docs/repository.md for the semantics; nothing here depends on Django.

CREATE TABLE tenant (
    id           serial PRIMARY KEY,
    key          text NOT NULL UNIQUE,          -- the configuration side's stable tenant key
    directory_id text NOT NULL,
    name         text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE restore_point (
    id           bigserial PRIMARY KEY,         -- increasing, never reused (a sequence never goes back)
    tenant_id    integer NOT NULL REFERENCES tenant (id),
    session_key  text NOT NULL UNIQUE,
    kind         text NOT NULL CHECK (kind IN ('full', 'incremental')),
    state        text NOT NULL DEFAULT 'staging' CHECK (state IN ('staging', 'committed')),
    started_at   timestamptz NOT NULL DEFAULT now(),
    committed_at timestamptz,
    types        text[] NOT NULL DEFAULT '{}',
    stats        jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX restore_point_tenant ON restore_point (tenant_id, id);

-- No foreign keys on the two version tables: a per-row FK check would slow COPY down, and the store
-- deletes a tenant's rows itself (tenant_purge).
CREATE TABLE object_version (
    tenant_id    integer NOT NULL,
    object_type  text NOT NULL,
    object_id    text NOT NULL,
    valid_from   bigint NOT NULL,               -- restore point that wrote this version
    valid_to     bigint,                        -- restore point that superseded it; NULL = current
    deleted      text CHECK (deleted IN ('soft', 'hard', 'missing')),  -- tombstone: data is NULL
    content_hash bytea,                         -- canonical hash (volatile fields excluded); NULL for tombstones
    data         jsonb,
    display_name text,
    upn          text,
    mail         text,
    app_id       text,
    PRIMARY KEY (tenant_id, object_type, object_id, valid_from)
);
-- The primary key serves as-of lookups by id (and, with PostgreSQL 18's skip scan, by id across types).
CREATE INDEX object_version_name ON object_version (tenant_id, object_type, (lower(display_name)) COLLATE "C");
CREATE INDEX object_version_upn ON object_version ((lower(upn)) COLLATE "C") WHERE upn IS NOT NULL;
CREATE INDEX object_version_mail ON object_version ((lower(mail)) COLLATE "C") WHERE mail IS NOT NULL;
CREATE INDEX object_version_app_id ON object_version (app_id) WHERE app_id IS NOT NULL;
-- Rows a restore point wrote: cleanup of a dead session, changes(), history.
CREATE INDEX object_version_from ON object_version (tenant_id, valid_from);
-- Closed versions and tombstones: pruning.
CREATE INDEX object_version_to ON object_version (tenant_id, valid_to) WHERE valid_to IS NOT NULL;
CREATE INDEX object_version_tombstone ON object_version (tenant_id, valid_from) WHERE deleted IS NOT NULL;

CREATE TABLE relation_version (
    tenant_id   integer NOT NULL,
    kind        text NOT NULL,
    source_id   text NOT NULL,
    target_id   text NOT NULL,
    target_type text,
    valid_from  bigint NOT NULL,
    valid_to    bigint,
    PRIMARY KEY (tenant_id, kind, source_id, target_id, valid_from)
);
CREATE INDEX relation_version_target ON relation_version (tenant_id, kind, target_id);
CREATE INDEX relation_version_from ON relation_version (tenant_id, valid_from);
CREATE INDEX relation_version_to ON relation_version (tenant_id, valid_to) WHERE valid_to IS NOT NULL;

CREATE TABLE sync_state (
    tenant_id        integer NOT NULL REFERENCES tenant (id),
    name             text NOT NULL,
    value            text,
    restore_point_id bigint NOT NULL,
    PRIMARY KEY (tenant_id, name)
);

-- Closing a version is an UPDATE (a dead tuple); vacuum them early so later versions reuse the space.
ALTER TABLE object_version SET (autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_insert_scale_factor = 0.05);
ALTER TABLE relation_version SET (autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_insert_scale_factor = 0.05);
