// Graceful shutdown on SIGTERM / SIGINT. The listener drains the local
// dispatcher (see LocalBackend.shutdown) and then gets out of the way: when the
// app has its own listener for the signal, the app decides when to exit (as it
// did before the shim was there); when it has none, the signal is raised again
// with no listener left, so the process ends as Node ends it by default (killed
// by the signal, exit status 128 + n), after the drain instead of before it.
const SIGNALS = ['SIGTERM', 'SIGINT'] as const;

/** Installs the listeners; returns the function that removes them. */
export function installSignalHandlers(onSignal: (signal: NodeJS.Signals) => Promise<void>): () => void {
  const listener = (signal: NodeJS.Signals) => {
    uninstall();
    // Counted now: listeners the app added after ours count too.
    const appListens = process.listenerCount(signal) > 0;
    onSignal(signal)
      .catch(() => {})
      .finally(() => {
        if (!appListens) process.kill(process.pid, signal);
      });
  };
  const uninstall = () => {
    for (const signal of SIGNALS) process.off(signal, listener);
  };
  for (const signal of SIGNALS) process.on(signal, listener);
  return uninstall;
}
