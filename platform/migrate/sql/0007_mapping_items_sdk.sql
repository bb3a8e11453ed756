-- Mapping items in the Portiere SDK's ConceptMappingItem shape: the target's
-- name, vocabulary and domain (an override may name a concept that is not
-- among the candidates), the method inference chose before review, and a
-- free-form provenance. review_events is the audit trail of every review
-- action on concept and schema mapping items, written in the same
-- transaction as the decision it records.

alter table concept_mapping_items
	add column target_concept_name  text null,
	add column target_vocabulary_id text null,
	add column target_domain_id     text null,
	add column inference_method     text null
		check (inference_method in ('auto', 'review', 'manual', 'override', 'unmapped'));

-- Items proposed before this migration: the target's name comes from the
-- rank-1 candidate, and inference chose the method they carry.
update concept_mapping_items
set target_concept_name  = candidates -> 0 ->> 'concept_name',
    target_vocabulary_id = candidates -> 0 ->> 'vocabulary_id',
    target_domain_id     = candidates -> 0 ->> 'domain_id'
where concept_id is not null and jsonb_array_length(candidates) > 0;
update concept_mapping_items set inference_method = method where method in ('auto', 'review', 'manual');

create table review_events (
	id         bigint      generated always as identity primary key,
	project_id uuid        not null references projects (id) on delete cascade,
	item_kind  text        not null check (item_kind in ('concept', 'schema')),
	item_id    bigint      not null,
	-- who acted: a user id, an API key id, or 'operator'
	actor      text        not null,
	-- approve, reject, override, unmapped, comment, reopen, sync, ...
	action     text        not null,
	before     jsonb       null,
	after      jsonb       null,
	comment    text        not null default '',
	created_at timestamptz not null default now()
);
create index review_events_item_idx on review_events (project_id, item_kind, item_id, id);
