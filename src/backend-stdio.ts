/** The stdio transport to a backend: a child process speaking newline-delimited JSON-RPC on its stdin and stdout. */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { constants } from 'node:os';
import { Observable, type Subscriber } from 'rxjs';
import { ConnectError, ConnectionClosedError } from '../streams/core/errors.js';
import type { BackendLink, OpenLink } from '../streams/rpc/link.js';
import type { BackendEntry, StdioCommand } from '../streams/config/schema.js';

/** a stderr line is a log event: keep its head, not a runaway dump */
const MAX_STDERR_LINE_BYTES = 4_096;
/** SIGTERM first; a process still alive this long after gets SIGKILL */
const KILL_GRACE_MS = 1_000;
/** after an exit, stdout may still hold the last frames; after stdout closes, the exit may be a moment behind */
const SETTLE_MS = 1_000;

type Child = ChildProcessWithoutNullStreams;

// No orphans. What we rely on, strongest first:
// 1. stdin EOF: the child's stdin is a pipe whose only writer is this process. When the relay closes it (teardown)
//    or dies in any way, SIGKILL included, the child reads EOF, and an MCP stdio server exits on EOF (the SDKs'
//    servers do). Wrappers' children (npx, uvx, sh -c) inherit the same pipe and see the same EOF.
// 2. teardown: stdin closed, SIGTERM, SIGKILL after KILL_GRACE_MS.
// 3. process 'exit' of the relay: every child still alive gets SIGKILL, since nothing can escalate after it.
// 4. detached: false (the default): children stay in the relay's process group, so a terminal's Ctrl-C or a
//    supervisor's group kill reaches them too.
// Not covered: a child that ignores both EOF and SIGTERM, when the relay is SIGKILLed (no handler runs; Linux's
// PR_SET_PDEATHSIG would need native code).
const live = new Set<Child>();
let exitHookInstalled = false;

function track(child: Child): void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      for (const running of live) running.kill('SIGKILL');
    });
  }
  live.add(child);
  child.once('exit', () => live.delete(child));
}

const isRunning = (child: Child): boolean => child.exitCode === null && child.signalCode === null;

function stopProcess(child: Child): void {
  child.stdin.destroy();
  if (!isRunning(child)) return;
  child.kill('SIGTERM');
  const escalate = setTimeout(() => {
    if (isRunning(child)) child.kill('SIGKILL');
  }, KILL_GRACE_MS).unref();
  child.once('exit', () => clearTimeout(escalate));
}

/** Says what failed without the env (its values are secrets) and without Node's argument dumps. */
function describeSpawnError(error: unknown, command: StdioCommand): string {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  const where = command.cwd === null ? '' : ` in cwd '${command.cwd}'`;
  switch (code) {
    case 'ENOENT':
      return `cannot start '${command.command}'${where}: not found (ENOENT); check the command, PATH${command.cwd === null ? '' : ' and cwd'}`;
    case 'EACCES':
      return `cannot start '${command.command}'${where}: permission denied (EACCES); is it executable?`;
    default:
      return `cannot start '${command.command}'${where}: ${code ?? 'invalid command, arguments, env or cwd'}`;
  }
}

/** Shell convention for a signal death (SIGKILL is 137), so ConnectionClosedError always has a code to show. */
function describeExit(code: number | null, signal: NodeJS.Signals | null): { code: number | undefined; reason: string } {
  if (signal !== null) {
    const number = (constants.signals as Partial<Record<NodeJS.Signals, number>>)[signal];
    return { code: number === undefined ? undefined : 128 + number, reason: `killed by ${signal}` };
  }
  return { code: code ?? undefined, reason: `process exited with code ${code}` };
}

/**
 * Splits bytes at \n before decoding, so a UTF-8 character split across chunks stays whole; keeps at most
 * maxBytes of each line (the caller learns the full length) and drops a trailing \r.
 */
class LineSplitter {
  private parts: Buffer[] = [];
  private kept = 0;
  private lastByte = -1;
  /** bytes of the unfinished line, kept or not */
  pendingBytes = 0;

  constructor(
    private readonly maxBytes: number,
    private readonly onLine: (line: string, bytes: number) => void,
  ) {}

  push(chunk: Buffer): void {
    let start = 0;
    for (let newline = chunk.indexOf(0x0a); newline !== -1; newline = chunk.indexOf(0x0a, start)) {
      this.keep(chunk.subarray(start, newline));
      this.flush();
      start = newline + 1;
    }
    if (start < chunk.length) this.keep(chunk.subarray(start));
  }

  /** the stream ended: a last line without a newline still counts */
  end(): void {
    if (this.pendingBytes > 0) this.flush();
  }

  private keep(part: Buffer): void {
    if (part.length === 0) return;
    this.pendingBytes += part.length;
    this.lastByte = part[part.length - 1] ?? -1;
    const room = this.maxBytes - this.kept;
    if (room <= 0) return;
    const head = part.length <= room ? part : part.subarray(0, room);
    this.parts.push(head);
    this.kept += head.length;
  }

  private flush(): void {
    const head = this.parts.length === 1 ? (this.parts[0] as Buffer) : Buffer.concat(this.parts, this.kept);
    let line = head.toString('utf8');
    let bytes = this.pendingBytes;
    if (this.lastByte === 0x0d) {
      bytes -= 1;
      if (line.endsWith('\r')) line = line.slice(0, -1);
    }
    this.parts = [];
    this.kept = 0;
    this.pendingBytes = 0;
    this.lastByte = -1;
    this.onLine(line, bytes);
  }
}

const isBlank = (line: string): boolean => /^\s*$/.test(line);

