import { html, type Html } from '@pipewright/kit';

/** A page that only says something: not found, refused, expired. */
export function messagePage(title: string, message: string): Html {
  return html`<section class="message"><h1>${title}</h1><p>${message}</p><p><a href="/runs">Back to the runs</a></p></section>`;
}
