-- Sign-in attempts, kept so the failed-sign-in limit survives a reload or a restart.

CREATE TABLE IF NOT EXISTS sign_in_attempts (
    username  String,
    at        DateTime64(3, 'Asia/Shanghai'),
    ok        UInt8,
    method    LowCardinality(String)          -- local | oidc
) ENGINE = MergeTree
ORDER BY (username, at);
