// Seeds the Directus instance through its own REST API, as the admin a deployer would:
// collections `notes` (per-user) and `articles` (public by design), a "Member" role and policy
// whose notes permissions are filtered by {"user_created": {"_eq": "$CURRENT_USER"}}, the
// Public policy's read on articles, users alice and bob (Member), one article.
// Usage: node seed.mjs BASE_URL ADMIN_EMAIL ADMIN_PASSWORD OUT_ENV_FILE
import { writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';

const [base, adminEmail, adminPassword, envFile] = process.argv.slice(2);
let token = null;

async function api(method, path, body, expect = [200, 204]) {
  const res = await fetch(base + path, {
    method,
    headers: {
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!expect.includes(res.status)) {
    throw new Error(`${method} ${path} -> ${res.status}: ${text.slice(0, 500)}`);
  }
  return text ? JSON.parse(text).data : null;
}

const login = await api('POST', '/auth/login', { email: adminEmail, password: adminPassword });
token = login.access_token;

const users = 'directus_users';
// notes: integer auto-increment ids, owned through the user-created field
await api('POST', '/collections', {
  collection: 'notes',
  meta: { icon: 'note', note: 'Per-user notes' },
  schema: {},
  fields: [
    { field: 'id', type: 'integer', meta: { hidden: true, interface: 'input', readonly: true },
      schema: { is_primary_key: true, has_auto_increment: true } },
    { field: 'title', type: 'string', meta: { interface: 'input', required: true }, schema: { is_nullable: false } },
    { field: 'body', type: 'text', meta: { interface: 'input-multiline' }, schema: {} },
    { field: 'user_created', type: 'uuid', meta: { special: ['user-created'], interface: 'select-dropdown-m2o', readonly: true, hidden: true }, schema: {} },
    { field: 'date_created', type: 'timestamp', meta: { special: ['date-created'], interface: 'datetime', readonly: true, hidden: true }, schema: {} },
  ],
});
await api('POST', '/relations', { collection: 'notes', field: 'user_created', related_collection: users, schema: {} });

// articles: public by design
await api('POST', '/collections', {
  collection: 'articles',
  meta: { icon: 'article', note: 'Public articles' },
  schema: {},
  fields: [
    { field: 'id', type: 'integer', meta: { hidden: true, interface: 'input', readonly: true },
      schema: { is_primary_key: true, has_auto_increment: true } },
    { field: 'title', type: 'string', meta: { interface: 'input' }, schema: {} },
    { field: 'body', type: 'text', meta: { interface: 'input-multiline' }, schema: {} },
  ],
});

const policy = await api('POST', '/policies', {
  name: 'Member', icon: 'badge', description: 'Per-user notes', admin_access: false, app_access: false,
});
const role = await api('POST', '/roles', { name: 'Member', icon: 'person' });
await api('POST', '/access', { role: role.id, policy: policy.id });

const own = { user_created: { _eq: '$CURRENT_USER' } };
const self = { id: { _eq: '$CURRENT_USER' } };
const perms = [
  { collection: 'notes', action: 'create', fields: ['title', 'body'], permissions: {}, validation: {} },
  { collection: 'notes', action: 'read', fields: ['*'], permissions: own },
  { collection: 'notes', action: 'update', fields: ['title', 'body'], permissions: own, validation: {} },
  { collection: 'notes', action: 'delete', fields: ['*'], permissions: own },
  { collection: 'articles', action: 'read', fields: ['*'], permissions: {} },
  { collection: users, action: 'read', fields: ['id', 'first_name', 'last_name', 'email', 'role', 'status', 'language', 'avatar', 'title', 'description', 'location'], permissions: self },
  { collection: users, action: 'update', fields: ['first_name', 'last_name', 'language', 'title', 'description', 'location'], permissions: self, validation: {} },
];
for (const p of perms) await api('POST', '/permissions', { policy: policy.id, ...p });

// The Public policy (seeded by bootstrap) reads articles.
const publicPolicy = (await api('GET', '/policies?filter[admin_access][_eq]=false&filter[app_access][_eq]=false&filter[name][_eq]=$t:public_label&fields=id'))[0];
await api('POST', '/permissions', { policy: publicPolicy.id, collection: 'articles', action: 'read', fields: ['*'], permissions: {} });

const bobToken = 'bob-' + randomBytes(24).toString('hex');
const alice = await api('POST', '/users', { email: 'alice@example.com', password: 'alice-field-pass-1', first_name: 'Alice', role: role.id });
const bob = await api('POST', '/users', { email: 'bob@example.com', password: 'bob-field-pass-1', first_name: 'Bob', role: role.id, token: bobToken });

await api('POST', '/items/articles', { title: 'Welcome', body: 'A public article, readable by anyone.' });

writeFileSync(envFile, [
  `ADMIN_PASSWORD=${adminPassword}`,
  `ALICE_PASSWORD=alice-field-pass-1`,
  `BOB_PASSWORD=bob-field-pass-1`,
  `BOB_TOKEN=${bobToken}`,
  `MEMBER_ROLE_ID=${role.id}`,
  '',
].join('\n'));
console.log(`seeded: member role ${role.id}, policy ${policy.id}, alice ${alice?.id ?? '?'}, bob ${bob?.id ?? '?'}`);
