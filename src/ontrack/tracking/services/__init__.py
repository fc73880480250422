"""The tracking app's public service API: the functions other apps call.

Each group of actions has its own module (``ingest``: storing what devices report;
``directory``: the gateway's view of the devices; ``devices``: the device lifecycle;
``commands``: commands sent to devices). Tracking's own code imports from those modules;
other apps import from here.
"""

from ontrack.tracking.services.commands import can_locate, device_locate_request
from ontrack.tracking.services.devices import device_assign, device_register
from ontrack.tracking.services.directory import DeviceInfo, device_directory
from ontrack.tracking.services.ingest import StoreResult, store_batch

__all__ = [
    "DeviceInfo",
    "StoreResult",
    "can_locate",
    "device_assign",
    "device_directory",
    "device_locate_request",
    "device_register",
    "store_batch",
]
