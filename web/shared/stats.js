// The leaders' statistics (docs/stats.md), shared by the console page and
// the mobile overview: which registered measures a page shows as figures
// and in what order, which one its trend starts on, the API paths, and
// China dates as the API writes them (yyyy-mm-dd).
import { qs } from './api.js';

const V1 = '/api/v1/stats';
export const statsPaths = {
  measures: `${V1}/measures`,
  summary: (measures) => `${V1}/summary` + qs({ measures: measures.join(',') }),
  series: (measure, from, to, cumulative) => `${V1}/series` + qs({ measure, from, to, cumulative: cumulative ? 1 : 0 }),
  regions: (measures, region) => `${V1}/regions` + qs({ measures: measures.join(','), region }),
  list: (measure, region, page, pageSize) => `${V1}/list` + qs({ measure, region, page, page_size: pageSize }),
  sites: (region, page, pageSize) => `${V1}/sites` + qs({ region, page, page_size: pageSize }),
  compareRegions: (measures, regions) => `${V1}/compare/regions` + qs({ measures: measures.join(','), regions: regions.join(',') }),
  comparePeriods: (measure, from, to, from2, to2, region) => `${V1}/compare/periods` + qs({ measure, from, to, from2, to2, region }),
  trends: (q) => `${V1}/trends` + qs(q),
};

// 防控资源 and the people under management (issue 12 "Statistics"): their
// own cards, in this order, when registered.
export const RESOURCES = [
  'place.kind.quarantine_site', 'case.rooms.free', 'case.rooms.occupied', 'case.rooms.closed',
  'place.kind.fever_clinic', 'place.kind.designated_hospital', 'place.kind.cdc',
  'nat.site.open', 'nat.site.paused', 'venue.kind.checkpoint',
  'case.observing.home_isolation', 'case.observing.home_observation', 'case.observing.central',
  'case.observing.hospital', 'case.contacts',
  'person.category.visitor', 'person.category.returnee', 'person.category.transit',
  'person.vulnerable.pregnant', 'person.vulnerable.elderly_alone',
];
// measures that are resources, places or groups: never among the status cards
const OWN_SECTION = /^(place\.kind|venue\.kind|nat\.site|case\.rooms|case\.observing|case\.contacts|person\.category|person\.vulnerable)/;

export const resourceMeasures = (all) => RESOURCES.filter((n) => all.some((m) => m.name === n));

// The families of flows a trend by category can show (GET /stats/trends?prefix=).
export const TREND_FAMILIES = [
  { prefix: 'case.confirmed_by', label: '新增确诊（按感染途径）' },
  { prefix: 'case.enter', label: '新增（按状态）' },
  { prefix: 'nat.outcome', label: '核酸结果' },
];

// 分类统计 first (确诊、疑似、死亡、治愈, seed 001 §4.1.9), then the other
// statuses and the registry's head count; measures registered later (the
// case workflow's) follow in the server's order.
const ORDER = [
  'case.status.confirmed', 'person.status.confirmed',
  'case.status.suspected', 'person.status.suspected',
  'case.status.dead', 'person.status.dead',
  'case.status.cured', 'person.status.cured',
  'case.status.asymptomatic', 'person.status.asymptomatic',
  'person.status.observation', 'person.status.home_isolation', 'person.status.central_quarantine',
  'person.registered',
];
// never worth a card: everybody else
const HIDDEN = new Set(['person.status.normal']);
// the trend a page opens on: newly confirmed when the case workflow counts it
const TREND_FIRST = ['case.enter.confirmed', 'case.incident.new', 'person.registered'];

// Figures to show (at most 20, the API's limit): the preferred ones that
// are registered, then the other levels, minus the routes of infection
// (their own table).
export function figureMeasures(all) {
  const byName = new Map(all.map((m) => [m.name, m]));
  const first = ORDER.filter((n) => byName.has(n));
  // when the case workflow keeps a status, the registry's copy of it is redundant
  const shadowed = new Set(first.filter((n) => n.startsWith('case.status.')).map((n) => n.replace('case.', 'person.')));
  const rest = all.filter((m) => m.level && !first.includes(m.name) && !m.name.startsWith('case.confirmed_by.') && !OWN_SECTION.test(m.name));
  return [...first, ...rest.map((m) => m.name)].filter((n) => !HIDDEN.has(n) && !shadowed.has(n)).slice(0, 20);
}

// Flows a trend can show, the default first.
export function trendMeasures(all) {
  const flows = all.filter((m) => !m.level);
  const pref = TREND_FIRST.filter((n) => flows.some((m) => m.name === n));
  return [...pref, ...flows.map((m) => m.name).filter((n) => !pref.includes(n))];
}

// 感染途径: the flows "case.confirmed_by.<route>", when registered.
export const routeMeasures = (all) => all.filter((m) => m.name.startsWith('case.confirmed_by.')).map((m) => m.name).slice(0, 20);

// yyyy-mm-dd of the China day `days` before today.
export function chinaDate(daysAgo = 0) {
  return new Date(Date.now() + 8 * 3600000 - daysAgo * 86400000).toISOString().slice(0, 10);
}

// 2026-12-03 -> 12月3日
export const shortDate = (d) => `${Number(d.slice(5, 7))}月${Number(d.slice(8, 10))}日`;

export const fmtCount = (n) => (n === undefined || n === null ? '—' : Number(n).toLocaleString('zh-CN'));
