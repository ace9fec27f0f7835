// Saving a form, the one way every console form does it: submit runs the
// request with the form busy (the save button's :loading), clears the
// previous errors, and then either says so (a success message) or puts the
// server's field errors under their fields and anything else in one
// message (useFieldErrors). The caller decides what happens next (close,
// reload) from the answer:
//   const { errors, saving, submit } = useFormSave(Object.keys(form), form);
//   const { ok } = await submit(() => post(paths.places, body()));
//   if (ok) emit('close');
import { ref } from 'vue';
import { ElMessage } from 'element-plus';
import { useFieldErrors } from './useFieldErrors.js';

// fields: the names the form shows errors for; form: its reactive model (a
// field's error clears when it changes); opts.success: the message, or a
// function of the answer giving it (null: none); opts.alias: server field
// names shown under another field; opts.other: see useFieldErrors.
export function useFormSave(fields, form, opts = {}) {
  const { errors, show, clear } = useFieldErrors(fields, form, { other: opts.other });
  const saving = ref(false);

  async function submit(request, over = {}) {
    if (saving.value) return { ok: false }; // a second click while the first is on its way
    const o = { ...opts, ...over };
    clear();
    saving.value = true;
    try {
      const value = await request();
      const msg = typeof o.success === 'function' ? o.success(value) : o.success === undefined ? '已保存' : o.success;
      if (msg) ElMessage.success(msg);
      return { ok: true, value };
    } catch (e) {
      show(e, o.alias);
      return { ok: false, error: e };
    } finally {
      saving.value = false;
    }
  }

  return { errors, saving, submit, clear, show };
}
