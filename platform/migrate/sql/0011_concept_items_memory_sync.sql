-- Concept mapping items read by the results API, reused as an
-- organization's memory of reviewed decisions, and synced with the
-- Portiere SDK.

-- The normalised form of a source code or description that the memory of
-- reviewed decisions is keyed by: trimmed, runs of white space as one
-- space, lower case. The lookup and the index below both call it, so they
-- agree by construction.
create function mapping_memory_key(t text) returns text
	language sql immutable parallel safe strict
	return lower(regexp_replace(btrim(t), '\s+', ' ', 'g'));

-- The memory: an organization's approved and overridden items by
-- normalised code and description (the organization is reached through
-- the item's project). Rejected or pending items are not in it, so a
-- decision later rejected leaves the memory at once.
create index concept_mapping_items_memory_idx on concept_mapping_items
	(mapping_memory_key(source_code), mapping_memory_key(source_description))
	where review_status in ('approved', 'overridden') and concept_id is not null;

-- The results API pages through a project's items by id (keyset).
create index concept_mapping_items_project_id_idx on concept_mapping_items (project_id, id);

-- The SDK's review_decision may be null ("no decision recorded"; its
-- policy then trusts the method). Such an item is pending for review and
-- every query, and reads back as null while it stays pending.
alter table concept_mapping_items
	add column review_unset boolean not null default false;

-- SDK pushes find their item by (project, source column, source code).
create index concept_mapping_items_sync_idx on concept_mapping_items (project_id, source_column, source_code);
