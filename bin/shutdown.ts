/**
 * Ordered, bounded shutdown for a process: closers run in reverse order of
 * registration, the whole within `limitMs`; a second Ctrl-C or the limit ends
 * the process at once (child process groups are killed by their owners' exit
 * hooks). Nothing waits forever "for ffmpeg".
 */
export function createShutdown(
  log: { info: (o: object | string, m?: string) => void; warn: (o: object | string, m?: string) => void },
  limitMs = 10_000,
  /** Tells a person at the terminal that the signal was heard (the log line may go to a file). */
  announce: (line: string) => void = () => {},
) {
  const closers: { name: string; close: () => Promise<void> }[] = [];
  let shuttingDown = false;

  async function shutdown(signal: string): Promise<void> {
    if (shuttingDown) {
      log.warn(`second ${signal}: exiting now`);
      process.exit(130);
    }
    shuttingDown = true;
    log.info(`${signal}: stopping…`);
    announce('Stopping Skynet…');
    const hard = setTimeout(() => {
      log.warn(`shutdown took longer than ${limitMs} ms: exiting`);
      process.exit(1);
    }, limitMs);
    hard.unref();
    for (const c of [...closers].reverse()) {
      try {
        await c.close();
      } catch (err) {
        log.warn({ err: (err as Error).message }, `${c.name} did not close cleanly`);
      }
    }
    clearTimeout(hard);
    log.info('stopped');
    process.exit(0);
  }

  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  return {
    add(name: string, close: () => Promise<void>) { closers.push({ name, close }); },
    shutdown,
  };
}
