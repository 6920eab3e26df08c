import { describe, expect, it } from 'vitest';
import { buildCatalogue } from '../../streams/catalogue/catalogue.js';
import { claudeNameWarning } from '../../streams/catalogue/validate.js';
import { connectedState, entry, states, tool } from './helpers.js';

const none: ReadonlySet<string> = new Set();
const alpha = entry('alpha');
const gh = entry('gh', { prefix: 'gh_' });
const names = (tools: readonly unknown[]): string[] => tools.map((t) => (t as { name: string }).name);

describe('buildCatalogue: per-backend prefix', () => {
  it('exposes prefix+name, routes it to the backend and maps it back to the backend\'s own name', () => {
    const catalogue = buildCatalogue([gh], states(connectedState(gh, [tool('search'), tool('issues')])), none);
    expect(names(catalogue.tools)).toEqual(['gh_search', 'gh_issues']);
    expect([...catalogue.routes]).toEqual([
      ['gh_search', 'gh'],
      ['gh_issues', 'gh'],
    ]);
    expect([...catalogue.originals]).toEqual([
      ['gh_search', 'search'],
      ['gh_issues', 'issues'],
    ]);
    expect(catalogue.perBackend.get('gh')).toEqual({ valid: ['gh_search', 'gh_issues'], invalid: 0, filtered: 0 });
    expect(catalogue.routes.has('search')).toBe(false);
    expect(catalogue.findings).toEqual([]);
  });

  it('keeps every other field of the exposed definition and leaves the backend\'s object alone', () => {
    const rich = tool('search', { title: 'Search', annotations: { readOnlyHint: true }, outputSchema: { type: 'object' }, _meta: { 'vendor/x': 1 }, 'x-unknown': [1, 2] });
    const catalogue = buildCatalogue([gh], states(connectedState(gh, [rich])), none);
    expect(catalogue.tools).toEqual([{ ...rich, name: 'gh_search' }]);
    expect(rich['name']).toBe('search');
  });

  it('has no originals for backends without a prefix', () => {
    const catalogue = buildCatalogue([alpha, gh], states(connectedState(alpha, [tool('search')]), connectedState(gh, [tool('search')])), none);
    expect(names(catalogue.tools)).toEqual(['search', 'gh_search']);
    expect(catalogue.originals.has('search')).toBe(false);
    expect(catalogue.findings).toEqual([]);
  });

  it('changes the key when the prefix changes', () => {
    const key = (backendEntry = gh) => buildCatalogue([backendEntry], states(connectedState(backendEntry, [tool('search')])), none).key;
    expect(key(entry('gh', { prefix: 'github_' }))).not.toBe(key());
  });

  describe('conflicts on the exposed name', () => {
    it('gives the exposed name to the backend listed first, the prefixed loser gets a finding naming both', () => {
      const catalogue = buildCatalogue([alpha, gh], states(connectedState(gh, [tool('search')]), connectedState(alpha, [tool('gh_search')])), none);
      expect(catalogue.routes.get('gh_search')).toBe('alpha');
      expect(catalogue.originals.has('gh_search')).toBe(false);
      expect(catalogue.tools).toEqual([tool('gh_search')]);
      expect(catalogue.perBackend.get('gh')).toEqual({ valid: [], invalid: 1, filtered: 0 });
      expect(catalogue.findings).toEqual([{ backend: 'gh', tool: 'gh_search', level: 'invalid', reason: expect.stringMatching(/'alpha'.*'gh'/) }]);
    });

    it('lets a prefixed backend listed first win over an unprefixed one', () => {
      const catalogue = buildCatalogue([gh, alpha], states(connectedState(alpha, [tool('gh_search')]), connectedState(gh, [tool('search')])), none);
      expect(catalogue.routes.get('gh_search')).toBe('gh');
      expect(catalogue.originals.get('gh_search')).toBe('search');
      expect(catalogue.findings).toEqual([{ backend: 'alpha', tool: 'gh_search', level: 'invalid', reason: expect.stringMatching(/'gh'.*'alpha'/) }]);
    });

    it('keeps reserved names above a prefixed name that becomes one', () => {
      const relay = entry('relay', { prefix: 'relay_' });
      const catalogue = buildCatalogue([relay], states(connectedState(relay, [tool('get_status'), tool('other')])), new Set(['relay_get_status']));
      expect(names(catalogue.tools)).toEqual(['relay_other']);
      expect(catalogue.findings).toEqual([{ backend: 'relay', tool: 'relay_get_status', level: 'invalid', reason: expect.stringContaining('mcp-relay (management tool)') }]);
    });
  });

  describe('name warnings', () => {
    it('warns when prefix+name is longer than 64 characters, and still exposes the tool', () => {
      const long = 'n'.repeat(62); // 65 with the prefix
      const catalogue = buildCatalogue([gh], states(connectedState(gh, [tool(long)])), none);
      expect(names(catalogue.tools)).toEqual([`gh_${long}`]);
      expect(catalogue.findings).toEqual([{ backend: 'gh', tool: `gh_${long}`, level: 'warning', reason: claudeNameWarning(`gh_${long}`) }]);
    });

    it('does not warn at exactly 64 characters', () => {
      const fits = 'n'.repeat(61);
      expect(buildCatalogue([gh], states(connectedState(gh, [tool(fits)])), none).findings).toEqual([]);
    });

    it('warns about the exposed name when the name has characters Claude rejects', () => {
      const catalogue = buildCatalogue([gh], states(connectedState(gh, [tool('read.file')])), none);
      expect(names(catalogue.tools)).toEqual(['gh_read.file']);
      expect(catalogue.findings).toContainEqual({ backend: 'gh', tool: 'gh_read.file', level: 'warning', reason: claudeNameWarning('gh_read.file') });
      expect(catalogue.findings.every((finding) => finding.level === 'warning')).toBe(true);
    });
  });
});

