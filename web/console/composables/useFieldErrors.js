// Server errors in a form. The server names every field at fault at once
// (error.fields); each one the form shows goes under its field
// (el-form-item :error="errors.x"), anything else becomes one message. Pass
// the form's reactive object to clear a field's error as soon as the user
// changes that field.
import { reactive, watch } from 'vue';
import { ElMessage } from 'element-plus';

// opts.other(message): where a message that belongs to no shown field goes
// (default: a toast), e.g. an alert on top of the form.
export function useFieldErrors(fields, form, opts = {}) {
  const errors = reactive({});
  // A field the form does not show (e.g. a server-side name for a part of a
  // control) can be mapped to the one that does through `alias`.
  function show(e, alias = {}) {
    clear();
    const list = e.fields?.length ? e.fields : e.field ? [{ field: e.field, message: e.message }] : [];
    let shown = 0;
    let other = null;
    for (const f of list) {
      const field = alias[f.field] || f.field;
      if (fields.includes(field)) {
        if (!errors[field]) errors[field] = f.message;
        shown++;
      } else if (!other) other = f.message;
    }
    if (!shown || other) (opts.other || ElMessage.error)(other || e.message);
  }
  function clear() {
    for (const k of Object.keys(errors)) delete errors[k];
  }
  if (form) {
    for (const k of fields) watch(() => form[k], () => { delete errors[k]; }, { deep: true });
  }
  return { errors, show, clear };
}
