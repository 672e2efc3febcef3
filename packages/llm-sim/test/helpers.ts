// Shared test helpers: a simulator on a random port and a real openai client pointed at it.
import OpenAI from 'openai';
import { afterEach } from 'vitest';
import { startSimulator } from '../src/index.js';
import type { SimConfig, SimulatorHandle } from '../src/index.js';

/** Client-side timeout for every call in the tests, so no wait is unbounded. */
export const CLIENT_TIMEOUT_MS = 5_000;

const open: SimulatorHandle[] = [];

afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

/** Starts a simulator that is closed automatically after the test. */
export async function sim(config?: SimConfig): Promise<SimulatorHandle> {
  const handle = await startSimulator(config === undefined ? {} : { config });
  open.push(handle);
  return handle;
}

/** The real openai client, with its own retries off (as Pipewright runs it). */
export function client(handle: SimulatorHandle, timeout = CLIENT_TIMEOUT_MS): OpenAI {
  return new OpenAI({ baseURL: handle.url, apiKey: 'sim-key', maxRetries: 0, timeout });
}

/** Base URL without the `/v1` suffix, for admin and health endpoints. */
export function root(handle: SimulatorHandle): string {
  return handle.url.replace(/\/v1$/, '');
}

/** fetch with a bound on the wait. */
export function get(url: string, init: RequestInit = {}): Promise<Response> {
  return fetch(url, { ...init, signal: AbortSignal.timeout(CLIENT_TIMEOUT_MS) });
}

export const user = (content: string): { role: 'user'; content: string }[] => [{ role: 'user', content }];
