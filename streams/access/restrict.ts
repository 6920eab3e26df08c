/**
 * A principal's part of the catalogue, the offers and the backend states: what it may not use is absent, so a list
 * does not show it and a call to it is refused exactly as an unknown name is. Each view is built once per change of
 * its input and cached on the principal's Access (its connections share it), so the per-call path reads a ready map.
 */
import type { BackendStates } from '../backend/backends.js';
import type { BackendTools, Catalogue, ToolFinding } from '../catalogue/catalogue.js';
import type { Offers } from '../catalogue/offers.js';
import { isObjectRecord } from '../core/jsonrpc.js';
import type { Access } from './access.js';

/** the last input and its view, per Access: inputs change rarely and every connection of a principal asks for the same */
function lastOf<In extends object, Out>(build: (input: In, access: Access) => Out): (input: In, access: Access) => Out {
  const cache = new WeakMap<Access, { input: In; output: Out }>();
  return (input, access) => {
    if (access.full) return input as unknown as Out;
    const hit = cache.get(access);
    if (hit?.input === input) return hit.output;
    const output = build(input, access);
    cache.set(access, { input, output });
    return output;
  };
}

/**
 * A finding (a warning, a conflict) a principal may see: about a backend and a name it may use, and naming no
 * backend it may not (a conflict names the backend that won the name).
 */
function visible(finding: ToolFinding, access: Access, nameAllowed: (name: string) => boolean): boolean {
  if (!access.backend(finding.backend) || (finding.tool !== null && !nameAllowed(finding.tool))) return false;
  for (const named of finding.reason.matchAll(/backend '([^']+)'/g)) if (named[1] !== undefined && !access.backend(named[1])) return false;
  return true;
}

const field = (item: unknown, name: string): string | null => (isObjectRecord(item) && typeof item[name] === 'string' ? (item[name] as string) : null);

export const restrictCatalogue = lastOf((catalogue: Catalogue, access: Access): Catalogue => {
  const allowed = (name: string) => {
    const backend = catalogue.routes.get(name);
    return backend !== undefined && access.backend(backend) && access.tool(name);
  };
  const tools = catalogue.tools.filter((tool) => {
    const name = field(tool, 'name');
    // a prefixed tool's definition still carries its backend's name: the exposed one is in routes
    return name !== null && allowed(name);
  });
  const perBackend = new Map<string, BackendTools>();
  for (const [backend, summary] of catalogue.perBackend) if (access.backend(backend)) perBackend.set(backend, { ...summary, valid: summary.valid.filter(allowed) });
  return {
    tools,
    routes: new Map([...catalogue.routes].filter(([name]) => allowed(name))),
    originals: new Map([...catalogue.originals].filter(([name]) => allowed(name))),
    findings: catalogue.findings.filter((finding) => visible(finding, access, access.tool)),
    perBackend,
    // what this principal sees, and only that: a change to a tool it cannot see is no list_changed for it
    key: JSON.stringify(tools),
  };
});

export const restrictOffers = lastOf((offers: Offers, access: Access): Offers => {
  const resourceOk = (uri: string | null, backend: string | undefined) => uri !== null && backend !== undefined && access.backend(backend) && access.resource(uri);
  const promptOk = (name: string | null) => {
    const backend = name === null ? undefined : offers.promptRoutes.get(name);
    return name !== null && backend !== undefined && access.backend(backend) && access.prompt(name);
  };
  const resources = offers.resources.filter((resource) => {
    const uri = field(resource, 'uri');
    return resourceOk(uri, uri === null ? undefined : offers.resourceRoutes.get(uri));
  });
  // a template is listed when its own text is allowed; a URI read through any template is checked itself (uriAllowed)
  const templateRoutes = offers.templateRoutes.filter((route) => access.backend(route.backend));
  const listedTemplates = new Set(templateRoutes.filter((route) => access.resource(route.template)).map((route) => route.template));
  const resourceTemplates = offers.resourceTemplates.filter((template) => {
    const text = field(template, 'uriTemplate');
    return text !== null && listedTemplates.has(text);
  });
  const prompts = offers.prompts.filter((prompt) => promptOk(field(prompt, 'name')));
  const promptRoutes = new Map([...offers.promptRoutes].filter(([name]) => promptOk(name)));
  return {
    resources,
    resourceTemplates,
    prompts,
    resourceRoutes: new Map([...offers.resourceRoutes].filter(([uri, backend]) => resourceOk(uri, backend))),
    templateRoutes,
    promptRoutes,
    promptOriginals: new Map([...offers.promptOriginals].filter(([name]) => promptRoutes.has(name))),
    findings: offers.findings.filter((finding) => visible(finding, access, (name) => access.prompt(name) || access.resource(name))),
    resourcesKey: JSON.stringify([resources, resourceTemplates]),
    promptsKey: JSON.stringify(prompts),
    uriAllowed: access.resource,
  };
});

export const restrictStates = lastOf((states: BackendStates, access: Access): BackendStates => new Map([...states].filter(([name]) => access.backend(name))));
