-- Schema mapping items (a source column's OMOP CDM table/column target, in
-- the Portiere SDK's SchemaMappingItem shape) and cross-mapping runs (the
-- SDK's CrossMappingRun records). Both are pushed and pulled by the SDK's
-- sync; schema items are also reviewed (approve / reject / override), with
-- every decision and every change a push makes written to review_events
-- (item_kind 'schema') in the same transaction.

create table schema_mapping_items (
	id                     bigint           generated always as identity primary key,
	project_id             uuid             not null references projects (id) on delete cascade,
	-- The SDK writes "" for a column of an unnamed table (null becomes "").
	source_table           text             not null default '',
	source_column          text             not null check (source_column <> ''),
	-- The suggested target; null when there is none (the SDK turns "" into null).
	target_table           text             null,
	target_column          text             null,
	confidence             double precision not null default 0,
	status                 text             not null default 'needs_review'
		check (status in ('auto_accepted', 'needs_review', 'approved', 'rejected', 'overridden', 'unmapped')),
	-- Free-form candidate objects, kept verbatim as the SDK sent them.
	candidates             jsonb            not null default '[]' check (jsonb_typeof(candidates) = 'array'),
	-- A reviewer's target replacing the suggestion (status overridden).
	override_target_table  text             null,
	override_target_column text             null,
	-- Grows with every change, push or decision, for optimistic concurrency.
	revision               integer          not null default 1,
	-- Who set the current approved / rejected / overridden status: a user id,
	-- an API key id, or 'operator' (as review_events.actor).
	decided_by             text             null,
	decided_at             timestamptz      null,
	created_at             timestamptz      not null default now(),
	updated_at             timestamptz      not null default now(),
	unique (project_id, source_table, source_column)
);

create table cross_mapping_runs (
	id              bigint      generated always as identity primary key,
	project_id      uuid        not null references projects (id) on delete cascade,
	source_standard text        not null,
	target_standard text        not null,
	source_entity   text        not null,
	target_entity   text        null,
	record_count    bigint      not null default 0,
	status          text        not null default 'completed',
	crossmap_file   text        null,
	-- The run's own created_at as the SDK wrote it (an ISO string, kept as
	-- text so it round-trips unchanged); null when the SDK sent none.
	run_created_at  text        null,
	revision        integer     not null default 1,
	created_at      timestamptz not null default now(),
	updated_at      timestamptz not null default now()
);
-- A run is identified by what it mapped and when it ran, so pushing the same
-- runs again updates them instead of adding copies.
create unique index cross_mapping_runs_identity_idx on cross_mapping_runs
	(project_id, source_standard, target_standard, source_entity, (coalesce(run_created_at, '')));
