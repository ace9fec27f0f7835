// A list read page by page for the staff phone's look-up pages (人员查询,
// 场所查询, 企业查询): the first page on search, the next one appended on
// 加载更多, the server's total to tell whether more remain. `url(page)` builds
// the request of a page from the page's current filters; a new search
// replaces the rows, so a late answer to an older search is dropped.
import { computed, ref } from 'vue';
import { get } from '@shared/api.js';

export const PAGE_SIZE = 20;

export function usePaged(url) {
  const items = ref([]);
  const total = ref(0);
  const loading = ref(false);
  const error = ref('');
  const searched = ref(false);
  let page = 0;
  let seq = 0;

  async function fetchPage(p) {
    const mine = ++seq;
    loading.value = true;
    error.value = '';
    try {
      const r = await get(url(p));
      if (mine !== seq) return;
      items.value = p === 1 ? r.items : [...items.value, ...r.items];
      total.value = r.total;
      page = p;
    } catch (e) {
      if (mine !== seq) return;
      if (p === 1) items.value = [];
      error.value = e.message;
    } finally {
      if (mine === seq) {
        loading.value = false;
        searched.value = true;
      }
    }
  }

  return {
    items,
    total,
    loading,
    error,
    searched,
    more: computed(() => items.value.length < total.value),
    search: () => fetchPage(1),
    loadMore: () => fetchPage(page + 1),
  };
}
