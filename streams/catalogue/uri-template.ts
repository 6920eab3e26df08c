/** Just enough of RFC 6570 to tell which resource template a concrete URI came from. */
const EXPRESSION = /\{([+#./;?&]?)[^}]*\}/g;

const PART: Record<string, string> = {
  '': '[^/?#]*',
  '+': '[^?#]*',
  '#': '(?:#.*)?',
  '.': '(?:\\.[^/?#]*)?',
  '/': '(?:/[^?#]*)?',
  ';': '(?:;[^/?#]*)?',
  '?': '(?:\\?[^#]*)?',
  '&': '(?:&[^#]*)?',
};

const escape = (literal: string): string => literal.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export function templateMatcher(template: string): RegExp {
  let pattern = '';
  let last = 0;
  for (const match of template.matchAll(EXPRESSION)) {
    pattern += escape(template.slice(last, match.index)) + (PART[match[1] ?? ''] ?? PART['']);
    last = match.index + match[0].length;
  }
  return new RegExp(`^${pattern}${escape(template.slice(last))}$`);
}
