// A principal's part of the catalogue, offers and states; its own per-client entries with its credentials; the
// token bucket and the admission of a request; the seeded id table.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileAccess, FULL_ACCESS, LOCAL_PRINCIPAL, type Principal } from '../../streams/access/access.js';
import { Admission } from '../../streams/access/admission.js';
import { ownEntries } from '../../streams/access/own-entries.js';
import { restrictCatalogue, restrictOffers, restrictStates } from '../../streams/access/restrict.js';
import { initialBackendState, type BackendState } from '../../streams/backend/backend-state.js';
import { buildCatalogue } from '../../streams/catalogue/catalogue.js';
import { buildOffers, resourceOwner } from '../../streams/catalogue/offers.js';
import type { AccessSettings, BackendEntry } from '../../streams/config/schema.js';
import { TokenBucket } from '../../streams/core/token-bucket.js';
import { IdTable } from '../../streams/rpc/id-table.js';
import { entry, states, tool } from './helpers.js';

const everything = { include: [], exclude: [] };
const settings = (over: Partial<AccessSettings>): AccessSettings => ({ backends: everything, tools: everything, resources: everything, prompts: everything, admin: false, credentials: {}, ...over });
const globs = (...patterns: string[]) => ({ include: patterns.filter((p) => !p.startsWith('!')), exclude: patterns.filter((p) => p.startsWith('!')).map((p) => p.slice(1)) });

const alpha = entry('alpha', { prefix: 'a_' });
const beta = entry('beta');

function offering(backendEntry: BackendEntry, tools: unknown[], extras: Partial<NonNullable<BackendState['extras']>> = {}): BackendState {
  return { ...initialBackendState(backendEntry, 1), phase: 'connected', tools, attempts: 1, extras: { resources: [], resourceTemplates: [], prompts: [], ...extras } };
}

const backendStates = states(
  offering(alpha, [tool('echo'), tool('slow'), tool('secret')], {
    resources: [{ uri: 'file:///alpha/readme.md', name: 'readme' }, { uri: 'mem://alpha/status', name: 'status' }],
    resourceTemplates: [{ uriTemplate: 'file:///alpha/notes/{name}', name: 'note' }, { uriTemplate: 'db://{table}', name: 'table' }],
    prompts: [{ name: 'greet' }, { name: 'summarize' }],
  }),
  offering(beta, [tool('echo2'), tool('drop')], { resources: [{ uri: 'file:///beta/readme.md', name: 'readme' }], prompts: [{ name: 'beta_prompt' }] }),
);
const catalogue = buildCatalogue([alpha, beta], backendStates, new Set());
const offers = buildOffers([alpha, beta], backendStates);

describe('restrictCatalogue', () => {
  it('keeps the tools the principal may use: its backends, then its tool globs over exposed names, with ! excluding', () => {
    const access = compileAccess(settings({ tools: globs('a_*', '!a_secret', 'echo2') }));
    const mine = restrictCatalogue(catalogue, access);
    expect(mine.tools.map((t) => (t as { name: string }).name)).toEqual(['a_echo', 'a_slow', 'echo2']);
    expect([...mine.routes.keys()]).toEqual(['a_echo', 'a_slow', 'echo2']);
    expect(mine.originals.get('a_echo')).toBe('echo');
    expect(mine.originals.has('a_secret')).toBe(false);
    expect(mine.perBackend.get('alpha')?.valid).toEqual(['a_echo', 'a_slow']);
    const onlyBeta = restrictCatalogue(catalogue, compileAccess(settings({ backends: globs('beta') })));
    expect([...onlyBeta.routes.keys()]).toEqual(['echo2', 'drop']);
    expect(onlyBeta.perBackend.has('alpha')).toBe(false);
  });

  it('changes its key only when what the principal sees changed', () => {
    const access = compileAccess(settings({ backends: globs('beta') }));
    const before = restrictCatalogue(catalogue, access).key;
    const alphaChanged = buildCatalogue([alpha, beta], states(offering(alpha, [tool('echo'), tool('brand_new')]), backendStates.get('beta') as BackendState), new Set());
    expect(restrictCatalogue(alphaChanged, access).key).toBe(before);
    const betaChanged = buildCatalogue([alpha, beta], states(backendStates.get('alpha') as BackendState, offering(beta, [tool('echo2')])), new Set());
    expect(restrictCatalogue(betaChanged, access).key).not.toBe(before);
  });

  it('shows a principal no finding about a tool it may not use, nor one that names a backend it may not use', () => {
    const secret = entry('secret');
    const pub = entry('pub');
    const both = states(offering(secret, [tool('search')]), offering(pub, [tool('search'), tool('delete_all', { inputSchema: 'not a schema' })]));
    const built = buildCatalogue([secret, pub], both, new Set());
    expect(built.findings.map((finding) => finding.reason).join(' ')).toMatch(/already provided by backend 'secret'/);
    const mine = restrictCatalogue(built, compileAccess(settings({ backends: globs('pub'), tools: globs('!delete_*') })));
    expect(mine.findings).toEqual([]);
  });

  it('is the catalogue itself for full access, and built once per input for a principal', () => {
    expect(restrictCatalogue(catalogue, FULL_ACCESS)).toBe(catalogue);
    const access = compileAccess(settings({ tools: globs('a_*') }));
    expect(restrictCatalogue(catalogue, access)).toBe(restrictCatalogue(catalogue, access));
  });
});

