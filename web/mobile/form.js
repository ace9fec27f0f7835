// Server errors on a form: an error naming a field the form shows goes
// under that field; any other (wrong code, rate limit, lock-out) goes to
// `errors.form`, which <FormError> shows above the buttons and which stays
// until the next attempt, unlike a toast.
import { reactive } from 'vue';

// A form's values as a request body, without empty text and empty lists.
export function bodyOf(form, keys) {
  const out = {};
  for (const k of keys) {
    const v = form[k];
    if (v === '' || v === null || (Array.isArray(v) && !v.length)) continue;
    out[k] = v;
  }
  return out;
}

export function useFieldErrors() {
  const errors = reactive({});
  function clear() {
    for (const k of Object.keys(errors)) delete errors[k];
  }
  // `fields` lists the fields the form shows; the server names every field
  // at fault at once (e.fields).
  function show(e, fields) {
    clear();
    for (const f of e.fields || []) {
      if (fields.includes(f.field) && !errors[f.field]) errors[f.field] = f.message;
      else if (!fields.includes(f.field) && !errors.form) errors.form = f.message;
    }
    if (!Object.keys(errors).length) errors.form = e.message;
  }
  return { errors, clear, show };
}

// The photos of a PhotoField still on their way up: the form waits.
export const photosPending = (photos) => photos.some((p) => p.status === 'uploading');

// The ids of a PhotoField's photos that are up (the body's `attachments`).
export const photoIds = (photos) => photos.filter((p) => p.attachmentId).map((p) => p.attachmentId);

// After show(): the server's error on a photo (attachments[i]) goes under
// the PhotoField, not a second time above the buttons.
export function showPhotoErrors(e, errors) {
  for (const f of e.fields || []) if (f.field?.startsWith('attachments')) errors.attachments = f.message;
  if (errors.form && errors.form === errors.attachments) delete errors.form;
}

// A body with the signs of a SignsFields form (`form`, `photos`) made ready
// to send: a typed temperature as a number (the server says what a missing
// one is), the position only when one was taken, the uploaded photos' ids.
export function signsBody(body, form, photos) {
  if (body.temperature !== undefined) body.temperature = Number(body.temperature);
  if (form.lat === null) {
    delete body.lat;
    delete body.lng;
  }
  const ids = photoIds(photos);
  if (ids.length) body.attachments = ids;
  return body;
}
