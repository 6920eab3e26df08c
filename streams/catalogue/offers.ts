/**
 * Resources, resource templates and prompts of every backend, merged like tools: the backend listed first
 * in backends.yaml keeps a contested URI or prompt name; prompts take the backend's prefix.
 */
import type { BackendStates } from '../backend/backends.js';
import { exposedKey } from './exposed-key.js';
import { isObjectRecord } from '../core/jsonrpc.js';
import type { BackendEntry } from '../config/schema.js';
import { templateMatcher } from './uri-template.js';
import type { ToolFinding } from './catalogue.js';

export interface TemplateRoute {
  backend: string;
  template: string;
  matcher: RegExp;
}

export interface Offers {
  resources: readonly unknown[];
  resourceTemplates: readonly unknown[];
  prompts: readonly unknown[];
  /** concrete resource URI -> backend */
  resourceRoutes: ReadonlyMap<string, string>;
  /** in config order: the first whose template matches a URI owns it */
  templateRoutes: readonly TemplateRoute[];
  /** exposed prompt name -> backend */
  promptRoutes: ReadonlyMap<string, string>;
  /** exposed prompt name -> the backend's own name, for prefixed backends only */
  promptOriginals: ReadonlyMap<string, string>;
  findings: readonly ToolFinding[];
  resourcesKey: string;
  promptsKey: string;
  /** a principal's view: a URI it may not use has no owner, even when a template matches it */
  uriAllowed?: (uri: string) => boolean;
}

/** a template's matcher is compiled once, not on every rebuild */
const matchers = new Map<string, RegExp>();
const matcherFor = (template: string): RegExp => {
  let matcher = matchers.get(template);
  if (!matcher) matchers.set(template, (matcher = templateMatcher(template)));
  return matcher;
};

const stringField = (item: unknown, field: string): string | null =>
  isObjectRecord(item) && typeof item[field] === 'string' && item[field] !== '' ? (item[field] as string) : null;

export function buildOffers(order: readonly BackendEntry[], states: BackendStates): Offers {
  const resources: unknown[] = [];
  const resourceTemplates: unknown[] = [];
  const prompts: unknown[] = [];
  const resourceRoutes = new Map<string, string>();
  const templateRoutes: TemplateRoute[] = [];
  const promptRoutes = new Map<string, string>();
  const promptOriginals = new Map<string, string>();
  const findings: ToolFinding[] = [];
  const invalid = (backend: string, name: string | null, reason: string) => findings.push({ backend, tool: name, level: 'invalid', reason });

  const resourceKeys: string[] = [];
  const promptKeys: string[] = [];
  for (const entry of order) {
    const extras = states.get(entry.name)?.extras;
    if (!extras) continue;
    const [firstResource, firstTemplate, firstPrompt] = [resources.length, resourceTemplates.length, prompts.length];
    for (const resource of extras.resources) {
      const uri = stringField(resource, 'uri');
      const owner = uri === null ? undefined : resourceRoutes.get(uri);
      if (uri === null) invalid(entry.name, null, 'resource without a string uri');
      else if (owner !== undefined) invalid(entry.name, uri, `resource conflict: '${uri}' is already provided by backend '${owner}', listed earlier`);
      else {
        resourceRoutes.set(uri, entry.name);
        resources.push(resource);
      }
    }
    for (const template of extras.resourceTemplates) {
      const uriTemplate = stringField(template, 'uriTemplate');
      if (uriTemplate === null) invalid(entry.name, null, 'resource template without a string uriTemplate');
      else {
        templateRoutes.push({ backend: entry.name, template: uriTemplate, matcher: matcherFor(uriTemplate) });
        resourceTemplates.push(template);
      }
    }
    for (const prompt of extras.prompts) {
      const name = stringField(prompt, 'name');
      const exposed = name === null ? null : entry.prefix + name;
      const owner = exposed === null ? undefined : promptRoutes.get(exposed);
      if (exposed === null || name === null) invalid(entry.name, null, 'prompt without a string name');
      else if (owner !== undefined) invalid(entry.name, exposed, `prompt name conflict: '${exposed}' is already provided by backend '${owner}', listed earlier`);
      else {
        promptRoutes.set(exposed, entry.name);
        if (entry.prefix) {
          promptOriginals.set(exposed, name);
          prompts.push({ ...(prompt as Record<string, unknown>), name: exposed });
        } else prompts.push(prompt);
      }
    }
    // each backend's part serialized once per list (see exposed-key.ts), not the whole aggregate on every rebuild
    const wonResources = resources.slice(firstResource);
    if (wonResources.length > 0) resourceKeys.push(exposedKey(extras.resources, wonResources.map((item) => stringField(item, 'uri') ?? ''), wonResources));
    if (resourceTemplates.length > firstTemplate) resourceKeys.push(`templates:${exposedKey(extras.resourceTemplates, [], resourceTemplates.slice(firstTemplate))}`);
    const wonPrompts = prompts.slice(firstPrompt);
    if (wonPrompts.length > 0) promptKeys.push(exposedKey(extras.prompts, wonPrompts.map((item) => stringField(item, 'name') ?? ''), wonPrompts));
  }
  return {
    resources,
    resourceTemplates,
    prompts,
    resourceRoutes,
    templateRoutes,
    promptRoutes,
    promptOriginals,
    findings,
    resourcesKey: resourceKeys.join('\n'),
    promptsKey: promptKeys.join('\n'),
  };
}

/** The backend that owns a URI: a listed resource first, else the first template (in config order) that matches. */
export function resourceOwner(offers: Offers, uri: string): string | undefined {
  if (offers.uriAllowed && !offers.uriAllowed(uri)) return undefined;
  return offers.resourceRoutes.get(uri) ?? offers.templateRoutes.find((route) => route.template === uri || route.matcher.test(uri))?.backend;
}
