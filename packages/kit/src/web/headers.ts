/**
 * What a page of ours may load. Everything is refused (`default-src 'none'`) except our own stylesheet,
 * images, forms posting to us and, where a page has one, our own script file and its connections back
 * to us (Server-Sent Events). Never `unsafe-inline`: an injected `<script>` or `style=` does nothing.
 */
export function contentSecurityPolicy(opts: { scripts?: boolean } = {}): string {
  return [
    "default-src 'none'",
    ...(opts.scripts ? ["script-src 'self'", "connect-src 'self'"] : []),
    "style-src 'self'",
    "img-src 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join('; ');
}

/** The headers every page response of a web UI carries (the CSP given, and no sniffing, no framing). */
export function securityHeaders(csp: string): Readonly<Record<string, string>> {
  return {
    'content-security-policy': csp,
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    // same-origin, not no-referrer: with no-referrer browsers send `Origin: null` on our own form posts.
    'referrer-policy': 'same-origin',
  };
}
