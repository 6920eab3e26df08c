/** How a forwarded call's failure reaches the client: a JSON-RPC error naming backend, subject, what happened and what to do. */
import { TimeoutError } from 'rxjs';
import { BackendRemovedError, CallError, CircuitOpenError, errorMessage, OutcomeUnknownError, QueueBoundError, ShuttingDownError } from '../core/errors.js';
import { ErrorCode, failure, isObjectRecord, type JsonRpcFailure, type JsonRpcId } from '../core/jsonrpc.js';

/** the answer itself: `data` says which backend and which tool (or subject), and the reason alone */
export const callFailure = (id: JsonRpcId, error: CallError, target: { backend: string; subject: string; tool?: string }): JsonRpcFailure =>
  failure(id, error.code, error.message, { backend: target.backend, ...(target.tool === undefined ? { subject: target.subject } : { tool: target.tool }), reason: error.what });

/** a result that is not an object (null, an array, a string) is no MCP answer */
export function malformedResultError(backend: string, subject: string, method: string, result: unknown): CallError {
  const got = result === null ? 'null' : Array.isArray(result) ? 'an array' : typeof result;
  return new CallError(ErrorCode.BackendProtocolError, backend, subject, `the backend answered ${method} with a result that is ${got}, not an object`, "report it to the backend's owner; relay_get_status shows the backend's health");
}

/** a JSON-RPC error object: an integer code and a string message */
export const isValidError = (error: unknown): boolean => isObjectRecord(error) && Number.isInteger(error['code']) && typeof error['message'] === 'string';

/** an error object a client would not accept (no code, say): the backend's own words kept, the answer made valid */
export function malformedErrorError(backend: string, subject: string, method: string, error: unknown): CallError {
  const said = isObjectRecord(error) && typeof error['message'] === 'string' ? `; its message: ${JSON.stringify(error['message'].slice(0, 500))}` : '';
  return new CallError(ErrorCode.BackendProtocolError, backend, subject, `the backend answered ${method} with an error that is not a JSON-RPC error object (it needs an integer code and a string message)${said}`, "report it to the backend's owner; relay_get_status shows the backend's health");
}

export function toCallError(error: unknown, backend: string, subject: string, timeoutMs: number): CallError {
  if (error instanceof CallError) return error;
  if (error instanceof TimeoutError) {
    return new CallError(ErrorCode.CallTimeout, backend, subject, `no response within the call timeout of ${timeoutMs} ms (timeoutMs in backends.yaml); the relay cancelled the request on the backend`, 'retry later, raise timeoutMs for this backend, or call relay_get_status to check its health');
  }
  if (error instanceof OutcomeUnknownError) {
    return new CallError(ErrorCode.OutcomeUnknown, backend, subject, `${error.message}; the outcome is unknown and the relay did not send it again`, "check whether the action took effect before calling again; relay_get_status shows the backend's health");
  }
  if (error instanceof BackendRemovedError) {
    return new CallError(ErrorCode.BackendRemoved, backend, subject, 'the backend was removed from the config while the call waited', 'call relay_get_status to see the backends now configured');
  }
  if (error instanceof CircuitOpenError) {
    return new CallError(ErrorCode.CircuitOpen, backend, subject, error.message, 'retry after the time given, or call relay_get_status to see the breaker (circuitBreaker in backends.yaml sets its threshold and cooldown)');
  }
  if (error instanceof QueueBoundError) {
    return new CallError(error.bound === 'maxLength' ? ErrorCode.QueueFull : ErrorCode.QueueTimeout, backend, subject, error.message, `retry later, or raise queue.${error.bound} for this backend in backends.yaml; relay_get_status shows its queue and health`);
  }
  if (error instanceof ShuttingDownError) {
    return new CallError(ErrorCode.ShuttingDown, backend, subject, error.message, 'reconnect to the relay (or another replica) and call again');
  }
  return new CallError(ErrorCode.BackendUnavailable, backend, subject, errorMessage(error));
}
