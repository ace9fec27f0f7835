// The signed-in resident's consent (GET /api/v1/me/consent), kept between
// pages so the router can send them to the consent screen without asking
// the server on every navigation. Every change goes through here.
import { reactive } from 'vue';
import { get, post, del } from '@shared/api.js';

export const resident = reactive({ consent: null });

export async function loadConsent() {
  resident.consent = await get('/api/v1/me/consent');
  return resident.consent;
}

// Consent to the statement version the resident was shown.
export async function giveConsent(version) {
  resident.consent = await post('/api/v1/me/consent', { version });
  return resident.consent;
}

export async function withdrawConsent() {
  resident.consent = await del('/api/v1/me/consent');
  return resident.consent;
}

export function forgetResident() {
  resident.consent = null;
}
