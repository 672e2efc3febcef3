import { html, type Html } from '@pipewright/kit';
import type { Viewer } from '../context.js';

/** The page frame: our stylesheet and script (same origin: the CSP allows nothing else), the header. */
export function layout(title: string, body: Html, v?: Viewer): Html {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · Pipewright</title>
<link rel="stylesheet" href="/assets/dashboard.css">
<script src="/assets/dashboard.js" defer></script>
</head>
<body>
<header class="top">
<nav><a class="brand" href="/runs">Pipewright <span class="sep">·</span> Runs</a>${v ? html`<a href="/runs">All runs</a><a href="/batch">Batches</a>` : ''}</nav>
${v ? signOut(v) : ''}
</header>
<main>${body}</main>
</body>
</html>`;
}

function signOut(v: Viewer): Html {
  return html`<form method="post" action="/logout" class="who"><span>Signed in as <strong>${v.name}</strong> <span class="role role-${v.role}">${v.role}</span></span><input type="hidden" name="_csrf" value="${v.csrf}"><button type="submit" class="link">Sign out</button></form>`;
}
