-- The web apps (portiere web): sessions and invitations.
--
-- Sessions: one row per signed-in browser.
-- The cookie holds a random 256-bit token; only its SHA-256 is stored, so a
-- read of this table cannot be replayed as a cookie. A row is the whole
-- session: deleting it signs the browser out at once (log out, "sign out
-- everywhere", a removed user), which a self-contained signed cookie could
-- not do without a table like this one anyway.
create table web_sessions (
	token_hash      text        primary key check (token_hash ~ '^[0-9a-f]{64}$'),
	user_id         uuid        not null references users (id) on delete cascade,
	-- The organization the browser is working in (the organization
	-- switcher); null when the user has none left.
	organization_id uuid        null references organizations (id) on delete set null,
	-- The synchronizer CSRF token every form of this session carries.
	csrf_token      text        not null,
	created_at      timestamptz not null default now(),
	last_seen_at    timestamptz not null default now(),
	expires_at      timestamptz not null,
	user_agent      text        not null default ''
);
create index web_sessions_user_idx on web_sessions (user_id);
create index web_sessions_expires_idx on web_sessions (expires_at);

-- Invitations to join an organization with a role (the dashboard's invite
-- links). The link carries a random token; only its SHA-256 is stored. An
-- invitation is used once (accepted_at) and expires.
create table invitations (
	id              uuid        primary key default gen_random_uuid(),
	organization_id uuid        not null references organizations (id) on delete cascade,
	email           text        not null,
	role            text        not null check (role in ('owner', 'admin', 'member', 'viewer')),
	token_hash      text        not null unique check (token_hash ~ '^[0-9a-f]{64}$'),
	invited_by      uuid        null references users (id) on delete set null,
	created_at      timestamptz not null default now(),
	expires_at      timestamptz not null,
	accepted_at     timestamptz null,
	accepted_by     uuid        null references users (id) on delete set null
);
create index invitations_organization_idx on invitations (organization_id);
