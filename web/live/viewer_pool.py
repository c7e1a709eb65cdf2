"""WHEP viewers in a child process, driven over a pipe: for bench/live.py and the tests.

Fifty aiortc peers cost an event loop about as much as the hub's fifty do. In the hub's own
process they would count their CPU as the hub's, and on a busy box they would starve its loop:
STUN consent answers come late, and aioice (one try per check, six misses) closes peers that are
alive. Here each side has its own process. Signalling is JSON lines over the child's stdin and
stdout (the caller carries offers and answers to the hub however it likes: straight to
LiveViewers, or through the WHEP route); media goes over UDP on 127.0.0.1.

    async with ViewerPool() as pool:
        offers = await pool.offers(3)
        ...  # POST each offer, then
        await pool.answer(0, answer_sdp)
        stats = await pool.stats()  # packets, bytes, time to first frame, the pool's CPU
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
from types import TracebackType
from typing import Any

import aioice.ice

from web.live.client import WhepViewer

# One reply carries every offer asked for (about 1.5 KiB each): far above asyncio's 64 KiB.
_LINE_LIMIT = 16 * 1024 * 1024


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class ViewerPool:
    """The parent's handle on a child process of WHEP viewers."""

    def __init__(self) -> None:
        self._proc: asyncio.subprocess.Process | None = None
        self._turn = asyncio.Lock()  # one command at a time on the pipe

    async def start(self) -> None:
        self._proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "web.live.viewer_pool",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            limit=_LINE_LIMIT,
        )

    async def __aenter__(self) -> ViewerPool:
        await self.start()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def offers(self, count: int) -> list[str]:
        """`count` new viewers' SDP offers, every candidate gathered; their indexes follow on."""
        reply = await self._ask("offers", count=count)
        offers: list[str] = reply["offers"]
        return offers

    async def answer(self, index: int, sdp: str) -> None:
        """Apply the hub's answer to viewer `index`; it then connects and receives video."""
        await self._ask("answer", index=index, sdp=sdp)

    async def drop(self, index: int) -> None:
        """Close viewer `index`'s peer (a refused offer's, or one the test is done with)."""
        await self._ask("drop", index=index)

    async def stats(self) -> dict[str, Any]:
        """Per viewer: RTP packets and bytes received, seconds from offer to first frame (None
        before one); and the pool's CPU seconds so far."""
        return await self._ask("stats")

    async def close(self) -> None:
        """Close every peer and wait for the child to exit (idempotent)."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            if proc.returncode is None and proc.stdin is not None:
                proc.stdin.write(b'{"cmd": "quit"}\n')
                await proc.stdin.drain()
                proc.stdin.close()
            await asyncio.wait_for(proc.wait(), timeout=60)
        except (TimeoutError, BrokenPipeError, ConnectionResetError):
            proc.kill()
            await proc.wait()

    async def _ask(self, cmd: str, **fields: Any) -> dict[str, Any]:
        proc = self._proc
        if proc is None or proc.stdin is None or proc.stdout is None:
            raise RuntimeError("the viewer pool is not running")
        async with self._turn:
            proc.stdin.write((json.dumps({"cmd": cmd, **fields}) + "\n").encode())
            await proc.stdin.drain()
            line = await proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the viewer pool exited (code {await proc.wait()})")
        reply: dict[str, Any] = json.loads(line)
        if "error" in reply:
            raise RuntimeError(f"viewer pool: {reply['error']}")
        return reply


# -- the child --------------------------------------------------------------------------------


def _count_only_decoders() -> None:
    """Decode each stream until its first picture (time to first frame), then only count:
    decoding fifty streams would starve this process and make the hub retransmit."""
    import aiortc.codecs
    import aiortc.rtcrtpreceiver

    real = aiortc.codecs.get_decoder

    class FirstFrameDecoder:
        def __init__(self, codec: Any) -> None:
            self._real: Any = real(codec)

        def decode(self, encoded_frame: Any) -> list[Any]:
            if self._real is None:
                return []
            frames: list[Any] = self._real.decode(encoded_frame)
            if frames:
                self._real = None
            return frames

    # The receiver's decoder thread looks the factory up in its own module.
    setattr(aiortc.rtcrtpreceiver, "get_decoder", FirstFrameDecoder)  # noqa: B010


async def _serve_pipe() -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=_LINE_LIMIT)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    viewers: list[WhepViewer] = []

    def send(message: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps(message) + "\n")
        sys.stdout.flush()

    async def handle(message: dict[str, Any]) -> dict[str, Any]:
        cmd = message["cmd"]
        if cmd == "offers":
            new = [WhepViewer() for _ in range(int(message["count"]))]
            viewers.extend(new)
            return {"offers": list(await asyncio.gather(*(v.offer() for v in new)))}
        if cmd == "answer":
            await viewers[int(message["index"])].answer(str(message["sdp"]))
            return {}
        if cmd == "drop":
            await viewers[int(message["index"])].close()
            return {}
        if cmd == "stats":
            packets = await asyncio.gather(*(v.packets_received() for v in viewers))
            received = await asyncio.gather(*(v.bytes_received() for v in viewers))
            ttff = [
                None
                if v.first_frame_at is None or v.offered_at is None
                else v.first_frame_at - v.offered_at
                for v in viewers
            ]
            return {"packets": packets, "bytes": received, "ttff": ttff, "cpu": _cpu_seconds()}
        raise ValueError(f"unknown command {cmd!r}")

    try:
        while line := await reader.readline():
            message = json.loads(line)
            if message["cmd"] == "quit":
                break
            try:
                send(await handle(message))
            except Exception as exc:  # the parent raises it; the pool keeps its peers
                send({"error": f"{type(exc).__name__}: {exc}"})
    finally:
        await asyncio.gather(*(v.close() for v in viewers), return_exceptions=True)


def main() -> None:
    # aioice never offers 127.0.0.1 itself (ENVIRONMENT.md); the viewers stay on loopback.
    aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]
    _count_only_decoders()
    asyncio.run(_serve_pipe())


if __name__ == "__main__":
    main()
