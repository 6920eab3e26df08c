import { describe, expect, it } from 'vitest';
import { buildCatalogue } from '../../streams/catalogue/catalogue.js';
import { initialBackendState } from '../../streams/backend/backend-state.js';
import { connectedState, entry, states, tool } from './helpers.js';

const none: ReadonlySet<string> = new Set();
const alpha = entry('alpha');
const beta = entry('beta');

describe('buildCatalogue', () => {
  it('exposes every valid tool, in config order, with a route to its backend', () => {
    const catalogue = buildCatalogue([alpha, beta], states(connectedState(beta, [tool('b1')]), connectedState(alpha, [tool('a1'), tool('a2')])), none);
    expect(catalogue.tools.map((t) => (t as { name: string }).name)).toEqual(['a1', 'a2', 'b1']);
    expect([...catalogue.routes]).toEqual([
      ['a1', 'alpha'],
      ['a2', 'alpha'],
      ['b1', 'beta'],
    ]);
    expect(catalogue.perBackend.get('alpha')).toEqual({ valid: ['a1', 'a2'], invalid: 0, filtered: 0 });
    expect(catalogue.findings).toEqual([]);
  });

  it('exposes tools exactly as the backend sent them: same objects, unknown fields kept', () => {
    const rich = tool('rich', {
      title: 'Rich',
      annotations: { readOnlyHint: true },
      outputSchema: { type: 'object', properties: { n: { type: 'number' } } },
      _meta: { 'vendor/x': 1 },
      'x-unknown': [1, 2, 3],
    });
    const catalogue = buildCatalogue([alpha], states(connectedState(alpha, [rich])), none);
    expect(catalogue.tools).toHaveLength(1);
    expect(catalogue.tools[0]).toBe(rich);
    expect(catalogue.tools[0]).toEqual(tool('rich', { title: 'Rich', annotations: { readOnlyHint: true }, outputSchema: { type: 'object', properties: { n: { type: 'number' } } }, _meta: { 'vendor/x': 1 }, 'x-unknown': [1, 2, 3] }));
  });

  it('leaves out invalid tools, counts them, and says why', () => {
    const broken = { name: 'broken', description: 'x', inputSchema: { type: 'string' } };
    const catalogue = buildCatalogue([alpha], states(connectedState(alpha, [tool('ok'), broken, { description: 'nameless' }])), none);
    expect(catalogue.tools).toEqual([tool('ok')]);
    expect(catalogue.routes.has('broken')).toBe(false);
    expect(catalogue.perBackend.get('alpha')).toEqual({ valid: ['ok'], invalid: 2, filtered: 0 });
    expect(catalogue.findings).toEqual([
      { backend: 'alpha', tool: 'broken', level: 'invalid', reason: 'inputSchema.type is "string", not "object"' },
      { backend: 'alpha', tool: null, level: 'invalid', reason: 'no string name' },
      { backend: 'alpha', tool: null, level: 'invalid', reason: 'no inputSchema object' },
    ]);
  });

  it('exposes a tool with only warnings and reports the warnings', () => {
    const plain = { name: 'plain', inputSchema: { type: 'object' } };
    const catalogue = buildCatalogue([alpha], states(connectedState(alpha, [plain])), none);
    expect(catalogue.tools).toEqual([plain]);
    expect(catalogue.findings).toEqual([{ backend: 'alpha', tool: 'plain', level: 'warning', reason: 'no description' }]);
  });

  describe('name conflicts', () => {
    it('gives the name to the backend listed first in the config, whatever the order of the state map', () => {
      const fromAlpha = tool('search', { description: 'alpha search' });
      const fromBeta = tool('search', { description: 'beta search' });
      // beta connected (and entered the map) first
      const map = states(connectedState(beta, [fromBeta]), connectedState(alpha, [fromAlpha]));
      const catalogue = buildCatalogue([alpha, beta], map, none);
      expect(catalogue.tools).toEqual([fromAlpha]);
      expect(catalogue.routes.get('search')).toBe('alpha');
      expect(catalogue.perBackend.get('beta')).toEqual({ valid: [], invalid: 1, filtered: 0 });
      expect(catalogue.findings).toEqual([
        { backend: 'beta', tool: 'search', level: 'invalid', reason: expect.stringMatching(/'alpha'.*'beta'/) },
      ]);
    });

    it('follows the config order, not the names', () => {
      const fromAlpha = tool('search', { description: 'alpha search' });
      const fromBeta = tool('search', { description: 'beta search' });
      const map = states(connectedState(alpha, [fromAlpha]), connectedState(beta, [fromBeta]));
      const catalogue = buildCatalogue([beta, alpha], map, none);
      expect(catalogue.tools).toEqual([fromBeta]);
      expect(catalogue.routes.get('search')).toBe('beta');
      expect(catalogue.findings).toEqual([{ backend: 'alpha', tool: 'search', level: 'invalid', reason: expect.stringMatching(/'beta'.*'alpha'/) }]);
    });

    it('gives the name to the later backend when the earlier copy is itself invalid', () => {
      const brokenAlpha = { name: 'search', description: 'x', inputSchema: { type: 'string' } };
      const catalogue = buildCatalogue([alpha, beta], states(connectedState(alpha, [brokenAlpha]), connectedState(beta, [tool('search')])), none);
      expect(catalogue.routes.get('search')).toBe('beta');
    });

    it('keeps reserved names (the relay\'s own tools) above every backend', () => {
      const reserved = new Set(['relay_get_status']);
      const catalogue = buildCatalogue([alpha], states(connectedState(alpha, [tool('relay_get_status'), tool('other')])), reserved);
      expect(catalogue.tools).toEqual([tool('other')]);
      expect(catalogue.routes.has('relay_get_status')).toBe(false);
      expect(catalogue.findings).toEqual([
        { backend: 'alpha', tool: 'relay_get_status', level: 'invalid', reason: expect.stringContaining('mcp-relay (management tool)') },
      ]);
    });
  });

  it('skips backends that never listed tools and states of backends no longer in the config', () => {
    const gamma = entry('gamma');
    const catalogue = buildCatalogue([alpha, beta], states({ ...initialBackendState(alpha, 1) }, connectedState(gamma, [tool('g')])), none);
    expect(catalogue.tools).toEqual([]);
    expect(catalogue.perBackend.size).toBe(0);
  });

  it('keeps the last-known tools of a failed backend', () => {
    const failed = { ...connectedState(alpha, [tool('a1')]), phase: 'failed' as const, error: 'connection refused' };
    expect(buildCatalogue([alpha], states(failed), none).routes.get('a1')).toBe('alpha');
  });

  describe('key', () => {
    const key = (tools: unknown[]) => buildCatalogue([alpha], states(connectedState(alpha, tools)), none).key;
    const base = [tool('a1', { inputSchema: { type: 'object', properties: { q: { type: 'string' } } } }), tool('a2')];

    it('is equal for identical tool lists, even as fresh objects with keys in another order', () => {
      const rebuilt = (JSON.parse(JSON.stringify(base)) as Array<Record<string, unknown>>).map((t) => Object.fromEntries(Object.entries(t).reverse()));
      expect(key(rebuilt)).toBe(key(base));
    });

    it.each<[string, unknown[]]>([
      ['a renamed tool', [tool('a1b', { inputSchema: base[0]!['inputSchema'] }), tool('a2')]],
      ['a changed schema', [tool('a1', { inputSchema: { type: 'object', properties: { q: { type: 'number' } } } }), tool('a2')]],
      ['a changed description', [tool('a1', { inputSchema: base[0]!['inputSchema'], description: 'new words' }), tool('a2')]],
      ['a removed tool', [base[0]]],
      ['an added tool', [...base, tool('a3')]],
    ])('changes with %s', (_what, tools) => {
      expect(key(tools)).not.toBe(key(base));
    });

    it('does not change when only an invalid tool comes or goes', () => {
      expect(key([...base, { name: 'broken' }])).toBe(key(base));
    });
  });
});
