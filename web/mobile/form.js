// Server errors on a form: an error naming a field the form shows goes
// under that field; any other (wrong code, rate limit, lock-out) goes to
// `errors.form`, which <FormError> shows above the buttons and which stays
// until the next attempt, unlike a toast.
import { reactive } from 'vue';

export function useFieldErrors() {
  const errors = reactive({});
  function clear() {
    for (const k of Object.keys(errors)) delete errors[k];
  }
  // `fields` lists the fields the form shows.
  function show(e, fields) {
    clear();
    if (e.field && fields.includes(e.field)) errors[e.field] = e.message;
    else errors.form = e.message;
  }
  return { errors, clear, show };
}
