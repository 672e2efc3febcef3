/** What the checks below read of a request: its URL and its headers (Hono's `c.req` is one). */
export interface RequestLike {
  readonly url: string;
  header(name: string): string | undefined;
}

/**
 * A state-changing form must come from our own pages. Browsers send `Origin` on POST and
 * `Sec-Fetch-Site`; a request without either (an old client) still needs the CSRF token.
 * `publicUrl`: the URL people reach the service at (behind a proxy the request URL is not it).
 */
export function sameOrigin(req: RequestLike, publicUrl: string | undefined): boolean {
  const site = req.header('sec-fetch-site');
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return false;
  const origin = req.header('origin');
  if (origin === undefined) return true;
  const expected = publicUrl ? new URL(publicUrl).origin : new URL(req.url).origin;
  return origin === expected;
}

/** Whether the request reached us over https (directly, or through a proxy that says so). */
export function isHttps(req: RequestLike): boolean {
  return new URL(req.url).protocol === 'https:' || req.header('x-forwarded-proto') === 'https';
}

/** A text field of a parsed form body; '' when absent or a file. */
export function formField(form: Readonly<Record<string, unknown>>, name: string): string {
  const v = form[name];
  return typeof v === 'string' ? v : '';
}
