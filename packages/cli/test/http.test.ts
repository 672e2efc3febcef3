import { describe, expect, it } from 'vitest';
import { NotFoundError, RefusedError, UnavailableError } from '../src/cli/errors.js';
import { errorFor, type HttpService } from '../src/cli/http.js';

const console_: HttpService = { name: 'console', url: 'http://c', token: 't', urlSetting: 'PW_CONSOLE_URL', tokenSetting: 'PW_CONSOLE_TOKEN' };
const api = (code: string, message: string, extra: object = {}) => ({ error: { code, message, ...extra } });

describe('API errors as CLI errors', () => {
  it('404 is "no run <id>" (exit 3)', () => {
    const e = errorFor(console_, { status: 404, body: api('not_found', 'run r-1 not found') }, 'no run r-1');
    expect(e).toBeInstanceOf(NotFoundError);
    expect([e.message, e.exitCode]).toEqual(['no run r-1', 3]);
  });

  it('401 and 403 say what is wrong with the token (exit 4)', () => {
    const e401 = errorFor(console_, { status: 401, body: api('unauthorized', 'a valid bearer token is required') });
    expect(e401).toBeInstanceOf(UnavailableError);
    expect([e401.message, e401.details, e401.exitCode]).toEqual(['unauthorized: a valid bearer token is required (the console refused the token)', ['check PW_CONSOLE_TOKEN'], 4]);
    const e403 = errorFor(console_, { status: 403, body: api('forbidden', 'needs operate') });
    expect(e403.details[0]).toContain('operate role');
  });

  it('a refusal (409, 400) is exit 1 with the invalid fields or the differences', () => {
    const conflict = errorFor(console_, { status: 409, body: api('not_resumable', 'run r-1 succeeded: nothing to resume') });
    expect(conflict).toBeInstanceOf(RefusedError);
    expect([conflict.code, conflict.message, conflict.exitCode]).toEqual(['not_resumable', 'not_resumable: run r-1 succeeded: nothing to resume', 1]);
    const invalid = errorFor(console_, { status: 400, body: api('bad_request', 'invalid', { issues: [{ path: 'fromStep', message: 'no step nope' }] }) });
    expect(invalid.details).toEqual(['fromStep: no step nope']);
    expect(errorFor(console_, { status: 409, body: api('idempotency_conflict', 'differs', { differences: ['input.q'] }) }).details).toEqual(['differs at: input.q']);
  });

  it("the approver's flat error bodies too; 5xx and bodies of no known shape are exit 4", () => {
    expect(errorFor(console_, { status: 422, body: { error: 'invalid', issues: [{ path: 'arguments.amountUsd', message: 'must be >= 0' }] } }).details).toEqual(['arguments.amountUsd: must be >= 0']);
    const down = errorFor(console_, { status: 503, body: api('unavailable', 'the index is catching up') });
    expect([down.exitCode, down.message]).toEqual([4, 'unavailable: the index is catching up (the console answered HTTP 503)']);
    expect(errorFor(console_, { status: 502, body: '<html>' }).message).toBe('http_502: HTTP 502 (the console answered HTTP 502)');
  });
});
