import { tensorToJson } from '../tensors/tensor-json.js';
import type { Tensor } from '../tensors/tensor.js';

/** The request line sent to a model program (see command-runtime.ts for the protocol). */
export interface ProgramRequest {
  id: string;
  inputs: readonly Tensor[];
  outputs?: readonly string[] | undefined;
}

/** One line a model program wrote on its stdout, read. */
export type ProgramLine =
  | { kind: 'blank' }
  | { kind: 'ready' }
  | { kind: 'result'; id: string; outputs: unknown[] }
  | { kind: 'failure'; id: string; message: string; invalidArgument: boolean }
  /** Not a message of the protocol; `id` when the line still names a request. */
  | { kind: 'invalid'; reason: string; id?: string };

export function encodeRequest(request: ProgramRequest): string {
  const line = {
    id: request.id,
    inputs: request.inputs.map((tensor) => tensorToJson(tensor)),
    ...(request.outputs === undefined ? {} : { outputs: request.outputs }),
  };
  return `${JSON.stringify(line)}\n`;
}

export function parseProgramLine(line: string): ProgramLine {
  if (line.trim() === '') return { kind: 'blank' };
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return { kind: 'invalid', reason: `not JSON: ${excerpt(line)}` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { kind: 'invalid', reason: `not a JSON object: ${excerpt(line)}` };
  }
  const message = value as Record<string, unknown>;
  const { id } = message;
  if (message['ready'] === true && id === undefined) return { kind: 'ready' };
  if (typeof id !== 'string') {
    return { kind: 'invalid', reason: `no string "id" and not {"ready": true}: ${excerpt(line)}` };
  }
  if (Array.isArray(message['outputs'])) return { kind: 'result', id, outputs: message['outputs'] };
  if (typeof message['error'] === 'string') {
    const invalidArgument = message['code'] === 'invalid_argument';
    return { kind: 'failure', id, message: message['error'], invalidArgument };
  }
  return { kind: 'invalid', id, reason: 'a response needs an "outputs" array or an "error" string' };
}

function excerpt(line: string): string {
  return JSON.stringify(line.length > 200 ? `${line.slice(0, 200)}…` : line);
}
