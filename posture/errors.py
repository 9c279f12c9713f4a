"""The exceptions that reach the user as one clear line (no traceback): each package's root error."""

from __future__ import annotations

from posture.settings import SettingsError
from processing.errors import ProcessingError
from sensorlink.errors import SensorlinkError

# Each package adds its root exception here as it grows. Their messages say what to do next.
USER_FACING_ERRORS: tuple[type[Exception], ...] = (SettingsError, ProcessingError, SensorlinkError)


def user_facing_errors() -> tuple[type[Exception], ...]:
    """Every root error of the packages, the live chain's included (imported only when an error is shown:
    `posture analyze` does not pay for paho or the session file at start-up)."""
    from dashboards.errors import DashboardsError
    from posture.messages.errors import MessagesError
    from posture.mqtt.errors import MqttError
    from posture.report.errors import ReportError
    from posture.session.errors import SessionError

    return (*USER_FACING_ERRORS, MqttError, MessagesError, SessionError, ReportError, DashboardsError)
