-- Review of concept mapping items under a project's second-reviewer rule
-- (projects.second_reviewer: none | overrides | all).
--
-- A first acceptance the rule covers leaves the item pending, with the first
-- reviewer's vote in first_decision ({reviewer, action, concept_id,
-- concept_name, vocabulary_id, domain_id, comment, at}); a second, different
-- reviewer who agrees makes the item final (first_decision is cleared, the
-- audit trail keeps both votes). A second reviewer who disagrees flags the
-- item: flagged is true and second_decision holds the dissenting vote until a
-- project admin's decision resolves it.

alter table concept_mapping_items
	add column first_decision  jsonb   null,
	add column second_decision jsonb   null,
	add column flagged         boolean not null default false;

-- The review queues (awaiting a second reviewer, flagged) are read per
-- project; most items are in neither.
create index concept_mapping_items_second_review_idx on concept_mapping_items (project_id, id)
	where first_decision is not null or flagged;

-- The agreement report and the history read a project's decisions by kind.
create index review_events_project_action_idx on review_events (project_id, item_kind, action, id);
