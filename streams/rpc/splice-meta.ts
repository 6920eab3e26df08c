/**
 * The client's line with the relay's trace context put in its params._meta, so that a traced call still goes to the
 * backend as the client's own text (only its id swapped, splice-id.ts) instead of being re-serialized: with every
 * call traced that re-serializing was a quarter of tracing's cost per call (bench/observability.ts). Only lines the
 * relay can read unambiguously are touched: jsonrpc, id, method and params and nothing else (the caller checks), in
 * one of the two layouts splice-id.ts knows, with no "_meta" anywhere in the text; any other gives null.
 */
export function spliceTraceMeta(line: string, method: string, meta: Readonly<Record<string, string>>): string | null {
  if (line.includes('"_meta"')) return null;
  const name = JSON.stringify(method);
  // a JSON string cannot hold an unescaped quote, so these prefixes are the top-level members, never a value's text
  const sdk = `{"method":${name},"params":{`;
  let at = line.startsWith(sdk) ? sdk.length : -1;
  if (at === -1 && line.startsWith('{"jsonrpc":"2.0","id":')) {
    // the id is a number or a string (whose quotes are all escaped): the first such text is the member after it
    const params = line.indexOf(`,"method":${name},"params":{`, 21);
    if (params !== -1) at = params + `,"method":${name},"params":{`.length;
  }
  if (at === -1) return null;
  const member = `"_meta":${JSON.stringify(meta)}`;
  return `${line.slice(0, at)}${member}${line.charCodeAt(at) === 125 /* } */ ? '' : ','}${line.slice(at)}`;
}
