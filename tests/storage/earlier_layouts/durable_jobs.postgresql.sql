-- The tables Easel's create_all made at commit 0fd9102 (durable jobs), as postgresql DDL.
-- Written once from that commit's tables.py; never regenerate it.
CREATE TABLE jobs (
	id SERIAL NOT NULL,
	request_key VARCHAR,
	team_id VARCHAR NOT NULL,
	user_id VARCHAR NOT NULL,
	channel_id VARCHAR NOT NULL,
	thread_ts VARCHAR,
	prompt VARCHAR NOT NULL,
	size VARCHAR NOT NULL,
	quality VARCHAR NOT NULL,
	n INTEGER NOT NULL,
	output_format VARCHAR NOT NULL,
	transparent BOOLEAN NOT NULL,
	size_given BOOLEAN NOT NULL,
	region VARCHAR,
	version INTEGER,
	edit BOOLEAN NOT NULL,
	edit_file_ids VARCHAR,
	model VARCHAR NOT NULL,
	status VARCHAR NOT NULL,
	status_ts VARCHAR,
	reservation_id INTEGER,
	attempts INTEGER NOT NULL,
	lease_owner VARCHAR,
	lease_expires_at TIMESTAMP WITH TIME ZONE,
	not_before TIMESTAMP WITH TIME ZONE,
	slot_at TIMESTAMP WITH TIME ZONE,
	called_at TIMESTAMP WITH TIME ZONE,
	parents VARCHAR,
	error VARCHAR,
	provider_request_id VARCHAR,
	input_text_tokens INTEGER NOT NULL,
	input_image_tokens INTEGER NOT NULL,
	output_tokens INTEGER NOT NULL,
	created_at TIMESTAMP WITH TIME ZONE NOT NULL,
	finished_at TIMESTAMP WITH TIME ZONE,
	PRIMARY KEY (id),
	UNIQUE (request_key)
);

CREATE INDEX ix_jobs_user_id ON jobs (user_id);

CREATE INDEX ix_jobs_lease_expires_at ON jobs (lease_expires_at);

CREATE INDEX ix_jobs_team_id ON jobs (team_id);

CREATE INDEX ix_jobs_slot_at ON jobs (slot_at);

CREATE INDEX ix_jobs_thread ON jobs (channel_id, thread_ts);

CREATE INDEX ix_jobs_status ON jobs (status);

CREATE TABLE received_events (
	event_id VARCHAR NOT NULL,
	received_at TIMESTAMP WITH TIME ZONE NOT NULL,
	PRIMARY KEY (event_id)
);

CREATE TABLE ledger (
	id SERIAL NOT NULL,
	team_id VARCHAR NOT NULL,
	user_id VARCHAR NOT NULL,
	channel_id VARCHAR NOT NULL,
	job_id INTEGER,
	model VARCHAR NOT NULL,
	status VARCHAR NOT NULL,
	images INTEGER NOT NULL,
	estimate_micros INTEGER NOT NULL,
	actual_micros INTEGER,
	input_text_tokens INTEGER NOT NULL,
	input_image_tokens INTEGER NOT NULL,
	output_tokens INTEGER NOT NULL,
	created_at TIMESTAMP WITH TIME ZONE NOT NULL,
	settled_at TIMESTAMP WITH TIME ZONE,
	PRIMARY KEY (id)
);

CREATE INDEX ix_ledger_job_id ON ledger (job_id);

CREATE INDEX ix_ledger_team_id ON ledger (team_id);

CREATE INDEX ix_ledger_user_id ON ledger (user_id);

CREATE INDEX ix_ledger_created_at ON ledger (created_at);

CREATE INDEX ix_ledger_status ON ledger (status);

CREATE TABLE limit_overrides (
	team_id VARCHAR NOT NULL,
	user_id VARCHAR NOT NULL,
	images_per_day INTEGER,
	usd_micros_per_month INTEGER,
	exempt BOOLEAN NOT NULL,
	updated_by VARCHAR NOT NULL,
	updated_at TIMESTAMP WITH TIME ZONE NOT NULL,
	PRIMARY KEY (team_id, user_id)
);

CREATE TABLE strikes (
	id SERIAL NOT NULL,
	team_id VARCHAR NOT NULL,
	user_id VARCHAR NOT NULL,
	job_id INTEGER,
	created_at TIMESTAMP WITH TIME ZONE NOT NULL,
	PRIMARY KEY (id)
);

CREATE INDEX ix_strikes_user_id ON strikes (user_id);

CREATE INDEX ix_strikes_team_id ON strikes (team_id);

CREATE INDEX ix_strikes_created_at ON strikes (created_at);

CREATE TABLE bot_settings (
	team_id VARCHAR NOT NULL,
	key VARCHAR NOT NULL,
	value VARCHAR NOT NULL,
	updated_by VARCHAR NOT NULL,
	updated_at TIMESTAMP WITH TIME ZONE NOT NULL,
	PRIMARY KEY (team_id, key)
);

CREATE TABLE job_outputs (
	id SERIAL NOT NULL,
	job_id INTEGER NOT NULL,
	position INTEGER NOT NULL,
	data BYTEA,
	output_format VARCHAR NOT NULL,
	slack_file_id VARCHAR,
	posted BOOLEAN NOT NULL,
	created_at TIMESTAMP WITH TIME ZONE NOT NULL,
	PRIMARY KEY (id),
	FOREIGN KEY(job_id) REFERENCES jobs (id)
);

CREATE INDEX ix_job_outputs_job_id ON job_outputs (job_id);

CREATE TABLE images (
	id SERIAL NOT NULL,
	channel_id VARCHAR NOT NULL,
	thread_ts VARCHAR NOT NULL,
	number INTEGER NOT NULL,
	origin VARCHAR NOT NULL,
	user_id VARCHAR NOT NULL,
	job_id INTEGER,
	position INTEGER NOT NULL,
	slack_file_id VARCHAR,
	permalink VARCHAR,
	name VARCHAR,
	sha256 VARCHAR,
	byte_size INTEGER,
	mime_type VARCHAR,
	c2pa VARCHAR,
	usable BOOLEAN NOT NULL,
	created_at TIMESTAMP WITH TIME ZONE NOT NULL,
	PRIMARY KEY (id),
	UNIQUE (channel_id, thread_ts, number),
	UNIQUE (channel_id, thread_ts, slack_file_id),
	FOREIGN KEY(job_id) REFERENCES jobs (id)
);

CREATE INDEX ix_images_job_id ON images (job_id);

CREATE INDEX ix_images_slack_file_id ON images (slack_file_id);

CREATE TABLE image_parents (
	image_id INTEGER NOT NULL,
	parent_id INTEGER NOT NULL,
	position INTEGER NOT NULL,
	PRIMARY KEY (image_id, parent_id),
	FOREIGN KEY(image_id) REFERENCES images (id),
	FOREIGN KEY(parent_id) REFERENCES images (id)
);
