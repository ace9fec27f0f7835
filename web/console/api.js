// The console's one door to the API: where each resource lives (`paths`,
// so no page spells '/api/v1/…' itself) and the calls, which are the shared
// client's (web/shared/api.js) with one addition: every read is narrowed to
// the region chosen in the header (components/regionNarrow.js) by the
// server's `within` parameter (docs/api.md), so every list, count, export and
// the workbench narrow at once, without each page remembering to.
import { api as rawApi, qs, ApiError, setUnauthorizedHandler } from '@shared/api.js';
import { narrow } from './components/regionNarrow.js';

const V1 = '/api/v1';

export const paths = {
  accessRecords: `${V1}/access-records`,
  alerts: `${V1}/alerts`,
  audit: `${V1}/audit`,
  auth: `${V1}/auth`,
  codeRules: `${V1}/code-rules`,
  customReports: `${V1}/custom-reports`,
  departments: `${V1}/departments`,
  devices: `${V1}/devices`,
  enterprises: `${V1}/enterprises`,
  exchangeCallers: `${V1}/exchange/callers`, // the exchange's callers (docs/exchange.md)
  exchangePeers: `${V1}/exchange/peers`, // the systems we call and their outbox (docs/exchange.md)
  exchangeMonitor: `${V1}/exchange/monitor`, // the exchange's calls (docs/exchange.md)
  exchangeFederation: `${V1}/exchange/federation`, // the parent and the downward pull (docs/exchange.md "Federation")
  exports: `${V1}/exports`,
  feedItems: `${V1}/feed-items`,
  jobs: `${V1}/jobs`,
  map: `${V1}/map`,
  me: `${V1}/me`,
  monitor: `${V1}/monitor`, // rules, run, breaches (docs/monitor.md)
  permissions: `${V1}/permissions`,
  persons: `${V1}/persons`,
  places: `${V1}/places`,
  publications: `${V1}/publications`,
  publishTemplates: `${V1}/publish/templates`,
  regions: `${V1}/regions`,
  riskAreas: `${V1}/risk-areas`,
  statsMeasures: `${V1}/stats/measures`,
  roles: `${V1}/roles`,
  stats: `${V1}/stats`,
  users: `${V1}/users`,
  vehiclePassages: `${V1}/vehicle-passages`,
  vehicles: `${V1}/vehicles`,
  venues: `${V1}/venues`,
  visitors: `${V1}/visitors`,
  vocabularies: `${V1}/vocabularies`,
  workbench: `${V1}/workbench`,
  notices: `${V1}/notices`, // notices and their read receipts (docs/community.md)
  // daily goods (issue 14, docs/community-life.md)
  shops: `${V1}/shops`,
  shopOrders: `${V1}/shop-orders`,
  parcels: `${V1}/parcels`,
  supply: `${V1}/supply`, // supplies and dispatch (docs/supplies.md)
  employees: `${V1}/employees`, // an enterprise's employees (docs/enterprise.md)
  resumeApplications: `${V1}/resume-applications`, // 复工申请 and their review
  resumeEnterprises: `${V1}/resume-enterprises`, // enterprises of the scope with their status
  articles: `${V1}/articles`, // knowledge, news, the self-check guide (docs/community.md)
  polls: `${V1}/polls`, // polls and surveys, their results
  // volunteers and service projects (issue 14, docs/community-life.md)
  volunteers: `${V1}/volunteers`,
  volunteerProjects: `${V1}/volunteer-projects`,
  volunteerSignups: `${V1}/volunteer-signups`,
  medical: `${V1}/medical`, // medical resources (docs/supplies.md)
  resumeMonitor: `${V1}/resume-monitor`, // 复工复产监测 per street / industry, drill-down, exports
  enterpriseShifts: `${V1}/enterprise-shifts`, // 排班: an enterprise's shifts
  enterpriseRosters: `${V1}/enterprise-rosters`, // who is on which shift on a date
  returnDeclarations: `${V1}/return-declarations`, // 返岗申报: list, detail, export
  staffClockins: `${V1}/staff-clockins`, // an enterprise's clock-ins of a day
  enterpriseVisitors: `${V1}/enterprise-visitors`, // an enterprise's visitors of a day, decisions
};

// `path` with the header's region as `within`, unless the caller asks for
// the whole scope (the region pickers themselves: narrowed, they could not
// offer another region) or already names one.
export function narrowed(path, opts = {}) {
  if (opts.wholeScope || !narrow.regionCode) return path;
  const i = path.indexOf('?');
  const u = new URLSearchParams(i < 0 ? '' : path.slice(i + 1));
  if (u.has('within')) return path;
  u.set('within', narrow.regionCode);
  return (i < 0 ? path : path.slice(0, i)) + '?' + u.toString();
}

// A link that reads (a CSV export, an image): narrowed like get().
export const href = (path, opts) => narrowed(path, opts);

export function api(method, path, body, opts = {}) {
  return rawApi(method, method === 'GET' ? narrowed(path, opts) : path, body, opts);
}

export const get = (p, opts) => api('GET', p, undefined, opts);
export const post = (p, b, opts) => api('POST', p, b, opts);
export const patch = (p, b, opts) => api('PATCH', p, b, opts);
export const put = (p, b, opts) => api('PUT', p, b, opts);
export const del = (p, opts) => api('DELETE', p, undefined, opts);

export { qs, ApiError, setUnauthorizedHandler };
