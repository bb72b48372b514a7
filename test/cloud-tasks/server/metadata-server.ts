// A stand-in for the GCE metadata server that App Engine and Cloud Run instances
// have, on a loopback port (point GCE_METADATA_HOST at `host`). It serves the
// values it is given under /computeMetadata/v1/, only to requests carrying
// `Metadata-Flavor: Google`, and answers with that header, as the real one does.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { listen, type Listening } from '../../support/listen.js';

export interface FakeMetadataServer {
  /** `127.0.0.1:port`, the form GCE_METADATA_HOST takes. */
  host: string;
  /** Paths asked for, in order (`project/project-id`, `instance/region`, ...). */
  requests: string[];
  close(): Promise<void>;
}

/** `values`: path under /computeMetadata/v1/ -> body; other paths are 404. `flavor: false` omits the response header (not a metadata server). */
export async function startMetadataServer(values: Record<string, string>, options: { flavor?: boolean } = {}): Promise<FakeMetadataServer> {
  const requests: string[] = [];
  const server: Listening = await listen((req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '').replace(/^\/computeMetadata\/v1\//, '');
    requests.push(path);
    if (options.flavor !== false) res.setHeader('Metadata-Flavor', 'Google');
    if (req.headers['metadata-flavor'] !== 'Google') {
      res.statusCode = 403;
      res.end('Missing Metadata-Flavor: Google header');
      return;
    }
    const value = values[path];
    res.statusCode = value === undefined ? 404 : 200;
    res.setHeader('Content-Type', 'application/text');
    res.end(value ?? 'not found');
  });
  return { host: server.baseUrl.replace(/^http:\/\//, ''), requests, close: () => server.close() };
}
