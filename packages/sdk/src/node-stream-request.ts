/**
 * A request whose body is a Node stream, sent with node:http(s) and piped:
 * fetch turns a Node stream into a web stream and copies every piece on the
 * way, which costs more CPU than reading the file. Answers a fetch `Response`
 * so callers cannot tell the difference; the answer body is buffered (the
 * server answers uploads with small JSON).
 */
export interface NodeStreamBody {
  pipe(destination: NodeJS.WritableStream): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  destroy?(error?: Error): unknown;
}

export function isNodeStream(body: unknown): body is NodeStreamBody {
  return (
    typeof body === 'object' &&
    body !== null &&
    typeof (body as { pipe?: unknown }).pipe === 'function' &&
    typeof (body as { on?: unknown }).on === 'function' &&
    typeof process !== 'undefined' &&
    typeof process.versions?.node === 'string'
  );
}

export async function sendNodeStream(
  url: string,
  request: { method: string; headers: Record<string, string>; body: NodeStreamBody; timeoutMs: number },
): Promise<Response> {
  const target = new URL(url);
  const http = target.protocol === 'https:' ? await import('node:https') : await import('node:http');
  return new Promise<Response>((resolve, reject) => {
    const outgoing = http.request(target, { method: request.method, headers: request.headers });
    const fail = (error: Error) => {
      request.body.destroy?.(error);
      outgoing.destroy(error);
      reject(error);
    };
    outgoing.setTimeout(request.timeoutMs, () =>
      fail(Object.assign(new Error('request timed out'), { name: 'TimeoutError' })),
    );
    outgoing.on('error', fail);
    request.body.on('error', fail);
    outgoing.on('response', (incoming) => {
      const parts: Buffer[] = [];
      incoming.on('data', (part: Buffer) => parts.push(part));
      incoming.on('error', fail);
      incoming.on('end', () => {
        const headers = new Headers();
        for (const [name, value] of Object.entries(incoming.headers)) {
          if (typeof value === 'string') headers.set(name, value);
          else if (Array.isArray(value)) for (const v of value) headers.append(name, v);
        }
        const status = incoming.statusCode ?? 500;
        const body = status === 204 || status === 304 ? null : Buffer.concat(parts);
        resolve(new Response(body, { status, headers }));
      });
    });
    request.body.pipe(outgoing);
  });
}
