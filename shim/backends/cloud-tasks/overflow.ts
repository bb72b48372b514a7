// Overflow stores for payloads above the Cloud Tasks size limit. The task carries
// only the key; the Handler fetches the payload at run time and deletes it after
// success or permanent failure. Blobs whose task died without reaching the Handler
// (retries exhausted, task deleted, queue purged) are swept after a TTL.
import { randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger, OverflowStore } from '../../api/types.js';
import { CloudTasksConfigError } from './config.js';

const KEY_PATTERN = /^[A-Za-z0-9_-]{1,200}$/;
const TEMP_SUFFIX = '.partial';
const DEFAULT_SWEEP_INTERVAL_MS = 3600_000;

function checkKey(key: string): string {
  // Keys arrive inside task payloads: never let one name a path outside the store.
  if (typeof key !== 'string' || !KEY_PATTERN.test(key)) throw new TypeError(`Not an overflow key: ${JSON.stringify(key)}`);
  return key;
}

export interface DirectoryOverflowOptions {
  /** Blobs older than this are orphans. */
  ttlMs: number;
  /** At most one background sweep per interval, started by `put` (default 1 h). */
  sweepIntervalMs?: number;
  logger?: Logger;
}

/**
 * One file per payload in a directory. Works across instances when the directory is
 * shared storage (Cloud Storage FUSE, Filestore/NFS); on an instance-local disk it
 * only works while enqueue and execution hit the same instance.
 */
export class DirectoryOverflowStore implements OverflowStore {
  private ready: Promise<unknown> | undefined;
  private lastSweepMs = 0;

  constructor(
    readonly dir: string,
    private readonly options: DirectoryOverflowOptions,
  ) {}

  async put(data: Uint8Array, _meta?: { queue: string; taskName?: string }): Promise<string> {
    await (this.ready ??= mkdir(this.dir, { recursive: true }));
    const key = `ct-${randomUUID()}`;
    const final = join(this.dir, key);
    const temp = `${final}${TEMP_SUFFIX}`;
    // Write then rename: a reader never sees half a payload, even on another machine.
    await writeFile(temp, data, { flag: 'wx' });
    await rename(temp, final);
    this.maybeSweep();
    return key;
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    try {
      return await readFile(join(this.dir, checkKey(key)));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  async delete(key: string): Promise<void> {
    await unlinkIfPresent(join(this.dir, checkKey(key)));
  }

  /** Deletes blobs (and abandoned partial writes) older than the TTL; resolves to how many went. */
  async sweep(nowMs: number = Date.now()): Promise<number> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw error;
    }
    let removed = 0;
    for (const name of names) {
      const bare = name.endsWith(TEMP_SUFFIX) ? name.slice(0, -TEMP_SUFFIX.length) : name;
      if (!KEY_PATTERN.test(bare)) continue; // not ours
      const path = join(this.dir, name);
      const info = await stat(path).catch(() => undefined);
      if (info && nowMs - info.mtimeMs > this.options.ttlMs && (await unlinkIfPresent(path))) removed++;
    }
    return removed;
  }

  private maybeSweep(): void {
    const now = Date.now();
    if (now - this.lastSweepMs < (this.options.sweepIntervalMs ?? DEFAULT_SWEEP_INTERVAL_MS)) return;
    this.lastSweepMs = now;
    this.sweep(now).catch((error: unknown) => this.options.logger?.warn('overflow sweep failed', { dir: this.dir, error }));
  }
}

/** The default when no overflow store is configured: oversize payloads are refused with a clear error, nothing is stored. */
export class UnconfiguredOverflowStore implements OverflowStore {
  constructor(private readonly limitBytes: number) {}

  async put(data: Uint8Array): Promise<string> {
    throw new CloudTasksConfigError(
      `A task payload of ${data.length} bytes does not fit the Cloud Tasks size limit (${this.limitBytes} bytes) and no overflow store is configured: ` +
        'set overflowDir (DEFERRED_CLOUD_TASKS_OVERFLOW_DIR) to a directory every instance shares, or pass overflowStore (e.g. GcsOverflowStore).',
    );
  }

  async get(): Promise<undefined> {
    return undefined;
  }

  async delete(): Promise<void> {}
}

export interface GcsOverflowOptions {
  bucket: string;
  /** Object name prefix (default `deferred-overflow/`). */
  prefix?: string;
  /** JSON API root (default `https://storage.googleapis.com`); tests point it elsewhere. */
  endpoint?: string;
  /** OAuth access token source; default Application Default Credentials via google-auth-library. */
  accessToken?: () => Promise<string>;
}

/**
 * Payloads as Cloud Storage objects through the JSON API (`fetch`, no extra
 * dependency). The production choice: shared by every instance. Expire orphans
 * with a bucket lifecycle rule (`age` > 31 days on the prefix) instead of a sweep.
 */
export class GcsOverflowStore implements OverflowStore {
  private readonly prefix: string;
  private readonly endpoint: string;
  private tokenSource: (() => Promise<string>) | undefined;

  constructor(private readonly options: GcsOverflowOptions) {
    if (!options.bucket) throw new CloudTasksConfigError('GcsOverflowStore needs a bucket.');
    this.prefix = options.prefix ?? 'deferred-overflow/';
    this.endpoint = (options.endpoint ?? 'https://storage.googleapis.com').replace(/\/$/, '');
    this.tokenSource = options.accessToken;
  }

  async put(data: Uint8Array, _meta?: { queue: string; taskName?: string }): Promise<string> {
    const key = `ct-${randomUUID()}`;
    const url = `${this.endpoint}/upload/storage/v1/b/${encodeURIComponent(this.options.bucket)}/o?uploadType=media&name=${encodeURIComponent(this.prefix + key)}&ifGenerationMatch=0`;
    await this.call('POST', url, data);
    return key;
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    const response = await this.call('GET', `${this.objectUrl(key)}?alt=media`, undefined, true);
    return response ? new Uint8Array(await response.arrayBuffer()) : undefined;
  }

  async delete(key: string): Promise<void> {
    await this.call('DELETE', this.objectUrl(key), undefined, true);
  }

  private objectUrl(key: string): string {
    return `${this.endpoint}/storage/v1/b/${encodeURIComponent(this.options.bucket)}/o/${encodeURIComponent(this.prefix + checkKey(key))}`;
  }

  private async call(method: string, url: string, body?: Uint8Array, notFoundOk = false): Promise<Response | undefined> {
    const token = await this.token();
    const response = await fetch(url, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/octet-stream' } : {}) },
      body: body ? new Uint8Array(body) : undefined,
      signal: AbortSignal.timeout(30_000),
    });
    if (notFoundOk && response.status === 404) return undefined;
    if (!response.ok) {
      throw new Error(`Cloud Storage ${method} ${url.split('?')[0]} failed: ${response.status} ${(await response.text()).slice(0, 300)}`);
    }
    return response;
  }

  private async token(): Promise<string> {
    if (!this.tokenSource) {
      const { GoogleAuth } = await import('google-auth-library');
      const auth = new GoogleAuth({ scopes: ['https://www.googleapis.com/auth/devstorage.read_write'] });
      this.tokenSource = async () => {
        const token = await auth.getAccessToken();
        if (!token) throw new CloudTasksConfigError('No access token for Cloud Storage: configure Application Default Credentials.');
        return token;
      };
    }
    return this.tokenSource();
  }
}

async function unlinkIfPresent(path: string): Promise<boolean> {
  try {
    await unlink(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}
