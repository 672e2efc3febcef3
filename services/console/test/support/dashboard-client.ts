export const ORIGIN = 'http://console.test';

/** A person's browser against the dashboard app in-process: cookies kept, forms posted from our origin. */
export class DashboardClient {
  private readonly cookies = new Map<string, string>();

  constructor(private readonly app: { request(url: string, init?: RequestInit): Response | Promise<Response> }) {}

  async get(path: string, headers: Record<string, string> = {}): Promise<Response> {
    return this.keep(await this.app.request(`${ORIGIN}${path}`, { headers: { cookie: this.cookie(), ...headers } }));
  }

  async post(path: string, fields: Record<string, string>, headers: Record<string, string> = {}): Promise<Response> {
    const body = new URLSearchParams(fields).toString();
    return this.keep(await this.app.request(`${ORIGIN}${path}`, { method: 'POST', body, headers: { cookie: this.cookie(), origin: ORIGIN, 'content-type': 'application/x-www-form-urlencoded', ...headers } }));
  }

  /** Signs in with a token; returns the response of the sign-in POST. */
  async signIn(token: string): Promise<Response> {
    const form = await (await this.get('/login')).text();
    return this.post('/login', { _csrf: hidden(form, '_csrf'), next: '/runs', token });
  }

  /** The CSRF token of a page's forms. */
  async csrf(path = '/runs'): Promise<string> {
    return hidden(await (await this.get(path)).text(), '_csrf');
  }

  private cookie(): string {
    return [...this.cookies.entries()].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  private keep(res: Response): Response {
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';') as [string];
      const at = pair.indexOf('=');
      const name = pair.slice(0, at);
      const value = pair.slice(at + 1);
      if (value === '' || /max-age=0/i.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return res;
  }
}

/** The value of a hidden input in a page. */
export function hidden(page: string, name: string): string {
  const m = new RegExp(`name="${name}" value="([^"]*)"`).exec(page);
  if (!m) throw new Error(`no hidden ${name} in the page`);
  return m[1]!;
}
