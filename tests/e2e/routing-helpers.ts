// Helpers for routing.spec.ts: a child process whose stdout lines can be awaited, a signed
// webhook receiver on 127.0.0.1, WAV reading with a tone detector, and in-page recorders for
// the incoming-call card and received audio.
import { expect, type APIRequestContext, type APIResponse, type Page } from '@playwright/test';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PLATFORM_KEY } from './calls-helpers';

// ---------------------------------------------------------------------------------------------
// REST with the platform key, scoped to one account

export class Api {
  constructor(readonly request: APIRequestContext, readonly account: string) {}

  private headers() {
    return { Authorization: `Bearer ${PLATFORM_KEY}`, 'DialStack-Account': this.account };
  }

  post(path: string, data: unknown): Promise<APIResponse> {
    return this.request.post(path, { headers: this.headers(), data });
  }

  get(path: string): Promise<APIResponse> {
    return this.request.get(path, { headers: this.headers() });
  }

  delete(path: string): Promise<APIResponse> {
    return this.request.delete(path, { headers: this.headers() });
  }

  /** POST that must succeed; returns the JSON body. */
  async created(path: string, data: unknown): Promise<any> {
    const response = await this.post(path, data);
    expect(response.ok(), `POST ${path}: ${response.status()} ${await response.text()}`).toBe(true);
    return response.json();
  }

  /** GET that must succeed; returns the JSON body. */
  async read(path: string): Promise<any> {
    const response = await this.get(path);
    expect(response.ok(), `GET ${path}: ${response.status()} ${await response.text()}`).toBe(true);
    return response.json();
  }
}

// ---------------------------------------------------------------------------------------------
// A child process with awaitable stdout lines