describe('buildCatalogue: tool include/exclude filter', () => {
  it('exposes only included tools; the rest are counted as filtered, not as findings', () => {
    const picky = entry('picky', { toolFilter: { include: ['get_*'], exclude: [] } });
    const catalogue = buildCatalogue([picky], states(connectedState(picky, [tool('get_a'), tool('set_b'), tool('get_c'), tool('delete_d')])), none);
    expect(names(catalogue.tools)).toEqual(['get_a', 'get_c']);
    expect(catalogue.routes.has('set_b')).toBe(false);
    expect(catalogue.perBackend.get('picky')).toEqual({ valid: ['get_a', 'get_c'], invalid: 0, filtered: 2 });
    expect(catalogue.findings).toEqual([]);
  });

  it('lets exclude win over include', () => {
    const picky = entry('picky', { toolFilter: { include: ['*'], exclude: ['*_admin', 'drop'] } });
    const catalogue = buildCatalogue([picky], states(connectedState(picky, [tool('get_admin'), tool('get_user'), tool('drop')])), none);
    expect(names(catalogue.tools)).toEqual(['get_user']);
    expect(catalogue.perBackend.get('picky')).toEqual({ valid: ['get_user'], invalid: 0, filtered: 2 });
  });

  it('counts a filtered tool as filtered even when its definition is invalid, with no finding', () => {
    const picky = entry('picky', { toolFilter: { include: [], exclude: ['broken'] } });
    const broken = { name: 'broken', inputSchema: { type: 'string' } };
    const catalogue = buildCatalogue([picky], states(connectedState(picky, [broken, tool('ok')])), none);
    expect(catalogue.perBackend.get('picky')).toEqual({ valid: ['ok'], invalid: 0, filtered: 1 });
    expect(catalogue.findings).toEqual([]);
  });

  it('leaves a filtered name free for a backend listed later', () => {
    const picky = entry('picky', { toolFilter: { include: [], exclude: ['search'] } });
    const beta = entry('beta');
    const catalogue = buildCatalogue([picky, beta], states(connectedState(picky, [tool('search')]), connectedState(beta, [tool('search')])), none);
    expect(catalogue.routes.get('search')).toBe('beta');
    expect(catalogue.findings).toEqual([]);
  });

  it('matches the patterns against the backend\'s own names, then prefixes what is left', () => {
    const both = entry('both', { prefix: 'b_', toolFilter: { include: ['get_*'], exclude: [] } });
    const catalogue = buildCatalogue([both], states(connectedState(both, [tool('get_a'), tool('b_get_x'), tool('set_c')])), none);
    expect(names(catalogue.tools)).toEqual(['b_get_a']);
    expect(catalogue.originals.get('b_get_a')).toBe('get_a');
    expect(catalogue.perBackend.get('both')).toEqual({ valid: ['b_get_a'], invalid: 0, filtered: 2 });
  });

  it('does not change the key when only filtered tools come or go', () => {
    const picky = entry('picky', { toolFilter: { include: [], exclude: ['hidden_*'] } });
    const key = (tools: unknown[]) => buildCatalogue([picky], states(connectedState(picky, tools)), none).key;
    expect(key([tool('a'), tool('hidden_x')])).toBe(key([tool('a')]));
  });
});
