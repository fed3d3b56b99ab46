// The floor: the fewest lines of plain JS that do what the phone must do, with no framework and
// no wasm. window.__bench records the same two timings as ours.js:
//   ready:  the same HTTP (POST /v1/user_sessions) and WebSocket handshake (`authenticate` →
//           `authenticated` on /v1/webrtc, subprotocol dialstack.webrtc.v1);
//   callMs: Call clicked → `call.answered` on the echo number, with a real RTCPeerConnection:
//           microphone, complete (non-trickle) offer in `call.create`, `sdp.answer` applied.
const params = new URLSearchParams(location.search);
const user = params.get('user');
const bench = (window.__bench = {});

const response = await fetch('/v1/user_sessions', {
  method: 'POST',
  headers: { Authorization: 'Bearer sk_test_local', 'Content-Type': 'application/json' },
  body: JSON.stringify({ user }),
});
const { client_secret: token } = await response.json();
const ws = new WebSocket(`ws://${location.host}/v1/webrtc`, 'dialstack.webrtc.v1');
let onFrame = () => {};
ws.onmessage = (event) => onFrame(JSON.parse(event.data));
ws.onopen = () => ws.send(JSON.stringify({ type: 'authenticate', req_id: 'req_1', token }));
await new Promise((resolve) => {
  onFrame = (frame) => {
    if (frame.type === 'authenticated') resolve();
    else if (frame.type === 'error') bench.error = `authenticate: ${frame.code}`;
  };
});
bench.ready = performance.now();
document.getElementById('status').textContent = 'connected';

async function call(destination) {
  const clicked = performance.now();
  const pc = new RTCPeerConnection();
  const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
  for (const track of stream.getTracks()) pc.addTrack(track, stream);
  await pc.setLocalDescription(await pc.createOffer());
  if (pc.iceGatheringState !== 'complete') {
    await new Promise((resolve) => {
      pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && resolve();
    });
  }
  let callId = null;
  onFrame = async (frame) => {
    if (frame.type === 'call.trying' && frame.req_id === 'req_call') callId = frame.call_id;
    if (frame.call_id !== callId) return;
    if (frame.type === 'sdp.answer') await pc.setRemoteDescription({ type: 'answer', sdp: frame.sdp });
    if (frame.type === 'call.answered') {
      bench.callMs = performance.now() - clicked;
      ws.send(JSON.stringify({ type: 'call.hangup', call_id: callId }));
    }
    if (frame.type === 'call.ended') {
      pc.close();
      for (const track of stream.getTracks()) track.stop();
      bench.ended = true;
    }
    if (frame.type === 'error') bench.error = `call: ${frame.code}`;
  };
  ws.send(JSON.stringify({ type: 'call.create', req_id: 'req_call', destination, sdp: pc.localDescription.sdp }));
}

const button = document.getElementById('call');
button.addEventListener('click', () => call(params.get('destination') ?? '+15005550001'));
button.disabled = false;
