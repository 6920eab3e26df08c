/** URLs as status and logs may show them: no user-info, no query values (tokens live there). */
export function redactUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return '<invalid url>';
  }
  if (!url.username && !url.password && url.search === '') return raw;
  if (url.username || url.password) {
    url.username = '***';
    url.password = '';
  }
  for (const key of [...new Set(url.searchParams.keys())]) url.searchParams.set(key, '***');
  return url.toString();
}
