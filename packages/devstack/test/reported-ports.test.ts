import { describe, expect, it } from 'vitest';
import { portFromJsonLog, portFromLine } from '../src/index.js';

describe('portFromJsonLog', () => {
  it('reads the port field of the JSON line with that msg only', () => {
    const read = portFromJsonLog('ops server listening');
    expect(read('{"level":"info","service":"planner","port":43121,"msg":"ops server listening"}')).toBe(43121);
    expect(read('{"level":"info","port":43121,"msg":"approver API and inbox listening"}')).toBeUndefined();
    expect(read('{"msg":"ops server listening","port":0}')).toBeUndefined();
    expect(read('{"msg":"ops server listening","port":"80"}')).toBeUndefined();
    expect(read('ops server listening on 80')).toBeUndefined();
    expect(read('{"msg":"ops server listening", broken')).toBeUndefined();
    expect(portFromJsonLog('llm-sim listening')('{"msg":"llm-sim listening","url":"http://127.0.0.1:5/v1","port":5}')).toBe(5);
  });
});

describe('portFromLine', () => {
  it('reads the first capture group of a matching line', () => {
    const read = portFromLine(/Listening on TCP 127\.0\.0\.1:(\d+)/g);
    const line = '2026-12-05T19:12:25.928Z\tINFO\tclientconn/listener.go:107\tListening on TCP 127.0.0.1:36629...\t{"name":"listener"}';
    expect(read(line)).toBe(36629);
    expect(read(line)).toBe(36629); // a global pattern's lastIndex does not leak between lines
    expect(read('Listening on TCP 127.0.0.1:0...')).toBeUndefined();
    expect(read('Listening on unix socket')).toBeUndefined();
  });
});
