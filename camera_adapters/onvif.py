"""Ask an ONVIF camera who it is, which streams it offers and what its clock says.

Built on ``onvif-zeep-async`` (asyncio-native; its WSDL files ship inside the package, so
nothing is fetched from the network). Errors, all raised from the third-party error::

    OnvifError              base (a CameraError with reason ONVIF_FAILED)
    ├── OnvifUnreachable    connection refused, reset or timed out (retriable)
    ├── OnvifAuthError      the device rejected the credentials (a person must fix them)
    └── OnvifProtocolError  the device answered, but not with what ONVIF promises

Stream URIs are returned exactly as the device gives them (no credentials inserted).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import time
from dataclasses import dataclass
from typing import Any

import aiohttp
import zeep.exceptions
from onvif import ONVIFCamera
from onvif.exceptions import ONVIFAuthError, ONVIFError, ONVIFTimeoutError

from camera_adapters.errors import CameraError, OfflineReason

__all__ = [
    "OnvifAuthError",
    "OnvifDeviceInfo",
    "OnvifError",
    "OnvifProfile",
    "OnvifProtocolError",
    "OnvifUnreachable",
    "probe_onvif",
]

# Markers of an authentication failure in SOAP faults (ter:NotAuthorized is the ONVIF one).
_AUTH_MARKERS = ("notauthorized", "not authorized", "unauthorized", "authority failure")
_STREAM_SETUP = {"Stream": "RTP-Unicast", "Transport": {"Protocol": "RTSP"}}


class OnvifError(CameraError):
    reason = OfflineReason.ONVIF_FAILED


class OnvifUnreachable(OnvifError):
    reason = OfflineReason.CONNECTION_REFUSED


class OnvifAuthError(OnvifError):
    reason = OfflineReason.AUTH_FAILED
    needs_person = True


class OnvifProtocolError(OnvifError):
    needs_person = True


@dataclass(frozen=True, slots=True)
class OnvifProfile:
    token: str
    name: str
    encoding: str
    width: int
    height: int
    fps: float | None
    stream_uri: str
    snapshot_uri: str | None

    @property
    def pixels(self) -> int:
        return self.width * self.height


@dataclass(frozen=True, slots=True)
class OnvifDeviceInfo:
    manufacturer: str
    model: str
    firmware: str
    serial: str
    profiles: tuple[OnvifProfile, ...]  # never empty
    clock_offset_s: float  # device UTC minus hub UTC

    def main_profile(self) -> OnvifProfile:
        """The largest-resolution profile (the first one among equals)."""
        return max(self.profiles, key=lambda p: p.pixels)

    def sub_profile(self) -> OnvifProfile | None:
        """The smallest-resolution profile, if it is smaller than the main one."""
        smallest = min(self.profiles, key=lambda p: p.pixels)
        return smallest if smallest.pixels < self.main_profile().pixels else None


async def probe_onvif(
    host: str,
    port: int,
    username: str,
    password: str,
    *,
    timeout: float = 10.0,  # noqa: ASYNC109 -- one budget for the whole multi-request probe
) -> OnvifDeviceInfo:
    """Device information, video profiles with their URIs, and the clock offset of a camera."""
    # adjust_time: sign WS-Security timestamps with the device's clock, so a drifted camera
    # still accepts us. no_cache: the shipped WSDLs need no sqlite cache on disk.
    camera = ONVIFCamera(host, port, username, password, no_cache=True, adjust_time=True)
    try:
        async with asyncio.timeout(timeout):
            return await _probe(camera)
    except TimeoutError as exc:
        raise OnvifUnreachable(f"{host}:{port}: timed out ({timeout:g} s budget)") from exc
    except OnvifError:
        raise
    except (ONVIFError, zeep.exceptions.Error, aiohttp.ClientError, OSError) as exc:
        raise _translate(exc, f"{host}:{port}") from exc
    finally:
        with contextlib.suppress(Exception):  # closing must not mask the real outcome
            await camera.close()


async def _probe(camera: ONVIFCamera) -> OnvifDeviceInfo:
    await camera.update_xaddrs()
    devicemgmt = await camera.create_devicemgmt_service()
    clock_offset = await _clock_offset(devicemgmt)
    info = await devicemgmt.GetDeviceInformation()
    media = await camera.create_media_service()
    profiles = []
    for profile in await media.GetProfiles() or []:
        encoder = getattr(profile, "VideoEncoderConfiguration", None)
        if encoder is None or encoder.Resolution is None:
            continue  # audio-only or unconfigured profile: nothing to record
        uri = await media.GetStreamUri(
            {"StreamSetup": _STREAM_SETUP, "ProfileToken": profile.token}
        )
        rate = getattr(encoder, "RateControl", None)
        fps = getattr(rate, "FrameRateLimit", None) if rate is not None else None
        profiles.append(
            OnvifProfile(
                token=str(profile.token),
                name=str(profile.Name or profile.token),
                encoding=str(encoder.Encoding),
                width=int(encoder.Resolution.Width),
                height=int(encoder.Resolution.Height),
                fps=float(fps) if fps else None,
                stream_uri=_required(uri, "Uri", "GetStreamUri"),
                snapshot_uri=await _snapshot_uri(media, profile.token),
            )
        )
    if not profiles:
        raise OnvifProtocolError(f"{camera.host}:{camera.port}: no video profile")
    return OnvifDeviceInfo(
        manufacturer=str(info.Manufacturer or ""),
        model=str(info.Model or ""),
        firmware=str(info.FirmwareVersion or ""),
        serial=str(info.SerialNumber or ""),
        profiles=tuple(profiles),
        clock_offset_s=clock_offset,
    )


async def _clock_offset(devicemgmt: Any) -> float:
    """Device UTC minus our UTC, measured against the midpoint of the request."""
    before = time.time()
    try:
        reply = await devicemgmt.authless_GetSystemDateAndTime()
    except zeep.exceptions.Fault:  # some devices want it signed
        reply = await devicemgmt.GetSystemDateAndTime()
    after = time.time()
    utc = getattr(reply, "UTCDateTime", None)
    if utc is None:
        raise OnvifProtocolError("GetSystemDateAndTime without UTCDateTime")
    device = dt.datetime(
        utc.Date.Year,
        utc.Date.Month,
        utc.Date.Day,
        utc.Time.Hour,
        utc.Time.Minute,
        utc.Time.Second,
        tzinfo=dt.UTC,
    ).timestamp()
    # The device reports whole seconds, truncated: on average it is half a second further on.
    return device + 0.5 - (before + after) / 2


async def _snapshot_uri(media: Any, token: str) -> str | None:
    try:
        reply = await media.GetSnapshotUri({"ProfileToken": token})
    except zeep.exceptions.Fault as exc:
        if _is_auth_fault(exc):
            raise
        return None  # snapshots are optional in Profile S
    return str(reply.Uri) if reply is not None and reply.Uri else None


def _required(reply: Any, field: str, operation: str) -> str:
    value = getattr(reply, field, None) if reply is not None else None
    if not value:
        raise OnvifProtocolError(f"{operation} answered without {field}")
    return str(value)


def _is_auth_fault(exc: BaseException) -> bool:
    if isinstance(exc, zeep.exceptions.Fault):
        subcodes = exc.subcodes or []
        text = " ".join([str(exc.message), str(exc.code), *(str(s) for s in subcodes)])
        return any(marker in text.lower() for marker in _AUTH_MARKERS)
    return False


def _translate(exc: BaseException, where: str) -> OnvifError:
    """Map an onvif-zeep-async / zeep / aiohttp error to our tree."""
    cause = exc.__cause__ if isinstance(exc, ONVIFError) and exc.__cause__ else exc
    if isinstance(exc, ONVIFAuthError) or _is_auth_fault(cause):
        return OnvifAuthError(f"{where}: credentials rejected")
    if isinstance(cause, zeep.exceptions.TransportError) and cause.status_code in (401, 403):
        return OnvifAuthError(f"{where}: credentials rejected (HTTP {cause.status_code})")
    if isinstance(exc, ONVIFTimeoutError) or isinstance(
        cause, aiohttp.ClientConnectionError | OSError | TimeoutError
    ):
        return OnvifUnreachable(f"{where}: {cause}")
    if isinstance(cause, zeep.exceptions.Fault):
        return OnvifProtocolError(f"{where}: SOAP fault: {cause.message}")
    return OnvifProtocolError(f"{where}: {cause}")
