import { describe, expect, it } from 'vitest';
import { initialBackendState, type BackendState } from '../../streams/backend/backend-state.js';
import type { Extras } from '../../streams/backend/connection.js';
import { buildOffers, resourceOwner } from '../../streams/catalogue/offers.js';
import type { BackendEntry } from '../../streams/config/schema.js';
import { entry, states } from './helpers.js';

const alpha = entry('alpha');
const beta = entry('beta');
const gamma = entry('gamma', { prefix: 'g_' });

function offering(backendEntry: BackendEntry, extras: Partial<Extras>): BackendState {
  return { ...initialBackendState(backendEntry, 1), phase: 'connected', tools: [], attempts: 1, extras: { resources: [], resourceTemplates: [], prompts: [], ...extras } };
}

const resource = (uri: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({ uri, name: uri.split('/').at(-1), mimeType: 'text/plain', ...extra });
const template = (uriTemplate: string): Record<string, unknown> => ({ uriTemplate, name: `template ${uriTemplate}` });
const prompt = (name: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  name,
  description: `${name} prompt`,
  arguments: [{ name: 'topic', required: true }],
  ...extra,
});

describe('buildOffers', () => {
  it('merges every backend in config order and routes each URI and prompt to its backend', () => {
    const offers = buildOffers(
      [alpha, beta],
      states(offering(beta, { resources: [resource('file:///b')], prompts: [prompt('bp')] }), offering(alpha, { resources: [resource('file:///a')], prompts: [prompt('ap')] })),
    );
    expect(offers.resources).toEqual([resource('file:///a'), resource('file:///b')]);
    expect(offers.prompts).toEqual([prompt('ap'), prompt('bp')]);
    expect([...offers.resourceRoutes]).toEqual([
      ['file:///a', 'alpha'],
      ['file:///b', 'beta'],
    ]);
    expect([...offers.promptRoutes]).toEqual([
      ['ap', 'alpha'],
      ['bp', 'beta'],
    ]);
    expect(offers.promptOriginals.size).toBe(0);
    expect(offers.findings).toEqual([]);
  });

  it('skips backends that have listed nothing yet and states of backends no longer in the config', () => {
    const offers = buildOffers([alpha, beta], states(initialBackendState(alpha, 1), offering(entry('gone'), { resources: [resource('file:///g')], prompts: [prompt('g')] })));
    expect(offers.resources).toEqual([]);
    expect(offers.prompts).toEqual([]);
    expect(offers.resourceRoutes.size).toBe(0);
  });

  describe('conflicts', () => {
    it('gives a contested URI to the backend listed first in the config, and a finding naming both to the loser', () => {
      const fromAlpha = resource('file:///shared', { description: 'alpha copy' });
      const fromBeta = resource('file:///shared', { description: 'beta copy' });
      // beta entered the state map first: config order decides, not connection order
      const offers = buildOffers([alpha, beta], states(offering(beta, { resources: [fromBeta] }), offering(alpha, { resources: [fromAlpha] })));
      expect(offers.resources).toEqual([fromAlpha]);
      expect(offers.resourceRoutes.get('file:///shared')).toBe('alpha');
      expect(offers.findings).toEqual([{ backend: 'beta', tool: 'file:///shared', level: 'invalid', reason: expect.stringContaining("'alpha'") }]);
    });

    it('follows the config order when it is reversed', () => {
      const offers = buildOffers([beta, alpha], states(offering(alpha, { resources: [resource('file:///shared')] }), offering(beta, { resources: [resource('file:///shared')] })));
      expect(offers.resourceRoutes.get('file:///shared')).toBe('beta');
      expect(offers.findings).toEqual([{ backend: 'alpha', tool: 'file:///shared', level: 'invalid', reason: expect.stringContaining("'beta'") }]);
    });

    it('gives a contested prompt name to the backend listed first, and a finding naming both to the loser', () => {
      const fromAlpha = prompt('summarize', { description: 'alpha summarize' });
      const offers = buildOffers([alpha, beta], states(offering(beta, { prompts: [prompt('summarize', { description: 'beta summarize' })] }), offering(alpha, { prompts: [fromAlpha] })));
      expect(offers.prompts).toEqual([fromAlpha]);
      expect(offers.promptRoutes.get('summarize')).toBe('alpha');
      expect(offers.findings).toEqual([{ backend: 'beta', tool: 'summarize', level: 'invalid', reason: expect.stringContaining("'alpha'") }]);
    });
  });

  describe('prompt prefixes', () => {
    it('exposes a prefixed backend\'s prompts as prefix+name, every other field kept, and maps the name back', () => {
      const original = prompt('summarize', { title: 'Summarize', _meta: { 'vendor/x': 1 } });
      const offers = buildOffers([alpha, gamma], states(offering(alpha, { prompts: [prompt('summarize')] }), offering(gamma, { prompts: [original] })));
      expect(offers.prompts).toEqual([prompt('summarize'), { ...original, name: 'g_summarize' }]);
      expect(offers.promptRoutes.get('summarize')).toBe('alpha');
      expect(offers.promptRoutes.get('g_summarize')).toBe('gamma');
      expect([...offers.promptOriginals]).toEqual([['g_summarize', 'summarize']]);
      expect(offers.findings).toEqual([]);
      // the backend's own object is not changed
      expect(original['name']).toBe('summarize');
    });

    it('decides conflicts on the exposed (prefixed) name', () => {
      const offers = buildOffers([alpha, gamma], states(offering(alpha, { prompts: [prompt('g_summarize')] }), offering(gamma, { prompts: [prompt('summarize')] })));
      expect(offers.promptRoutes.get('g_summarize')).toBe('alpha');
      expect(offers.promptOriginals.has('g_summarize')).toBe(false);
      expect(offers.prompts).toEqual([prompt('g_summarize')]);
      expect(offers.findings).toEqual([{ backend: 'gamma', tool: 'g_summarize', level: 'invalid', reason: expect.stringContaining("'alpha'") }]);
    });

    it('does not prefix resource URIs', () => {
      const offers = buildOffers([gamma], states(offering(gamma, { resources: [resource('file:///x')] })));
      expect(offers.resources).toEqual([resource('file:///x')]);
      expect(offers.resourceRoutes.get('file:///x')).toBe('gamma');
    });
  });

  it('reports items without a usable uri, uriTemplate or name as findings and leaves them out', () => {
    const offers = buildOffers(
      [alpha],
      states(
        offering(alpha, {
          resources: [{ name: 'no uri' }, { uri: '' }, { uri: 42 }, 'not an object', resource('file:///ok')],
          resourceTemplates: [{ name: 'no template' }, null, template('file:///t/{id}')],
          prompts: [{ description: 'nameless' }, { name: '' }, prompt('ok')],
        }),
      ),
    );
    expect(offers.resources).toEqual([resource('file:///ok')]);
    expect(offers.resourceTemplates).toEqual([template('file:///t/{id}')]);
    expect(offers.prompts).toEqual([prompt('ok')]);
    expect(offers.templateRoutes.map((route) => route.template)).toEqual(['file:///t/{id}']);
    const invalid = (reason: string) => ({ backend: 'alpha', tool: null, level: 'invalid', reason: expect.stringContaining(reason) });
    expect(offers.findings).toEqual([
      ...Array.from({ length: 4 }, () => invalid('uri')),
      ...Array.from({ length: 2 }, () => invalid('uriTemplate')),
      ...Array.from({ length: 2 }, () => invalid('name')),
    ]);
  });

  describe('keys', () => {
    const base: Partial<Extras> = { resources: [resource('file:///a')], resourceTemplates: [template('file:///t/{id}')], prompts: [prompt('p')] };
    const keys = (extras: Partial<Extras>, backendEntry: BackendEntry = alpha) => {
      const offers = buildOffers([backendEntry], states(offering(backendEntry, extras)));
      return { resources: offers.resourcesKey, prompts: offers.promptsKey };
    };

    it('are equal for identical lists, even as fresh objects with keys in another order', () => {
      const reorder = (list: readonly unknown[] = []) => (JSON.parse(JSON.stringify(list)) as Array<Record<string, unknown>>).map((item) => Object.fromEntries(Object.entries(item).reverse()));
      expect(keys({ resources: reorder(base.resources), resourceTemplates: reorder(base.resourceTemplates), prompts: reorder(base.prompts) })).toEqual(keys(base));
    });

    it('change the resources key, not the prompts key, when a resource changes', () => {
      const changed = keys({ ...base, resources: [resource('file:///a', { mimeType: 'text/markdown' })] });
      expect(changed.resources).not.toBe(keys(base).resources);
      expect(changed.prompts).toBe(keys(base).prompts);
    });

    it('change the resources key when a resource is added or removed', () => {
      expect(keys({ ...base, resources: [...(base.resources ?? []), resource('file:///b')] }).resources).not.toBe(keys(base).resources);
      expect(keys({ ...base, resources: [] }).resources).not.toBe(keys(base).resources);
    });

    it('change the resources key when a template changes', () => {
      const changed = keys({ ...base, resourceTemplates: [template('file:///t/{name}')] });
      expect(changed.resources).not.toBe(keys(base).resources);
      expect(changed.prompts).toBe(keys(base).prompts);
    });

    it('change the prompts key, not the resources key, when a prompt changes', () => {
      const changed = keys({ ...base, prompts: [prompt('p', { description: 'new words' })] });
      expect(changed.prompts).not.toBe(keys(base).prompts);
      expect(changed.resources).toBe(keys(base).resources);
    });

    it('change the prompts key when the prefix changes the exposed names', () => {
      expect(keys(base, entry('alpha', { prefix: 'a_' })).prompts).not.toBe(keys(base).prompts);
    });
  });
});

