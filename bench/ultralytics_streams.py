"""Ultralytics' own multi-stream prediction, the baseline bench/detect.py compares against.

    .venv/bin/python bench/ultralytics_streams.py STREAMS_FILE --weights last.pt --vid-stride 25

Runs `model.predict(source=<.streams file>, stream=True)` on the same cameras the hub watches
and prints, on stdout, `READY torch_threads=<n>` after the first batch of results, then
`FRAMES <images predicted so far>` after every batch (one image per camera), until killed.
Ultralytics' own log lines go to stdout as well; the parent reads only these two. Its CPU is
measured from outside (/proc/<pid>/stat) by the parent.

LoadStreams (ultralytics.data.loaders) runs one OpenCV reader thread per stream that grabs,
and so decodes, every frame, and converts every `vid_stride`-th one to BGR; a batch takes the
newest picture of every stream, waiting for each to have a new one.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from detectors.training import offline_ultralytics, scratch_config_dir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("streams", type=Path, help="a .streams file: one RTSP URL per line")
    parser.add_argument("--weights", type=Path, required=True)
    parser.add_argument("--imgsz", type=int, default=320)
    parser.add_argument("--vid-stride", type=int, default=25, help="predict every n-th frame")
    parser.add_argument(
        "--rtsp-transport",
        choices=("tcp", "udp"),
        default="tcp",
        help="what OpenCV's FFmpeg asks for (the hub's ingest default is tcp)",
    )
    args = parser.parse_args()
    batch = len(args.streams.read_text().split())  # LoadStreams: one image per stream a batch
    # Read by OpenCV's FFmpeg backend when each capture opens.
    os.environ["OPENCV_FFMPEG_CAPTURE_OPTIONS"] = f"rtsp_transport;{args.rtsp_transport}"
    offline_ultralytics(scratch_config_dir())
    import torch
    from ultralytics import YOLO

    model = YOLO(str(args.weights))
    results = model.predict(source=str(args.streams), stream=True, imgsz=args.imgsz,
                            vid_stride=args.vid_stride, verbose=False, device="cpu")  # fmt: skip
    for frames, _result in enumerate(results, 1):  # one Results per camera image, batch by batch
        if frames == batch:
            print(f"READY torch_threads={torch.get_num_threads()}", flush=True)
        if frames % batch == 0:
            print(f"FRAMES {frames}", flush=True)


if __name__ == "__main__":
    main()
