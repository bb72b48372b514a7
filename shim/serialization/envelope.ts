// The task payload: a versioned JSON envelope.
//   v1   {"v":1,"fn":name,"args":[encoded values]}   (codec.ts tags)
//   v1   {"v":1,"overflow":key}                       payload kept in the backend's overflow store
//   v0   {"fn":name,"args":[plain JSON]}              the legacy reference runtime's format, still run
// Newer versions than this release knows are refused with a clear error.
import { NotRegisteredError, PayloadDecodeError, PermanentTaskFailure } from '../api/errors.js';
import { requireName, resolveTaskFunction } from '../api/registry.js';
import { getRuntime } from '../runtime/runtime.js';
import { copyPlainJson, decodeValue, encodeValue } from './codec.js';

export const ENVELOPE_VERSION = 1;
/** Largest payload `defer` writes and `run` reads (overflowed payloads included). */
export const MAX_PAYLOAD_BYTES = 32 * 1024 * 1024;

export type Envelope =
  | { kind: 'call'; version: 0 | 1; fn: string; args: unknown[] }
  | { kind: 'overflow'; key: string };

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Payload of a call of the function registered as `name`; throws `UnserializableArgumentError` naming the bad argument. */
export function encodeCall(name: string, args: readonly unknown[]): Uint8Array {
  const encoded = args.map((arg, i) => encodeValue(arg, `argument ${i + 1}`));
  return Buffer.from(JSON.stringify({ v: ENVELOPE_VERSION, fn: name, args: encoded }));
}

export function encodeOverflow(key: string): Uint8Array {
  return Buffer.from(JSON.stringify({ v: ENVELOPE_VERSION, overflow: key }));
}

/** Parses any envelope version; throws `PayloadDecodeError` saying what is wrong. */
export function decodeEnvelope(data: Uint8Array | string): Envelope {
  const size = typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength;
  if (size === 0) throw new PayloadDecodeError('empty task payload');
  if (size > MAX_PAYLOAD_BYTES) throw new PayloadDecodeError(`task payload of ${size} bytes exceeds ${MAX_PAYLOAD_BYTES}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(typeof data === 'string' ? data : utf8.decode(data));
  } catch (error) {
    throw new PayloadDecodeError(`task payload is not a JSON envelope: ${(error as Error).message}`, { cause: error });
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new PayloadDecodeError('task payload is not an envelope object');
  }
  const envelope = parsed as Record<string, unknown>;
  if (!Object.prototype.hasOwnProperty.call(envelope, 'v')) {
    const { fn, args } = requireCallShape(envelope, 0);
    return { kind: 'call', version: 0, fn, args: copyPlainJson(args) as unknown[] };
  }
  if (envelope.v !== ENVELOPE_VERSION) {
    throw new PayloadDecodeError(
      `task payload has envelope version ${JSON.stringify(envelope.v)}; this release reads versions 0 and ${ENVELOPE_VERSION} ` +
        '(was it enqueued by a newer release?)',
    );
  }
  if (typeof envelope.overflow === 'string') return { kind: 'overflow', key: envelope.overflow };
  const { fn, args } = requireCallShape(envelope, 1);
  return { kind: 'call', version: 1, fn, args: args.map((arg) => decodeValue(arg)) };
}

function requireCallShape(envelope: Record<string, unknown>, version: number): { fn: string; args: unknown[] } {
  const { fn, args } = envelope;
  if (typeof fn !== 'string' || fn.length === 0 || !Array.isArray(args)) {
    throw new PayloadDecodeError(`task payload (envelope v${version}) needs a string "fn" and an array "args"`);
  }
  return { fn, args };
}

/** The payload of `fn(...args)`, as `defer` would enqueue it (`fn` must be registered). */
export function serialize(fn: (...args: never[]) => unknown, ...args: unknown[]): Uint8Array {
  return encodeCall(requireName(fn), args);
}

/**
 * Runs a payload: decodes it and calls the registered function, awaiting and
 * returning its result. Undecodable payloads and unknown names raise
 * `PermanentTaskFailure` (with the cause); errors of the function propagate.
 * An overflow reference is fetched from the runtime backend's overflow store and
 * deleted after success or permanent failure (kept for a retry otherwise).
 */
export async function run(data: Uint8Array | string): Promise<unknown> {
  const envelope = decodeOrFail(data);
  if (envelope.kind === 'call') return call(envelope);
  const overflow = getRuntime().backend.overflow;
  const stored = await overflow.get(envelope.key);
  if (stored === undefined) {
    throw new PermanentTaskFailure(`the overflow payload ${envelope.key} of this task is gone (deleted, or swept after the task died)`);
  }
  let result: unknown;
  try {
    const inner = decodeOrFail(stored);
    if (inner.kind !== 'call') throw new PermanentTaskFailure(`overflow payload ${envelope.key} points at another overflow payload`);
    result = await call(inner);
  } catch (error) {
    if (error instanceof PermanentTaskFailure) await overflow.delete(envelope.key);
    throw error;
  }
  await overflow.delete(envelope.key);
  return result;
}

function decodeOrFail(data: Uint8Array | string): Envelope {
  try {
    return decodeEnvelope(data);
  } catch (error) {
    throw new PermanentTaskFailure(`cannot decode the task payload: ${(error as Error).message}`, { cause: error });
  }
}

async function call(envelope: Extract<Envelope, { kind: 'call' }>): Promise<unknown> {
  let fn;
  try {
    fn = await resolveTaskFunction(envelope.fn);
  } catch (error) {
    if (error instanceof NotRegisteredError) throw new PermanentTaskFailure(error.message, { cause: error });
    throw error;
  }
  return await fn(...envelope.args);
}
