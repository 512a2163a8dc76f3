"""The malicious-call-pattern detectors (第三十条), in the order the catalog lists them."""

from __future__ import annotations

from detectors.base import Detector
from detectors.burst import BurstDetector
from detectors.distributed import DistributedScrapingDetector
from detectors.injection import InjectionDetector
from detectors.key_sharing import KeySharingDetector
from detectors.ml_outlier import MlOutlierDetector
from detectors.off_hours import OffHoursBulkDetector
from detectors.probing import ProbingDetector
from detectors.scanning import ScanningDetector
from detectors.scraping import ScrapingDetector
from detectors.sybil import SybilHarvestDetector
from detectors.tampering import TamperingDetector

MALICIOUS_DETECTORS: list[type[Detector]] = [
    ScrapingDetector,
    BurstDetector,
    KeySharingDetector,
    ProbingDetector,
    OffHoursBulkDetector,
    SybilHarvestDetector,
    MlOutlierDetector,
    DistributedScrapingDetector,
    ScanningDetector,
    InjectionDetector,
    TamperingDetector,
]
