// One file to POST /api/v1/attachments (docs/attachments.md): the body is
// the file itself and its Content-Type the claim the server checks against
// the bytes. The reply is {id, mime, class, size}; a refusal becomes the
// same ApiError as every other call, with the server's Chinese message.
import { ApiError } from '@shared/api.js';

export async function uploadFile(file) {
  let res;
  try {
    res = await fetch('/api/v1/attachments', {
      method: 'POST',
      body: file,
      // a file the browser cannot type is sent as what it is not sure of; the server answers
      headers: { 'Content-Type': file.type || 'application/octet-stream' },
      credentials: 'same-origin',
    });
  } catch {
    throw new ApiError(0, 'network', '网络连接失败，请检查网络后重试');
  }
  const data = await res.json().catch(() => ({}));
  if (!res.ok) {
    const e = data.error || {};
    throw new ApiError(res.status, e.code || 'error', e.message || `上传失败（${res.status}）`, e.field, e.fields);
  }
  return data;
}
