"""Camera simulator: looping H.264 cameras over RTSP and ONVIF on 127.0.0.1, with faults.

    with CameraSimulator(rtsp_port=0) as sim:
        url = sim.add_camera("cam-01", clip="people")        # rtsp://127.0.0.1:PORT/cam-01/main
        device = sim.add_onvif_device("cam-02", username="admin", password="pw")
        sim.set_fault("cam-01", Fault.FREEZE)

The RTSP server runs under Debian's /usr/bin/python3 with GStreamer (see rtsp_server.py).
"""

from .errors import SimulatorError
from .media import MEDIA_DIR, NAMED_CLIPS, SAMPLE_VIDEOS
from .onvif_device import OnvifDeviceStandIn
from .simulator import CameraSimulator, Fault, SimulatedCamera

__all__ = [
    "MEDIA_DIR",
    "NAMED_CLIPS",
    "SAMPLE_VIDEOS",
    "CameraSimulator",
    "Fault",
    "OnvifDeviceStandIn",
    "SimulatedCamera",
    "SimulatorError",
]