describe('restrictOffers', () => {
  const access = compileAccess(settings({ resources: globs('file:///alpha/*', 'db://*', '!db://secrets'), prompts: globs('a_greet') }));
  const mine = restrictOffers(offers, access);

  it('lists only the resources, templates and prompts the globs allow', () => {
    expect(mine.resources.map((r) => (r as { uri: string }).uri)).toEqual(['file:///alpha/readme.md']);
    // a template is listed when its own text matches; file:///alpha/notes/{name} does (the glob's * spans it)
    expect(mine.resourceTemplates.map((t) => (t as { uriTemplate: string }).uriTemplate)).toEqual(['file:///alpha/notes/{name}', 'db://{table}']);
    expect(mine.prompts.map((p) => (p as { name: string }).name)).toEqual(['a_greet']);
    expect([...mine.promptRoutes.keys()]).toEqual(['a_greet']);
  });

  it('gives a forbidden URI no owner, whether listed or matched by a template', () => {
    expect(resourceOwner(mine, 'file:///alpha/readme.md')).toBe('alpha');
    expect(resourceOwner(mine, 'mem://alpha/status')).toBeUndefined();
    expect(resourceOwner(mine, 'file:///beta/readme.md')).toBeUndefined();
    expect(resourceOwner(mine, 'db://users')).toBe('alpha');
    expect(resourceOwner(mine, 'db://secrets')).toBeUndefined();
    // the unrestricted offers still route them
    expect(resourceOwner(offers, 'db://secrets')).toBe('alpha');
  });

  it('changes a key only for what the principal sees', () => {
    const before = mine.resourcesKey;
    const otherStates = states(backendStates.get('alpha') as BackendState, offering(beta, [], { resources: [{ uri: 'file:///beta/other.md', name: 'other' }] }));
    expect(restrictOffers(buildOffers([alpha, beta], otherStates), access).resourcesKey).toBe(before);
  });
});

describe('restrictStates', () => {
  it('keeps the backends the principal may use', () => {
    expect([...restrictStates(backendStates, compileAccess(settings({ backends: globs('al*') }))).keys()]).toEqual(['alpha']);
  });
});

describe('ownEntries', () => {
  const shared = entry('gh', { transport: 'http', url: 'http://gh.test/mcp', isolation: 'per-client', credentials: 'per-principal', headers: { 'x-relay': 'r' } });
  const isolated = entry('scratch', { isolation: 'per-client' });
  const principal = (name: string, over: Partial<AccessSettings>): Principal => ({ name, kind: 'token', access: compileAccess(settings(over)) });

  it("puts the principal's own credentials on a per-principal backend, over the entry's headers", () => {
    const alice = principal('alice', { credentials: { gh: { headers: { authorization: 'Bearer alice-pat' }, env: {} } } });
    const [gh, scratch] = ownEntries([shared, isolated], alice);
    expect(gh?.headers).toEqual({ 'x-relay': 'r', authorization: 'Bearer alice-pat' });
    expect(scratch).toBe(isolated);
  });

  it("puts a principal's env on a per-principal command: backend's environment", () => {
    const program = entry('shell', { transport: 'stdio', command: { command: 'shell-mcp', args: [], env: { HOME: '/srv' }, cwd: null }, isolation: 'per-client', credentials: 'per-principal' });
    const alice = principal('alice', { credentials: { shell: { headers: {}, env: { API_KEY: 'alice-key' } } } });
    expect(ownEntries([program], alice)[0]?.command?.env).toEqual({ HOME: '/srv', API_KEY: 'alice-key' });
  });

  it('leaves out a per-principal backend the principal has no credentials for, and backends it may not use', () => {
    expect(ownEntries([shared, isolated], principal('bob', {}))).toEqual([isolated]);
    expect(ownEntries([shared, isolated], principal('carol', { backends: globs('gh'), credentials: { gh: { headers: { a: 'b' }, env: {} } } })).map((e) => e.name)).toEqual(['gh']);
  });

  it('gives the stdio user the entries as written', () => {
    expect(ownEntries([shared, isolated], LOCAL_PRINCIPAL)).toEqual([shared, isolated]);
  });
});

