-- Billing: monthly usage per organization and meter, the Stripe customer and
-- subscription of each organization, the Stripe events already handled, and
-- the usage reports sent to Stripe.

-- One row per (organization, month, meter): the running total.
create table billing_usage (
	organization_id uuid        not null references organizations (id) on delete cascade,
	period          date        not null, -- first day of the month, UTC
	meter           text        not null,
	quantity        bigint      not null default 0 check (quantity >= 0),
	-- reported is how much of quantity is already in a usage report (sent
	-- or about to be): the next report carries quantity - reported.
	reported        bigint      not null default 0 check (reported >= 0),
	updated_at      timestamptz not null default now(),
	primary key (organization_id, period, meter)
);

-- One row per counted request: an increment is applied once per request id.
create table billing_usage_events (
	organization_id uuid        not null references organizations (id) on delete cascade,
	period          date        not null,
	meter           text        not null,
	request_id      text        not null,
	quantity        bigint      not null check (quantity > 0),
	created_at      timestamptz not null default now(),
	primary key (organization_id, period, meter, request_id)
);

-- The Stripe customer and subscription of an organization.
create table billing_accounts (
	organization_id       uuid        primary key references organizations (id) on delete cascade,
	stripe_customer_id    text        null unique,
	stripe_subscription_id text       null,
	-- The subscription item of the metered price: set while the
	-- subscription bills mapped items, whose usage is then reported.
	metered_item_id       text        null,
	plan                  text        not null default 'free',
	status                text        not null default 'none',
	current_period_end    timestamptz null,
	cancel_at_period_end  boolean     not null default false,
	-- created time (Stripe's, seconds) of the last subscription event
	-- applied: older events delivered late are ignored.
	last_event_at         bigint      not null default 0,
	updated_at            timestamptz not null default now()
);

-- Every Stripe event id handled, so a redelivered event is applied once.
create table billing_stripe_events (
	id          text        primary key,
	type        text        not null,
	received_at timestamptz not null default now()
);

-- A usage report is created (and billing_usage.reported advanced) in one
-- transaction, then sent to Stripe as a Billing Meter event whose
-- identifier (and idempotency key) is the report id: a report is never
-- computed twice, and a resend after a crash is deduplicated by Stripe.
create table billing_usage_reports (
	id                  uuid        primary key default gen_random_uuid(),
	organization_id     uuid        not null references organizations (id) on delete cascade,
	period              date        not null,
	meter               text        not null,
	quantity            bigint      not null check (quantity > 0),
	stripe_customer_id  text        not null,
	created_at          timestamptz not null default now(),
	sent_at             timestamptz null,
	stripe_event_id     text        null -- the meter event's identifier
);
create index billing_usage_reports_pending_idx on billing_usage_reports (created_at) where sent_at is null;
