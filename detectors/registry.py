"""Every detector the platform runs, configured from settings.

Parameters come from `[detectors."<detector id>"]` in the config; `enabled =
false` there switches a detector off. A key the detector does not have, or a
table for a detector that does not exist, is an error that names it: a typo
must not silently leave a detector at its defaults.
"""

from __future__ import annotations

from typing import Any

from detectors.agreement import agreement_detectors
from detectors.base import Detector
from detectors.malicious import MALICIOUS_DETECTORS
from odwatch.errors import UserError
from odwatch.settings import Settings


def default_detectors() -> list[Detector]:
    """Every detector with its default parameters, in catalog order."""
    return [*(cls() for cls in MALICIOUS_DETECTORS), *agreement_detectors()]


def detector_ids() -> list[str]:
    return [d.id for d in default_detectors()]


def _configured(settings: Settings) -> list[tuple[Detector, bool]]:
    """Each detector with its configured parameters, and whether it is enabled."""
    defaults = default_detectors()
    known = [d.id for d in defaults]
    for detector_id in settings.detectors:
        if detector_id not in known:
            raise UserError(f"The config has a table [detectors.\"{detector_id}\"] but there is no detector "
                            f"'{detector_id}'. Known detectors: {', '.join(known)}.")
    configured = []
    for default in defaults:
        params: dict[str, Any] = dict(settings.detectors.get(default.id, {}))
        enabled = params.pop("enabled", True) is not False
        try:
            configured.append((default.with_params(**params), enabled))
        except UserError as exc:
            raise UserError(f"In the config table [detectors.\"{default.id}\"]: {exc} "
                            "Besides these, `enabled = false` switches it off.") from None
    return configured


def all_detectors(settings: Settings) -> list[Detector]:
    """The enabled detectors, each with its configured parameters."""
    return [detector for detector, enabled in _configured(settings) if enabled]


def get_detector(settings: Settings, detector_id: str) -> Detector:
    for detector, _ in _configured(settings):
        if detector.id == detector_id:
            return detector
    raise UserError(f"There is no detector '{detector_id}'. Known detectors: {', '.join(detector_ids())}.")


def describe(settings: Settings) -> list[dict[str, Any]]:
    """One row per detector: id, category, family, article, look-back, parameters, enabled."""
    return [
        {"id": d.id, "category": d.category, "family": d.family, "article": d.article,
         "lookback_hours": d.lookback.total_seconds() / 3600, "enabled": enabled, "params": d.get_params()}
        for d, enabled in _configured(settings)
    ]
