-- The audit trail's entries name how their MAC was computed: the entries written before the
-- audit key existed keep their keyless SHA-256 ('sha256'); new ones are 'hmac-sha256'.
ALTER TABLE audit_log ADD COLUMN IF NOT EXISTS scheme LowCardinality(String) DEFAULT 'sha256';

-- Sign-in throttling by account and by client address: every attempt whose password was checked
-- (ok | failed), refused attempts while they are audited (refused), and an administrator's
-- `odwatch users unthrottle` (cleared). Kept a year: long enough to know a user's usual addresses.
ALTER TABLE sign_in_attempts ADD COLUMN IF NOT EXISTS address String DEFAULT '';
ALTER TABLE sign_in_attempts ADD COLUMN IF NOT EXISTS outcome LowCardinality(String) DEFAULT if(ok = 1, 'ok', 'failed');
ALTER TABLE sign_in_attempts MODIFY TTL toDateTime(at) + INTERVAL 365 DAY;
