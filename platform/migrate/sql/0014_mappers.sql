-- Portiere Mapper (issue #11): the crowd's reviewers, identified by their
-- LINE user id; their KYC documents (encrypted by the application, never
-- stored in clear); the admin audit trail; and the mapper app's sessions.
create table mappers (
	id                text        primary key check (id ~ '^mpr_[0-9a-f]{24}$'),
	line_user_id      text        not null unique,
	display_name      text        not null,
	legal_name        text        not null default '',
	email             text        not null default '',
	title             text        not null default '',
	affiliation       text        not null default '',
	vocabularies      text[]      not null default '{}',
	domains           text[]      not null default '{}',
	years_experience  integer     not null default 0 check (years_experience between 0 and 70),
	status            text        not null default 'registering'
		check (status in ('registering', 'pending', 'approved', 'rejected', 'info_requested', 'suspended')),
	-- The admin's reason for rejected, info_requested and suspended.
	status_reason     text        not null default '',
	-- The Stripe Connect Express account; bank details live at Stripe only.
	stripe_account_id text        not null default '',
	-- The admin's tier override ('' follows reputation) and reward rate
	-- in percent of the standard.
	tier              text        not null default '',
	rate_percent      integer     not null default 100 check (rate_percent between 0 and 300),
	submitted_at      timestamptz null,
	decided_at        timestamptz null,
	created_at        timestamptz not null default now(),
	updated_at        timestamptz not null default now()
);
create index mappers_status_idx on mappers (status, submitted_at);

-- KYC documents: AES-256-GCM ciphertext (nonce first) under the key named
-- key_id, bound to (id, mapper_id, kind); the content type was sniffed
-- from the plaintext before sealing.
create table mapper_documents (
	id           text        primary key check (id ~ '^doc_[0-9a-f]{24}$'),
	mapper_id    text        not null references mappers (id) on delete cascade,
	kind         text        not null check (kind in ('government_id', 'professional_credential')),
	content_type text        not null,
	size_bytes   bigint      not null check (size_bytes > 0),
	key_id       text        not null,
	sealed       bytea       not null,
	uploaded_at  timestamptz not null default now()
);
create index mapper_documents_mapper_idx on mapper_documents (mapper_id, uploaded_at);
create index mapper_documents_key_idx on mapper_documents (key_id);

-- Every admin act on a mapper: decisions, terms, and each view of a KYC
-- document. Append only: nothing updates or deletes a row.
create table mapper_audit (
	id            bigint      generated always as identity primary key,
	at            timestamptz not null default now(),
	actor_line_id text        not null,
	action        text        not null,
	mapper_id     text        not null references mappers (id) on delete cascade,
	document_id   text        not null default '',
	detail        text        not null default ''
);
create index mapper_audit_mapper_idx on mapper_audit (mapper_id, at desc);

-- The mapper app's sessions: the shape of web_sessions, for a mapper
-- instead of a dashboard user (only the token's SHA-256 is stored).
create table mapper_sessions (
	token_hash   text        primary key check (token_hash ~ '^[0-9a-f]{64}$'),
	mapper_id    text        not null references mappers (id) on delete cascade,
	csrf_token   text        not null,
	created_at   timestamptz not null default now(),
	last_seen_at timestamptz not null default now(),
	expires_at   timestamptz not null,
	user_agent   text        not null default ''
);
create index mapper_sessions_mapper_idx on mapper_sessions (mapper_id);
create index mapper_sessions_expires_idx on mapper_sessions (expires_at);
