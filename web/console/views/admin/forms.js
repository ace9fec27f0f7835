// Helpers shared by the admin forms.

// The members of `form` among `keys` that differ from `orig`: an edit sends
// only what the user changed, so masked values it was shown (phones, names)
// never travel back as if they were new ones.
export function changed(orig, form, keys) {
  const out = {};
  for (const k of keys) {
    const a = orig?.[k] ?? null;
    const b = form[k] === '' ? null : form[k] ?? null;
    if (JSON.stringify(a) !== JSON.stringify(b)) out[k] = b;
  }
  return out;
}

// Empty strings become absent: the server treats "" as a value.
export function compact(obj) {
  const out = {};
  for (const [k, v] of Object.entries(obj)) if (v !== '' && v !== null && v !== undefined) out[k] = v;
  return out;
}

// A coordinate pair from two inputs: both numbers, or both null (no position).
export function coords(lng, lat) {
  const n = (v) => (v === '' || v === null || v === undefined ? null : Number(v));
  return { lng: n(lng), lat: n(lat) };
}
