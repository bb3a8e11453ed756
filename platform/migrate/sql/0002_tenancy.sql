-- Tenancy: organizations own users, API keys and mapping projects.

create table organizations (
	id         uuid        primary key default gen_random_uuid(),
	name       text        not null,
	slug       text        not null unique check (slug ~ '^[a-z0-9][a-z0-9-]{1,62}$'),
	plan       text        not null default 'free',
	created_at timestamptz not null default now(),
	updated_at timestamptz not null default now()
);

create table users (
	id              uuid        primary key default gen_random_uuid(),
	organization_id uuid        not null references organizations (id) on delete cascade,
	email           text        not null,
	name            text        not null default '',
	role            text        not null default 'member' check (role in ('owner', 'admin', 'member', 'viewer')),
	password_hash   text        null,
	created_at      timestamptz not null default now(),
	updated_at      timestamptz not null default now()
);
-- Emails are unique regardless of case.
create unique index users_email_idx on users (lower(email));
create index users_organization_idx on users (organization_id);

create table api_keys (
	id              uuid        primary key default gen_random_uuid(),
	organization_id uuid        not null references organizations (id) on delete cascade,
	user_id         uuid        null references users (id) on delete set null,
	name            text        not null,
	-- The first characters of the key, shown in listings so a user can tell
	-- keys apart; the key itself is stored only as a salted hash.
	prefix          text        not null,
	key_hash        text        not null unique,
	scopes          text[]      not null default '{}',
	created_at      timestamptz not null default now(),
	last_used_at    timestamptz null,
	expires_at      timestamptz null,
	revoked_at      timestamptz null
);
create index api_keys_organization_idx on api_keys (organization_id);

create table projects (
	id                  uuid        primary key default gen_random_uuid(),
	organization_id     uuid        not null references organizations (id) on delete cascade,
	name                text        not null,
	description         text        not null default '',
	target_vocabularies text[]      not null default '{}',
	status              text        not null default 'active' check (status in ('active', 'archived')),
	created_by          uuid        null references users (id) on delete set null,
	created_at          timestamptz not null default now(),
	updated_at          timestamptz not null default now(),
	unique (organization_id, name)
);
