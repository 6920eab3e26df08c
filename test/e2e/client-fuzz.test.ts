// Property-based fuzzing of the relay's three client fronts with fast-check (issue 11, "Faults to survive"): every
// kind of malformed stdio line, WebSocket frame, and HTTP POST body and headers, each run against ONE relay process
// per front. For each generated input the relay must answer with the JSON-RPC error the spec asks for (-32700 parse
// error, -32600 invalid request, -32601 method not found) where there is an id (or none, answered with id null), send
// nothing for a notification or a response, write nothing but JSON-RPC on its way out, log no crash, and still answer
// a ping and a real tools/call afterwards on the same connection (or a new one, where the front must close it).
//
// The oracle below is written from JSON-RPC 2.0 and MCP, not from the relay's code; what the specs leave open is
// accepted both ways and says so.
import { connect } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { startBackend, type RunningBackend } from '../fixtures/mcp-ws-backend.js';
import { echoTool } from '../fixtures/tools.js';
import { crashes, idKey, internalErrors, messagesOfHttp, openWsPeer, rawHttp, sleep, startStdioPeer, type HttpAnswer, type Id, type Inbox, type Json, type StdioPeer, type WsPeer } from './client-peers.js';
import { startNetworkRelay, type NetworkRelay } from './network-relay.js';
import { backendsYaml, configFile, INITIALIZE, textOf } from './relay-process.js';

const PARSE_ERROR = -32700;
const INVALID_REQUEST = -32600;
const METHOD_NOT_FOUND = -32601;

/** WebSocket frames and HTTP bodies over this are refused (1009, 413): set low so the fuzz can cross it */
const NETWORK_LIMIT = 2_000_000;

const HEAD = `defaults:
  connectWaitMs: 3000
  pingIntervalMs: 30000
  timeoutMs: 10000
  backoff: { initialMs: 100, maxMs: 400 }
startupGraceMs: 3000
limits:
  maxMessageBytes: ${NETWORK_LIMIT}
  maxConnections: 5000
  maxConnectionsPerToken: 5000
  rateLimit: { requestsPerSecond: 100000, burst: 100000, perPrincipal: { requestsPerSecond: 100000, burst: 100000 } }
`;

/** The methods an MCP server serves a client (2025-11-25): answered somehow (a result, or an error about params). */
const SERVED_METHODS = ['initialize', 'ping', 'tools/list', 'tools/call', 'resources/list', 'resources/templates/list', 'resources/read', 'resources/subscribe', 'resources/unsubscribe', 'prompts/list', 'prompts/get', 'completion/complete', 'logging/setLevel'];

// ---------------------------------------------------------------------------------------------------------------
// The oracle: what the relay must send back for one message.

/** One answer the relay owes (or may send): its id, and the error codes allowed ('any': a result or any error). */
interface Owed {
  id: Id | null;
  codes: number[] | 'any';
  /** a reply the specs neither ask for nor forbid (a malformed response, a blank-looking line): it may come or not */
  optional?: boolean;
}

/** what one input owes: one of these lists of answers (most inputs have one; a text with a BOM has two) */
type Owing = Owed[][];

type Expected = { kind: 'answers'; owing: Owing } | { kind: 'close'; codes: number[]; why: string };

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
/** MCP and JSON-RPC ids: a string or a number (a JSON number too large for a double is Infinity: no id) */
const isValidId = (value: unknown): value is Id => typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value));

/** What a parsed JSON value owes, by JSON-RPC 2.0 section 4-5 and MCP's "batches are not supported" (2025-06-18 on). */
function owedForValue(value: unknown): Owed[] {
  // a batch (MCP no longer has them) or a primitive: one Invalid Request, with id null
  if (!isObject(value)) return [{ id: null, codes: [INVALID_REQUEST] }];
  const id = isValidId(value['id']) ? value['id'] : null;
  const hasMethod = 'method' in value;
  if (!hasMethod && ('result' in value || 'error' in value)) {
    // a response from the client (to a server request): never answered. A malformed one may get an Invalid Request
    // with id null, but never one carrying its id: the client would take that for the answer to its own request.
    if (value['jsonrpc'] === '2.0' && (id !== null || 'error' in value) && !('params' in value)) return [];
    return [{ id: null, codes: [INVALID_REQUEST], optional: true }];
  }
  if (value['jsonrpc'] !== '2.0') return [{ id, codes: [INVALID_REQUEST] }];
  if ('params' in value && !isObject(value['params']) && !Array.isArray(value['params'])) return [{ id, codes: [INVALID_REQUEST] }];
  if (hasMethod) {
    if (typeof value['method'] !== 'string') return [{ id, codes: [INVALID_REQUEST] }];
    // a notification: nothing to answer, whatever its method or params
    if (!('id' in value)) return [];
    if (id === null) return [{ id: null, codes: [INVALID_REQUEST] }];
    return [{ id, codes: SERVED_METHODS.includes(value['method']) ? 'any' : [METHOD_NOT_FOUND] }];
  }
  return [{ id, codes: [INVALID_REQUEST] }];
}

/** What one message's text owes: a parse error when it is not JSON. */
function owedForText(text: string): Owing {
  // RFC 8259 8.1: a parser MAY ignore a byte order mark rather than treat it as an error: either is right
  const bom = text.startsWith('\ufeff') ? owedForText(text.slice(1)) : [];
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return [[{ id: null, codes: [PARSE_ERROR] }], ...bom];
  }
  return [owedForValue(value), ...bom];
}

/** the answers owed by several messages in a row: each combination of their alternatives (a few at most) */
const inSequence = (each: Owing[]): Owing => each.reduce<Owing>((sofar, next) => sofar.flatMap((before) => next.map((after) => [...before, ...after])).slice(0, 64), [[]]);

