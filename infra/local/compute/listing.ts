// instances.list and aggregatedList: filter (filter.ts), order and pages.
import { COMPUTE_BASE, invalidField, zoneUrl } from './api';
import { parseFilter } from './filter';
import type { Instance } from './instance';

const MAX_PAGE = 500;

/** The instances of a project (and zone) that match the query's filter, in its order. */
export function selectInstances(
  all: Iterable<Instance>,
  project: string,
  zone: string | undefined,
  query: URLSearchParams,
): Instance[] {
  const matches = parseFilter(query.get('filter'));
  const orderBy = (query.get('orderBy') ?? '').trim();
  if (!['', 'name', 'creationTimestamp desc'].includes(orderBy)) {
    throw invalidField(
      'orderBy',
      orderBy,
      "Only 'name' and 'creationTimestamp desc' are supported.",
    );
  }
  const selected = [...all].filter(
    (i) => i.project === project && (zone === undefined || i.zone === zone) && matches(i.toJson()),
  );
  return orderBy === 'creationTimestamp desc'
    ? selected.sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime())
    : selected.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** One page: `maxResults` (0 to 500, default 500) from `pageToken` on. */
export function page<T>(
  items: T[],
  query: URLSearchParams,
): { items: T[]; nextPageToken?: string } {
  const rawMax = query.get('maxResults');
  const max = rawMax === null || rawMax === '0' ? MAX_PAGE : Number(rawMax);
  if (!Number.isInteger(max) || max < 0 || max > MAX_PAGE) {
    throw invalidField('maxResults', String(rawMax), 'Must be an integer from 0 to 500.');
  }
  const token = query.get('pageToken');
  let offset = 0;
  if (token) {
    offset = Number(Buffer.from(token, 'base64url').toString('utf8'));
    if (!Number.isInteger(offset) || offset < 0) {
      throw invalidField('pageToken', token, 'Invalid page token.');
    }
  }
  const slice = items.slice(offset, offset + max);
  const next = offset + max;
  return next < items.length
    ? { items: slice, nextPageToken: Buffer.from(String(next)).toString('base64url') }
    : { items: slice };
}

export function instanceList(
  selected: Instance[],
  project: string,
  zone: string,
  query: URLSearchParams,
): Record<string, unknown> {
  const { items, nextPageToken } = page(selected, query);
  return {
    kind: 'compute#instanceList',
    id: `projects/${project}/zones/${zone}/instances`,
    ...(items.length ? { items: items.map((i) => i.toJson()) } : {}),
    ...(nextPageToken ? { nextPageToken } : {}),
    selfLink: `${zoneUrl(project, zone)}/instances`,
  };
}

export function aggregatedInstanceList(
  selected: Instance[],
  project: string,
  query: URLSearchParams,
): Record<string, unknown> {
  const { items, nextPageToken } = page(selected, query);
  const byZone: Record<string, { instances: Record<string, unknown>[] }> = {};
  for (const inst of items) {
    (byZone[`zones/${inst.zone}`] ??= { instances: [] }).instances.push(inst.toJson());
  }
  return {
    kind: 'compute#instanceAggregatedList',
    id: `projects/${project}/aggregated/instances`,
    items: byZone,
    ...(nextPageToken ? { nextPageToken } : {}),
    selfLink: `${COMPUTE_BASE}/projects/${project}/aggregated/instances`,
  };
}
