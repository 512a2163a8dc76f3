"""Notifications: alerts, escalations, digests and reports pushed to people (第三十条, 第三十五条 监测预警).

`messages` says it (in the channel's language, persons masked), `channels` sends it (webhook,
企业微信, 钉钉, e-mail), `outbox` decides what to send and keeps every attempt, `periodic` builds
the monthly report and agency digests, `health` checks the settings at start and shows each
channel's state on the system page. docs/notifications.md is the operator's guide.
"""
