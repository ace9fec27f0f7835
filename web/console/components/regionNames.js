// Region names for the few lists whose API sends a region's code without its
// name (the vehicles): `regionName(code)` is the name once it has been read
// (GET /api/v1/regions/{code}, once per code per page load), '…' until then
// and '—' for none, so that no list shows a bare code.
import { reactive } from 'vue';
import { get, paths } from '@console/api.js';

const names = reactive({});
const asked = new Set();

export function regionName(code) {
  if (!code) return '—';
  if (!asked.has(code)) {
    asked.add(code);
    get(`${paths.regions}/${code}`, { wholeScope: true })
      .then((g) => { names[code] = g.name; })
      .catch(() => { names[code] = '—'; }); // gone or out of scope: still no code shown
  }
  return names[code] ?? '…';
}