/** Every stderr line goes to onStderr, from spawn to the stream's end: an undrained stderr pipe would block the child. */
function reportStderr(child: Child, backend: string, onStderr: (backend: string, line: string) => void): void {
  const splitter = new LineSplitter(MAX_STDERR_LINE_BYTES, (line, bytes) => {
    if (isBlank(line)) return;
    try {
      onStderr(backend, bytes > MAX_STDERR_LINE_BYTES ? `${line}… [truncated: the line had ${bytes} bytes]` : line);
    } catch {
      // a failing log sink must not take the relay down with an uncaught exception in an event handler
    }
  });
  child.stderr.on('data', (chunk: Buffer) => splitter.push(chunk));
  child.stderr.once('end', () => splitter.end());
  child.stderr.on('error', () => {});
}

function linkFor(child: Child, entry: BackendEntry): BackendLink {
  const maxBytes = entry.settings.maxMessageBytes;
  const subscribers = new Set<Subscriber<string>>();
  let closedBy: ConnectionClosedError | null = null;
  let exit: { code: number | null; signal: NodeJS.Signals | null } | null = isRunning(child) ? null : { code: child.exitCode, signal: child.signalCode };
  let stdoutEnded = false;
  /** why we ended it ourselves (a message over maxMessageBytes); null: the process ended on its own */
  let cause: string | null = null;
  let settleTimer: NodeJS.Timeout | null = null;
  let reading = false;

  const close = () => {
    if (closedBy) return;
    if (settleTimer) clearTimeout(settleTimer);
    const ended = exit ? describeExit(exit.code, exit.signal) : { code: undefined, reason: 'the process closed its stdout' };
    closedBy = new ConnectionClosedError(entry.name, ended.code, cause ?? ended.reason);
    const current = [...subscribers];
    subscribers.clear();
    for (const subscriber of current) subscriber.error(closedBy);
  };
  // the link ends once both the exit and the end of stdout are in, or SETTLE_MS after the first of them
  const settle = () => {
    if (closedBy) return;
    if (exit && (stdoutEnded || cause !== null)) close();
    else settleTimer ??= setTimeout(close, SETTLE_MS).unref();
  };

  const overflow = (bytes: number, complete: boolean) => {
    cause = `a message from the backend was larger than maxMessageBytes (${maxBytes} bytes, got ${bytes}${complete ? '' : ' and counting'}); the process was killed`;
    child.stdout.destroy();
    child.kill('SIGKILL');
    settle();
  };
  const splitter = new LineSplitter(maxBytes, (line, bytes) => {
    if (cause !== null) return;
    if (bytes > maxBytes) return overflow(bytes, true);
    if (isBlank(line)) return;
    for (const subscriber of [...subscribers]) subscriber.next(line);
  });
  const onData = (chunk: Buffer) => {
    if (cause !== null) return;
    splitter.push(chunk);
    // a runaway line without a newline must not grow without bound
    if (cause === null && splitter.pendingBytes > maxBytes) overflow(splitter.pendingBytes, false);
  };
  const onStdoutEnd = () => {
    if (stdoutEnded) return;
    stdoutEnded = true;
    if (cause === null) splitter.end();
    settle();
  };
  child.stdout.once('end', onStdoutEnd);
  child.stdout.once('close', onStdoutEnd);
  child.stdout.on('error', () => {});
  child.once('exit', (code, signal) => {
    exit = { code, signal };
    settle();
  });
  if (exit) settle();

  const frames$ = new Observable<string>((subscriber) => {
    if (closedBy) {
      subscriber.error(closedBy);
      return undefined;
    }
    subscribers.add(subscriber);
    // stdout flows only once someone listens: until then the pipe holds what the backend wrote
    if (!reading) {
      reading = true;
      child.stdout.on('data', onData);
    }
    return () => subscribers.delete(subscriber);
  });

  return {
    frames$,
    send: (frame) => {
      if (closedBy || exit || cause !== null || !child.stdin.writable) return false;
      child.stdin.write(`${frame}\n`);
      return true;
    },
  };
}

/** Spawns the entry's command (no shell); the link comes once the process is running, and its stderr lines go to onStderr. */
export const openStdioLinkWith =
  (onStderr: (backend: string, line: string) => void): OpenLink =>
  (entry) =>
    new Observable<BackendLink>((subscriber) => {
      const command = entry.command;
      if (command === null) {
        subscriber.error(new ConnectError(entry.name, entry.url, 'not a command: backend'));
        return undefined;
      }
      let child: Child;
      try {
        child = spawn(command.command, command.args, {
          env: { ...process.env, ...command.env },
          ...(command.cwd === null ? {} : { cwd: command.cwd }),
          stdio: 'pipe',
          detached: false,
          windowsHide: true,
        });
      } catch (error: unknown) {
        // Node's message for a bad argument quotes the value, which may be an env secret: use the code only
        subscriber.error(new ConnectError(entry.name, entry.url, describeSpawnError(error, command)));
        return undefined;
      }
      let spawned = false;
      // a write to a process that just died fails with EPIPE: the exit is what reports it
      child.stdin.on('error', () => {});
      child.on('error', (error) => {
        if (!spawned) subscriber.error(new ConnectError(entry.name, entry.url, describeSpawnError(error, command)));
      });
      if (child.pid !== undefined) track(child);
      reportStderr(child, entry.name, onStderr);
      child.once('spawn', () => {
        spawned = true;
        subscriber.next(linkFor(child, entry));
      });
      return () => stopProcess(child);
    });

export const openStdioLink: OpenLink = openStdioLinkWith(() => {});
