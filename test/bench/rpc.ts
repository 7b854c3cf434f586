/**
 * A tiny request/response protocol over a forked child's IPC channel, so the bench can run the
 * gateway, the minimal proxy and the fake upstream each in its own process (its own event loop and
 * its own RSS) and still ask them things.
 */
import { type ChildProcess, fork } from 'node:child_process';

type Handler = (args: never) => unknown;
type Handlers = Record<string, Handler>;

interface Call {
  id: number;
  cmd: string;
  args: unknown;
}

type Reply = { id: number; result: unknown } | { id: number; error: string };

const READY = '__rpc_ready__';

/**
 * In a child: answers the parent's calls with `handlers` (and `clock`: its `performance.now()`),
 * and exits when the parent goes away (Ctrl-C, crash), so nothing is left running.
 *
 * @example
 * serveRpc({ ping: () => 'pong' });
 */
export const serveRpc = (handlers: Handlers): void => {
  if (!process.send) throw new Error('this module runs as a forked child of test/bench/run.ts');
  process.on('disconnect', () => process.exit(0));
  // Every child answers `clock`, so the parent can put the child's timestamps on its own clock.
  const all: Handlers = { clock: () => performance.now(), ...handlers };
  process.on('message', (message: Call) => {
    const handler = all[message.cmd];
    const reply = (body: Omit<Reply, 'id'>): void => void process.send?.({ id: message.id, ...body });
    if (!handler) {
      reply({ error: `unknown command ${message.cmd}` });
      return;
    }
    Promise.resolve()
      .then(() => handler(message.args as never))
      .then(
        (result) => reply({ result: result ?? null }),
        (error: unknown) => reply({ error: error instanceof Error ? (error.stack ?? error.message) : String(error) }),
      );
  });
  // Messages that arrive before a listener exists are dropped: the parent waits for this one.
  process.send(READY);
};

/** The parent's end of one child. */
export interface RpcChild {
  process: ChildProcess;
  call<T>(cmd: string, args?: unknown): Promise<T>;
  stop(): Promise<void>;
}

/**
 * Forks `module` (a .ts file; Node strips the types) and waits until it serves calls.
 *
 * @example
 * const proxy = await forkRpc(new URL('./minimal-proxy.ts', import.meta.url));
 * const { url } = await proxy.call<{ url: string }>('start', { upstreamUrl });
 * await proxy.stop();
 */
export const forkRpc = async (
  module: URL,
  options: { env?: NodeJS.ProcessEnv; execArgv?: string[] } = {},
): Promise<RpcChild> => {
  const child = fork(module, [], {
    env: options.env ?? process.env,
    execArgv: options.execArgv ?? [],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let next = 0;
  const waiting = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ready = new Promise<void>((resolve, reject) => {
    child.on('message', (message) => {
      if (message === READY) resolve();
    });
    child.once('exit', (code, signal) => reject(new Error(`${module.pathname} exited (${signal ?? code}) on start`)));
  });
  child.on('message', (reply: Reply) => {
    if (typeof reply !== 'object') return;
    const pending = waiting.get(reply.id);
    if (!pending) return;
    waiting.delete(reply.id);
    if ('error' in reply) pending.reject(new Error(`${module.pathname}: ${reply.error}`));
    else pending.resolve(reply.result);
  });
  child.once('exit', (code, signal) => {
    for (const pending of waiting.values()) {
      pending.reject(new Error(`${module.pathname} exited (${signal ?? code}) before answering`));
    }
    waiting.clear();
  });
  const call = <T>(cmd: string, args?: unknown): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      if (!child.connected) {
        reject(new Error(`${module.pathname} is not running`));
        return;
      }
      next += 1;
      waiting.set(next, { resolve: resolve as (value: unknown) => void, reject });
      child.send({ id: next, cmd, args } satisfies Call);
    });
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    // Disconnecting lets the child exit by itself (and write a --cpu-prof profile); signals if it does not.
    if (child.connected) child.disconnect();
    const term = setTimeout(() => child.kill('SIGTERM'), 3_000);
    const kill = setTimeout(() => child.kill('SIGKILL'), 6_000);
    await exited;
    clearTimeout(term);
    clearTimeout(kill);
  };
  try {
    await ready;
  } catch (error) {
    await stop();
    throw error;
  }
  return { process: child, call, stop };
};
