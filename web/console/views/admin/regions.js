// The region page's tree, read a level at a time (a district holds
// thousands of buildings), and the levels a new region may take.
import { ElMessage } from 'element-plus';
import { get, qs, paths } from '@console/api.js';
import { session } from '@shared/session.js';

export const LEVELS = [
  { value: 'province', label: '省' },
  { value: 'city', label: '市' },
  { value: 'district', label: '区县' },
  { value: 'street', label: '街道' },
  { value: 'community', label: '社区' },
  { value: 'grid', label: '网格' },
  { value: 'building', label: '楼栋' },
];

export function nextLevel(level) {
  const i = LEVELS.findIndex((l) => l.value === level);
  return LEVELS[Math.min(i + 1, LEVELS.length - 1)].value;
}

// The region tree is the whole scope whatever the header narrows to.
const WHOLE = { wholeScope: true };

// A tree node: the region plus what el-tree needs to know (leaf).
const node = (g) => ({ ...g, leaf: !g.has_children });

// The root of the signed-in user's scope.
async function scopeRoot() {
  return node(await get(`${paths.regions}/${session.me.scope_code}`, WHOLE));
}

// All children of a region; the API pages at 200, a grid may hold more
// buildings than that.
async function childrenOf(code) {
  const out = [];
  for (let page = 1; ; page++) {
    const r = await get(`${paths.regions}/${code}/children` + qs({ page, page_size: 200 }), WHOLE);
    out.push(...r.items.map(node));
    if (out.length >= r.total || r.items.length === 0) return out;
  }
}

// el-tree / el-tree-select `load`: the scope root first, then children.
// A failure leaves the branch empty and says why.
export async function loadNode(n, resolve) {
  try {
    resolve(n.level === 0 ? [await scopeRoot()] : await childrenOf(n.data.code));
  } catch (e) {
    ElMessage.error(e.message);
    resolve([]);
  }
}
