// The frame of every status page: a complete HTML document that needs no
// script (the script only keeps a live page fresh, by swapping <main>), its
// stylesheet and script from this function's own /assets, nothing inline.
import { html, type HtmlValue, type SafeHtml } from './escape';
import { assetHref, homeHref } from './links';

export interface PageOptions {
  /** The status function's path (links.ts basePath). */
  base: string;
  title: string;
  /** Inside <main>: what the script refreshes. */
  main: HtmlValue;
  /** Before <main>, never refreshed (a form being filled in keeps its text). */
  before?: HtmlValue;
  /** Something shown may still change: the script refreshes <main> until this is false. */
  live: boolean;
}

export function page({ base, title, main, before, live }: PageOptions): SafeHtml {
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="referrer" content="no-referrer" />
        <title>${title} · vm-ci</title>
        <link rel="icon" href="data:," />
        <link rel="stylesheet" href="${assetHref(base, 'page.css')}" />
        <script src="${assetHref(base, 'page.js')}" defer></script>
      </head>
      <body>
        <header class="top">
          <a class="brand" href="${homeHref(base)}">vm-ci</a>
          <span class="tagline">test status</span>
        </header>
        ${before ?? ''}
        <main data-live="${live ? 'true' : 'false'}">${main}</main>
      </body>
    </html> `;
}

/** A page that says only what went wrong (404, a bad query, a store failure). */
export function errorPage(base: string, title: string, message: string): SafeHtml {
  return page({
    base,
    title,
    live: false,
    main: html`<h1>${title}</h1>
      <p class="problem">${message}</p>
      <p><a href="${homeHref(base)}">Recent tests</a></p>`,
  });
}