/** Terminal colour codes, which tracing writes even into a pipe. */
const ANSI = /\x1b\[[0-9;]*m/g;

export class LineProcess {
  lines: string[] = [];
  private waiters: Array<() => void> = [];
  private exited = false;

  constructor(readonly name: string, readonly child: ChildProcess) {
    let buffered = '';
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      buffered += chunk;
      let cut;
      while ((cut = buffered.indexOf('\n')) >= 0) {
        this.lines.push(buffered.slice(0, cut).replace(ANSI, ''));
        buffered = buffered.slice(cut + 1);
      }
      this.wake();
    });
    child.stderr!.on('data', (chunk) => process.stderr.write(`[${name}] ${chunk}`));
    child.on('exit', () => {
      this.exited = true;
      this.wake();
    });
  }

  static start(binary: string, args: string[], env: Record<string, string> = {}): LineProcess {
    const child = spawn(binary, args, {
      env: { ...process.env, NO_COLOR: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new LineProcess(binary.split('/').pop()!, child);
  }

  private wake() {
    for (const wake of this.waiters.splice(0)) wake();
  }

  /** Lines that contain every one of `parts`. */
  matching(...parts: string[]): string[] {
    return this.lines.filter((line) => parts.every((part) => line.includes(part)));
  }

  /** The first capture group (or the whole match) of the first line matching `pattern`. */
  async waitFor(pattern: RegExp, timeoutMs = 30_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (const line of this.lines) {
        const match = line.match(pattern);
        if (match) return match[1] ?? match[0];
      }
      if (this.exited) throw new Error(`${this.name} exited; stdout:\n${this.lines.join('\n')}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${this.name}: no line matching ${pattern}; stdout:\n${this.lines.join('\n')}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** SIGINT, then waits for the exit; SIGKILL after 10 s. */
  async stop(): Promise<void> {
    if (this.exited) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill('SIGINT');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------------------------------------
// Webhook receiver

export type Delivery = { id: string; type: string; data: any; body: Buffer; signature: string; signatureValid: boolean };

/**
 * `X-DialStack-Signature: t=<unix>,v1=<hex>` checked as a partner would (protocol.md §13):
 * HMAC-SHA256 of `"<t>." + raw body` with the endpoint secret, constant-time compare, 300 s.
 */
export function signatureIsValid(secret: string, header: string, body: Buffer, nowUnix: number): boolean {
  const parts = new Map(header.split(',').map((part) => part.split('=', 2) as [string, string]));
  const t = Number(parts.get('t'));
  const given = parts.get('v1') ?? '';
  if (!Number.isInteger(t) || Math.abs(nowUnix - t) > 300 || !/^[0-9a-f]{64}$/.test(given)) return false;
  const expected = createHmac('sha256', secret).update(`${t}.`).update(body).digest();
  return timingSafeEqual(expected, Buffer.from(given, 'hex'));
}

/** An HTTP server on 127.0.0.1 that stores every webhook delivery, with its signature checked. */
export class WebhookReceiver {
  deliveries: Delivery[] = [];
  secret = '';
  private constructor(readonly server: Server, readonly url: string) {}

  static async start(): Promise<WebhookReceiver> {
    let receiver: WebhookReceiver | undefined;
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        const signature = String(req.headers['x-dialstack-signature'] ?? '');
        try {
          const event = JSON.parse(body.toString('utf8'));
          receiver!.deliveries.push({
            id: event.id,
            type: event.type,
            data: event.data,
            body,
            signature,
            signatureValid: signatureIsValid(receiver!.secret, signature, body, Math.floor(Date.now() / 1000)),
          });
          res.writeHead(200).end();
        } catch {
          res.writeHead(400).end();
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    receiver = new WebhookReceiver(server, `http://127.0.0.1:${port}/webhooks`);
    return receiver;
  }

  /** Deliveries whose `data.call_id` is `callId`, de-duplicated on the event id. */
  ofCall(callId: string): Delivery[] {
    const seen = new Set<string>();
    return this.deliveries.filter((d) => d.data?.call_id === callId && !seen.has(d.id) && seen.add(d.id));
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

// ---------------------------------------------------------------------------------------------
// Audio

/** 16-bit PCM samples and rate of a RIFF/WAVE file. */
export function readWav(bytes: Buffer): { rate: number; samples: Int16Array } {
  expect(bytes.subarray(0, 4).toString('latin1')).toBe('RIFF');
  expect(bytes.subarray(8, 12).toString('latin1')).toBe('WAVE');
  let rate = 0;
  let bits = 0;
  for (let at = 12; at + 8 <= bytes.length; ) {
    const id = bytes.subarray(at, at + 4).toString('latin1');
    const size = bytes.readUInt32LE(at + 4);
    const body = bytes.subarray(at + 8, at + 8 + size);
    if (id === 'fmt ') {
      rate = body.readUInt32LE(4);
      bits = body.readUInt16LE(14);
    }
    if (id === 'data') {
      expect(bits, 'a 16-bit PCM WAV').toBe(16);
      const samples = new Int16Array(body.length >> 1);
      for (let i = 0; i < samples.length; i++) samples[i] = body.readInt16LE(i * 2);
      return { rate, samples };
    }
    at += 8 + size + (size & 1);
  }
  throw new Error('the WAV has no data chunk');
}

/** Root mean square of the samples (0 for silence; a full-scale sine is about 23,000). */
export function rms(samples: Int16Array): number {
  let sum = 0;
  for (const x of samples) sum += x * x;
  return samples.length ? Math.sqrt(sum / samples.length) : 0;
}

/** Goertzel power of `freq` in `samples`, normalised per sample. */
export function tonePower(samples: Int16Array, rate: number, freq: number): number {
  const coeff = 2 * Math.cos((2 * Math.PI * freq) / rate);
  let s1 = 0;
  let s2 = 0;
  for (const x of samples) {
    const s = x / 32768 + coeff * s1 - s2;
    s2 = s1;
    s1 = s;
  }
  return (s1 * s1 + s2 * s2 - coeff * s1 * s2) / (samples.length * samples.length);
}

// ---------------------------------------------------------------------------------------------
// In-page recorders (installed before the page's own scripts run)

/**
 * Records every change in how many incoming-call cards the hosted page shows, with the time
 * and the cards' text, so a ring that ends and a new ring that follows are both seen however
 * quickly they follow each other.
 */
export async function recordIncomingCards(page: Page) {
  await page.addInitScript(() => {
    const log: Array<{ at: number; count: number; text: string }> = [];
    (window as any).__incomingCards = log;
    let last = 0;
    const check = () => {
      const cards = Array.from(document.querySelectorAll('[data-testid="incoming-card"]'));
      if (cards.length !== last) {
        last = cards.length;
        log.push({ at: Date.now(), count: cards.length, text: cards.map((c) => c.textContent ?? '').join(' | ') });
      }
    };
    new MutationObserver(check).observe(document, { childList: true, subtree: true, characterData: true });
  });
}

export type CardChange = { at: number; count: number; text: string };

export async function incomingCardChanges(page: Page): Promise<CardChange[]> {
  return page.evaluate(() => (window as any).__incomingCards);
}

/** Keeps every RTCPeerConnection the page makes, to read its inbound audio statistics. */
export async function recordPeerConnections(page: Page) {
  await page.addInitScript(() => {
    const Original = window.RTCPeerConnection;
    const all: RTCPeerConnection[] = [];
    (window as any).__peerConnections = all;
    window.RTCPeerConnection = class extends Original {
      constructor(...args: ConstructorParameters<typeof RTCPeerConnection>) {
        super(...args);
        all.push(this);
      }
    } as typeof RTCPeerConnection;
  });
}

/** Inbound audio bytes and energy over the page's open peer connections. */
export async function inboundAudio(page: Page): Promise<{ bytes: number; energy: number }> {
  return page.evaluate(async () => {
    let bytes = 0;
    let energy = 0;
    for (const pc of (window as any).__peerConnections as RTCPeerConnection[]) {
      if (pc.connectionState === 'closed') continue;
      (await pc.getStats()).forEach((report: any) => {
        if (report.type === 'inbound-rtp' && report.kind === 'audio') {
          bytes += report.bytesReceived ?? 0;
          energy += report.totalAudioEnergy ?? 0;
        }
      });
    }
    return { bytes, energy };
  });
}

/** Sound keeps arriving and is not silence: bytes and audio energy both grow. */
export async function expectHearing(page: Page, who: string) {
  const before = await inboundAudio(page);
  await expect
    .poll(async () => {
      const now = await inboundAudio(page);
      return now.bytes > before.bytes + 1000 && now.energy > before.energy;
    }, { timeout: 15_000, message: `${who} hears audio` })
    .toBe(true);
}