describe('resourceOwner', () => {
  it('routes a listed URI to the backend that listed it', () => {
    const offers = buildOffers([alpha, beta], states(offering(alpha, { resources: [resource('file:///a')] }), offering(beta, { resources: [resource('file:///b')] })));
    expect(resourceOwner(offers, 'file:///a')).toBe('alpha');
    expect(resourceOwner(offers, 'file:///b')).toBe('beta');
    expect(resourceOwner(offers, 'file:///c')).toBeUndefined();
  });

  it('routes an unlisted URI to the first backend, in config order, whose template matches it', () => {
    const notes = offering(alpha, { resourceTemplates: [template('file:///notes/{name}')] });
    const anything = offering(beta, { resourceTemplates: [template('file:///{+path}')] });
    const offers = buildOffers([alpha, beta], states(anything, notes));
    expect(resourceOwner(offers, 'file:///notes/todo')).toBe('alpha');
    // {name} stops at a slash: only beta's {+path} covers it
    expect(resourceOwner(offers, 'file:///notes/a/b')).toBe('beta');
    expect(resourceOwner(offers, 'file:///docs/readme.md')).toBe('beta');
    expect(resourceOwner(offers, 'https://elsewhere/x')).toBeUndefined();

    const reversed = buildOffers([beta, alpha], states(anything, notes));
    expect(resourceOwner(reversed, 'file:///notes/todo')).toBe('beta');
  });

  it('routes the template string itself (a completion ref) to the backend that lists the template', () => {
    const offers = buildOffers([alpha], states(offering(alpha, { resourceTemplates: [template('db://{table}/rows{?limit}')] })));
    expect(resourceOwner(offers, 'db://{table}/rows{?limit}')).toBe('alpha');
    expect(resourceOwner(offers, 'db://users/rows?limit=5')).toBe('alpha');
  });

  it('prefers a resource listed exactly over a template of a backend listed earlier', () => {
    const offers = buildOffers(
      [alpha, beta],
      states(offering(alpha, { resourceTemplates: [template('file:///{+path}')] }), offering(beta, { resources: [resource('file:///special')] })),
    );
    expect(resourceOwner(offers, 'file:///special')).toBe('beta');
    expect(resourceOwner(offers, 'file:///other')).toBe('alpha');
  });

  it('keeps the templates of every backend, listed in config order, even when they overlap', () => {
    const offers = buildOffers([beta, alpha], states(offering(alpha, { resourceTemplates: [template('file:///{+path}')] }), offering(beta, { resourceTemplates: [template('file:///{+path}')] })));
    expect(offers.templateRoutes.map((route) => route.backend)).toEqual(['beta', 'alpha']);
    expect(offers.resourceTemplates).toHaveLength(2);
    expect(offers.findings).toEqual([]);
    expect(resourceOwner(offers, 'file:///x')).toBe('beta');
  });
});
