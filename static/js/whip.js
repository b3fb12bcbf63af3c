// WHIP (publish) and WHEP (watch) over one HTTP POST each: the offer carries every ICE
// candidate (no trickle), the answer comes back with a Location to DELETE when done.

function waitForIce(pc, timeoutMs = 2500) {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      if (pc.iceGatheringState === 'complete') {
        pc.removeEventListener('icegatheringstatechange', done);
        resolve();
      }
    };
    pc.addEventListener('icegatheringstatechange', done);
    setTimeout(resolve, timeoutMs);
  });
}

function preferH264(transceiver) {
  if (!window.RTCRtpSender || !RTCRtpSender.getCapabilities || !transceiver.setCodecPreferences) return;
  const caps = RTCRtpSender.getCapabilities('video');
  if (!caps) return;
  const h264 = caps.codecs.filter((c) => c.mimeType.toLowerCase() === 'video/h264');
  if (!h264.length) return;
  const rest = caps.codecs.filter((c) => c.mimeType.toLowerCase() !== 'video/h264');
  try {
    transceiver.setCodecPreferences([...h264, ...rest]);
  } catch {
    // keep the browser's order
  }
}

export class HttpSignalError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function exchange(url, pc, headers) {
  const offer = await pc.createOffer();
  await pc.setLocalDescription(offer);
  await waitForIce(pc);
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/sdp', ...headers },
    body: pc.localDescription.sdp,
    credentials: 'same-origin',
  });
  const text = await response.text();
  if (response.status !== 201 && response.status !== 200) {
    let error = {};
    try {
      error = JSON.parse(text).error || {};
    } catch {
      error = {};
    }
    throw new HttpSignalError(response.status, error.code || `http_${response.status}`, error.message || `HTTP ${response.status}`);
  }
  await pc.setRemoteDescription({ type: 'answer', sdp: text });
  const location = response.headers.get('Location');
  return location ? new URL(location, new URL(url, window.location.href)).toString() : null;
}

async function hangUp(pc, location, headers) {
  pc.close();
  if (location) {
    await fetch(location, { method: 'DELETE', headers, credentials: 'same-origin' }).catch(() => {});
  }
}

/** Negotiates `pc` with the WHIP/WHEP endpoint; the session and how to end it, or throws (pc closed). */
async function connect(url, pc, headers) {
  try {
    const location = await exchange(url, pc, headers);
    return { pc, location, stop: () => hangUp(pc, location, headers) };
  } catch (err) {
    pc.close();
    throw err;
  }
}

/** Publishes `stream` to a WHIP endpoint with a Bearer stream key. */
export async function publish(stream, url, streamKey) {
  const pc = new RTCPeerConnection();
  for (const track of stream.getTracks()) {
    const transceiver = pc.addTransceiver(track, { direction: 'sendonly', streams: [stream] });
    if (track.kind === 'video') preferH264(transceiver);
  }
  const headers = { Authorization: `Bearer ${streamKey}` };
  return connect(url, pc, headers);
}

/** Receives a program over WHEP into `video` (host/producer session cookie). */
export async function watch(url, video, csrfToken) {
  const pc = new RTCPeerConnection();
  pc.addTransceiver('video', { direction: 'recvonly' });
  pc.addTransceiver('audio', { direction: 'recvonly' });
  const stream = new MediaStream();
  pc.addEventListener('track', (event) => {
    stream.addTrack(event.track);
    video.srcObject = stream;
    video.play().catch(() => {});
  });
  const headers = csrfToken ? { 'X-CSRF-Token': csrfToken } : {};
  return connect(url, pc, headers);
}
