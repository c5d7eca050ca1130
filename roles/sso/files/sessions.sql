-- LemonLDAP::NG session tables (Apache::Session::Browseable::PgJSON):
-- "sessions" holds SSO sessions, "psessions" what is kept between them
-- (registered second factors, login history). Indexed on the fields the
-- portal and the manager search on (expression indexes: PgJSON keeps no columns).
CREATE TABLE IF NOT EXISTS sessions (
    id varchar(64) NOT NULL PRIMARY KEY,
    a_session jsonb
);
CREATE INDEX IF NOT EXISTS i_s__whatToTrace ON sessions ((a_session ->> '_whatToTrace'));
CREATE INDEX IF NOT EXISTS i_s__session_kind ON sessions ((a_session ->> '_session_kind'));
CREATE INDEX IF NOT EXISTS i_s__utime ON sessions ((cast(a_session ->> '_utime' AS bigint)));
CREATE INDEX IF NOT EXISTS i_s_ipAddr ON sessions ((a_session ->> 'ipAddr'));
CREATE INDEX IF NOT EXISTS i_s__httpSessionType ON sessions ((a_session ->> '_httpSessionType'));
CREATE INDEX IF NOT EXISTS i_s_user ON sessions ((a_session ->> 'user'));

CREATE TABLE IF NOT EXISTS psessions (
    id varchar(64) NOT NULL PRIMARY KEY,
    a_session jsonb
);
CREATE INDEX IF NOT EXISTS i_p__session_kind ON psessions ((a_session ->> '_session_kind'));
CREATE INDEX IF NOT EXISTS i_p__httpSessionType ON psessions ((a_session ->> '_httpSessionType'));
CREATE INDEX IF NOT EXISTS i_p__session_uid ON psessions ((a_session ->> '_session_uid'));
CREATE INDEX IF NOT EXISTS i_p_ipAddr ON psessions ((a_session ->> 'ipAddr'));
CREATE INDEX IF NOT EXISTS i_p__whatToTrace ON psessions ((a_session ->> '_whatToTrace'));
