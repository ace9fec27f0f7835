// A paged list behind a filter form: the filters, the page, the rows and
// the CSV export link of one list endpoint (`format=csv` with the same
// filters, so the file holds what the screen shows, unpaged). Reads go
// through the console's api.js, so the header's region narrows them; the
// list reloads from its first page when that region changes.
import { reactive, ref, computed, watch } from 'vue';
import { useRoute } from 'vue-router';
import { ElMessage } from 'element-plus';
import { get, qs, href } from '@console/api.js';
import { narrow } from '../../components/regionNarrow.js';

export function useList(path, initialFilters = {}, opts = {}) {
  // A link may name filters the list knows (/visitors?status=pending, from
  // the workbench): the list opens with them; reset goes back to the defaults.
  const query = useRoute()?.query || {};
  const fromLink = Object.fromEntries(Object.entries(query).filter(([k, v]) => k in initialFilters && typeof v === 'string'));
  const filters = reactive({ ...initialFilters, ...fromLink });
  const paging = reactive({ page: 1, page_size: opts.pageSize || 20 });
  const items = ref([]);
  const total = ref(0);
  const loading = ref(false);

  // Filters may need translating (e.g. a date range into from/to).
  const params = () => (opts.params ? opts.params(filters) : filters);

  let loaded = false;
  async function load() {
    loaded = true;
    loading.value = true;
    try {
      const r = await get(path + qs({ ...params(), ...paging }));
      items.value = r.items;
      total.value = r.total;
    } catch (e) {
      ElMessage.error(e.message);
    } finally {
      loading.value = false;
    }
  }

  // A new search starts from the first page.
  function search() {
    paging.page = 1;
    return load();
  }

  function reset() {
    Object.assign(filters, initialFilters);
    return search();
  }

  const csvHref = computed(() => href(path + qs({ ...params(), format: 'csv' })));

  // only a list that has loaded follows the header (a dialog's list loads
  // when it opens)
  watch(() => narrow.regionCode, () => loaded && search());

  return { filters, paging, items, total, loading, load, search, reset, csvHref };
}
