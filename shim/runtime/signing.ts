// The proof that a task request comes from the local dispatcher: an HMAC-SHA256
// over the queue, the task name and the SHA-256 of the body, keyed with the
// runtime's signing secret. Production mode refuses task requests without it.
import { createHmac, createSecretKey, hash, timingSafeEqual, type KeyObject } from 'node:crypto';

export const SIGNATURE_HEADER = 'X-Deferred-Signature';
export const SIGNATURE_ENVIRON_KEY = 'HTTP_X_DEFERRED_SIGNATURE';

export interface SignedFields {
  queue: string;
  taskName: string;
  body: Uint8Array;
}

// The secret as a key object, made once per secret rather than once per task.
let lastKey: { secret: string; key: KeyObject } | undefined;

function keyFor(secret: string): KeyObject {
  if (lastKey?.secret !== secret) lastKey = { secret, key: createSecretKey(Buffer.from(secret, 'utf8')) };
  return lastKey.key;
}

export function signTask(secret: string, fields: SignedFields): string {
  // One-shot: no Hash object per task.
  const bodyDigest = hash('sha256', fields.body, 'hex');
  // Length-prefixed so that no two (queue, name) pairs produce the same input.
  const input = `v1\n${fields.queue.length}:${fields.queue}\n${fields.taskName.length}:${fields.taskName}\n${bodyDigest}`;
  return createHmac('sha256', keyFor(secret)).update(input).digest('base64url');
}

export function verifyTaskSignature(secret: string, fields: SignedFields, signature: string | undefined): boolean {
  if (typeof signature !== 'string' || signature.length === 0) return false;
  const expected = Buffer.from(signTask(secret, fields));
  const given = Buffer.from(signature);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
