-- Sessions of the web apps (portiere web): one row per signed-in browser.
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
