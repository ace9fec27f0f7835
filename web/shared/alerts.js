// Live alerts over Server-Sent Events (GET /api/v1/alerts/stream, same
// origin, the session cookie): one stream per page, shared by the header
// badge and the alert lists. `open` counts the unacknowledged alerts in
// scope; `latest` holds the alerts that arrived since the page opened,
// newest first. EventSource reconnects by itself and sends Last-Event-ID,
// so nothing is missed in between.
import { reactive } from 'vue';
import { get, post } from './api.js';

export const alerts = reactive({ open: 0, latest: [] });
let source = null;

async function countOpen() {
  alerts.open = (await get('/api/v1/alerts?acked=0&page_size=1')).total;
}

export function watchAlerts() {
  if (source) return;
  source = new EventSource('/api/v1/alerts/stream');
  source.addEventListener('alert', (ev) => {
    const a = JSON.parse(ev.data);
    if (alerts.latest.some((x) => x.id === a.id)) return;
    alerts.latest.unshift(a);
    if (!a.acked) alerts.open++;
  });
  // the server ends the stream when the right to it ends (docs/security.md):
  // changed rights reconnect by themselves into the new scope; an ended
  // session has nothing to reconnect to (the next request goes to sign-in)
  source.addEventListener('end', (ev) => {
    let reason = '';
    try {
      reason = JSON.parse(ev.data).reason;
    } catch {}
    if (reason === 'access_changed') {
      alerts.latest = [];
      countOpen().catch(() => {});
    } else if (reason !== 'server_stopping') {
      stopAlerts();
    }
  });
  countOpen().catch(() => {});
}

export function stopAlerts() {
  source?.close();
  source = null;
  alerts.latest = [];
  alerts.open = 0;
}

// Acknowledge alert `a` with `note` (处理说明, what was done: 1..200 characters).
export async function ackAlert(a, note) {
  const done = await post(`/api/v1/alerts/${a.id}/ack`, { note });
  Object.assign(a, done);
  const live = alerts.latest.find((x) => x.id === a.id);
  if (live) Object.assign(live, done);
  alerts.open = Math.max(0, alerts.open - 1);
  return done;
}