describe('TokenBucket', () => {
  it('lets a burst through, then one per 1/rate, and says how long to wait', () => {
    const bucket = new TokenBucket(4, 2, 0);
    expect([bucket.take(0), bucket.take(0)]).toEqual([0, 0]);
    expect(bucket.take(0)).toBe(250);
    expect(bucket.take(100)).toBe(150);
    expect(bucket.take(250)).toBe(0);
    // idle time refills up to the burst, not beyond
    expect([bucket.take(10_000), bucket.take(10_000), bucket.take(10_000)].map((wait) => wait > 0)).toEqual([false, false, true]);
  });

  it('never admits more than burst + rate × elapsed (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 50 }), fc.integer({ min: 1, max: 20 }), fc.array(fc.integer({ min: 0, max: 200 }), { maxLength: 200 }), (rate, burst, gaps) => {
        const bucket = new TokenBucket(rate, burst, 0);
        let now = 0;
        let admitted = 0;
        for (const gap of gaps) {
          now += gap;
          if (bucket.take(now) === 0) admitted++;
        }
        expect(admitted).toBeLessThanOrEqual(burst + Math.floor((rate * now) / 1_000) + 1);
      }),
    );
  });
});

describe('Admission', () => {
  it('refuses over the connection rate, then over the shared principal rate', () => {
    let now = 0;
    const principalBucket = new TokenBucket(1, 3, 0);
    const admission = new Admission({ rate: { requestsPerSecond: 10, burst: 2 } }, principalBucket, () => now);
    expect([admission.admit(), admission.admit()]).toEqual([null, null]);
    expect(admission.admit()).toMatchObject({ limit: 'rate', retryAfterMs: 100 });
    now = 200;
    // its own bucket has room again; the principal's has one token left, then none
    expect(admission.admit()).toBeNull();
    expect(admission.admit()).toMatchObject({ limit: 'principal-rate' });
    // the connection's token given back: it is not charged for what the principal's limit refused
    const other = new Admission({ rate: { requestsPerSecond: 10, burst: 2 } }, principalBucket, () => now);
    expect(other.admit()).toMatchObject({ limit: 'principal-rate' });
  });
});

describe('IdTable with a seed', () => {
  it('keeps every id apart whatever the seed (property)', () => {
    fc.assert(
      fc.property(fc.integer(), fc.uniqueArray(fc.oneof(fc.integer(), fc.string({ maxLength: 12 })), { maxLength: 300 }), (seed, ids) => {
        const table = new IdTable<number>(seed);
        ids.forEach((id, index) => table.set(id, index));
        ids.forEach((id, index) => expect(table.get(id)).toBe(index));
        for (const id of ids.slice(0, ids.length / 2)) table.delete(id);
        expect(table.size).toBe(ids.length - Math.floor(ids.length / 2));
      }),
    );
  });

  it('places the same ids differently under different seeds (a client cannot aim collisions at it)', () => {
    const slots = (seed: number) => {
      const table = new IdTable<number>(seed) as unknown as { home(id: number): number; keys: unknown[] };
      for (let i = 0; i < 1_000; i++) (table as unknown as IdTable<number>).set(i * 4_096, i);
      return Array.from({ length: 8 }, (_, i) => table.home(i * 4_096));
    };
    expect(slots(1)).not.toEqual(slots(2));
  });
});
