-- Tenancy for the product surface: a user may belong to several
-- organizations (memberships carry the role), API keys may be limited to one
-- project, and projects carry their mapping settings.

create table memberships (
	organization_id uuid        not null references organizations (id) on delete cascade,
	user_id         uuid        not null references users (id) on delete cascade,
	role            text        not null check (role in ('owner', 'admin', 'member', 'viewer')),
	created_at      timestamptz not null default now(),
	primary key (organization_id, user_id)
);
create index memberships_user_idx on memberships (user_id);

-- Users existed per organization; their organization becomes a membership.
insert into memberships (organization_id, user_id, role)
select organization_id, id, role from users;
alter table users alter column organization_id drop not null;
-- password_hash stays nullable (invited users have none); '' is normalised to null.

-- key_hash holds the HMAC-SHA256 of the whole key under API_KEY_SALT.
alter table api_keys
	add column project_id uuid null references projects (id) on delete cascade;
create index api_keys_prefix_idx on api_keys (prefix);

alter table projects
	add column domains          text[]           not null default '{}',
	add column auto_threshold   double precision not null default 0 check (auto_threshold between 0 and 1),
	add column review_threshold double precision not null default 0 check (review_threshold between 0 and 1),
	add column second_reviewer  text             not null default 'none' check (second_reviewer in ('none', 'overrides', 'all')),
	add constraint projects_thresholds_ordered check (review_threshold <= auto_threshold);