/** JSON's own whitespace: a line of only this is no message (stdio is newline-delimited; blank lines separate) */
const JSON_BLANK = /^[ \t\r\n]*$/;

/** What bytes written to stdin owe: each \n-terminated line, as UTF-8 with replacement, a trailing \r dropped. */
function owedForStdio(bytes: Uint8Array): Owing {
  const lines = new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes).split('\n').slice(0, -1);
  return inSequence(
    lines.map((raw): Owing => {
      const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
      if (JSON_BLANK.test(line)) return [[]];
      // Unicode spaces JSON does not know (U+00A0, U+FEFF, U+2028): a parse error, or skipped as a blank line
      if (line.trim() === '') return [[{ id: null, codes: [PARSE_ERROR], optional: true }]];
      return owedForText(line);
    }),
  );
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** What one WebSocket frame owes: a close where the front must close (RFC 6455, the relay's limit), else answers. */
function owedForFrame(frame: Frame): Expected {
  if (frame.binary) return { kind: 'close', codes: [1003], why: 'a binary frame is not MCP' };
  const bytes = typeof frame.data === 'string' ? Buffer.from(frame.data) : frame.data;
  if (bytes.length > NETWORK_LIMIT) return { kind: 'close', codes: [1009], why: 'a frame over the limit' };
  let text: string;
  try {
    text = strictUtf8.decode(bytes);
  } catch {
    return { kind: 'close', codes: [1007], why: 'a text frame that is not UTF-8 (RFC 6455 8.1)' };
  }
  return { kind: 'answers', owing: owedForText(text) };
}

/** Which responses since `from` match none of the alternatives owed (ignoring the ids in `mine`): the first's misfits. */
function mismatches(inbox: Inbox, from: number, owing: Owing, mine: ReadonlySet<string>): string[] {
  const each = owing.map((owed) => misfits(inbox, from, owed, mine));
  return each.find((problems) => problems.length === 0) ?? each[0] ?? [];
}

/** Which responses since `from` do not match what was owed (ignoring the ids in `mine`), as readable lines. */
function misfits(inbox: Inbox, from: number, owed: Owed[], mine: ReadonlySet<string>): string[] {
  const got = inbox.responses.slice(from).filter((message) => !mine.has(idKey(message['id'])));
  const unused = new Set(got.keys());
  const fits = (message: Json, entry: Owed, key: string) => {
    if (idKey(message['id']) !== key) return false;
    if (entry.codes === 'any') return true;
    return 'error' in message && entry.codes.includes((message['error'] as Json)['code'] as number);
  };
  const take = (entry: Owed): boolean => {
    const key = idKey(entry.id);
    for (const index of unused) {
      if (fits(got[index] as Json, entry, key)) {
        unused.delete(index);
        return true;
      }
    }
    return false;
  };
  const problems: string[] = [];
  for (const entry of owed.filter((candidate) => !candidate.optional)) if (!take(entry)) problems.push(`missing: an answer to id ${idKey(entry.id)} with ${entry.codes === 'any' ? 'a result or an error' : `error ${entry.codes.join(' or ')}`}`);
  for (const entry of owed.filter((candidate) => candidate.optional)) take(entry);
  for (const index of unused) problems.push(`unexpected: ${JSON.stringify(got[index]).slice(0, 300)}`);
  return problems;
}

/** the required answers with an id not come yet (they may come after the sentinel ping: a backend call), fewest first */
const stillOwed = (inbox: Inbox, from: number, owing: Owing): number => Math.min(...owing.map((owed) => owed.filter((entry) => !entry.optional && entry.id !== null && inbox.answerFrom(from, entry.id) === undefined).length));

// ---------------------------------------------------------------------------------------------------------------
// The generators.

const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((code) => String.fromCharCode(code));
const oddChar = fc.oneof(
  fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
  loneSurrogate,
  fc.constantFrom('\n', '\r', '\u2028', '\u2029', '\0', '"', '\\', '\ufeff', '\u00a0', '{', '}', '[', ']', ':', ',', '🙂'),
);
/** strings with lone surrogates, control characters, JSON's own punctuation, line breaks JSON does not know */
const oddString = fc.array(oddChar, { maxLength: 10 }).map((chars) => chars.join(''));

const validId = fc.oneof(
  fc.integer(),
  fc.string({ maxLength: 6 }),
  oddString,
  fc.constantFrom(0, -0, -1, 1.5, 1e300, -1e-300, Number.MAX_SAFE_INTEGER, 2 ** 53 + 2, '', '0', '1', 'null', '__proto__', 'constructor', 'toString'),
);
const invalidId = fc.constantFrom<unknown>(null, true, false, {}, [], [1], { id: 1 }, Number.NaN, Number.POSITIVE_INFINITY);
const idArb = fc.oneof({ weight: 4, arbitrary: validId }, { weight: 1, arbitrary: invalidId });

const unknownMethod = fc.oneof(
  oddString.map((name) => `x-fuzz/${name}`),
  fc.constantFrom('', ' ', 'PING', 'ping ', 'Ping', 'tools/call/', '/tools/call', 'tools//call', 'constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf', 'rpc.discover', 'notifications/cancelled', 'notifications/initialized'),
);
const methodArb = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...SERVED_METHODS.filter((method) => method !== 'initialize')) },
  { weight: 1, arbitrary: fc.constant('initialize') },
  { weight: 3, arbitrary: unknownMethod },
  { weight: 1, arbitrary: fc.constantFrom<unknown>(1, 0, null, true, {}, ['ping'], { method: 'ping' }) },
);

