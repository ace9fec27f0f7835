// The console's one paged list behind a filter form: the filters (kept in
// the page's URL query, so a list can be linked to, reloaded and gone back
// to as it was), the page, the rows, the loading and error states and the
// export links of one list endpoint (`format=csv` / `format=xlsx` with the
// same filters, so the file holds what the screen shows, unpaged), and the
// body of the same export as a background job (exportJob). Reads
// go through the console's api.js, so the header's region narrows them; the
// list reloads from its first page when that region changes.
//
//   const list = useList(path, { state: '', days: null }, {
//     params: (f) => ({ ... }),   // the filters as the server's parameters
//     url: false,                 // a list in a dialog or a second tab: no URL
//     notInUrl: ['q'],            // filters read from a link but never written
//     inlineError: true,          // the page shows list.error itself
//     onLoad: (reply) => { ... }, // what else the reply carries (counts …)
//     wholeScope: true,           // a list about one record (a person's
//                                 // history): the header's region does not
//                                 // narrow it, nor reload it
//   });
//
// `path` may be a function, read at every load: the list of the record a
// drawer shows (`() => `/api/v1/persons/${props.person.id}/history``).
import { reactive, ref, computed, watch } from 'vue';
import { useRoute, useRouter } from 'vue-router';
import { ElMessage } from 'element-plus';
import { get, qs, href } from '@console/api.js';
import { narrow } from '../components/regionNarrow.js';

const PAGE_KEYS = ['page', 'page_size'];
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
// a query object written the same whatever the order of its keys
const canon = (q) => JSON.stringify(Object.entries(q).sort(([a], [b]) => (a < b ? -1 : 1)));
const empty = (v) => v === undefined || v === null || v === '' || (Array.isArray(v) && !v.length);

// A query value as the filter's type: dates and ranges (a default of null,
// a number or an array) are millisecond numbers, everything else strings.
function fromQuery(def, v) {
  const num = def === null || typeof def === 'number' || Array.isArray(def);
  const one = (x) => (num && /^\d+$/.test(x) ? Number(x) : x);
  if (v === '' || v === null) return Array.isArray(def) ? [] : def === null ? null : '';
  if (Array.isArray(def) || (def === null && Array.isArray(v))) return (Array.isArray(v) ? v : [v]).map(one);
  return one(Array.isArray(v) ? v[0] : v);
}

const DAY = 86400000;

// A date-range filter (the days of a daterange picker, in milliseconds) as
// the lists' `from` / `to`: the end day is included, up to its last
// millisecond; nothing when no range is chosen.
export function dayRange(days) {
  if (!Array.isArray(days) || days.length !== 2) return { from: '', to: '' };
  return { from: Number(days[0]), to: Number(days[1]) + DAY - 1 };
}

const toQuery = (v) => (Array.isArray(v) ? v.map(String) : String(v));

