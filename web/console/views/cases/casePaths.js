// Where the case workflow's resources live (docs/cases.md), kept beside the
// pages that use them; the calls go through the console's api.js (narrowed
// to the header's region like every other read).
import { fmtTime } from '@shared/format.js';

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
  certificates: `${V1}/certificates`,
};

// entering these from a non-case status asks for the infection route (the
// dialog's field; the allowed targets come from GET …/status-targets)
export const CASE_STATUSES = ['confirmed', 'asymptomatic'];

// A revoked certificate in words: when, and why when known (the reason is
// sealed and not in the server's reply: the page shows the one just given)
export function revokedText(c) {
  const parts = [];
  if (c.revoked_at) parts.push(`作废于 ${fmtTime(c.revoked_at)}`);
  if (c.revoke_reason) parts.push(`原因：${c.revoke_reason}`);
  return parts.join('，');
}
