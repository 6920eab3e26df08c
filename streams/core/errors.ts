/** Typed errors: each carries the facts a person needs, and says what to do next. */
import { redactUrl } from './redact.js';

const STATUS_HINT = "call relay_get_status to see every backend's health, or relay_reconnect_server to reconnect it";

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly file: string,
    readonly detail: string,
    readonly line?: number,
    readonly field?: string,
  ) {
    super(`${file}${line === undefined ? '' : `:${line}`}: ${field === undefined ? '' : `${field}: `}${detail}`);
  }
}

/** The URL is redacted here, so no caller can leak its user-info or query into status or logs. */
export class ConnectError extends Error {
  override readonly name = 'ConnectError';
  readonly url: string;
  constructor(
    readonly backend: string,
    url: string,
    readonly reason: string,
  ) {
    super(`cannot connect to backend '${backend}' at ${redactUrl(url)}: ${reason}`);
    this.url = redactUrl(url);
  }
}

export class ConnectionClosedError extends Error {
  override readonly name = 'ConnectionClosedError';
  constructor(
    readonly backend: string,
    readonly code?: number,
    readonly reason?: string,
    /** ids of requests the transport knows never reached the backend (a refused HTTP POST): safe to send again */
    readonly unsent: ReadonlySet<number | string> = new Set(),
  ) {
    const detail = [code === undefined ? '' : `code ${code}`, reason ?? ''].filter(Boolean).join(': ');
    super(`connection to backend '${backend}' closed${detail ? ` (${detail})` : ''}`);
  }
}

export class PongTimeoutError extends Error {
  override readonly name = 'PongTimeoutError';
  constructor(readonly timeoutMs: number) {
    super(`no pong within ${timeoutMs} ms: the connection is dead`);
  }
}

export class HandshakeError extends Error {
  override readonly name = 'HandshakeError';
  constructor(
    readonly backend: string,
    readonly step: string,
    readonly reason: string,
    /** the JSON-RPC error code, when the backend answered with one */
    readonly code?: number,
  ) {
    super(`backend '${backend}' failed ${step}: ${reason}`);
  }
}

export class BackendRequestTimeoutError extends Error {
  override readonly name = 'BackendRequestTimeoutError';
  constructor(
    readonly backend: string,
    readonly method: string,
    readonly timeoutMs: number,
  ) {
    super(`backend '${backend}' did not answer ${method} within ${timeoutMs} ms`);
  }
}

/** The request was never written to the socket: safe to send again. */
export class NotWrittenError extends Error {
  override readonly name = 'NotWrittenError';
  constructor(readonly backend: string) {
    super(`request could not be written to backend '${backend}': its connection is not open`);
  }
}

/** The request was written, then the connection dropped: the backend may or may not have acted on it. */
export class OutcomeUnknownError extends Error {
  override readonly name = 'OutcomeUnknownError';
  constructor(
    readonly backend: string,
    override readonly cause: Error,
  ) {
    super(`connection to backend '${backend}' dropped after the request was sent (${cause.message})`);
  }
}

/** The backend's circuit breaker is open: the call was not sent. */
export class CircuitOpenError extends Error {
  override readonly name = 'CircuitOpenError';
  constructor(
    readonly backend: string,
    readonly failures: number,
    /** when the next probe call may go (epoch ms); null while a probe is deciding */
    readonly retryAt: number | null,
    readonly lastFailure: string | null,
  ) {
    super(
      `the circuit breaker is open after ${failures} consecutive failures${lastFailure === null ? '' : ` (last: ${lastFailure})`}: calls fail fast ${
        retryAt === null ? 'while one probe call decides whether the backend is back' : `until ${new Date(retryAt).toISOString()}, when one probe call may try again`
      }`,
    );
  }
}

/** The backend left the config while a call waited for it. */
export class BackendRemovedError extends Error {
  override readonly name = 'BackendRemovedError';
  constructor(readonly backend: string) {
    super(`backend '${backend}' was removed from the config while the call waited`);
  }
}

/** A call could not wait for the backend: its queue was full, or the wait passed maxWaitMs. */
export class QueueBoundError extends Error {
  override readonly name = 'QueueBoundError';
  constructor(
    readonly backend: string,
    readonly bound: 'maxLength' | 'maxWaitMs',
    readonly limit: number,
    /** why the call had to wait: the backend's last connection error, or its calls in flight at maxInFlight */
    readonly why: string,
  ) {
    super(
      bound === 'maxLength'
        ? `${limit} calls already wait for this backend (queue.maxLength ${limit}), so this one was not queued; they wait because ${why}`
        : `the call waited ${limit} ms in the backend's queue (queue.maxWaitMs ${limit}) and was never sent, because ${why}`,
    );
  }
}

/** The relay is shutting down (SIGTERM): a call it did not start, or one still running when shutdownGraceMs ran out. */
export class ShuttingDownError extends Error {
  override readonly name = 'ShuttingDownError';
  constructor(readonly started: boolean, readonly graceMs: number) {
    super(started ? `the relay shut down and the call did not finish within its shutdownGraceMs of ${graceMs} ms` : 'the relay is shutting down and takes no new calls');
  }
}

/** Failures of one client request, as the client sees them: which backend, which tool (or resource, prompt), what happened, what to do. */
export class CallError extends Error {
  override readonly name = 'CallError';
  constructor(
    readonly code: number,
    readonly backend: string | null,
    /** "tool 'x'", "resource 'file:///a'", "prompt 'p'" */
    readonly subject: string,
    readonly what: string,
    readonly hint: string = STATUS_HINT,
  ) {
    super(`${backend === null ? '' : `backend '${backend}', `}${subject}: ${what}. To fix: ${hint}.`);
  }
}

export const errorMessage = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** Anything thrown, as an Error (RxJS and our handlers only ever pass Errors on). */
export const asError = (error: unknown): Error => (error instanceof Error ? error : new Error(String(error)));
