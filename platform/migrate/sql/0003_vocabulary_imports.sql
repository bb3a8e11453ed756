-- One row per vocabulary import (portiere vocab import, or the demo
-- vocabulary portiere dev loads on first start). An import inserts its row
-- as 'running' and settles it in the same transaction that swaps the new
-- tables in, or marks it 'failed' with the error; the live tables change
-- only with a 'succeeded' row.

create table vocabulary_imports (
	id          bigint      generated always as identity primary key,
	started_at  timestamptz not null default now(),
	finished_at timestamptz null,
	status      text        not null default 'running' check (status in ('running', 'succeeded', 'failed')),
	-- The folder imported, or a label such as "embedded demo vocabulary".
	source      text        not null,
	-- SHA-256 over the release files; caches derived from the vocabulary
	-- (search indexes) are keyed by it.
	fingerprint text        not null,
	-- Rows loaded per table: {"concept": 125424, ...}.
	row_counts  jsonb       not null default '{}',
	-- The diff against the previous vocabulary (vocab.Diff).
	report      jsonb       null,
	error       text        null
);
create index vocabulary_imports_status_idx on vocabulary_imports (status, finished_at desc);
