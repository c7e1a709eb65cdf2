"""The demo district's cameras, served by the simulator as the config describes them."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from camera_adapters.simulator import CameraSimulator
from hub.config import HubConfig

log = logging.getLogger(__name__)

_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def start_simulator(config: HubConfig) -> CameraSimulator:
    """Start a simulator serving every configured camera that points at it.

    RTSP cameras at 127.0.0.1:<simulator.rtsp_port>/<camera id>/main get mounts; ONVIF cameras
    on loopback get a device stand-in on their configured port. Returns a started simulator
    (a context manager that stops it).
    """
    sim_cfg = config.simulator
    sim = CameraSimulator(rtsp_port=sim_cfg.rtsp_port)
    sim.start()
    try:
        for _school, camera in config.iter_cameras():
            clip = sim_cfg.clips.get(camera.id, sim_cfg.default_clip)
            if camera.onvif is not None and camera.onvif.host in _LOOPBACK:
                sim.add_onvif_device(
                    camera.id,
                    username=camera.onvif.username,
                    password=camera.onvif.password.get_secret_value(),
                    port=camera.onvif.port,
                    clip=clip,
                )
            elif camera.rtsp_url is not None:
                url = urlsplit(str(camera.rtsp_url))
                if url.hostname in _LOOPBACK and url.port == sim_cfg.rtsp_port:
                    sim.add_camera(camera.id, clip=clip, sub_stream=camera.sub_rtsp_url is not None)
    except BaseException:
        sim.stop()
        raise
    return sim
