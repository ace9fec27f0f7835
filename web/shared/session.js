// The signed-in user (GET /api/v1/me), shared by every page of an entry
// point. `can(perm)` decides what the menu shows; the server enforces it.
import { reactive } from 'vue';
import { get, post } from './api.js';

export const session = reactive({ me: null, loaded: false });

export async function loadMe() {
  try {
    session.me = await get('/api/v1/me', { noRedirect: true });
  } catch (e) {
    if (e.status !== 401) throw e;
    session.me = null;
  }
  session.loaded = true;
  return session.me;
}

// perm: a permission name, or a list of them (any one will do: the
// publishing pages open for composers and approvers alike)
export function can(perm) {
  if (Array.isArray(perm)) return perm.some((p) => can(p));
  return !perm || Boolean(session.me?.permissions?.includes(perm));
}

export async function logout(everywhere = false) {
  try {
    await post(everywhere ? '/api/v1/auth/logout-all' : '/api/v1/auth/logout', {});
  } finally {
    session.me = null;
  }
}
