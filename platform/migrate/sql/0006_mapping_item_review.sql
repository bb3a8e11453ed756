-- Mapping items ready for review: the method values of the SDK's
-- ConceptMappingMethod, the review decision, who took it and when, and a
-- revision that every change increments (optimistic concurrency for
-- reviewers). Candidates stay in the candidates column.

alter table concept_mapping_items drop constraint concept_mapping_items_status_check;
alter table concept_mapping_items rename column status to method;
alter table concept_mapping_items
	add constraint concept_mapping_items_method_check
		check (method in ('auto', 'review', 'manual', 'override', 'unmapped'));
alter index concept_mapping_items_status_idx rename to concept_mapping_items_method_idx;

alter table concept_mapping_items
	add column review_status text        not null default 'pending'
		check (review_status in ('pending', 'approved', 'rejected', 'overridden')),
	add column decided_by    uuid        null references users (id) on delete set null,
	add column decided_at    timestamptz null,
	add column revision      integer     not null default 1 check (revision >= 1),
	-- The SDK's source_column and source_count, when the source data gave them.
	add column source_column text        not null default '',
	add column source_count  bigint      not null default 0;
create index concept_mapping_items_review_idx on concept_mapping_items (project_id, review_status);
