"""Every detector the platform runs, configured from settings.

Parameters come from `[detectors."<detector id>"]` in the config (unknown keys
are ignored); `enabled = false` there switches a detector off.
"""

from __future__ import annotations

from typing import Any

from detectors.agreement import AGREEMENT_DETECTORS
from detectors.base import Detector
from detectors.malicious import MALICIOUS_DETECTORS
from odwatch.errors import UserError
from odwatch.settings import Settings


def detector_classes() -> list[type[Detector]]:
    return [*MALICIOUS_DETECTORS, *AGREEMENT_DETECTORS]


def _config_for(settings: Settings, detector_id: str) -> dict[str, Any]:
    return dict(settings.detectors.get(detector_id, {}))


def all_detectors(settings: Settings) -> list[Detector]:
    """The enabled detectors, each with its configured parameters."""
    detectors = []
    for cls in detector_classes():
        params = _config_for(settings, cls.id)
        if params.pop("enabled", True) is False:
            continue
        detectors.append(cls.from_config(params))
    return detectors


def get_detector(settings: Settings, detector_id: str) -> Detector:
    for cls in detector_classes():
        if cls.id == detector_id:
            return cls.from_config(_config_for(settings, detector_id))
    known = ", ".join(cls.id for cls in detector_classes())
    raise UserError(f"There is no detector '{detector_id}'. Known detectors: {known}.")


def describe(settings: Settings) -> list[dict[str, Any]]:
    """One row per detector: id, category, family, article, look-back, parameters, enabled."""
    enabled = {d.id for d in all_detectors(settings)}
    return [
        {"id": cls.id, "category": cls.category, "family": cls.family, "article": cls.article,
         "lookback_hours": cls.lookback.total_seconds() / 3600, "enabled": cls.id in enabled,
         "params": cls.from_config({k: v for k, v in _config_for(settings, cls.id).items()
                                    if k != "enabled"}).get_params()}
        for cls in detector_classes()
    ]
