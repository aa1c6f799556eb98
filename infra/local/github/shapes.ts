// Response bodies in the shapes GitHub's REST API v3 returns. API URLs point at
// the stand-in (so a client can follow them); html URLs point at github.com.
const WEB = 'https://github.com';

/** GitHub's timestamps: ISO 8601 in UTC, whole seconds. */
export function isoSeconds(date = new Date()): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** A stable numeric id for a name (FNV-1a), so users and repos keep their ids. */
export function stableId(name: string): number {
  let hash = 0x811c9dc5;
  for (const ch of name.toLowerCase()) {
    hash ^= ch.codePointAt(0) ?? 0;
    hash = Math.imul(hash, 0x01000193);
  }
  return 1_000_000 + ((hash >>> 0) % 90_000_000);
}

/** GitHub's legacy global node id: base64 of "0<len>:<Type><id>". */
export function nodeId(type: string, id: number): string {
  return Buffer.from(`0${type.length}:${type}${id}`).toString('base64');
}

export function user(api: string, login: string, type?: 'User' | 'Organization' | 'Bot') {
  const id = stableId(login);
  const u = `${api}/users/${login}`;
  return {
    login,
    id,
    node_id: nodeId(type ?? 'User', id),
    avatar_url: `https://avatars.githubusercontent.com/u/${id}?v=4`,
    gravatar_id: '',
    url: u,
    html_url: `${WEB}/${login}`,
    followers_url: `${u}/followers`,
    following_url: `${u}/following{/other_user}`,
    gists_url: `${u}/gists{/gist_id}`,
    starred_url: `${u}/starred{/owner}{/repo}`,
    subscriptions_url: `${u}/subscriptions`,
    organizations_url: `${u}/orgs`,
    repos_url: `${u}/repos`,
    events_url: `${u}/events{/privacy}`,
    received_events_url: `${u}/received_events`,
    type: type ?? (login.endsWith('[bot]') ? 'Bot' : 'User'),
    user_view_type: 'public',
    site_admin: false,
  };
}

export function repository(api: string, fullName: string, fork = false) {
  const [owner = '', name = ''] = fullName.split('/');
  const id = stableId(`repo:${fullName}`);
  const u = `${api}/repos/${fullName}`;
  return {
    id,
    node_id: nodeId('Repository', id),
    name,
    full_name: fullName,
    private: false,
    owner: user(api, owner),
    html_url: `${WEB}/${fullName}`,
    description: null,
    fork,
    clone_url: `${WEB}/${fullName}.git`,
    url: u,
    commits_url: `${u}/commits{/sha}`,
    issues_url: `${u}/issues{/number}`,
    pulls_url: `${u}/pulls{/number}`,
    statuses_url: `${u}/statuses/{sha}`,
    default_branch: 'main',
  };
}

/** API base + "/repos/owner/name". */
export function repoUrl(api: string, repo: string): string {
  return `${api}/repos/${repo}`;
}
