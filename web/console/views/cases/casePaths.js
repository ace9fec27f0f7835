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
  checks: `${V1}/checks`,
  persons: `${V1}/persons`,
};

// entering these from a non-case status asks for the infection route (the
// dialog's field; the allowed targets come from GET …/status-targets)
export const CASE_STATUSES = ['confirmed', 'asymptomatic'];
