-- Bulk mapping: the source codes of a project and the mapping proposed for
-- each, written idempotently by the bulk mapping workflow.

create table source_codes (
	id                 bigint      generated always as identity primary key,
	project_id         uuid        not null references projects (id) on delete cascade,
	source             text        not null,
	source_code        text        not null,
	source_description text        not null default '',
	-- Optional per-code search filters; empty means the run's defaults.
	vocabulary_ids     text[]      not null default '{}',
	domain_ids         text[]      not null default '{}',
	created_at         timestamptz not null default now(),
	updated_at         timestamptz not null default now(),
	unique (project_id, source, source_code)
);
-- The workflow reads a project's codes in id order, a page at a time.
create index source_codes_project_id_idx on source_codes (project_id, id);

create table concept_mapping_items (
	id                 bigint           generated always as identity primary key,
	project_id         uuid             not null references projects (id) on delete cascade,
	source             text             not null,
	source_code        text             not null,
	source_description text             not null default '',
	-- The rank-1 candidate; null when the search found nothing or failed.
	concept_id         integer          null,
	-- The top-k candidates: [{concept_id, concept_name, vocabulary_id, score}, ...].
	candidates         jsonb            not null default '[]',
	confidence         double precision not null default 0,
	status             text             not null check (status in ('auto', 'review', 'manual')),
	-- Why the term could not be searched; null when it was.
	error              text             null,
	-- {engine_version, index_version, workflow_id}
	provenance         jsonb            not null default '{}',
	created_at         timestamptz      not null default now(),
	updated_at         timestamptz      not null default now(),
	unique (project_id, source, source_code)
);
create index concept_mapping_items_status_idx on concept_mapping_items (project_id, status);
