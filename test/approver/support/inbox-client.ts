/**
 * A cookie-keeping HTTP client for the web inbox, for the tests that check its forms without a
 * browser (CSRF, origin, sessions). The browser test drives the same pages in Chromium.
 */
export class InboxClient {
  private readonly cookies = new Map<string, string>();

  constructor(readonly base: string) {}

  async get(path: string): Promise<{ status: number; html: string }> {
    const res = await fetch(`${this.base}${path}`, { headers: this.cookieHeader(), redirect: 'manual', signal: AbortSignal.timeout(10_000) });
    this.keep(res);
    return { status: res.status, html: await res.text() };
  }

  async post(path: string, form: Record<string, string>, headers: Record<string, string> = {}): Promise<{ status: number; location: string | null; html: string }> {
    const res = await fetch(`${this.base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: this.base, ...this.cookieHeader(), ...headers },
      body: new URLSearchParams(form).toString(),
      redirect: 'manual',
      signal: AbortSignal.timeout(10_000),
    });
    this.keep(res);
    return { status: res.status, location: res.headers.get('location'), html: await res.text() };
  }

  /** Signs in with an API token through the login form; returns the session's CSRF token. */
  async login(token: string): Promise<string> {
    const page = await this.get('/inbox');
    const r = await this.post('/inbox/login', { token, _csrf: csrfIn(page.html) });
    if (r.status !== 303) throw new Error(`login failed: HTTP ${r.status}`);
    return csrfIn((await this.get('/inbox')).html);
  }

  cookie(name: string): string | undefined {
    return this.cookies.get(name);
  }

  setCookie(name: string, value: string): void {
    this.cookies.set(name, value);
  }

  /** The raw Set-Cookie lines of the last response that set `name`. */
  readonly setCookieLines = new Map<string, string>();

  private keep(res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      this.setCookieLines.set(name, line);
      if (value === '' || /max-age=0/i.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  private cookieHeader(): Record<string, string> {
    return this.cookies.size === 0 ? {} : { cookie: [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ') };
  }
}

/** The CSRF token of the first form on a page. */
export function csrfIn(html: string): string {
  const m = /name="_csrf" value="([^"]+)"/.exec(html);
  if (!m) throw new Error('no CSRF field on the page');
  return m[1]!;
}
