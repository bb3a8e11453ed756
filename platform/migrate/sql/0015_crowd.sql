-- Portiere Mapper's crowd (issue #11): tasks made from a project's mapping
-- items (or calibration tasks with a known answer), one vote per mapper
-- per task, when each mapper first opened a task, the append-only ledger
-- in integer cents with its running balances (never negative), payouts,
-- and the leaderboard opt-in. Mapping items gain the method 'crowd'.
alter table concept_mapping_items drop constraint concept_mapping_items_method_check;
alter table concept_mapping_items
	add constraint concept_mapping_items_method_check
		check (method in ('auto', 'review', 'manual', 'override', 'unmapped', 'crowd'));

create table crowd_tasks (
	id                    bigint           generated always as identity primary key,
	-- null for calibration tasks; a project's tasks go with it.
	organization_id       uuid             null references organizations (id) on delete cascade,
	project_id            uuid             null references projects (id) on delete cascade,
	item_id               bigint           null references concept_mapping_items (id) on delete cascade,
	source                text             not null default '',
	source_code           text             not null,
	source_description    text             not null default '',
	source_column         text             not null default '',
	context               jsonb            not null default '{}',
	candidates            jsonb            not null default '[]',
	confidence            double precision not null default 0,
	-- The candidates' vocabularies and domains, lower case: the feed
	-- matches them against a mapper's declared expertise.
	vocabularies          text[]           not null default '{}',
	domains               text[]           not null default '{}',
	calibration           boolean          not null default false,
	known_concept_id      integer          null,
	state                 text             not null default 'open' check (state in ('open', 'escalated', 'resolved')),
	resolution_concept_id integer          null,
	agreement             double precision not null default 0,
	votes                 integer          not null default 0,
	submitted_by          text             not null default '',
	created_at            timestamptz      not null default now(),
	resolved_at           timestamptz      null,
	-- When the resolution reached the item, and why it was left alone if
	-- it was (a reviewer decided first).
	written_back_at       timestamptz      null,
	written_back_note     text             not null default '',
	check (calibration = (project_id is null)),
	check (calibration = (known_concept_id is not null)),
	check ((state = 'resolved') = (resolved_at is not null)),
	check ((state = 'resolved') = (resolution_concept_id is not null))
);
-- An item is sent to the crowd once.
create unique index crowd_tasks_item_idx on crowd_tasks (item_id) where item_id is not null;
create index crowd_tasks_feed_idx on crowd_tasks (state, calibration, id);
create index crowd_tasks_project_idx on crowd_tasks (project_id, item_id);
create index crowd_tasks_writeback_idx on crowd_tasks (resolved_at) where state = 'resolved' and written_back_at is null and project_id is not null;

create table crowd_votes (
	id            bigint           generated always as identity primary key,
	task_id       bigint           not null references crowd_tasks (id) on delete cascade,
	mapper_id     text             not null references mappers (id) on delete cascade,
	action        text             not null check (action in ('approve', 'reject', 'override')),
	concept_id    integer          not null default 0 check (concept_id >= 0),
	concept_name  text             not null default '',
	vocabulary_id text             not null default '',
	domain_id     text             not null default '',
	weight        double precision not null check (weight >= 0),
	expert        boolean          not null default false,
	elapsed_ms    bigint           not null default 0 check (elapsed_ms >= 0),
	-- Graded at resolution (against the consensus) or at once (against a
	-- calibration task's known answer); null until then.
	correct       boolean          null,
	created_at    timestamptz      not null default now(),
	-- One vote per mapper per task.
	unique (task_id, mapper_id)
);
create index crowd_votes_mapper_idx on crowd_votes (mapper_id, id desc);

create table crowd_task_views (
	mapper_id text        not null references mappers (id) on delete cascade,
	task_id   bigint      not null references crowd_tasks (id) on delete cascade,
	opened_at timestamptz not null,
	primary key (mapper_id, task_id)
);

create table crowd_payouts (
	id                text        primary key check (id ~ '^po_[0-9a-f]{24}$'),
	batch_id          text        not null,
	mapper_id         text        not null references mappers (id) on delete restrict,
	currency          text        not null check (currency ~ '^[a-z]{3}$'),
	cents             bigint      not null check (cents > 0),
	stripe_account_id text        not null,
	-- Derived from the ledger entries the payout pays; sent with every
	-- transfer request for it.
	idempotency_key   text        not null unique,
	status            text        not null default 'pending' check (status in ('pending', 'processing', 'paid', 'failed')),
	transfer_id       text        not null default '',
	failure           text        not null default '',
	attempts          integer     not null default 0,
	created_at        timestamptz not null default now(),
	updated_at        timestamptz not null default now()
);
-- At most one unfinished payout per mapper and currency.
create unique index crowd_payouts_open_idx on crowd_payouts (mapper_id, currency) where status in ('pending', 'processing');
create index crowd_payouts_batch_idx on crowd_payouts (batch_id, created_at desc);
create index crowd_payouts_mapper_idx on crowd_payouts (mapper_id, created_at desc);

-- The ledger: append-only (a trigger refuses updates and deletes), cents
-- positive for credits and negative for debits. task_id is kept without a
-- foreign key: earnings outlive a deleted project's tasks.
create table crowd_ledger (
	id         bigint      generated always as identity primary key,
	mapper_id  text        not null references mappers (id) on delete restrict,
	currency   text        not null check (currency ~ '^[a-z]{3}$'),
	kind       text        not null check (kind in ('vote_reward', 'consensus_bonus', 'payout', 'payout_reversal')),
	cents      bigint      not null,
	task_id    bigint      null,
	payout_id  text        null references crowd_payouts (id),
	created_at timestamptz not null default now(),
	check ((kind = 'payout') = (cents < 0)),
	check (cents <> 0),
	check ((kind in ('payout', 'payout_reversal')) = (payout_id is not null)),
	check ((kind in ('vote_reward', 'consensus_bonus')) = (task_id is not null))
);
-- One reward and one bonus per vote; one debit and one reversal per payout.
create unique index crowd_ledger_task_idx on crowd_ledger (task_id, mapper_id, kind) where task_id is not null;
create unique index crowd_ledger_payout_idx on crowd_ledger (payout_id, kind) where payout_id is not null;
create index crowd_ledger_mapper_idx on crowd_ledger (mapper_id, id desc);

create function crowd_ledger_append_only() returns trigger language plpgsql as $$
begin
	raise exception 'crowd_ledger is append-only: % refused', tg_op;
end $$;
create trigger crowd_ledger_append_only before update or delete on crowd_ledger
	for each row execute function crowd_ledger_append_only();

-- The running balance of each mapper and currency: the sum of its ledger
-- entries, updated in the transaction that appends them.
create table crowd_balances (
	mapper_id text   not null references mappers (id) on delete restrict,
	currency  text   not null,
	cents     bigint not null check (cents >= 0),
	primary key (mapper_id, currency)
);

create table crowd_settings (
	mapper_id     text    primary key references mappers (id) on delete cascade,
	show_earnings boolean not null default false
);
