import { describe, expect, it } from 'vitest';
import { buildCatalogue, type Catalogue } from '../../streams/catalogue/catalogue.js';
import { searchTools } from '../../streams/management/management.js';
import { connectedState, entry, states, tool } from './helpers.js';

const alpha = entry('alpha');
const gh = entry('gh', { prefix: 'gh_' });
const schema = { type: 'object', properties: { title: { type: 'string' } } };

const catalogue: Catalogue = buildCatalogue(
  [alpha, gh],
  states(
    connectedState(alpha, [
      tool('create_issue', { description: 'Open a new ticket in the tracker', inputSchema: schema }),
      tool('create_pr', { description: 'Open a pull request' }),
      { name: 'bare', inputSchema: { type: 'object' } },
    ]),
    connectedState(gh, [tool('new_thing', { description: 'Create an Issue on GitHub' })]),
  ),
  new Set(),
);

const found = (query: unknown): string[] => searchTools(catalogue, query).matches.map((match) => match.name);

describe('searchTools', () => {
  it('lists every tool, in catalogue order, for an empty or blank query', () => {
    expect(found('')).toEqual(['create_issue', 'create_pr', 'bare', 'gh_new_thing']);
    expect(found('   \t ')).toEqual(['create_issue', 'create_pr', 'bare', 'gh_new_thing']);
  });

  it('treats a query that is not a string as empty', () => {
    expect(searchTools(catalogue, undefined)).toEqual({ query: '', matches: expect.any(Array) });
    expect(found(42)).toHaveLength(4);
  });

  it('needs every word to match the name or the description', () => {
    expect(found('create issue')).toEqual(['create_issue', 'gh_new_thing']);
    expect(found('open pull')).toEqual(['create_pr']);
    expect(found('create nowhere')).toEqual([]);
  });

  it('lets one word match the name and another the description', () => {
    expect(found('create_issue tracker')).toEqual(['create_issue']);
    expect(found('bare tracker')).toEqual([]);
  });

  it('ignores case in the query and in the tool', () => {
    expect(found('ISSUE')).toEqual(['create_issue', 'gh_new_thing']);
    expect(found('github')).toEqual(['gh_new_thing']);
  });

  it('ignores extra whitespace between words', () => {
    expect(found('  open    ticket ')).toEqual(['create_issue']);
  });

  it('returns the query, the exposed name, its backend from the routes, the description and the input schema', () => {
    expect(searchTools(catalogue, 'Ticket')).toEqual({
      query: 'Ticket',
      matches: [{ name: 'create_issue', backend: 'alpha', description: 'Open a new ticket in the tracker', inputSchema: schema }],
    });
    expect(searchTools(catalogue, 'github').matches).toEqual([{ name: 'gh_new_thing', backend: 'gh', description: 'Create an Issue on GitHub', inputSchema: { type: 'object', properties: {} } }]);
  });

  it('leaves the description out when the tool has none', () => {
    const [bare] = searchTools(catalogue, 'bare').matches;
    expect(bare).toStrictEqual({ name: 'bare', backend: 'alpha', inputSchema: { type: 'object' } });
  });

  it('does not match a word against the description of a tool without one', () => {
    expect(found('undefined')).toEqual([]);
  });
});
