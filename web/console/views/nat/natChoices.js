// The sites and plans of the scope as filter choices for the sampling
// lists (Samples, Tubes, Scans): names shown, ids sent. Loaded once per
// page; the first 100 by name (a scope with more types into the filter).
import { ref } from 'vue';
import { get, qs } from '@console/api.js';
import { natPaths } from './natPaths.js';

export function useNatChoices() {
  const sites = ref([]);
  const plans = ref([]);
  async function loadChoices() {
    const [s, p] = await Promise.all([
      get(natPaths.sites + qs({ page_size: 100, sort: 'name' })),
      get(natPaths.plans + qs({ page_size: 100 })),
    ]);
    sites.value = s.items;
    plans.value = p.items;
  }
  return { sites, plans, loadChoices };
}
