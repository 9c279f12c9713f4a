"""The exceptions that reach the user as one clear line (no traceback): each package's root error."""

from __future__ import annotations

from posture.settings import SettingsError
from processing.errors import ProcessingError
from sensorlink.errors import SensorlinkError

# Each package adds its root exception here as it grows (sensorlink.errors.SensorlinkError,
# processing.errors.ProcessingError, ...). Their messages say what to do next.
USER_FACING_ERRORS: tuple[type[Exception], ...] = (SettingsError, ProcessingError, SensorlinkError)
