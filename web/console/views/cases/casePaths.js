// Where the case workflow's resources live (docs/cases.md), kept beside the
// pages that use them; the calls go through the console's api.js (narrowed
// to the header's region like every other read).
const V1 = '/api/v1';

export const casePaths = {
  incidents: `${V1}/incidents`,
  observations: `${V1}/observations`,
  periods: `${V1}/observation-periods`,
  routingRules: `${V1}/routing-rules`,
  sites: `${V1}/quarantine-sites`,
  attachments: `${V1}/attachments`,
  checkRules: `${V1}/check-rules`,
  persons: `${V1}/persons`,
};

// The status state machine of docs/cases.md ("from \ to" table): the
// statuses a person in `from` may change to. The server is the authority
// (it answers 409 invalid_transition to the others, e.g. when the page is
// stale); this only keeps the dialog from offering what it would refuse.
const OBSERVING = ['observation', 'home_isolation', 'central_quarantine'];
export const STATUS_TARGETS = {
  normal: [...OBSERVING],
  observation: ['normal', 'home_isolation', 'central_quarantine', 'suspected', 'confirmed', 'asymptomatic'],
  home_isolation: ['normal', 'observation', 'central_quarantine', 'suspected', 'confirmed', 'asymptomatic'],
  central_quarantine: ['normal', 'observation', 'home_isolation', 'suspected', 'confirmed', 'asymptomatic'],
  suspected: ['normal', ...OBSERVING, 'confirmed', 'asymptomatic'],
  confirmed: ['confirmed', 'cured', 'dead'],
  asymptomatic: ['confirmed', 'cured'],
  cured: ['normal', ...OBSERVING],
  dead: [],
};
// entering these from a non-case status asks for the infection route
export const CASE_STATUSES = ['confirmed', 'asymptomatic'];
