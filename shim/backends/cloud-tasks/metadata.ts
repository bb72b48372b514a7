// The GCE metadata server, which App Engine and Cloud Run instances also have: the
// project id and the instance's region, for settings the environment variables do
// not carry. Plain `fetch`, so this needs no Google package.

type Env = Record<string, string | undefined>;

export const DEFAULT_METADATA_HOST = 'metadata.google.internal';
export const DEFAULT_METADATA_TIMEOUT_MS = 3000;

export interface MetadataServerOptions {
  /** `host` or `host:port` (env GCE_METADATA_HOST, as google-auth-library reads it). */
  host?: string;
  timeoutMs?: number;
}

export class MetadataServer {
  readonly host: string;
  private readonly timeoutMs: number;

  constructor(options: MetadataServerOptions = {}, env: Env = process.env) {
    this.host = options.host ?? (env.GCE_METADATA_HOST || DEFAULT_METADATA_HOST);
    this.timeoutMs = options.timeoutMs ?? DEFAULT_METADATA_TIMEOUT_MS;
  }

  projectId(): Promise<string> {
    return this.get('project/project-id');
  }

  /** `instance/region` answers `projects/123/regions/us-central1`; the last segment is the region. */
  async region(): Promise<string> {
    const value = await this.get('instance/region');
    const region = value.slice(value.lastIndexOf('/') + 1);
    if (!/^[a-z]+-[a-z]+\d+$/.test(region)) throw new Error(`unexpected instance/region ${JSON.stringify(value)}`);
    return region;
  }

  /** One value; rejects with a short reason (unreachable, timeout, status, not a metadata server). */
  private async get(path: string): Promise<string> {
    const url = `http://${this.host}/computeMetadata/v1/${path}`;
    let response: Response;
    try {
      response = await fetch(url, { headers: { 'Metadata-Flavor': 'Google' }, signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (error) {
      const timedOut = (error as Error)?.name === 'TimeoutError';
      throw new Error(timedOut ? `no answer from ${url} within ${this.timeoutMs} ms` : `${url} is unreachable (${describe(error)})`, { cause: error });
    }
    const body = await response.text();
    if (!response.ok) throw new Error(`${url} answered ${response.status}`);
    // Anything else listening on that name (a proxy, a captive portal) is not the metadata server.
    if (response.headers.get('metadata-flavor') !== 'Google') throw new Error(`${url} did not answer as a metadata server (no Metadata-Flavor: Google)`);
    return body.trim();
  }
}

function describe(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } })?.cause;
  return cause?.code ?? cause?.message ?? (error as Error)?.message ?? String(error);
}
