import { html, type Html } from '@pipewright/kit';
import { layout } from './layout.js';

/** The sign-in form: the token is posted once and exchanged for a session cookie. */
export function loginPage(nonce: string, next: string, error?: string): Html {
  return layout(
    'Sign in',
    html`<section class="login">
<h1>Sign in</h1>
<p>Paste a console API token (read or operate). It is checked once; the browser then keeps a session cookie, not the token.</p>
${error ? html`<p class="error" role="alert">${error}</p>` : ''}
<form method="post" action="/login">
<input type="hidden" name="_csrf" value="${nonce}">
<input type="hidden" name="next" value="${next}">
<label for="token">API token</label>
<input id="token" name="token" type="password" autocomplete="current-password" required maxlength="1024">
<button type="submit" class="primary">Sign in</button>
</form>
</section>`,
  );
}
