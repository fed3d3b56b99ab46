// Helpers for calls.spec.ts: a minimal softphone written against protocol.md with nothing but
// browser WebRTC and a WebSocket, injected into a page served by ds-local (same origin), plus
// the REST calls the tests need. The page script keeps every received frame in `window.phone.frames`.
import { expect, type APIRequestContext, type Page } from '@playwright/test';

export const PLATFORM_KEY = 'sk_test_local';

export type Frame = { type: string; [key: string]: any };

/** The demo seed (crates/ds-local/src/demo.rs), read from the server rather than hard-coded. */
export async function demoUsers(request: APIRequestContext): Promise<{ account: string; alice: string; bob: string }> {
  const accounts = await request.get('/v1/accounts?limit=100', { headers: { Authorization: `Bearer ${PLATFORM_KEY}` } });
  expect(accounts.status()).toBe(200);
  const account = (await accounts.json()).data.find((a: any) => a.email === 'contact@joneschiro.com');
  expect(account, 'the demo account exists (ds-local --demo)').toBeTruthy();
  const users = await request.get('/v1/users?limit=100', {
    headers: { Authorization: `Bearer ${PLATFORM_KEY}`, 'DialStack-Account': account.id },
  });
  const list = (await users.json()).data;
  const byEmail = (email: string) => list.find((u: any) => u.email === email).id;
  return { account: account.id, alice: byEmail('alice@joneschiro.com'), bob: byEmail('bob@joneschiro.com') };
}

export async function userToken(request: APIRequestContext, user: string): Promise<string> {
  const response = await request.post('/v1/user_sessions', {
    headers: { Authorization: `Bearer ${PLATFORM_KEY}` },
    data: { user },
  });
  expect(response.status()).toBe(201);
  return (await response.json()).client_secret;
}

export async function callLog(request: APIRequestContext, account: string, id: string): Promise<any> {
  const response = await request.get(`/v1/calls/${id}`, {
    headers: { Authorization: `Bearer ${PLATFORM_KEY}`, 'DialStack-Account': account },
  });
  expect(response.status()).toBe(200);
  return response.json();
}

/** Waits until the call log row has a final status, and returns it. */
export async function finishedCallLog(request: APIRequestContext, account: string, id: string): Promise<any> {
  let row: any = null;
  await expect
    .poll(async () => {
      row = await callLog(request, account, id);
      return row.status;
    }, { timeout: 15_000 })
    .not.toBeNull();
  return row;
}

export async function accountSession(request: APIRequestContext, account: string): Promise<string> {
  const response = await request.post('/v1/account_sessions', {
    headers: { Authorization: `Bearer ${PLATFORM_KEY}` },
    data: { account, components: { call_history: { enabled: true } } },
  });
  expect(response.status()).toBe(200);
  return (await response.json()).client_secret;
}

/** Opens a page on ds-local's origin with the test softphone installed. */
export async function phonePage(page: Page): Promise<Page> {
  await page.goto('/healthz');
  await page.addScriptTag({ content: PHONE_SCRIPT });
  return page;
}

export async function frames(page: Page): Promise<Frame[]> {
  return page.evaluate(() => (window as any).phone.frames);
}

/** Waits for the first received frame matching `match` (all given members equal). */
export async function waitForFrame(page: Page, match: Record<string, any>, timeout = 15_000): Promise<Frame> {
  let found: Frame | undefined;
  await expect
    .poll(async () => {
      found = (await frames(page)).find((f) => Object.entries(match).every(([k, v]) => f[k] === v));
      return found !== undefined;
    }, { timeout, message: `frame ${JSON.stringify(match)}` })
    .toBe(true);
  return found!;
}

export async function inboundAudio(page: Page, callId: string): Promise<{ packetsReceived: number; totalAudioEnergy: number }> {
  return page.evaluate((id) => (window as any).phone.inboundAudio(id), callId);
}

export async function expectAudioFrom(page: Page, callId: string) {
  await expect
    .poll(async () => {
      const stats = await inboundAudio(page, callId);
      return stats.packetsReceived > 0 && stats.totalAudioEnergy > 0;
    }, { timeout: 15_000, message: `audio on ${callId}` })
    .toBe(true);
}

