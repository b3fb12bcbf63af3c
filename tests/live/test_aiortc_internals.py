"""aiortc's internals that `live/aiortc_internals.py` relies on are still there: a failure here
means an aiortc upgrade changed them (read the module's docstring before changing the pin)."""

from __future__ import annotations

import inspect
from importlib.metadata import version

import aiortc.rtcrtpreceiver as receiver_module
from aiortc import RTCPeerConnection
from aiortc.rtcrtpreceiver import RemoteStreamTrack

from live import aiortc_internals


def test_the_pinned_version_is_installed() -> None:
    assert {name: version(name) for name in aiortc_internals.PINNED} == aiortc_internals.PINNED


def test_the_decoder_worker_is_a_module_function_with_the_known_signature() -> None:
    params = list(inspect.signature(aiortc_internals._ORIGINAL).parameters)
    assert params == ["loop", "input_q", "output_q", "decode_error"]
    aiortc_internals.install()
    assert receiver_module.decoder_worker is aiortc_internals._decoder_worker


async def test_tracks_receivers_and_transceivers_have_the_private_parts() -> None:
    track = RemoteStreamTrack(kind="video")
    assert aiortc_internals.receive_packets(track)  # found its `_queue`
    pc = RTCPeerConnection()
    try:
        transceiver = pc.addTransceiver("video", direction="recvonly")
        assert isinstance(transceiver._codecs, list)
        assert list(inspect.signature(transceiver.receiver._send_rtcp_pli).parameters) == ["media_ssrc"]
        assert callable(transceiver.receiver.getSynchronizationSources)
    finally:
        await pc.close()
