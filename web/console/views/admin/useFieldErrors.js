// Server errors in a form: an ApiError naming a field is shown under that
// field (el-form-item :error="errors.x"); any other error as a message.
import { reactive } from 'vue';
import { ElMessage } from 'element-plus';

export function useFieldErrors(fields) {
  const errors = reactive({});
  // A field the form does not show (e.g. a server-side name for a part of a
  // control) can be mapped to the one that does through `alias`.
  function show(e, alias = {}) {
    const field = alias[e.field] || e.field;
    if (field && fields.includes(field)) errors[field] = e.message;
    else ElMessage.error(e.message);
  }
  function clear() {
    for (const k of Object.keys(errors)) delete errors[k];
  }
  return { errors, show, clear };
}
