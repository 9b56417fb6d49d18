import { describe, expect, it } from 'vitest';
import { encodeRequest, parseProgramLine } from './jsonl-protocol.js';

describe('encodeRequest', () => {
  it('writes one line with flat tensor data and the outputs wanted', () => {
    const line = encodeRequest({
      id: '17',
      inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 2], data: Float32Array.of(1, 2, 3, 4) }],
      outputs: ['y'],
    });
    expect(line.endsWith('\n')).toBe(true);
    expect(line.slice(0, -1)).not.toContain('\n');
    expect(JSON.parse(line)).toEqual({
      id: '17',
      inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 2], data: [1, 2, 3, 4] }],
      outputs: ['y'],
    });
  });

  it('leaves out `outputs` when all are wanted', () => {
    const line = encodeRequest({
      id: '1',
      inputs: [{ name: 's', datatype: 'BYTES', shape: [1], data: ['a\nb'] }],
    });
    expect(JSON.parse(line)).toEqual({
      id: '1',
      inputs: [{ name: 's', datatype: 'BYTES', shape: [1], data: ['a\nb'] }],
    });
  });
});

describe('parseProgramLine', () => {
  it.each([
    ['', { kind: 'blank' }],
    ['   ', { kind: 'blank' }],
    ['{"ready": true}', { kind: 'ready' }],
    ['{"id": "3", "outputs": []}', { kind: 'result', id: '3', outputs: [] }],
    ['{"id": "3", "error": "boom"}', { kind: 'failure', id: '3', message: 'boom', invalidArgument: false }],
    [
      '{"id": "3", "error": "bad x", "code": "invalid_argument"}',
      { kind: 'failure', id: '3', message: 'bad x', invalidArgument: true },
    ],
    [
      '{"id": "3", "error": "busy", "code": "unavailable"}',
      { kind: 'failure', id: '3', message: 'busy', invalidArgument: false },
    ],
  ])('reads %j', (line, expected) => {
    expect(parseProgramLine(line)).toEqual(expected);
  });

  it.each([
    ['Loading model…', /not JSON/],
    ['[1, 2]', /not a JSON object/],
    ['{"ready": false}', /no string "id"/],
    ['{"id": 3, "outputs": []}', /no string "id"/],
  ])('finds %j outside the protocol', (line, reason) => {
    const parsed = parseProgramLine(line);
    expect(parsed).toMatchObject({ kind: 'invalid', reason: expect.stringMatching(reason) });
    expect(parsed).not.toHaveProperty('id');
  });

  it('keeps the id of a response that is neither outputs nor error, so that request can fail', () => {
    expect(parseProgramLine('{"id": "4", "outputs": {}}')).toEqual({
      kind: 'invalid',
      id: '4',
      reason: 'a response needs an "outputs" array or an "error" string',
    });
  });
});
