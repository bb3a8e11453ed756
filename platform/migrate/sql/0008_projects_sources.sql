-- Projects in the Portiere SDK's shape (target model, task, source
-- standard) and the sources a project's codes come from: a CSV upload
-- (its distinct codes with their summed counts and context columns) or a
-- registration of a file the SDK keeps client-side (path and format only).
-- Everything a project owns goes with it (on delete cascade).

alter table projects
	add column target_model    text not null default 'omop_cdm_v5.4'
		check (target_model in ('omop_cdm_v5.4', 'omop_cdm_v5.3', 'fhir_r4')),
	add column task            text not null default 'standardize',
	add column source_standard text not null default '';

create table sources (
	id             uuid        primary key default gen_random_uuid(),
	project_id     uuid        not null references projects (id) on delete cascade,
	name           text        not null check (name <> ''),
	-- csv, parquet or json; only csv is uploaded, the others are registered.
	format         text        not null default 'csv',
	-- upload: the codes are stored in source_codes; registration: the SDK
	-- keeps the file at path and pushes its mappings through sync.
	kind           text        not null check (kind in ('upload', 'registration')),
	path           text        not null default '',
	-- The header as written and the header name used for each role
	-- ({"code": ..., "description": ..., "count": ..., "specimen": ...}).
	header         text[]      not null default '{}',
	columns        jsonb       not null default '{}',
	delimiter      text        not null default '',
	rows           bigint      not null default 0,
	distinct_codes bigint      not null default 0,
	total_count    bigint      not null default 0,
	created_by     uuid        null references users (id) on delete set null,
	created_at     timestamptz not null default now(),
	-- source_codes and mapping items name their source by name.
	unique (project_id, name)
);

alter table source_codes
	add column source_id    uuid   null references sources (id) on delete cascade,
	-- Occurrences of the code in the source (the summed count column, or
	-- its rows); 0 when unknown.
	add column source_count bigint not null default 0,
	-- The code's source column (the header of its code column) and the
	-- context columns the engine reads beside the description.
	add column source_column text  not null default '',
	add column specimen     text   not null default '',
	add column unit         text   not null default '',
	add column domain_hint  text   not null default '',
	add column category     text   not null default '';
-- A per-source bulk mapping reads one source's codes in id order.
create index source_codes_source_id_idx on source_codes (source_id, id);
