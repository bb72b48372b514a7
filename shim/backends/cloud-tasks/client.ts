// The `@google-cloud/tasks` client built from the Cloud Tasks configuration keys
// (endpoint, credentials, transport), shared by the backend (CreateTask), the
// queue tooling (`queues plan/apply`) and the operations of the `queues`/`tasks`
// CLI. The package is loaded with import() here only: apps on the embedded
// backend never need it installed.
import { CloudTasksConfigError, type CloudTasksConfig } from './config.js';

/**
 * The client. Only the credentials lookup, which may wait on the network, has
 * `timeoutMs`; loading the packages has none. `T` is the caller's view of the
 * client (the methods it calls), so no type of the optional package leaks into
 * the shim's declarations.
 */
export async function createCloudTasksClient<T>(config: CloudTasksConfig, project: string | undefined, timeoutMs: number): Promise<T> {
  const options: Record<string, unknown> = { ...config.clientOptions };
  const c = config;
  if (c.apiEndpoint) options.apiEndpoint = c.apiEndpoint;
  if (c.port) options.port = c.port;
  if (c.credentials) options.credentials = c.credentials;
  if (c.keyFilename) options.keyFilename = c.keyFilename;
  if (c.fallback !== undefined) options.fallback = c.fallback;
  if (project) options.projectId = project;
  if (c.sslCreds) {
    options.sslCreds = c.sslCreds;
  } else if (c.insecure && c.fallback) {
    options.protocol ??= 'http';
    options.authClient ??= anonymousRestAuth();
  } else if (c.insecure) {
    options.sslCreds = await insecureChannelCredentials();
  }
  const credentialsGiven = options.sslCreds !== undefined || options.auth !== undefined || options.authClient !== undefined;
  // Explicit channel credentials or auth client: skip the universe-domain lookup,
  // which would otherwise probe the metadata server.
  if ((options.sslCreds || options.authClient) && options.universeDomain === undefined) options.universeDomain = 'googleapis.com';
  if (!credentialsGiven) options.auth = await loadGoogleCredentials(options, timeoutMs);
  let module: { CloudTasksClient: new (options: Record<string, unknown>) => T };
  try {
    module = (await import('@google-cloud/tasks')) as unknown as typeof module;
  } catch (error) {
    throw new CloudTasksConfigError('The Cloud Tasks backend needs the @google-cloud/tasks package: npm install @google-cloud/tasks@6', { cause: error });
  }
  return new module.CloudTasksClient(options);
}

/**
 * Application Default Credentials (or the configured key), loaded before the client
 * exists: a missing key file or ADC is a clear error here, instead of a raw ENOENT
 * from inside the client and a rejected promise nobody handles.
 */
async function loadGoogleCredentials(options: Record<string, unknown>, timeoutMs: number): Promise<unknown> {
  const { GoogleAuth } = await import('google-auth-library');
  const auth = new GoogleAuth({
    scopes: ['https://www.googleapis.com/auth/cloud-platform'],
    ...(options.credentials ? { credentials: options.credentials as Record<string, string> } : {}),
    ...(options.keyFilename ? { keyFilename: options.keyFilename as string } : {}),
    ...(options.projectId ? { projectId: options.projectId as string } : {}),
  });
  const lookup = auth.getClient();
  try {
    await withDeadline(lookup, timeoutMs, () =>
      new CloudTasksConfigError(`Loading Google credentials for Cloud Tasks took longer than ${timeoutMs} ms (metadata server unreachable?).`),
    );
  } catch (error) {
    if (error instanceof CloudTasksConfigError) throw error; // the deadline
    const source = options.keyFilename
      ? `keyFilename ${JSON.stringify(options.keyFilename)}`
      : options.credentials
        ? 'the credentials option'
        : 'Application Default Credentials (GOOGLE_APPLICATION_CREDENTIALS, gcloud auth application-default login, or the metadata server)';
    throw new CloudTasksConfigError(
      `No usable Google credentials for Cloud Tasks from ${source}: ${(error as Error)?.message ?? String(error)}. ` +
        'Set credentials or keyFilename, GOOGLE_APPLICATION_CREDENTIALS, or run where Application Default Credentials exist.',
      { cause: error },
    );
  }
  return auth;
}

/** The REST transport's auth client for `insecure`: no credentials, plain `fetch`. */
function anonymousRestAuth() {
  return {
    universeDomain: 'googleapis.com',
    getRequestHeaders: async () => new Headers(),
    fetch: (url: string, init: RequestInit) => fetch(url, { method: init.method, headers: init.headers, body: init.body, signal: init.signal }),
  };
}

async function insecureChannelCredentials(): Promise<unknown> {
  for (const name of ['@grpc/grpc-js', 'google-gax']) {
    try {
      const mod = (await import(name)) as { credentials?: { createInsecure(): unknown }; grpc?: { credentials: { createInsecure(): unknown } } };
      const credentials = mod.credentials ?? mod.grpc?.credentials;
      if (credentials) return credentials.createInsecure();
    } catch {
      // try the next package
    }
  }
  throw new CloudTasksConfigError('insecure (DEFERRED_CLOUD_TASKS_INSECURE) needs @grpc/grpc-js to be resolvable; or pass sslCreds.');
}

export function withDeadline<T>(work: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
    timer.unref?.();
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}
