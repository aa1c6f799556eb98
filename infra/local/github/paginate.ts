// GitHub's page-based pagination: ?per_page (30 by default, at most 100) and
// ?page, with a Link header that Octokit's paginate() follows.
import type { Reply } from './errors';

export function paginate<T>(items: T[], query: URLSearchParams, selfUrl: string): Reply {
  const perPage = Math.min(100, Math.max(1, Number(query.get('per_page')) || 30));
  const page = Math.max(1, Number(query.get('page')) || 1);
  const last = Math.max(1, Math.ceil(items.length / perPage));
  const link = (p: number, rel: string): string => {
    const url = new URL(selfUrl);
    query.forEach((value, name) => url.searchParams.set(name, value));
    url.searchParams.set('per_page', String(perPage));
    url.searchParams.set('page', String(p));
    return `<${url.toString()}>; rel="${rel}"`;
  };
  const links: string[] = [];
  if (page > 1) links.push(link(page - 1, 'prev'), link(1, 'first'));
  if (page < last) links.push(link(page + 1, 'next'), link(last, 'last'));
  return {
    status: 200,
    body: items.slice((page - 1) * perPage, page * perPage),
    headers: links.length ? { link: links.join(', ') } : {},
  };
}