// The page side. Plain JS: it runs inside the browser.
const PHONE_SCRIPT = `
(() => {
  const phone = { frames: [], calls: {}, pending: {}, ws: null, counter: 0, events: [] };
  window.phone = phone;
  const reqId = () => 'req_' + Date.now().toString(36) + '_' + (++phone.counter);

  function gatheringDone(pc) {
    return new Promise((resolve) => {
      if (pc.iceGatheringState === 'complete') return resolve();
      const cap = setTimeout(resolve, 2000);
      pc.addEventListener('icegatheringstatechange', () => {
        if (pc.iceGatheringState === 'complete') { clearTimeout(cap); resolve(); }
      });
    });
  }

  async function newPeer(callId) {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    const pc = new RTCPeerConnection();
    const audio = document.createElement('audio');
    audio.autoplay = true;
    document.body.appendChild(audio);
    pc.ontrack = (event) => {
      audio.srcObject = new MediaStream([event.track]);
      audio.play().catch(() => {});
    };
    return { pc, stream };
  }

  phone.send = (frame) => phone.ws.send(JSON.stringify(frame));
  phone.sendRaw = (text) => phone.ws.send(text);

  phone.connect = (token, protocols) => new Promise((resolve, reject) => {
    const url = location.origin.replace(/^http/, 'ws') + '/v1/webrtc';
    const ws = new WebSocket(url, protocols || ['dialstack.webrtc.v1']);
    phone.ws = ws;
    const id = reqId();
    ws.onopen = () => ws.send(JSON.stringify({ type: 'authenticate', req_id: id, token }));
    ws.onerror = () => reject(new Error('socket error'));
    ws.onclose = (e) => { phone.frames.push({ type: '_closed', code: e.code }); reject(new Error('closed')); };
    ws.onmessage = async (event) => {
      const frame = JSON.parse(event.data);
      phone.frames.push(frame);
      if (frame.type === 'authenticated') resolve(frame);
      if (frame.type === 'error' && frame.fatal) reject(new Error(frame.code));
      await phone.onFrame(frame);
    };
  });

  phone.onFrame = async (frame) => {
    if (frame.type === 'call.trying' && phone.pending[frame.req_id]) {
      phone.calls[frame.call_id] = phone.pending[frame.req_id];
      delete phone.pending[frame.req_id];
    }
    const call = phone.calls[frame.call_id];
    if (frame.type === 'sdp.answer' && call && call.pc.signalingState !== 'stable') {
      await call.pc.setRemoteDescription({ type: 'answer', sdp: frame.sdp });
    }
    if (frame.type === 'sdp.pranswer' && call) {
      await call.pc.setRemoteDescription({ type: 'pranswer', sdp: frame.sdp });
    }
    if (frame.type === 'sdp.offer') {
      phone.calls[frame.call_id] = { offer: frame.sdp };
    }
  };

  // Outbound: returns the req_id; the call id arrives with call.trying.
  phone.dial = async (destination) => {
    const { pc, stream } = await newPeer();
    stream.getTracks().forEach((track) => pc.addTrack(track, stream));
    await pc.setLocalDescription(await pc.createOffer());
    await gatheringDone(pc);
    const id = reqId();
    phone.pending[id] = { pc, stream };
    phone.send({ type: 'call.create', req_id: id, destination, sdp: pc.localDescription.sdp });
    return id;
  };

  // Inbound: answer the offer received for callId.
  phone.answer = async (callId) => {
    const call = phone.calls[callId];
    const { pc, stream } = await newPeer();
    await pc.setRemoteDescription({ type: 'offer', sdp: call.offer });
    stream.getTracks().forEach((track) => pc.addTrack(track, stream));
    await pc.setLocalDescription(await pc.createAnswer());
    await gatheringDone(pc);
    call.pc = pc;
    call.stream = stream;
    phone.send({ type: 'call.answer', call_id: callId });
    phone.send({ type: 'sdp.answer', call_id: callId, sdp: pc.localDescription.sdp });
  };

  phone.dtmf = (callId, tones) => {
    const sender = phone.calls[callId].pc.getSenders().find((s) => s.track && s.track.kind === 'audio');
    sender.dtmf.insertDTMF(tones, 100, 70);
  };

  phone.inboundAudio = async (callId) => {
    const call = phone.calls[callId];
    if (!call || !call.pc) return { packetsReceived: 0, totalAudioEnergy: 0 };
    const stats = await call.pc.getStats();
    for (const report of stats.values()) {
      if (report.type === 'inbound-rtp' && report.kind === 'audio') {
        return { packetsReceived: report.packetsReceived || 0, totalAudioEnergy: report.totalAudioEnergy || 0 };
      }
    }
    return { packetsReceived: 0, totalAudioEnergy: 0 };
  };

  // Drops the socket without hanging up (the peer connection stays).
  phone.dropSocket = () => { phone.ws.onclose = null; phone.ws.close(); };

  // Reads the account event stream (SSE needs a Bearer header, so fetch + a stream reader).
  phone.watchEvents = async (secret) => {
    const response = await fetch('/v1/events', { headers: { Authorization: 'Bearer ' + secret, Accept: 'text/event-stream' } });
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    (async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffer += decoder.decode(value, { stream: true });
        let cut;
        while ((cut = buffer.indexOf('\\n\\n')) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const name = (block.match(/^event: (.*)$/m) || [])[1];
          const data = (block.match(/^data: (.*)$/m) || [])[1];
          if (name) phone.events.push({ event: name, data: data ? JSON.parse(data) : null });
        }
      }
    })();
  };
})();
`;

/** A new user of the demo account and a token for it, so no other test sees what it does. */
export async function freshUser(request: APIRequestContext, name: string): Promise<{ user: string; token: string }> {
  const { account } = await demoUsers(request);
  const created = await request.post('/v1/users', {
    headers: { Authorization: `Bearer ${PLATFORM_KEY}`, 'DialStack-Account': account },
    data: { name },
  });
  expect(created.ok()).toBeTruthy();
  const user = (await created.json()).id;
  return { user, token: await userToken(request, user) };
}

/** Opens a signalling socket from `page` on network `network` (ds-local names the network by
 * `?network=`), authenticates with `token` presenting emergency address `id`, and returns the
 * server's first frame; the socket is closed again. */
export async function authenticateOnNetwork(page: Page, token: string, id: string, network: string): Promise<any> {
  return page.evaluate(
    async ({ token, id, network }) => {
      const ws = new WebSocket(`${location.origin.replace(/^http/, 'ws')}/v1/webrtc?network=${network}`, 'dialstack.webrtc.v1');
      await new Promise((resolve, reject) => {
        ws.onopen = resolve;
        ws.onerror = reject;
      });
      const reply = new Promise<any>((resolve) => {
        ws.onmessage = (e) => resolve(JSON.parse(e.data));
      });
      ws.send(JSON.stringify({ type: 'authenticate', req_id: `req_e2e_${network}`, token, emergency_address_id: id }));
      const first = await reply;
      ws.close();
      return first;
    },
    { token, id, network },
  );
}
