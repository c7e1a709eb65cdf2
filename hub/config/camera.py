"""A kitchen camera and where its video comes from (a fixed RTSP URL, or ONVIF discovery)."""

from __future__ import annotations

from pydantic import Field, SecretStr, model_validator
from pydantic_core import PydanticCustomError

from ._base import Host, Name, Port, RtspUrl, Section, Slug
from .detection import CameraDetection
from .rooms import RoomKind

__all__ = ["Camera", "OnvifEndpoint", "RoomKind"]


class OnvifEndpoint(Section):
    """An ONVIF device service; the hub asks it for the stream and snapshot URIs."""

    host: Host = Field(description="Camera host name or IP address (no scheme, no path).")
    port: Port = Field(default=80, description="ONVIF HTTP port.")
    username: str = Field(default="admin", max_length=100, description="ONVIF user name.")
    password: SecretStr = Field(
        default=SecretStr(""),
        description="ONVIF password; usually an environment reference such as ${BKHUB_CAM_PW}.",
    )


class Camera(Section):
    """One camera. Exactly one source: ``rtsp_url`` or ``onvif``."""

    id: Slug = Field(description="Unique across the whole district, e.g. 'dcxx-rc-01'.")
    name: Name = Field(description="Display name, e.g. '烹饪区 1'.")
    kitchen: Slug = Field(
        description="Id of a kitchen of this school; may be omitted if the school has exactly one."
    )
    room: RoomKind = Field(default=RoomKind.HOT_KITCHEN, description="The room this camera sees.")
    enabled: bool = Field(default=True, description="Disabled cameras are kept but not pulled.")
    rtsp_url: RtspUrl | None = Field(
        default=None, description="Main stream, rtsp:// or rtsps://, without credentials."
    )
    sub_rtsp_url: RtspUrl | None = Field(
        default=None, description="Optional low-resolution sub-stream (used for detection)."
    )
    rtsp_username: str | None = Field(
        default=None, max_length=100, description="RTSP user for rtsp_url cameras."
    )
    rtsp_password: SecretStr | None = Field(
        default=None, description="RTSP password for rtsp_url cameras (an env reference)."
    )
    onvif: OnvifEndpoint | None = Field(
        default=None, description="ONVIF endpoint; the hub discovers the stream URIs from it."
    )
    detection: CameraDetection = Field(
        default_factory=CameraDetection,
        description="Which violation rules apply to this camera, its zones and hours.",
    )

    @model_validator(mode="after")
    def _one_source(self) -> Camera:
        if (self.rtsp_url is None) == (self.onvif is None):
            which = "both are set" if self.onvif is not None else "neither is set"
            raise PydanticCustomError(
                "camera_source", f"set exactly one of rtsp_url or onvif ({which})"
            )
        if self.onvif is not None:
            # ONVIF reports the streams and shares the device credentials.
            extras = [
                key
                for key in ("sub_rtsp_url", "rtsp_username", "rtsp_password")
                if getattr(self, key) is not None
            ]
            if extras:
                raise PydanticCustomError(
                    "camera_source",
                    f"{', '.join(extras)} only apply to rtsp_url cameras, not onvif ones",
                )
        return self