export function useList(path, initialFilters = {}, opts = {}) {
  const route = useRoute();
  const router = useRouter();
  const inUrl = opts.url !== false && Boolean(route && router);
  // the page this list belongs to: the URL is only its own while it shows
  const home = route?.path;
  const here = () => route.path === home;
  const keys = Object.keys(initialFilters);
  // a search by name, phone or id number is personal data: a link may
  // carry it in, but the list does not leave it in the address bar and the
  // browser's history
  const secret = new Set(opts.notInUrl || []);
  const defaults = () => JSON.parse(JSON.stringify(initialFilters));
  const defaultSize = opts.pageSize || 20;
  const pathOf = () => (typeof path === 'function' ? path() : path);
  const scopeOpts = opts.wholeScope ? { wholeScope: true } : undefined;

  const filters = reactive(defaults());
  const paging = reactive({ page: 1, page_size: defaultSize });
  const items = ref([]);
  const total = ref(0);
  const loading = ref(false);
  const error = ref('');
  const reply = ref(null);

  // The filters a link names (/visitors?status=pending, from the workbench,
  // or this list's own URL): the list opens with them; reset goes back to
  // the defaults.
  function readQuery(query) {
    const d = defaults();
    for (const k of keys) filters[k] = k in query ? fromQuery(d[k], query[k]) : d[k];
    paging.page = Number(query.page) > 0 ? Number(query.page) : 1;
    paging.page_size = Number(query.page_size) > 0 ? Number(query.page_size) : defaultSize;
  }

  // This list's part of the URL query: the filters that differ from their
  // defaults and the page when it is not the first.
  function ownQuery() {
    const d = defaults();
    const q = {};
    // a default cleared (status=pending emptied) is written empty
    for (const k of keys) {
      if (secret.has(k) || same(filters[k], d[k]) || (empty(filters[k]) && empty(d[k]))) continue;
      q[k] = empty(filters[k]) ? '' : toQuery(filters[k]);
    }
    if (paging.page > 1) q.page = String(paging.page);
    if (paging.page_size !== defaultSize) q.page_size = String(paging.page_size);
    return q;
  }
  const ownOf = (query) => Object.fromEntries(Object.entries(query).filter(([k]) => keys.includes(k) || PAGE_KEYS.includes(k)));

  let written = null;
  if (inUrl) {
    readQuery(route.query);
    written = canon(ownQuery());
  }

  function writeUrl() {
    if (!inUrl || !here()) return;
    const own = ownQuery();
    written = canon(own);
    if (canon(ownOf(route.query)) === written) return;
    const rest = Object.fromEntries(Object.entries(route.query).filter(([k]) => !(k in ownOf(route.query))));
    router.replace({ query: { ...rest, ...own } });
  }

  // Filters may need translating (e.g. a date range into from/to).
  const params = () => (opts.params ? opts.params(filters) : { ...filters });

  let loaded = false;
  let seq = 0;
  async function load() {
    loaded = true;
    const mine = ++seq;
    loading.value = true;
    error.value = '';
    writeUrl();
    try {
      const r = await get(pathOf() + qs({ ...params(), ...paging }), scopeOpts);
      if (mine !== seq) return; // a newer load is under way: its answer counts
      items.value = r.items;
      total.value = r.total;
      reply.value = r;
      opts.onLoad?.(r);
    } catch (e) {
      if (mine !== seq) return;
      items.value = [];
      total.value = 0;
      error.value = e.message;
      if (!opts.inlineError) ElMessage.error(e.message);
    } finally {
      if (mine === seq) loading.value = false;
    }
  }

  // A new search starts from the first page.
  function search() {
    paging.page = 1;
    return load();
  }

  function reset() {
    Object.assign(filters, defaults());
    return search();
  }

  // The file of the current filters, unpaged (`extra`: e.g. { reveal: 1 }).
  const exportHref = (format, extra = {}) => href(pathOf() + qs({ ...params(), ...extra, format }), scopeOpts);
  const csvHref = computed(() => exportHref('csv'));
  const xlsxHref = computed(() => exportHref('xlsx'));

  // The body of an export job of this list (POST /api/v1/exports, docs/
  // cases.md "Export jobs") with the current filters and the header's
  // region, or null for a list the server does not export in the
  // background. The job has no row cap: the links above stop at 10,000.
  function exportJob(format) {
    const m = /^\/api\/v1\/(?:(observations|tasks|checks|incidents|hotline\/tickets|trips)|observations\/(\d+)\/checks)$/.exec(pathOf());
    if (!m) return null;
    const f = m[2] ? { observation_id: m[2] } : {};
    for (const [k, v] of Object.entries(params())) if (!empty(v)) f[k] = typeof v === 'number' ? v : String(v);
    if (!f.within && narrow.regionCode) f.within = narrow.regionCode;
    // the export source's name: the path's, except the hotline's (hotline_tickets)
    return { list: (m[1] || 'checks').replace('/', '_'), format, filters: f };
  }

  // only a list that has loaded follows the header (a dialog's list loads
  // when it opens)
  if (!opts.wholeScope) watch(() => narrow.regionCode, () => loaded && search());

  // The URL changed from outside (a menu entry, a workbench card, going
  // back): the list follows it.
  if (inUrl) {
    watch(() => route.query, (q) => {
      if (!loaded || !here() || canon(ownOf(q)) === written) return;
      readQuery(q);
      load();
    });
  }

  return { filters, paging, items, total, loading, error, reply, load, search, reset, exportHref, csvHref, xlsxHref, exportJob };
}