const jsonish = fc.jsonValue({ maxDepth: 2 });
const smallObject = fc.dictionary(oddString, jsonish, { maxKeys: 3 });
const toolCallParams = fc.record(
  {
    // no tool that changes the relay: the fuzz must not reconfigure the relay under its own feet
    name: fc.oneof(fc.constantFrom<unknown>('echo', 'echo', 'relay_get_status', 'relay_search_tools', 'no_such_tool', '', 'ECHO', 'echo\u0000'), oddString, fc.jsonValue({ maxDepth: 1 })),
    arguments: fc.oneof(smallObject, jsonish),
    _meta: fc.oneof(fc.record({ progressToken: fc.oneof(validId, jsonish) }), jsonish),
  },
  { requiredKeys: [] },
);
const paramsArb = fc.oneof(toolCallParams, smallObject, jsonish, fc.constantFrom<unknown>(null, 0, 'x', true, [], [1, 2], { cursor: 12 }, { level: 'nope' }, { uri: 7 }));
const jsonrpcArb = fc.oneof({ weight: 6, arbitrary: fc.constant<unknown>('2.0') }, { weight: 1, arbitrary: fc.constantFrom<unknown>('1.0', '2', '2.00', 2, 2.0, null, '', ' 2.0', {}, ['2.0']) });
const extraArb = fc.dictionary(fc.string({ maxLength: 4 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 2 });

/** request- and notification-shaped messages, most nearly valid, each part possibly of the wrong type */
const requestish = fc.record({ jsonrpc: jsonrpcArb, id: idArb, method: methodArb, params: paramsArb }, { requiredKeys: ['jsonrpc', 'method'] });
/** any subset of the members of any message kind, responses included */
const anyShape = fc.record(
  { jsonrpc: jsonrpcArb, id: idArb, method: methodArb, params: paramsArb, result: jsonish, error: fc.oneof(fc.record({ code: fc.integer(), message: oddString }), fc.jsonValue({ maxDepth: 1 })) },
  { requiredKeys: [] },
);
const withExtra = (shape: fc.Arbitrary<Json>) => fc.tuple(shape, extraArb, fc.boolean()).map(([message, extra, extraFirst]): Json => (extraFirst ? { ...extra, ...message } : { ...message, ...extra }));
/** a response to a server request: no method, a result or an error */
const isResponseShaped = (value: Json): boolean => !('method' in value) && ('result' in value || 'error' in value);
/** requests, notifications and shapeless objects: anything but a response */
const messageValue = withExtra(fc.oneof({ weight: 3, arbitrary: requestish }, { weight: 2, arbitrary: anyShape })).filter((value) => !isResponseShaped(value));
/** responses from the client, to requests the relay never sent, often malformed */
const responseValue = withExtra(anyShape).filter(isResponseShaped);

/** how a message is written: compact, with spaces around it, or pretty-printed over several lines */
const asText = (values: fc.Arbitrary<Json>) => fc.tuple(values, fc.constantFrom('compact', 'compact', 'compact', 'padded', 'pretty')).map(([value, style]) => (style === 'pretty' ? JSON.stringify(value, null, 1) : style === 'padded' ? ` \t${JSON.stringify(value)} ` : JSON.stringify(value)));
const messageText = asText(messageValue);
const responseText = asText(responseValue);

/** JSON that is not JSON-RPC: any value, objects without the members */
const notJsonRpc = fc.oneof(fc.jsonValue({ maxDepth: 3 }).map((value) => JSON.stringify(value)), fc.json());

/** batches of messages, empty ones too */
const batchText = fc.array(messageValue, { maxLength: 4 }).map((batch) => JSON.stringify(batch));

/** not JSON: a message cut short, with a character inserted or deleted, random text, known traps */
const invalidJson = fc.oneof(
  fc.tuple(messageText, fc.nat()).map(([text, at]) => text.slice(0, at % Math.max(1, text.length))),
  fc.tuple(messageText, fc.nat(), oddChar).map(([text, at, char]) => text.slice(0, at % (text.length + 1)) + char + text.slice(at % (text.length + 1))),
  fc.tuple(messageText, fc.nat()).map(([text, at]) => text.slice(0, at % (text.length + 1)) + text.slice((at % (text.length + 1)) + 1)),
  fc.string({ maxLength: 40 }),
  oddString,
  fc.constantFrom(
    'NaN',
    'Infinity',
    'undefined',
    '{"jsonrpc":"2.0","id":1,"method":"ping",}',
    "{'jsonrpc':'2.0','id':1,'method':'ping'}",
    '{"jsonrpc":"2.0","id":1,"method":"ping"}}',
    '{"jsonrpc":"2.0","id":1,"method":"ping"} {"jsonrpc":"2.0","id":2,"method":"ping"}',
    '{"jsonrpc":"2.0","id":01,"method":"ping"}',
    '{"jsonrpc":"2.0","id":0x10,"method":"ping"}',
    '{"jsonrpc":"2.0","id":1,"method":"ping" /* comment */}',
    '\ufeff{"jsonrpc":"2.0","id":"bom","method":"ping"}',
    '{"jsonrpc":"2.0","id":"\\ud800","method":"x-fuzz/\\udc00"}',
    '{"jsonrpc":"2.0","id":"\\u","method":"ping"}',
    '{"jsonrpc":"2.0","id":"tab\there","method":"ping"}',
  ),
);

/** numbers JSON allows but a double does not hold: as the id, a param, the jsonrpc member, the whole message */
const numberText = fc.oneof(
  fc.bigInt({ min: -(10n ** 400n), max: 10n ** 400n }).map(String),
  fc.tuple(fc.integer({ min: 1, max: 9 }), fc.integer({ min: -999, max: 999 })).map(([mantissa, exponent]) => `${mantissa}e${exponent}`),
  fc.constantFrom('1e400', '-1e400', '1e-400', '1E2', '1.0', '-0', '-0.0', '0.0000001', '9007199254740993', '123456789012345678901234567890', `1${'0'.repeat(400)}`),
);
const hugeNumbers = fc.tuple(numberText, fc.constantFrom('id', 'param', 'jsonrpc', 'whole', 'progress')).map(([number, where]) => {
  switch (where) {
    case 'id':
      return `{"jsonrpc":"2.0","id":${number},"method":"ping"}`;
    case 'param':
      return `{"jsonrpc":"2.0","id":"num","method":"tools/call","params":{"name":"echo","arguments":{"n":${number}}}}`;
    case 'jsonrpc':
      return `{"jsonrpc":${number},"id":"num","method":"ping"}`;
    case 'progress':
      return `{"jsonrpc":"2.0","id":"num","method":"tools/call","params":{"name":"echo","arguments":{},"_meta":{"progressToken":${number}}}}`;
    default:
      return number;
  }
});

/** nesting 1,000 to 150,000 deep, as the message, in params, in the id, in a tool's arguments, in a response */
const deepText = fc.record({ depth: fc.integer({ min: 1_000, max: 150_000 }), kind: fc.constantFrom('array', 'object'), where: fc.constantFrom('whole', 'ping-params', 'unknown-params', 'id', 'method', 'tool-arguments', 'response', 'notification') }).map(({ depth, kind, where }) => {
  const nested = kind === 'array' ? `${'['.repeat(depth)}${']'.repeat(depth)}` : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
  switch (where) {
    case 'whole':
      return nested;
    case 'ping-params':
      return `{"jsonrpc":"2.0","id":"deep","method":"ping","params":{"x":${nested}}}`;
    case 'unknown-params':
      return `{"jsonrpc":"2.0","id":"deep","method":"x-fuzz/deep","params":{"x":${nested}}}`;
    case 'id':
      return `{"jsonrpc":"2.0","id":${nested},"method":"ping"}`;
    case 'method':
      return `{"jsonrpc":"2.0","id":"deep","method":${nested}}`;
    case 'tool-arguments':
      return `{"jsonrpc":"2.0","id":"deep","method":"tools/call","params":{"name":"echo","arguments":{"x":${nested}}}}`;
    case 'response':
      return `{"jsonrpc":"2.0","id":"deep","result":{"x":${nested}}}`;
    default:
      return `{"jsonrpc":"2.0","method":"notifications/roots/list_changed","params":{"x":${nested}}}`;
  }
});

/** lines of nothing, or of whitespace JSON knows and some it does not */
const blankText = fc.array(fc.constantFrom('', ' ', '\t', '\r', '\u00a0', '\ufeff', '\u2028', '\u3000'), { maxLength: 4 }).map((parts) => parts.join(''));

/** bytes: random, or biased toward newlines, braces, quotes and the bytes that break UTF-8 (overlong, surrogates) */
const randomBytes = fc.oneof(
  fc.uint8Array({ maxLength: 300 }),
  fc.array(fc.constantFrom(0x0a, 0x0d, 0x7b, 0x7d, 0x5b, 0x5d, 0x22, 0x5c, 0x3a, 0x31, 0x20, 0x00, 0xff, 0xfe, 0xc0, 0xc1, 0xed, 0xa0, 0x80, 0xbf, 0xf4, 0x90, 0xe2, 0x82), { maxLength: 120 }).map((bytes) => Uint8Array.from(bytes)),
);

const DEEP_NOTIFICATION = `{"jsonrpc":"2.0","method":"notifications/roots/list_changed","params":{"x":${'['.repeat(100_000)}${']'.repeat(100_000)}}}`;

/** each kind of text, with the inputs that failed before tried first (fast-check's examples), so a regression is no luck of the draw */
const TEXT_CATEGORIES: Array<{ name: string; text: fc.Arbitrary<string>; runs: number; examples?: string[] }> = [
  { name: 'requests and notifications with members missing or of the wrong type (id, method, params, jsonrpc), lone surrogates', text: messageText, runs: 300 },
  { name: 'responses to nothing, malformed ones too (never answered with their id)', text: responseText, runs: 100, examples: ['{"id":0,"result":{}}', '{"jsonrpc":"1.0","id":"r","error":{"code":1,"message":"m"}}'] },
  { name: 'text that is not JSON', text: invalidJson, runs: 150 },
  { name: 'JSON that is not JSON-RPC', text: notJsonRpc, runs: 100 },
  { name: 'batches', text: batchText, runs: 50 },
  { name: 'numbers a double cannot hold', text: hugeNumbers, runs: 80 },
  { name: 'deep nesting', text: deepText, runs: 25, examples: [DEEP_NOTIFICATION] },
];

// ---------------------------------------------------------------------------------------------------------------
// Shared setup.

let backend: RunningBackend;
let file: string;

beforeAll(async () => {
  backend = await startBackend({ name: 'fz', tools: [echoTool('echo')] });
  file = configFile(backendsYaml([{ name: 'fz', url: backend.url }], HEAD)).file;
});

afterAll(async () => {
  await backend?.close();
});

const preview = (data: string | Uint8Array): string => {
  const text = typeof data === 'string' ? JSON.stringify(data) : `bytes ${Buffer.from(data).toString('hex')}`;
  return text.length > 400 ? `${text.slice(0, 400)}... (${text.length})` : text;
};

interface Connection {
  inbox: Inbox;
  request: StdioPeer['request'];
}

/** the check after each input: a ping and a real tools/call, answered right */
async function stillServes(connection: Connection, run: number): Promise<void> {
  expect(await connection.request(`§ping-${run}`, 'ping', undefined, 10_000)).toEqual({ jsonrpc: '2.0', id: `§ping-${run}`, result: {} });
  const call = await connection.request(`§call-${run}`, 'tools/call', { name: 'echo', arguments: { run } }, 10_000);
  expect(textOf(call['result'] ?? {}), JSON.stringify(call).slice(0, 300)).toBe(`echo:{"run":${run}}`);
}

async function initialize(connection: Connection & { send: (message: unknown) => void }): Promise<void> {
  expect(await connection.request('§init', 'initialize', INITIALIZE)).toHaveProperty('result');
  connection.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
  const list = await connection.request('§list', 'tools/list', {});
  expect(((list['result'] as Json)['tools'] as Json[]).map((tool) => tool['name'])).toContain('echo');
}

/** Sends `send()`, then a ping: checks the answers since against `owed`, then that a ping and a tools/call work. */
async function checkAnswers(connection: Connection, run: number, owing: Owing, send: () => void, what: string): Promise<void> {
  const from = connection.inbox.responses.length;
  send();
  const sentinel = `§sentinel-${run}`;
  // answers to the input come before the ping's, unless a backend is involved: then they are waited for by id
  expect(await connection.request(sentinel, 'ping', undefined, 10_000)).toMatchObject({ result: {} });
  // longer than the relay's call timeout (10 s): a backend that never answers is answered by the relay, in time
  await connection.inbox.until(() => stillOwed(connection.inbox, from, owing) === 0, 12_000, () => `the answers owed for ${what}`).catch(() => undefined);
  const mine = new Set([idKey(sentinel)]);
  expect(mismatches(connection.inbox, from, owing, mine), `after ${what}`).toEqual([]);
  await stillServes(connection, run);
}

/** property options: modest runs, a time limit that ends the runs (not the test) on a slow machine, examples first */
const runs = <T>(numRuns: number, examples: T[] = []) => ({ numRuns, interruptAfterTimeLimit: 20_000, examples: examples.map((example): [T] => [example]) });

// ---------------------------------------------------------------------------------------------------------------

describe('fuzzing the stdio front (one relay process)', () => {
  let peer: StdioPeer;
  let run = 0;

  beforeAll(async () => {
    peer = startStdioPeer(file);
    await initialize(peer);
  });

  afterAll(async () => {
    await peer?.stop();
  });

  /** one line's bytes (or several lines), then the checks */
  const line = async (bytes: Uint8Array) => {
    const payload = Buffer.concat([bytes, Buffer.from('\n')]);
    run += 1;
    await checkAnswers(peer, run, owedForStdio(payload), () => peer.write(payload), preview(bytes));
  };

  for (const category of TEXT_CATEGORIES) {
    it(`answers ${category.name} as JSON-RPC asks, and serves on`, { timeout: 60_000 }, async () => {
      await fc.assert(fc.asyncProperty(category.text, (text) => line(Buffer.from(text))), runs(category.runs, category.examples));
      expect(peer.inbox.problems).toEqual([]);
    });
  }

  it('skips empty and blank lines, and answers Unicode blanks with a parse error or not at all', async () => {
    await fc.assert(fc.asyncProperty(blankText, (text) => line(Buffer.from(text))), runs(30));
  });

  it('answers random bytes (bad UTF-8, NULs, several lines at once) line by line', { timeout: 60_000 }, async () => {
    await fc.assert(fc.asyncProperty(randomBytes, (bytes) => line(bytes)), runs(150));
  });

  it('wrote nothing but JSON-RPC on stdout, answered nothing late, logged no crash, and still runs', async () => {
    const count = peer.inbox.responses.length;
    await sleep(300);
    expect(peer.inbox.responses.slice(count)).toEqual([]);
    expect(peer.inbox.problems).toEqual([]);
    expect(crashes(peer.events)).toEqual([]);
    expect(peer.child.exitCode).toBeNull();
    await stillServes(peer, 1e6);
  });

  it('logged no internal error for any of that input (bad input is the client\'s, at warn)', () => {
    expect(internalErrors(peer.events)).toEqual([]);
  });
});

interface Frame {
  data: string | Buffer;
  binary?: boolean;
}

describe('fuzzing the WebSocket front (one relay process)', () => {
  let relay: NetworkRelay;
  let stdout = '';
  let peer: WsPeer | null = null;
  let run = 0;
  const peers: WsPeer[] = [];

  beforeAll(async () => {
    relay = await startNetworkRelay(file);
    relay.child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  });

  afterAll(async () => {
    for (const open of peers) open.socket.terminate();
    await relay?.stop();
  });

  const connected = async (): Promise<WsPeer> => {
    if (peer && peer.inbox.ended === null) return peer;
    const fresh = await openWsPeer(relay.ws);
    peers.push(fresh);
    await initialize(fresh);
    peer = fresh;
    return fresh;
  };

  const frame = async (input: Frame) => {
    run += 1;
    const current = await connected();
    const expected = owedForFrame(input);
    const what = `${input.binary ? 'binary' : 'text'} frame ${preview(input.data)}`;
    if (expected.kind === 'answers') {
      await checkAnswers(current, run, expected.owing, () => (input.binary ? current.socket.send(input.data, { binary: true }) : current.sendText(input.data)), what);
      return;
    }
    // the front must close this connection: with the code the RFC (or the relay's documented choice) gives, and a
    // new connection is served
    const from = current.inbox.responses.length;
    if (input.binary) current.socket.send(input.data, { binary: true });
    else current.sendText(input.data);
    const closed = await Promise.race([current.closed, sleep(10_000).then(() => null)]);
    expect(closed?.code, `${what}: ${expected.why}`).toBeOneOf(expected.codes);
    expect(current.inbox.responses.slice(from), `${what}: nothing answered before the close`).toEqual([]);
    expect(current.inbox.problems).toEqual([]);
    await stillServes(await connected(), run);
  };

  for (const category of TEXT_CATEGORIES) {
    it(`answers text frames of ${category.name} as JSON-RPC asks, and serves on`, { timeout: 60_000 }, async () => {
      await fc.assert(fc.asyncProperty(category.text, (text) => frame({ data: text })), runs(Math.ceil(category.runs * 0.6), category.examples));
    });
  }

  it('answers an empty or blank text frame with a parse error', async () => {
    await fc.assert(fc.asyncProperty(blankText, (text) => frame({ data: text })), runs(20));
  });

  it('answers text frames of random bytes, and closes with 1007 on bad UTF-8', { timeout: 60_000 }, async () => {
    await fc.assert(fc.asyncProperty(randomBytes, (bytes) => frame({ data: Buffer.from(bytes) })), runs(100));
  });

  it('closes on a binary frame (1003) and on a frame over the limit (1009), and a new connection is served', { timeout: 60_000 }, async () => {
    const binary = fc.oneof(randomBytes, messageText.map((text) => Uint8Array.from(Buffer.from(text)))).map((bytes): Frame => ({ data: Buffer.from(bytes), binary: true }));
    const oversized = fc.tuple(fc.integer({ min: 1, max: 5_000 }), fc.constantFrom('garbage', 'request')).map(([over, kind]): Frame => {
      const pad = 'p'.repeat(NETWORK_LIMIT + over);
      return { data: kind === 'garbage' ? pad : JSON.stringify({ jsonrpc: '2.0', id: 'big', method: 'tools/call', params: { name: 'echo', arguments: { pad } } }) };
    });
    await fc.assert(fc.asyncProperty(fc.oneof(binary, oversized), (input) => frame(input)), runs(25));
  });

  it('wrote nothing on stdout, answered nothing late, logged no crash, and still runs', async () => {
    const current = await connected();
    const count = current.inbox.responses.length;
    await sleep(300);
    expect(current.inbox.responses.slice(count)).toEqual([]);
    expect(peers.flatMap((one) => one.inbox.problems)).toEqual([]);
    expect(stdout).toBe('');
    expect(crashes(relay.events)).toEqual([]);
    expect(relay.child.exitCode).toBeNull();
    await stillServes(current, 1e6);
  });

  it('logged no internal error for any of that input (bad input is the client\'s, at warn)', () => {
    expect(internalErrors(relay.events)).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------------------------

const SUPPORTED_VERSIONS = ['2026-07-28', '2025-11-25', '2025-06-18', '2025-03-26', '2024-11-05'];
/** header values a client might send: printable ASCII */
const headerText = fc.string({ unit: fc.integer({ min: 0x21, max: 0x7e }).map((code) => String.fromCharCode(code)), minLength: 1, maxLength: 40 });

interface HttpCase {
  body: string | Buffer;
  contentType: string | undefined;
  accept: string | undefined;
  session: 'valid' | 'missing' | 'empty' | 'unknown';
  unknownSession: string;
  version: string | undefined;
}

const contentTypeArb = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom<string | undefined>('application/json', 'application/json; charset=utf-8', 'Application/JSON') },
  { weight: 1, arbitrary: fc.constantFrom<string | undefined>(undefined, 'text/plain', 'application/x-www-form-urlencoded', 'text/event-stream', 'multipart/form-data; boundary=x', 'application/xml') },
  { weight: 1, arbitrary: headerText.filter((text) => !text.toLowerCase().startsWith('application/json')) },
);
const GOOD_ACCEPTS = ['application/json, text/event-stream', 'text/event-stream, application/json', 'application/json;q=0.9, text/event-stream;q=0.8', 'APPLICATION/JSON, TEXT/EVENT-STREAM', '*/*', 'application/json', 'text/event-stream'];
const acceptArb = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom<string | undefined>(...GOOD_ACCEPTS, undefined) },
  { weight: 1, arbitrary: fc.constantFrom<string | undefined>('text/html', 'image/png', 'text/plain', 'application/xml') },
);
const httpBody = fc.oneof(
  { weight: 4, arbitrary: messageText },
  { weight: 1, arbitrary: responseText },
  { weight: 2, arbitrary: invalidJson },
  { weight: 1, arbitrary: notJsonRpc },
  { weight: 1, arbitrary: batchText },
  { weight: 1, arbitrary: hugeNumbers },
  { weight: 1, arbitrary: blankText },
);
/** a request with a progress token from a client that accepts only JSON: it once got SSE */
const JSON_ONLY_WITH_PROGRESS: HttpCase = {
  body: '{"jsonrpc":"2.0","id":"json-only","method":"tools/call","params":{"name":"echo","arguments":{},"_meta":{"progressToken":"p1"}}}',
  contentType: 'application/json',
  accept: 'application/json',
  session: 'valid',
  unknownSession: 'x',
  version: undefined,
};

const httpCase = fc.record({
  body: fc.oneof({ weight: 8, arbitrary: httpBody }, { weight: 1, arbitrary: randomBytes.map((bytes) => Buffer.from(bytes)) }),
  contentType: contentTypeArb,
  accept: acceptArb,
  session: fc.constantFrom<HttpCase['session']>('valid', 'valid', 'valid', 'valid', 'missing', 'empty', 'unknown'),
  unknownSession: headerText,
  version: fc.oneof({ weight: 4, arbitrary: fc.constantFrom<string | undefined>(undefined, ...SUPPORTED_VERSIONS) }, { weight: 1, arbitrary: headerText }),
});

const acceptsOf = (accept: string | undefined) => {
  const value = (accept ?? '').toLowerCase();
  const any = value === '' || value.includes('*/*');
  return { json: any || value.includes('application/json'), sse: any || value.includes('text/event-stream') };
};

/** a body that would start a new session: not fuzzed here (a session per run), it is replaced by a ping */
function withoutInitialize(body: string | Buffer): string | Buffer {
  if (typeof body !== 'string') return body;
  try {
    const value: unknown = JSON.parse(body);
    if (isObject(value) && value['method'] === 'initialize') return JSON.stringify({ ...value, method: 'ping' });
  } catch {
    // not JSON: as it is
  }
  return body;
}

/**
 * What an HTTP POST must get. Each fault of the request allows its status (the spec does not order them): an
 * unsupported MCP-Protocol-Version 400, a content type that is not JSON 415, an Accept with neither JSON nor SSE 406,
 * a body that is not JSON or not a valid message 400, no session id 400, an unknown one 404. With none: a request gets
 * 200 and its answer, a notification or a response 202.
 */
function checkHttp(input: HttpCase, answer: HttpAnswer): string[] {
  const problems: string[] = [];
  const faults = new Set<number>();
  if (input.version !== undefined && !SUPPORTED_VERSIONS.includes(input.version)) faults.add(400);
  const type = (input.contentType ?? '').toLowerCase();
  if (!(type === 'application/json' || type.startsWith('application/json;'))) faults.add(415);
  const accepts = acceptsOf(input.accept);
  if (!accepts.json && !accepts.sse) faults.add(406);
  let owed: Owed[];
  let value: unknown;
  const text = typeof input.body === 'string' ? input.body : input.body.toString('utf8');
  try {
    value = JSON.parse(text);
    owed = owedForValue(value);
  } catch {
    owed = [{ id: null, codes: [PARSE_ERROR] }];
  }
  const refused = owed.length === 1 && owed[0]?.id === null && owed[0].codes !== 'any' && !owed[0].optional;
  const invalidWithId = owed.length === 1 && owed[0]?.codes !== 'any' && owed[0]?.codes.includes(INVALID_REQUEST) && !owed[0].optional;
  if (refused || invalidWithId) faults.add(400);
  if (input.session === 'missing' || input.session === 'empty') faults.add(400);
  if (input.session === 'unknown') faults.add(404);
  const optional = owed.some((entry) => entry.optional);
  const messages = messagesOfHttp(answer);
  for (const message of messages) if ('problem' in message) problems.push(`body: ${message.problem}`);
  if (faults.size > 0 || (optional && answer.status === 400)) {
    const allowed = new Set([...faults, ...(optional ? [400] : [])]);
    if (!allowed.has(answer.status)) problems.push(`status ${answer.status}, expected one of ${[...allowed].join(', ')}`);
    const first = messages[0];
    if (messages.length !== 1 || !first || !('message' in first) || !('error' in first.message)) problems.push(`a ${answer.status} whose body is not one JSON-RPC error: ${answer.body.slice(0, 300)}`);
    return problems;
  }
  // a client MUST accept both (transport spec): one that lists only one may be refused with 406, or served in that type
  const partial = !(accepts.json && accepts.sse);
  if (partial && answer.status === 406) {
    const first = messages[0];
    if (messages.length !== 1 || !first || !('message' in first) || !('error' in first.message)) problems.push(`a 406 whose body is not one JSON-RPC error: ${answer.body.slice(0, 300)}`);
    return problems;
  }
  if (owed.length === 0 || optional) {
    if (answer.status !== 202) problems.push(`status ${answer.status} for a notification or a response, expected 202: ${answer.body.slice(0, 300)}`);
    return problems;
  }
  if (answer.status !== 200) problems.push(`status ${answer.status} for a request, expected 200: ${answer.body.slice(0, 300)}`);
  const type200 = String(answer.headers['content-type'] ?? '');
  if (!accepts.json && !type200.startsWith('text/event-stream')) problems.push(`answered as ${type200} to a client that accepts only text/event-stream`);
  if (!accepts.sse && !type200.startsWith('application/json')) problems.push(`answered as ${type200} to a client that accepts only application/json`);
  const entry = owed[0] as Owed;
  const responses = messages.flatMap((message) => ('message' in message && !('method' in message.message) ? [message.message] : []));
  if (responses.length !== 1 || idKey(responses[0]?.['id']) !== idKey(entry.id)) problems.push(`expected one answer to id ${idKey(entry.id)}, got ${JSON.stringify(responses).slice(0, 300)}`);
  else if (entry.codes !== 'any' && !entry.codes.includes(((responses[0] as Json)['error'] as Json | undefined)?.['code'] as number)) problems.push(`expected error ${entry.codes.join(' or ')}, got ${JSON.stringify(responses[0]).slice(0, 300)}`);
  return problems;
}

describe('fuzzing the Streamable HTTP front (one relay process)', () => {
  let relay: NetworkRelay;
  let stdout = '';
  let session = '';
  let run = 0;
  const GOOD = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

  const post = (message: unknown) => rawHttp(relay.http, { headers: { ...GOOD, 'mcp-session-id': session }, body: JSON.stringify(message) }, 10_000);

  /** the session still answers a ping and a real tools/call */
  const stillServesHttp = async (tag: number) => {
    expect(JSON.parse((await post({ jsonrpc: '2.0', id: `§ping-${tag}`, method: 'ping' })).body)).toEqual({ jsonrpc: '2.0', id: `§ping-${tag}`, result: {} });
    const call = JSON.parse((await post({ jsonrpc: '2.0', id: `§call-${tag}`, method: 'tools/call', params: { name: 'echo', arguments: { tag } } })).body) as Json;
    expect(textOf(call['result'] ?? {})).toBe(`echo:{"tag":${tag}}`);
  };

  beforeAll(async () => {
    relay = await startNetworkRelay(file);
    relay.child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const init = await rawHttp(relay.http, { headers: GOOD, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: INITIALIZE }) });
    expect(init.status).toBe(200);
    session = String(init.headers['mcp-session-id']);
    expect((await post({ jsonrpc: '2.0', method: 'notifications/initialized' })).status).toBe(202);
    await stillServesHttp(0);
  });

  afterAll(async () => {
    await relay?.stop();
  });

  it('answers every POST body and header combination with the status and JSON-RPC error the specs ask for, and serves on', { timeout: 60_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(httpCase, async (input) => {
        run += 1;
        const body = withoutInitialize(input.body);
        const headers: Record<string, string> = {};
        if (input.contentType !== undefined) headers['content-type'] = input.contentType;
        if (input.accept !== undefined) headers['accept'] = input.accept;
        if (input.version !== undefined) headers['mcp-protocol-version'] = input.version;
        if (input.session === 'valid') headers['mcp-session-id'] = session;
        if (input.session === 'empty') headers['mcp-session-id'] = '';
        if (input.session === 'unknown') headers['mcp-session-id'] = input.unknownSession === session ? `${session}x` : input.unknownSession;
        const answer = await rawHttp(relay.http, { headers, body }, 10_000);
        expect(checkHttp({ ...input, body, session: input.session === 'unknown' ? 'unknown' : input.session }, answer), `POST ${JSON.stringify(headers)} ${preview(body)}`).toEqual([]);
        await stillServesHttp(run);
      }),
      runs(300, [JSON_ONLY_WITH_PROGRESS]),
    );
  });

  it('answers a body over the limit with 413 and closes that connection; the next request is served', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 100_000 }), async (over) => {
        run += 1;
        const body = JSON.stringify({ jsonrpc: '2.0', id: 'big', method: 'tools/call', params: { name: 'echo', arguments: { pad: 'p'.repeat(NETWORK_LIMIT + over) } } });
        const answer = await rawHttp(relay.http, { headers: { ...GOOD, 'mcp-session-id': session }, body }, 10_000).catch((error: unknown) => ({ status: 0, headers: {}, body: String(error) }));
        // the relay may answer 413 before the whole body is sent, and close: a client may see the 413 or a reset
        expect([413, 0], answer.body.slice(0, 200)).toContain(answer.status);
        if (answer.status === 413) expect(JSON.parse(answer.body)).toMatchObject({ error: { code: INVALID_REQUEST } });
        await stillServesHttp(run);
      }),
      runs(8),
    );
  });

  it('survives raw TCP garbage on the HTTP and WebSocket ports: answers HTTP or closes, and serves on', { timeout: 60_000 }, async () => {
    const ws = await openWsPeer(relay.ws);
    onTestFinished(() => ws.socket.terminate());
    await initialize(ws);
    const requestLines = fc.constantFrom(
      'POST /mcp HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
      'POST /mcp HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n',
      'POST /mcp HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"jsonrpc":',
      `POST /mcp HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
      'GET /mcp HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 99\r\nSec-WebSocket-Key: x\r\n\r\n',
      'GET /mcp HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n',
      'GET /mcp HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n\x89\x00\x88\x00',
      'GET /mcp HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff',
      'DELETE /mcp HTTP/1.1\r\nHost: x\r\nMcp-Session-Id: \r\n\r\n',
      'PATCH /mcp HTTP/1.1\r\nHost: x\r\n\r\n',
      'POST /mcp HTTP/1.0\r\n\r\n',
      'POST /%zz HTTP/1.1\r\nHost: x\r\n\r\n',
      'GET / HTTP/9.9\r\n\r\n',
      '\r\n\r\n\r\n',
    );
    const garbage = fc.tuple(fc.oneof(requestLines, randomBytes.map((bytes) => Buffer.from(bytes).toString('latin1')), fc.string({ maxLength: 200 })), fc.constantFrom('http', 'ws'));
    await fc.assert(
      fc.asyncProperty(garbage, async ([bytes, port]) => {
        run += 1;
        const url = new URL(port === 'http' ? relay.http : relay.ws);
        const reply = await new Promise<string>((resolve) => {
          const socket = connect(Number(url.port), '127.0.0.1');
          const chunks: Buffer[] = [];
          const done = () => resolve(Buffer.concat(chunks).toString('latin1'));
          const bound = setTimeout(() => socket.destroy(), 300);
          socket.on('data', (chunk: Buffer) => chunks.push(chunk));
          socket.on('error', () => undefined);
          socket.on('close', () => {
            clearTimeout(bound);
            done();
          });
          socket.on('connect', () => socket.write(Buffer.from(bytes, 'latin1')));
        });
        // whatever comes back is HTTP (a 4xx, or a 101 for the handshakes that were whole), never a crash
        if (reply !== '') expect(reply.slice(0, 9), preview(reply)).toMatch(/^HTTP\/1\.[01] $/);
        await stillServesHttp(run);
        await stillServes(ws, run);
      }),
      runs(60),
    );
  });

  it('wrote nothing on stdout, logged no crash, and still runs', async () => {
    expect(stdout).toBe('');
    expect(crashes(relay.events)).toEqual([]);
    expect(relay.child.exitCode).toBeNull();
    await stillServesHttp(1e6);
  });

  it('logged no internal error for any of that input (bad input or a vanished client is the client\'s, at warn)', () => {
    expect(internalErrors(relay.events)).toEqual([]);
  });
});
