-- The tables Easel's create_all made at commit d57311d (before durable jobs), as sqlite DDL.
-- Written once from that commit's tables.py; never regenerate it.
CREATE TABLE jobs (
	id INTEGER NOT NULL,
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
	model VARCHAR NOT NULL,
	status VARCHAR NOT NULL,
	error VARCHAR,
	provider_request_id VARCHAR,
	input_text_tokens INTEGER NOT NULL,
	input_image_tokens INTEGER NOT NULL,
	output_tokens INTEGER NOT NULL,
	created_at DATETIME NOT NULL,
	finished_at DATETIME,
	PRIMARY KEY (id)
);

CREATE INDEX ix_jobs_team_id ON jobs (team_id);

CREATE INDEX ix_jobs_user_id ON jobs (user_id);

CREATE INDEX ix_jobs_status ON jobs (status);

CREATE TABLE received_events (
	event_id VARCHAR NOT NULL,
	received_at DATETIME NOT NULL,
	PRIMARY KEY (event_id)
);

CREATE TABLE ledger (
	id INTEGER NOT NULL,
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
	created_at DATETIME NOT NULL,
	settled_at DATETIME,
	PRIMARY KEY (id)
);

CREATE INDEX ix_ledger_status ON ledger (status);

CREATE INDEX ix_ledger_job_id ON ledger (job_id);

CREATE INDEX ix_ledger_team_id ON ledger (team_id);

CREATE INDEX ix_ledger_user_id ON ledger (user_id);

CREATE INDEX ix_ledger_created_at ON ledger (created_at);

CREATE TABLE limit_overrides (
	team_id VARCHAR NOT NULL,
	user_id VARCHAR NOT NULL,
	images_per_day INTEGER,
	usd_micros_per_month INTEGER,
	exempt BOOLEAN NOT NULL,
	updated_by VARCHAR NOT NULL,
	updated_at DATETIME NOT NULL,
	PRIMARY KEY (team_id, user_id)
);

CREATE TABLE strikes (
	id INTEGER NOT NULL,
	team_id VARCHAR NOT NULL,
	user_id VARCHAR NOT NULL,
	job_id INTEGER,
	created_at DATETIME NOT NULL,
	PRIMARY KEY (id)
);

CREATE INDEX ix_strikes_team_id ON strikes (team_id);

CREATE INDEX ix_strikes_created_at ON strikes (created_at);

CREATE INDEX ix_strikes_user_id ON strikes (user_id);

CREATE TABLE bot_settings (
	team_id VARCHAR NOT NULL,
	"key" VARCHAR NOT NULL,
	value VARCHAR NOT NULL,
	updated_by VARCHAR NOT NULL,
	updated_at DATETIME NOT NULL,
	PRIMARY KEY (team_id, "key")
);

CREATE TABLE images (
	id INTEGER NOT NULL,
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
	created_at DATETIME NOT NULL,
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
