-- Alert text in the reader's language (issue #14): an alert keeps a message key of the catalog and
-- its parameters (JSON), rendered at display and export time; `title` stays for the alerts stored
-- before, which show their stored sentence.

ALTER TABLE alerts ADD COLUMN IF NOT EXISTS message_key LowCardinality(String) DEFAULT '' AFTER title;

ALTER TABLE alerts ADD COLUMN IF NOT EXISTS message_params String DEFAULT '{}' AFTER message_key;
